"""Cached values of the formulas: <c><f>SUM(…)</f><v>12</v></c>, so that a book opened in Protected View or
shown in a preview (which do not calculate) shows its totals; the book keeps fullCalcOnLoad, so Excel
recalculates every formula when it opens the book for editing.

The writers name what each formula cell computes with a key (formula_value): ("ind", id) an indicator's
得点, ("group", goal, kind), ("goal", id), ("grant", id), ("total",), ("kind", kind), ("rate", key, points),
("sub", id), ("figure", id), ("done", id), ("answer", id), ("answered",), ("eligibility", field), ("yen", id)
the 見込額 of a row (catalog.rules.money_rows). book_values computes them from the answers (and the yen per
point typed on 集計) with the Python half of catalog/rules.py, summed as the
scorer sums them (scoring/scorer.py score: the same numbers the sheet computes). openpyxl writes no
cached value: its sheet writer's cell writer is extended here, in this one place, to write the value a
sheet holds for a formula cell (set_values); the fast writer (template.py) renders the same cells.
"""

from __future__ import annotations

from collections.abc import Mapping

from openpyxl.compat import safe_string
from openpyxl.worksheet import _writer as sheet_writer
from openpyxl.xml.functions import Element, SubElement

from xlsx_tool.catalog.eligibility import EligibilityInputs, check
from xlsx_tool.catalog.model import Catalog
from xlsx_tool.catalog.rules import figure, missed_yen, money_rows, points

_KEYS = "_xlsx_tool_formula_keys"  # worksheet attribute: coordinate -> key
_VALUES = "_xlsx_tool_formula_values"  # worksheet attribute: coordinate -> cached value


def formula_value(ws, coord: str, key: tuple) -> None:
    """Say what the formula in ws[coord] computes (see the module docstring for the keys)."""
    ws.__dict__.setdefault(_KEYS, {})[coord] = key


def formula_keys(ws) -> dict[str, tuple]:
    return ws.__dict__.get(_KEYS, {})


def _blank_as_text(value: object) -> object:
    return "" if value is None else value


def _eligibility_values() -> dict[tuple, object]:
    """A generated book's 交付要件 inputs are blank: what its result formulas show then."""
    result = check(EligibilityInputs())
    verdict = "入力不足" if result.eligible is None else "交付対象" if result.eligible else "交付対象外"
    return {("eligibility", "current"): _blank_as_text(result.current),
            ("eligibility", "baseline"): _blank_as_text(result.baseline),
            ("eligibility", "decided_by"): result.decided_by, ("eligibility", "verdict"): verdict}


def book_values(catalog: Catalog, answers: Mapping[str, object],
                yen: Mapping[str, object] | None = None) -> dict[tuple, object]:
    """The value of every key for these answers (answer id -> the answer cell's value; missing: blank) and
    yen per point (grant id -> the 集計 cell's value; missing: blank)."""
    values: dict[tuple, object] = {("done", aid): 0 if answers.get(aid) in (None, "") else 1
                                   for aid in catalog.answer_ids()}
    values[("answered",)] = sum(values.values())
    p = points(catalog, answers)
    values.update({("sub", sid): v for sid, v in p.subitems.items()})
    values.update({("ind", iid): v for iid, v in p.indicators.items()})
    for (goal_id, kind), v in p.groups.items():
        values[("group", goal_id, kind)] = v
        values[("kind", kind)] = values.get(("kind", kind), 0) + v
    values.update({("goal", gid): v for gid, v in p.goals.items()})
    values.update({("grant", gid): v for gid, v in p.grants.items()})
    values[("total",)] = p.total
    for *_, ind in catalog.indicators():
        if getattr(ind.rule, "ratio", None) is not None:
            values[("figure", ind.id)] = _blank_as_text(figure(ind, answers))
    values.update(_eligibility_values())
    scores = {**p.indicators, **p.subitems}
    for grant, *_, ind in catalog.indicators():
        for money in money_rows(ind):
            values[("yen", money.id)] = missed_yen(money, scores, answers, (yen or {}).get(grant.id))
    return values


def value_of(values: Mapping[tuple, object], answers: Mapping[str, object], key: tuple) -> object:
    if key[0] == "rate":  # 得点率: IF(points=0,0,score/points)
        return 0 if key[2] == 0 else values[key[1]] / key[2]
    if key[0] == "answer":  # a reference to the answer cell: 0 when it is empty
        value = answers.get(key[1])
        return 0 if value in (None, "") else value
    return values[key]


def set_values(wb, catalog: Catalog, answers: Mapping[str, object], keep=lambda key: True,
               yen: Mapping[str, object] | None = None) -> None:
    """The cached value of every formula cell a sheet names a key for (and `keep` keeps)."""
    values = book_values(catalog, answers, yen)
    for ws in wb.worksheets:
        ws.__dict__[_VALUES] = {coord: value_of(values, answers, key)
                                for coord, key in formula_keys(ws).items() if keep(key)}


def set_value(ws, coord: str, value: object) -> None:
    ws.__dict__.setdefault(_VALUES, {})[coord] = value


def write_cell(xf, ws, cell, styled=None) -> None:
    """openpyxl's cell writer, with the cached value of a formula cell when the sheet holds one."""
    values = ws.__dict__.get(_VALUES)
    if not values or cell.data_type != "f" or cell.coordinate not in values:
        return _write_cell(xf, ws, cell, styled)
    value = values[cell.coordinate]
    attrs = {"r": cell.coordinate}
    if styled:
        attrs["s"] = f"{cell.style_id}"
    if isinstance(value, bool):
        attrs["t"], text = "b", "1" if value else "0"
    elif isinstance(value, str):
        attrs["t"], text = "str", value
    else:
        text = safe_string(value)
    element = Element("c", attrs)
    SubElement(element, "f").text = cell.value[1:]
    SubElement(element, "v").text = text
    xf.write(element)


# openpyxl's own writer, kept on its module so that importing this module again does not wrap the wrapper
_write_cell = sheet_writer.__dict__.setdefault("xlsx_tool_original_write_cell", sheet_writer.write_cell)
sheet_writer.write_cell = write_cell
