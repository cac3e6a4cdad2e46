"""What counts as an answer, and what is wrong with one.

Values are kept as they were read (the scorer must score what the sheet's formulas see);
NFKC normalisation is only used to recognise near-misses such as a full-width space or a
number typed as text, so that the message can say exactly how to fix the cell.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from xlsx_tool.catalog.model import (
    ANSWER_CHOICES,
    Catalog,
    DirectRule,
    Indicator,
    LevelsRule,
    ThresholdsRule,
    indicator_answer_ids,
    ladder_choices,
)
from xlsx_tool.catalog.rules import allowed_points, is_number
from xlsx_tool.util.memo import per_object
from xlsx_tool.util.problems import message


@dataclass(frozen=True)
class AnswerProblem:
    answer_id: str
    value: object
    message: str  # Japanese, says what to do (util/problems.py)
    code: str = ""  # its stable code in the message catalogue

    def to_json(self) -> dict:
        value = self.value if isinstance(self.value, (int, float, str)) or self.value is None else str(self.value)
        return {"id": self.answer_id, "value": value, "message": self.message}


QUOTE_CHARS = 30  # a value longer than this is quoted to this length, with …


def quoted(value: object) -> str:
    """A cell's value as a message quotes it: a whole number without ".0", control characters (line breaks)
    as spaces, cut at QUOTE_CHARS characters with … (a pasted paragraph must not fill the message)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = "".join(" " if unicodedata.category(ch) == "Cc" else ch for ch in str(value))
    return text if len(text) <= QUOTE_CHARS else text[:QUOTE_CHARS] + "…"


def problem_lines(problems: Iterable[AnswerProblem], labels: Mapping[str, str],
                  cells: Mapping[str, tuple[str, str]]) -> list[str]:
    """The one wording of answer problems for staff (score and collect): the sheet and cell where the answer
    is typed and the label staff see (labels: scoring.gap.answer_labels; cells: BookContents.cells), then
    what is wrong with the value as quoted and how to fix it."""
    lines = []
    for p in problems:
        label = labels.get(p.answer_id, p.answer_id)
        sheet, cell = cells.get(p.answer_id, ("", ""))
        where = message("answer.at", sheet=sheet, cell=cell, label=label) if sheet else label
        lines.append(f"{where}: {p.message}")
    return lines


def is_blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and value == "")


def nfkc(value: object) -> object:
    return unicodedata.normalize("NFKC", value).strip() if isinstance(value, str) else value


def answer_slots(catalog: Catalog) -> tuple[tuple[str, Indicator, bool], ...]:
    """(answer id, indicator, is_subitem) for every answer cell, in sheet order."""
    return _compiled(catalog)[0]


def answer_id_set(catalog: Catalog) -> frozenset[str]:
    return _compiled(catalog)[2]


_COMPILED: dict[int, tuple] = {}


def _compiled(catalog: Catalog) -> tuple[tuple, tuple, frozenset]:
    """answer_slots, per slot the points a direct entry accepts, and the set of answer ids: derived
    once per catalog (catalogs are frozen); a collection reads every book against the same one."""
    return per_object(_COMPILED, catalog, _compile)


def answer_choices(ind: Indicator, answer_id: str) -> tuple[str, ...] | None:
    """The values a choice answer accepts (該当/非該当, or a ladder's levels); None for numbers."""
    if not ind.subitems:
        return None
    if isinstance(ind.rule, LevelsRule):
        return ladder_choices(ind.subitem(answer_id))
    return ANSWER_CHOICES


def _compile(catalog: Catalog) -> tuple[tuple, tuple, frozenset]:
    slots = tuple((aid, ind, bool(ind.subitems)) for *_, ind in catalog.indicators()
                  for aid in indicator_answer_ids(ind))
    allowed = tuple(answer_choices(ind, aid) if sub else
                    frozenset(allowed_points(ind)) if isinstance(ind.rule, DirectRule) else None
                    for aid, ind, sub in slots)
    return slots, allowed, frozenset(aid for aid, _, _ in slots)


def unanswered_ids(catalog: Catalog, answers: Mapping[str, object]) -> list[str]:
    return [aid for aid, _, _ in answer_slots(catalog) if is_blank(answers.get(aid))]


def _choice_problem(aid: str, value: object, choices: tuple[str, ...]) -> AnswerProblem | None:
    if value in choices:
        return None
    # a near miss: full-width or half-width forms, spaces, or 1 for ① (NFKC folds ① to 1)
    near = {nfkc(c): c for c in choices}.get(nfkc(value))
    if near is not None:
        return _problem(aid, value, "answer.choice_spelling", normalised=near)
    return _problem(aid, value, "answer.not_a_choice", choices="」「".join(choices))


def _points_problem(aid: str, ind: Indicator, value: object, allowed: frozenset | None) -> AnswerProblem | None:
    """A number that is not allowed: typed as text (full-width digits, spaces, a leading '), out of range or
    off the step, or not a number at all; the fix names what the cell accepts."""
    if isinstance(ind.rule, DirectRule):
        accepts = lambda n: n in allowed  # noqa: E731
        what = f"0～{ind.points} 点（{ind.rule.step} 点刻み）"
    else:
        assert isinstance(ind.rule, ThresholdsRule)
        accepts = lambda n: n >= 0  # noqa: E731
        what = "0 以上の数値"
    number = value if is_number(value) else _as_number(nfkc(value)) if isinstance(value, str) else None
    if number is None:
        return _problem(aid, value, "answer.not_allowed", allowed=what)
    if not accepts(number):
        return _problem(aid, value, "answer.out_of_range", allowed=what)
    if is_number(value):
        return None
    return _problem(aid, value, "answer.number_as_text", number=quoted(number))


def _problem(aid: str, value: object, code: str, **fields) -> AnswerProblem:
    return AnswerProblem(aid, value, message(code, value=quoted(value), **fields), code)


def _as_number(text: object) -> float | None:
    try:
        number = float(text)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None  # "nan" and "inf" are words, not figures


def validate_answers(catalog: Catalog, answers: Mapping[str, object]) -> list[AnswerProblem]:
    problems = []
    slots, allowed, _ = _compiled(catalog)
    for (aid, ind, is_sub), points in zip(slots, allowed):
        value = answers.get(aid)
        if is_blank(value):
            continue
        problem = _choice_problem(aid, value, points) if is_sub else _points_problem(aid, ind, value, points)
        if problem:
            problems.append(problem)
    return problems
