"""Scoring rules: for each rule type, the Python scoring and the Excel formula side by side.

Keeping both halves of a rule in one place is what stops the workbook's live formulas and the
Python scorer from drifting apart; tests recalculate generated workbooks in LibreOffice and
compare every subtotal with `score_indicator`.

Conventions shared by both halves:
- a sub-item is *met* when its answer is exactly 該当 (after trimming spaces);
- a sub-item *counts* when it is met and, if it `requires` another sub-item, that one is met;
- a numeric answer counts only if it is a number (text that looks like a number does not,
  exactly like ISNUMBER in the sheet);
- direct points are clamped to 0..max;
- a ladder (rule 'levels') has reached the level its answer names (after trimming spaces) and
  every level below it; any other answer reaches none.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from xlsx_tool.catalog.model import (
    ANSWER_MET,
    Catalog,
    DirectRule,
    Indicator,
    LevelsRule,
    SubItem,
    SumRule,
    ThresholdsRule,
    TiersRule,
    answer_key,
    ladder_points,
    ladder_top,
    ratio_ids,
)
from xlsx_tool.util.memo import per_object, remember

# ---------------------------------------------------------------------------------------
# Python half


def is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def is_met(value: object) -> bool:
    return isinstance(value, str) and value.strip(" ") == ANSWER_MET


def subitem_counts(sub: SubItem, answers: Mapping[str, object]) -> bool:
    if not is_met(answers.get(answer_key(sub))):
        return False
    return sub.requires is None or is_met(answers.get(sub.requires))


def level_reached(sub: SubItem, value: object) -> int:
    """How many levels of a ladder the answer reaches (0: none, blank or not a level)."""
    if not isinstance(value, str):
        return 0
    labels = [b.label for b in sub.bands]
    text = value.strip(" ")
    return labels.index(text) + 1 if text in labels else 0


def subitem_points(ind: Indicator, sub: SubItem, answers: Mapping[str, object]) -> float:
    """Value of the sub-item's own 得点 cell: its points (sum), a 1/0 count flag (tiers), or the points
    of the levels its ladder reaches (levels)."""
    if isinstance(ind.rule, LevelsRule):
        return ladder_points(sub, level_reached(sub, answers.get(answer_key(sub))))
    counted = subitem_counts(sub, answers)
    if isinstance(ind.rule, SumRule):
        return (sub.points or 0) if counted else 0
    return 1 if counted else 0


FIGURE_DIGITS = 9


def figure(ind: Indicator, answers: Mapping[str, object]) -> object:
    """The value a thresholds/direct indicator is scored on: its answer, or numerator/denominator × per."""
    ratio = ind.rule.ratio if isinstance(ind.rule, ThresholdsRule) else None
    if ratio is None:
        return answers.get(ind.id)
    num, den = (answers.get(a) for a in ratio_ids(ind))
    if not (is_number(num) and is_number(den)) or den == 0:
        return None
    # Spreadsheets compare with a ~15-digit tolerance (29/50*100 is 57.99999999999999 but ">=58" holds
    # in Excel and LibreOffice): rounding to FIGURE_DIGITS in both halves makes the comparison exact.
    return round(num / den * ratio.per, FIGURE_DIGITS)


def score_indicator(ind: Indicator, answers: Mapping[str, object], sub_points: Mapping[str, float] | None = None) -> float:
    """The indicator's 得点 cell. `sub_points`: subitem_points of its sub-items when already known."""
    rule = ind.rule
    if isinstance(rule, (SumRule, TiersRule, LevelsRule)):
        if sub_points is None:
            sub_points = {s.id: subitem_points(ind, s, answers) for s in ind.subitems}
        if isinstance(rule, LevelsRule) and rule.combine == "best":
            return max(sub_points[s.id] for s in ind.subitems)
        n = sum(sub_points[s.id] for s in ind.subitems)
        if isinstance(rule, LevelsRule):
            return min(ind.points, n)
        if isinstance(rule, SumRule):
            return min(ind.points if rule.cap is None else rule.cap, n)
        return next((t.points for t in reversed(rule.tiers) if n >= t.met), 0)
    value = figure(ind, answers)
    if not is_number(value):
        return 0
    if isinstance(rule, ThresholdsRule):
        return next((t.points for t in reversed(rule.thresholds) if value >= t.min), 0)
    if isinstance(rule, DirectRule):
        return max(0, min(ind.points, value))
    raise TypeError(f"unknown rule {rule!r}")


