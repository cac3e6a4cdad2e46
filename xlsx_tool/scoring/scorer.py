"""Pure scorer: answers (id -> cell value) to points at every level of the catalog.

It takes answers, not workbooks, so every reader (openpyxl, calamine, xlwings) can feed it.
Values are scored exactly as the workbook's formulas score them (see catalog/rules.py); problems
with the values are reported separately by answers.validate_answers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from xlsx_tool.catalog.answers import AnswerProblem, answer_slots, unanswered_ids, validate_answers
from xlsx_tool.catalog.model import Catalog
from xlsx_tool.catalog.rules import points


def rate(points: float, maximum: float) -> float:
    """得点率 as the sheet computes it: IF(max=0,0,points/max)."""
    return 0.0 if maximum == 0 else points / maximum


@dataclass
class ScoreResult:
    catalog: Catalog
    subitems: dict[str, float] = field(default_factory=dict)  # 得点 cell of each sub-item
    indicators: dict[str, float] = field(default_factory=dict)
    groups: dict[tuple[str, str], float] = field(default_factory=dict)  # (goal id, group kind)
    goals: dict[str, float] = field(default_factory=dict)
    grants: dict[str, float] = field(default_factory=dict)
    total: float = 0
    unanswered: list[str] = field(default_factory=list)
    problems: list[AnswerProblem] = field(default_factory=list)

    @property
    def max_total(self) -> int:
        return self.catalog.total

    @property
    def answered(self) -> int:
        return len(answer_slots(self.catalog)) - len(self.unanswered)

    def to_json(self) -> dict:
        cat = self.catalog
        grants = []
        for grant in cat.grants:
            goals = []
            for goal in grant.goals:
                groups = [
                    {"kind": g.kind.value, "max": g.points, "score": self.groups[(goal.id, g.kind.value)],
                     "rate": rate(self.groups[(goal.id, g.kind.value)], g.points)}
                    for g in goal.groups
                ]
                goals.append({"id": goal.id, "number": goal.number, "name": goal.name, "max": goal.points,
                              "score": self.goals[goal.id], "rate": rate(self.goals[goal.id], goal.points),
                              "groups": groups})
            grants.append({"id": grant.id, "name": grant.name, "max": grant.points,
                           "score": self.grants[grant.id], "rate": rate(self.grants[grant.id], grant.points),
                           "goals": goals})
        return {
            "catalog": cat.id,
            "catalog_hash": cat.content_hash(),
            "year": cat.year,
            "kind": cat.kind.value,
            "total": self.total,
            "max_total": cat.total,
            "rate": rate(self.total, cat.total),
            "grants": grants,
            "indicators": self.indicators,
            "answered": self.answered,
            "answer_count": len(cat.answer_ids()),
            "unanswered": self.unanswered,
            "problems": [p.to_json() for p in self.problems],
        }


def score(catalog: Catalog, answers: Mapping[str, object]) -> ScoreResult:
    p = points(catalog, answers)
    res = ScoreResult(catalog, p.subitems, p.indicators, p.groups, p.goals, p.grants, p.total)
    res.unanswered = unanswered_ids(catalog, answers)
    res.problems = validate_answers(catalog, answers)
    return res
