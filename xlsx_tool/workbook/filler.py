"""Write answers into a copy of a generated workbook (demo data, tests, carrying answers over)."""

from __future__ import annotations

import random
from collections.abc import Mapping
from pathlib import Path

from openpyxl import load_workbook
from openpyxl.utils.cell import COORD_RE

from xlsx_tool.catalog.answers import answer_choices, answer_slots
from xlsx_tool.catalog.model import ANSWER_CHOICES, Catalog, DirectRule, Indicator, ThresholdsRule, ratio_ids
from xlsx_tool.catalog.rules import allowed_points
from xlsx_tool.util.atomic import write_atomically
from xlsx_tool.util.memo import per_object
from xlsx_tool.util.problems import message
from xlsx_tool.workbook.cached import formula_keys, formula_value, set_values
from xlsx_tool.workbook.ignored_errors import mark_code_cells
from xlsx_tool.workbook.meta import COL_ANSWER, COL_ID, FIRST_DATA_ROW, input_sheet_names, yen_name
from xlsx_tool.workbook.writer import build_workbook


def fill_workbook(source: str | Path, answers: Mapping[str, object], target: str | Path,
                  catalog: Catalog) -> Path:
    """Copy `source` to `target` with the given answers in their answer cells; source is untouched."""
    wb = load_workbook(source)
    placed = set()
    for sheet in input_sheet_names(catalog).values():
        ws = wb[sheet]
        for row in range(FIRST_DATA_ROW, ws.max_row + 1):
            ident = ws[f"{COL_ID}{row}"].value
            if ident in answers:
                ws[f"{COL_ANSWER}{row}"].value = answers[ident]
                placed.add(ident)
    unknown = set(answers) - placed
    if unknown:
        raise KeyError(message("fill.unknown_ids", ids=", ".join(sorted(unknown))))
    wb.calculation.fullCalcOnLoad = True
    mark_code_cells(wb)  # openpyxl drops what the book had
    cache_values(wb, catalog)
    return write_atomically(target, lambda tmp: wb.save(tmp))


def cache_values(wb, catalog: Catalog) -> None:
    """The formulas' cached values (cached.py) in a book openpyxl read (it drops them), for the answers and
    the yen per point the book holds: on each cell holding the very formula the writer puts there for this
    catalog, not on the 交付要件 results, whose inputs a book may hold."""
    ids, answers = set(catalog.answer_ids()), {}
    for sheet in input_sheet_names(catalog).values():
        if sheet in wb.sheetnames:
            ws = wb[sheet]
            for row in range(FIRST_DATA_ROW, ws.max_row + 1):
                if ws[f"{COL_ID}{row}"].value in ids:
                    answers[ws[f"{COL_ID}{row}"].value] = ws[f"{COL_ANSWER}{row}"].value
    for title, cells in per_object(_FORMULAS, catalog, _formulas).items():
        if title in wb.sheetnames:
            ws = wb[title]
            for coord, (key, formula) in cells.items():
                if key[0] != "eligibility" and ws[coord].data_type == "f" and ws[coord].value == formula:
                    formula_value(ws, coord, key)
    set_values(wb, catalog, answers, yen=yen_inputs(wb, catalog))


def yen_inputs(wb, catalog: Catalog) -> dict[str, object]:
    """grant id -> the value of the book's 集計 cell named yen_per_point_<grant> (a name that is missing or
    names no single cell: not listed, its 見込額 cached blank)."""
    out = {}
    for grant in catalog.grants:
        name = wb.defined_names.get(yen_name(grant.id))
        for sheet, coord in (name.destinations if name is not None else ()):
            if sheet in wb.sheetnames and COORD_RE.match(coord):  # not "" (集計!#REF! once the row is deleted)
                out[grant.id] = wb[sheet][coord.replace("$", "")].value
    return out



_FORMULAS: dict = {}  # catalog -> sheet title -> formula cell -> (key, formula)


def _formulas(catalog: Catalog) -> dict[str, dict[str, tuple]]:
    return {ws.title: {coord: (key, ws[coord].value) for coord, key in formula_keys(ws).items()}
            for ws in build_workbook(catalog, generated_at="-").worksheets}


def random_answers(catalog: Catalog, rng: random.Random, blank_rate: float = 0.15) -> dict[str, object]:
    """A plausible filling: every answer valid or blank (blank with probability blank_rate)."""
    answers: dict[str, object] = {}
    for aid, ind, is_sub in answer_slots(catalog):
        if aid in answers:
            continue  # the denominator of a ratio, set with its numerator
        if rng.random() < blank_rate:
            answers[aid] = None
        elif is_sub:
            answers[aid] = rng.choice(answer_choices(ind, aid))
        elif isinstance(ind.rule, DirectRule):
            answers[aid] = rng.choice(allowed_points(ind))
        elif isinstance(ind.rule, ThresholdsRule):
            mins = [t.min for t in ind.rule.thresholds]
            # values on, just below and between the thresholds exercise every branch
            target = rng.choice([0, *mins, *(m - 0.01 for m in mins), mins[-1] * 2 + 1])
            # a denominator of 50 with per 100 reaches float boundaries such as 29/50*100 = 57.99999999999999
            answers.update(_figure_answers(ind, target, rng.choice([50, 999, 5000, 12345])))
    return answers


def _figure_answers(ind: Indicator, target: float, den: int) -> dict[str, object]:
    """The answer(s) giving about `target`: the figure itself, or numerator/denominator of a ratio."""
    if ind.rule.ratio is None:
        return {ind.id: target}
    num_id, den_id = ratio_ids(ind)
    return {num_id: round(target * den / ind.rule.ratio.per), den_id: den}


def extreme_answers(catalog: Catalog, best: bool) -> dict[str, object]:
    """Everything met at the maximum (best) or everything 非該当/0 (worst); a ladder at its top level or at なし."""
    answers: dict[str, object] = {}
    for aid, ind, is_sub in answer_slots(catalog):
        if is_sub:
            choices = answer_choices(ind, aid)
            if choices == ANSWER_CHOICES:
                answers[aid] = ANSWER_CHOICES[0 if best else 1]
            else:  # a ladder: なし, then its levels from the lowest
                answers[aid] = choices[-1] if best else choices[0]
        elif isinstance(ind.rule, DirectRule):
            answers[aid] = ind.points if best else 0
        elif isinstance(ind.rule, ThresholdsRule):
            top = ind.rule.thresholds[-1].min
            answers.update(_figure_answers(ind, top * 1.01 + 1 if best else 0, 5000))
    return answers