# ---------------------------------------------------------------------------------------
# Excel half. `ref` maps an answer id to its cell ("D12"); `sub_cell` maps a sub-item id to
# its 得点 cell. Only functions that Excel 2010+ and LibreOffice evaluate identically.


@dataclass
class Points:
    """What a book's formulas compute from its answers: the points of every sub-item, indicator, group
    ((goal id, group kind)), goal and grant, and the total (the scorer's result and the cached values of
    a written book both come from here)."""
    subitems: dict[str, float] = field(default_factory=dict)
    indicators: dict[str, float] = field(default_factory=dict)
    groups: dict[tuple[str, str], float] = field(default_factory=dict)
    goals: dict[str, float] = field(default_factory=dict)
    grants: dict[str, float] = field(default_factory=dict)
    total: float = 0


def points(catalog: Catalog, answers: Mapping[str, object]) -> Points:
    out = Points()
    memo = per_object(_MEMOS, catalog, _Memo)
    for grant in catalog.grants:
        grant_total = 0
        for goal in grant.goals:
            goal_total = 0
            for group in goal.groups:
                group_total = 0
                for ind in group.indicators:
                    subs, out.indicators[ind.id] = memo.indicator(ind, answers)
                    out.subitems.update(subs)
                    group_total += out.indicators[ind.id]
                out.groups[(goal.id, group.kind.value)] = group_total
                goal_total += group_total
            out.goals[goal.id] = goal_total
            grant_total += goal_total
        out.grants[grant.id] = grant_total
        out.total += grant_total
    return out


class _Memo:
    """An indicator's points, remembered by the answers it reads (books of a collection repeat them):
    keyed by each answer's type and value, since 1, 1.0 and True are equal keys but not equal answers."""

    LIMIT = 50_000  # entries (a few hundred bytes each); emptied when full

    def __init__(self, catalog: Catalog):
        self.keys = {ind.id: _read_by(ind) for *_, ind in catalog.indicators()}
        self.known: dict = {}

    def indicator(self, ind: Indicator, answers: Mapping[str, object]) -> tuple[dict[str, float], float]:
        values = [answers.get(k) for k in self.keys[ind.id]]
        key = (ind.id, *values, *map(type, values))
        known = self.known.get(key)
        if known is None:
            subs = {sub.id: subitem_points(ind, sub, answers) for sub in ind.subitems}
            known = remember(self.known, key, (subs, score_indicator(ind, answers, subs)), self.LIMIT)
        return known


def _read_by(ind: Indicator) -> tuple[str, ...]:
    """Every answer the indicator's points depend on."""
    ids = [answer_key(s) for s in ind.subitems] + [s.requires for s in ind.subitems if s.requires]
    if not ind.subitems:
        ids += [ind.id, *(ratio_ids(ind) if getattr(ind.rule, "ratio", None) is not None else ())]
    return tuple(dict.fromkeys(ids))


_MEMOS: dict = {}


def _met_expr(cell: str) -> str:
    return f'TRIM({cell})="{ANSWER_MET}"'


def _num(x: float) -> str:
    return repr(int(x)) if float(x).is_integer() else repr(float(x))


