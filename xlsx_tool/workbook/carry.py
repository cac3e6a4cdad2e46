"""Carry last year's answers into this year's workbook where the item persists.

An answer carries when the same id (or the id a mapping file names) exists this year with the same
kind of answer: a sub-item (該当/非該当) or a ladder of levels under an indicator of the same short title
(the tally's; ids follow goal, group, number and label, so a renumbered indicator has another title),
with the same points or levels; a directly entered indicator with the same maximum and step; or a
figure. Everything answered last year that does not carry is listed with the reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from xlsx_tool.catalog.answers import answer_slots, is_blank, validate_answers
from xlsx_tool.catalog.model import Catalog, DirectRule, Indicator
from xlsx_tool.util.problems import message


@dataclass
class CarryResult:
    carried: dict[str, object] = field(default_factory=dict)  # current id -> value
    not_carried: list[tuple[str, str]] = field(default_factory=list)  # (previous id, reason)


def _shape(ind: Indicator, aid: str, is_sub: bool) -> tuple:
    if is_sub:
        sub = ind.subitem(aid)
        return ("choice", ind.title, sub.label, sub.points, tuple((b.label, b.points) for b in sub.bands))
    if isinstance(ind.rule, DirectRule):
        return ("points", ind.points, ind.rule.step)
    return ("figure", getattr(ind.rule, "unit", ""))


def carry_answers(prev_catalog: Catalog, prev_answers: Mapping[str, object], catalog: Catalog,
                  mapping: Mapping[str, str] | None = None) -> CarryResult:
    mapping = dict(mapping or {})
    prev_slots = {aid: _shape(ind, aid, is_sub) for aid, ind, is_sub in answer_slots(prev_catalog)}
    cur_slots = {aid: _shape(ind, aid, is_sub) for aid, ind, is_sub in answer_slots(catalog)}
    split = {ind.id for *_, ind in catalog.indicators() if ind.subitems}
    result = CarryResult()
    for prev_id, shape in prev_slots.items():
        value = prev_answers.get(prev_id)
        if is_blank(value):
            continue
        cur_id = mapping.get(prev_id, prev_id)
        if cur_id in split:
            result.not_carried.append((prev_id, message("carry.split")))
        elif cur_id not in cur_slots:
            result.not_carried.append((prev_id, message("carry.gone")))
        elif shape[0] == cur_slots[cur_id][0] == "choice" and shape[1] != cur_slots[cur_id][1]:
            result.not_carried.append((prev_id, message("carry.other_item", before=shape[1],
                                                        after=cur_slots[cur_id][1])))
        elif cur_slots[cur_id] != shape:
            result.not_carried.append((prev_id, message("carry.changed")))
        else:
            result.carried[cur_id] = value
    bad = {p.answer_id for p in validate_answers(catalog, result.carried)}
    for cur_id in bad:
        prev_id = next((p for p, c in mapping.items() if c == cur_id), cur_id)
        result.not_carried.append((prev_id, message("carry.not_a_choice", value=result.carried.pop(cur_id))))
    return result
