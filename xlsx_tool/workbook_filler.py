"""Write answers into a copy of a generated workbook (demo data, tests, carrying answers over)."""

from __future__ import annotations

import random
from collections.abc import Mapping
from pathlib import Path

from openpyxl import load_workbook

from .answers import answer_slots
from .atomic import write_atomically
from .catalog import ANSWER_CHOICES, Catalog, DirectRule, ThresholdsRule
from .rules import allowed_points
from .workbook_meta import COL_ANSWER, COL_ID, FIRST_DATA_ROW, input_sheet_names


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
        raise KeyError(f"回答欄が見つからない id: {', '.join(sorted(unknown))}")
    wb.calculation.fullCalcOnLoad = True
    return write_atomically(target, lambda tmp: wb.save(tmp))


def random_answers(catalog: Catalog, rng: random.Random, blank_rate: float = 0.15) -> dict[str, object]:
    """A plausible filling: every answer valid or blank (blank with probability blank_rate)."""
    answers: dict[str, object] = {}
    for aid, ind, is_sub in answer_slots(catalog):
        if rng.random() < blank_rate:
            answers[aid] = None
        elif is_sub:
            answers[aid] = rng.choice(ANSWER_CHOICES)
        elif isinstance(ind.rule, DirectRule):
            answers[aid] = rng.choice(allowed_points(ind))
        elif isinstance(ind.rule, ThresholdsRule):
            mins = [t.min for t in ind.rule.thresholds]
            # values on, just below and between the thresholds exercise every branch
            answers[aid] = rng.choice([0, *mins, *(m - 0.01 for m in mins), mins[-1] * 2 + 1])
    return answers


def extreme_answers(catalog: Catalog, best: bool) -> dict[str, object]:
    """Everything met at the maximum (best) or everything 非該当/0 (worst)."""
    answers: dict[str, object] = {}
    for aid, ind, is_sub in answer_slots(catalog):
        if is_sub:
            answers[aid] = ANSWER_CHOICES[0 if best else 1]
        elif isinstance(ind.rule, DirectRule):
            answers[aid] = ind.points if best else 0
        elif isinstance(ind.rule, ThresholdsRule):
            answers[aid] = ind.rule.thresholds[-1].min if best else 0
    return answers