def subitem_formula(ind: Indicator, sub: SubItem, ref: Mapping[str, str]) -> str:
    if isinstance(ind.rule, LevelsRule):
        cell = ref[sub.id]
        steps = [(b.label, ladder_points(sub, i)) for i, b in enumerate(sub.bands, start=1)]
        return "=" + _nested_if(lambda label: f'TRIM({cell})="{label}"', steps)
    cond = _met_expr(ref[sub.id])
    if sub.requires is not None:
        cond = f"AND({cond},{_met_expr(ref[sub.requires])})"
    value = (sub.points or 0) if isinstance(ind.rule, SumRule) else 1
    return f"=IF({cond},{value},0)"


def figure_formula(ind: Indicator, ref: Mapping[str, str]) -> str:
    """Live figure of a ratio indicator: numerator / denominator × per, blank until both are numbers."""
    ratio = ind.rule.ratio
    num, den = (ref[a] for a in ratio_ids(ind))
    return (f'=IF(AND(ISNUMBER({num}),ISNUMBER({den})),'
            f'IF({den}<>0,ROUND({num}/{den}*{_num(ratio.per)},{FIGURE_DIGITS}),""),"")')


def _nested_if(test_of, steps) -> str:
    """IF(test(k_n),p_n,IF(test(k_n-1),p_n-1,...,0)) from ascending (key, points)."""
    expr = "0"
    for key, points in steps:
        expr = f"IF({test_of(key)},{_num(points)},{expr})"
    return expr


def indicator_formula(ind: Indicator, ref: Mapping[str, str], sub_cell: Mapping[str, str]) -> str:
    rule = ind.rule
    if isinstance(rule, (SumRule, TiersRule, LevelsRule)):
        cells = [sub_cell[s.id] for s in ind.subitems]
        span = f"{cells[0]}:{cells[-1]}"
        total = f"SUM({span})"
        if isinstance(rule, LevelsRule):
            return f"=MAX({span})" if rule.combine == "best" else f"=MIN({ind.points},{total})"
        if isinstance(rule, SumRule):
            cap = ind.points if rule.cap is None else rule.cap
            return f"=MIN({cap},{total})"
        return "=" + _nested_if(lambda k: f"{total}>={k}", [(t.met, t.points) for t in rule.tiers])
    cell = ref[ind.id]  # the answer cell, or the live figure cell of a ratio
    if isinstance(rule, ThresholdsRule):
        inner = _nested_if(lambda k: f"{cell}>={_num(k)}", [(t.min, t.points) for t in rule.thresholds])
        return f"=IF(ISNUMBER({cell}),{inner},0)"
    if isinstance(rule, DirectRule):
        return f"=IF(ISNUMBER({cell}),MAX(0,MIN({ind.points},{cell})),0)"
    raise TypeError(f"unknown rule {rule!r}")


# ---------------------------------------------------------------------------------------
# Money: the points a row has not reached, at a yen per point the user gives (both halves)


@dataclass(frozen=True)
class MoneyRow:
    """A row of the 見込額 column: the points the indicator gains if this row reaches its top — its own
    points not reached, plus those of the sub-item it counts with while that one is not counted, plus
    those of the sub-items answered 該当 that count only with it — held to what the indicator's maximum
    leaves (the cap of a sum, the top of a best-of ladder)."""
    id: str  # the row: a sub-item, or the indicator itself
    indicator: str
    points: float  # the row's top
    limit: float | None = None  # the indicator's maximum the row can raise it to (None: the row is the indicator)
    requires: tuple[str, float] | None = None  # the sub-item it counts with, and its points
    unlocks: tuple[tuple[str, str, float], ...] = ()  # the sub-items that count only with it: id, answer key, points


def money_rows(ind: Indicator) -> list[MoneyRow]:
    """The rows of an indicator that carry points of their own: each sub-item of a sum or a ladder, else
    the indicator itself (no sub-items, or counted tiers)."""
    rule = ind.rule
    if isinstance(rule, SumRule):
        limit = ind.points if rule.cap is None else rule.cap
        own = {s.id: s.points or 0 for s in ind.subitems}
        return [MoneyRow(s.id, ind.id, s.points, limit, (s.requires, own[s.requires]) if s.requires else None,
                         tuple((d.id, answer_key(d), own[d.id]) for d in ind.subitems if d.requires == s.id))
                for s in ind.subitems if s.points]
    if isinstance(rule, LevelsRule):
        return [MoneyRow(s.id, ind.id, ladder_top(s), ladder_top(s) if rule.combine == "best" else ind.points)
                for s in ind.subitems]  # a best-of ladder can raise its indicator up to its own top
    return [MoneyRow(ind.id, ind.id, ind.points)]


