"""Official results in the tally's layout (団体コード, 年度, 列番号, 得点) turned into a book's answers.

MHLW's tally gives, per municipality, the points of every scored sub-item and ladder level, keyed by the
survey's 列番号 of that year. The catalog names the 列番号 of each of its points (provenance.tally_column),
so a municipality's published result becomes the answers that score it: a sub-item with its points is
該当, without them 非該当; a ladder reaches as many levels as carry points (they are reached together, so
the levels with points must be the lowest ones). A 列番号 not in the file means 0 points.

目標Ⅳ's items are in the tally under both grants, each with its own 列番号 and the same values: either is
enough, and a file where the two disagree is refused.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from xlsx_tool.catalog.model import ANSWER_MET, ANSWER_NOT_MET, GROUP_LABELS, NO_LEVEL, Catalog, LevelsRule
from xlsx_tool.util.problems import located


@dataclass(frozen=True)
class ResultRow:
    """One row of an official results file: where it is, and what it says."""

    where: str  # e.g. "results.csv 5 行目", for messages
    code: str
    year: str  # R7
    column: int  # 列番号
    points: float


def normalise_year(text: object) -> str | None:
    """'R7', 'r7', '令和7年度', '令和７年度' -> 'R7'; None when it is not a Reiwa year."""
    value = unicodedata.normalize("NFKC", str(text or "")).strip()
    m = re.fullmatch(r"[Rr](\d{1,2})|令和(\d{1,2})年度?", value)
    return f"R{int(m[1] or m[2])}" if m else None


@dataclass(frozen=True)
class _Slot:
    answer_id: str
    level: int  # 0: a sub-item; n >= 1: the n-th level of a ladder
    points: int
    twin: tuple  # the same item under the other grant (目標Ⅳ) has the same twin key


def _slots(catalog: Catalog) -> dict[int, _Slot]:
    out = {}
    for grant, goal, group, ind in catalog.indicators():
        for sub in ind.subitems:
            for level, el in enumerate(sub.bands or [sub], start=1 if sub.bands else 0):
                prov = el.provenance
                if prov is None or prov.tally_column is None or prov.tally_year != catalog.year:
                    continue
                twin = (goal.number, group.kind.value, ind.number, sub.label, level) if goal.number == "Ⅳ" else \
                    (grant.id, prov.tally_column)
                out[prov.tally_column] = _Slot(sub.id, level, el.points or 0, twin)
    return out


def answers_from_results(catalog: Catalog, rows: Iterable[ResultRow]) -> tuple[dict[str, object], list[str]]:
    """Answers for every answer cell of `catalog` from one entity's official rows; and every problem,
    each naming its row. Rows of another year or 列番号 unknown to the catalog are problems."""
    slots = _slots(catalog)
    if not slots:
        return {}, [located("official.no_tally", catalog.id)]
    problems: list[str] = []
    given: dict[int, tuple[float, str]] = {}
    for row in rows:
        if row.year != catalog.year:
            problems.append(located("official.other_year", row.where, year=row.year, catalog_year=catalog.year))
            continue
        slot = slots.get(row.column)
        if slot is None:
            problems.append(located("official.unknown_column", row.where, column=row.column, year=catalog.year))
            continue
        if row.points not in (0, slot.points):
            problems.append(located("official.points", row.where, column=row.column, points=f"{row.points:g}",
                                    allowed=slot.points))
            continue
        if row.column in given and given[row.column][0] != row.points:
            problems.append(located("official.twice", row.where, column=row.column, first=given[row.column][1]))
            continue
        given[row.column] = (row.points, row.where)
    problems += _twins_disagree(slots, given)
    answers = _answers(catalog, slots, given, problems)
    return answers, problems


def _twins_disagree(slots: Mapping[int, _Slot], given: Mapping[int, tuple[float, str]]) -> list[str]:
    by_twin: dict[tuple, list[int]] = {}
    for column, slot in slots.items():
        by_twin.setdefault(slot.twin, []).append(column)
    out = []
    for columns in by_twin.values():
        values = {given[c][0] for c in columns if c in given}
        if len(values) > 1:
            first, second = (c for c in columns if c in given)
            out.append(located("official.goal4_disagree", given[second][1], column=second, other=first))
    return out


def _answers(catalog: Catalog, slots, given, problems: list[str]) -> dict[str, object]:
    """Each answer from the points given to it or to its twin (目標Ⅳ under the other grant)."""
    by_twin: dict[tuple, tuple[float, str]] = {}
    for column, (points, where) in given.items():
        if points > by_twin.get(slots[column].twin, (0, ""))[0]:
            by_twin[slots[column].twin] = (points, where)
    reached: dict[str, list[tuple[int, bool, str]]] = {}
    for column, slot in slots.items():
        points, where = by_twin.get(slot.twin, (0, ""))
        reached.setdefault(slot.answer_id, []).append((slot.level, points > 0, where))
    answers: dict[str, object] = {}
    for grant, goal, group, ind in catalog.indicators():
        for sub in ind.subitems:
            if sub.same_as is not None:
                continue  # scored on the answer it repeats (its twin's points were checked above)
            levels = sorted(reached.get(sub.id, []))
            if not isinstance(ind.rule, LevelsRule):
                answers[sub.id] = ANSWER_MET if any(got for _, got, _ in levels) else ANSWER_NOT_MET
                continue
            got = [g for _, g, _ in levels]
            n = sum(got)
            if got != [True] * n + [False] * (len(got) - n):  # levels are reached together, from the lowest
                above = next(where for (_, g, where), before in zip(levels[1:], got) if g and not before)
                missing = next(sub.bands[i].label for i, g in enumerate(got) if not g)
                place = f"{grant.short} 目標{goal.number} {GROUP_LABELS[group.kind]} {ind.number}"
                problems.append(located("official.levels_gap", above, indicator=place, label=sub.label,
                                        missing=missing))
            answers[sub.id] = sub.bands[n - 1].label if n else NO_LEVEL
    return answers