def row_gain(row: MoneyRow, scores: Mapping[str, float], answers: Mapping[str, object]) -> float:
    """The points the indicator gains if the row reaches its top (scores: sub-item and indicator points)."""
    own = row.points - scores[row.id]
    if row.requires is not None and not scores[row.requires[0]]:
        own += row.requires[1]
    own += sum(p for d, key, p in row.unlocks if is_met(answers.get(key)) and not scores[d])
    return own if row.limit is None else min(own, row.limit - scores[row.indicator])


def missed_yen(row: MoneyRow, scores: Mapping[str, float], answers: Mapping[str, object], yen: object) -> float | str:
    """row_gain × yen per point; blank ("") when yen is not a number or the row gains nothing."""
    gain = row_gain(row, scores, answers)
    return (gain * yen) if is_number(yen) and gain > 0 else ""


def missed_yen_formula(row: MoneyRow, points_cell: str, score_cell: Mapping[str, str], ref: Mapping[str, str],
                       yen_cell: str) -> str:
    """missed_yen in the sheet: `score_cell` maps the row, the indicator and the sub-items it counts with to
    their 得点 cells, `ref` the sub-items to their answer cells."""
    own = f"{points_cell}-{score_cell[row.id]}"
    if row.requires is not None:
        own += f"+IF({score_cell[row.requires[0]]}=0,{_num(row.requires[1])},0)"
    for d, _, p in row.unlocks:  # ref[d]: the row's answer cell, or the cell showing the answer it repeats
        own += f"+IF(AND({_met_expr(ref[d])},{score_cell[d]}=0),{_num(p)},0)"
    limit = None if row.limit is None else points_cell if row.limit == row.points else _num(row.limit)
    gain = own if limit is None else f"MIN({own},{limit}-{score_cell[row.indicator]})"
    return f'=IF(AND(ISNUMBER({yen_cell}),{gain}>0),({gain})*{yen_cell},"")'


# ---------------------------------------------------------------------------------------
# What a valid answer looks like, and how to say it in the sheet


def allowed_points(ind: Indicator) -> list[int]:
    """Values a direct-entry indicator accepts (0..max in steps)."""
    assert isinstance(ind.rule, DirectRule)
    return list(range(0, ind.points + 1, ind.rule.step))


def rule_summary(ind: Indicator) -> str:
    """One line in Japanese describing how the indicator is scored."""
    rule = ind.rule
    if isinstance(rule, SumRule):
        cap = ind.points if rule.cap is None else rule.cap
        return f"該当する小項目の点数を合計（上限 {cap} 点）"
    if isinstance(rule, LevelsRule):
        how = "いずれか高い得点" if rule.combine == "best" else "合計"
        return f"段階（ア～エ・①～④）は下から順に到達。到達した最も高い段階を選択（{how}、最大 {ind.points} 点）"
    if isinstance(rule, TiersRule):
        steps = "、".join(f"{t.met}項目以上で{t.points}点" for t in rule.tiers)
        return f"該当する小項目の数に応じて配点（{steps}）"
    if isinstance(rule, ThresholdsRule):
        unit = rule.unit or ""
        steps = "、".join(f"{_num(t.min)}{unit}以上で{t.points}点" for t in rule.thresholds)
        if rule.ratio is not None:
            r = rule.ratio
            return f"{r.numerator} ÷ {r.denominator} × {_num(r.per)} を計算（{steps}）"
        return f"数値を入力（{steps}）"
    return f"得点を直接入力（0～{ind.points} 点、{rule.step} 点刻み）"
