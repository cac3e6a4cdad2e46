"""The analysis model (pure): a prefecture's municipalities against the nation and against last year.

An *item* is what a municipality meets or not: a sub-item (ア, イ …), or one level of a ladder (reaching
level イ means reaching ア too, so each level has its own rate, as the national tally gives). A sub-item
asked twice (目標Ⅳ under both grants, `same_as`) is one item.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from xlsx_tool.catalog.model import GROUP_LABELS, Catalog, LevelsRule, SumRule, ladder_top
from xlsx_tool.catalog.reference import Reference
from xlsx_tool.catalog.rules import is_met, level_reached
from xlsx_tool.scoring.gap import answer_label
from xlsx_tool.scoring.scorer import score

LACKING_SHARE = 0.5  # an item "most peers meet": met by at least half of the prefecture's municipalities
MISSING = "データなし"  # the status of a roster member without data


@dataclass(frozen=True)
class Member:
    """One municipality with data: its answers (from its book, or from its published results)."""

    code: str
    name: str
    answers: Mapping[str, object]


@dataclass(frozen=True)
class Account:
    """One input (a file, or one municipality's rows of a results file), or a roster member without data."""

    source: str
    status: str  # 受理 / 受理（注意あり） / 不受理 / データなし
    code: str = ""
    name: str = ""
    reason: str = ""


@dataclass(frozen=True)
class Dataset:
    catalog: Catalog
    members: Sequence[Member]
    accounts: Sequence[Account]
    label: str  # what the data is, e.g. 提出ブック（令和8年度）


@dataclass(frozen=True)
class Item:
    key: str  # the sub-item id, with @level for a ladder level
    sub_id: str
    level: int  # 0: a sub-item met or not; n: the n-th level of a ladder reached
    label: str  # 推進 目標Ⅰ 体制・取組指標群 1 ア / … 段階 イ以上
    text: str
    points: int | None  # what meeting it adds (None: scored by count, not per item)
    national: float | None  # the nation's rate (tally)
    tally_column: int | None  # its 列番号 in the catalog year's tally


def items(catalog: Catalog) -> list[Item]:
    out = []
    for grant, goal, group, ind in catalog.indicators():
        for sub in ind.subitems:
            if sub.same_as is not None:
                continue
            label = answer_label(grant, goal, group, ind, sub)
            if not sub.bands:
                points = sub.points if isinstance(ind.rule, SumRule) else None
                out.append(Item(sub.id, sub.id, 0, label, sub.text, points, _rate(sub.national),
                                _column(sub, catalog)))
            for level, band in enumerate(sub.bands, start=1):
                out.append(Item(f"{sub.id}@{level}", sub.id, level, f"{label} {band.label}以上", sub.text,
                                band.points, _rate(band.national), _column(band, catalog)))
    return out


def _rate(national) -> float | None:
    return None if national is None else national.rate


def _column(element, catalog: Catalog) -> int | None:
    prov = element.provenance
    return prov.tally_column if prov is not None and prov.tally_year == catalog.year else None


def meets(catalog_subs: Mapping[str, object], item: Item, answers: Mapping[str, object]) -> bool:
    value = answers.get(item.sub_id)
    if item.level == 0:
        return is_met(value)
    return level_reached(catalog_subs[item.sub_id], value) >= item.level


def _subitems(catalog: Catalog) -> dict[str, object]:
    return {s.id: s for *_, ind in catalog.indicators() for s in ind.subitems}


@dataclass
class RateRow:
    item: Item
    met: int
    of: int
    previous: float | None = None

    @property
    def rate(self) -> float | None:
        return self.met / self.of if self.of else None

    @property
    def diff(self) -> float | None:
        return None if self.rate is None or self.item.national is None else self.rate - self.item.national

    @property
    def change(self) -> float | None:
        return None if self.rate is None or self.previous is None else self.rate - self.previous


@dataclass
class MemberRow:
    member: Member
    total: float
    rank: int
    marks: list[int]  # 1/0 per item, in `Analysis.items` order
    lacking: list[RateRow]  # items it does not meet that at least LACKING_SHARE of its peers meet


@dataclass
class AverageRow:
    level: str  # group / goal / grant / total
    key: str
    label: str
    max: float
    mean: float | None  # the prefecture's mean
    national: float | None
    national_source: str
    previous: float | None = None

    @property
    def change(self) -> float | None:
        return None if self.mean is None or self.previous is None else self.mean - self.previous


@dataclass
class Analysis:
    catalog: Catalog
    label: str
    items: list[Item]
    rates: list[RateRow]  # in catalog order
    members: list[MemberRow]  # by rank
    averages: list[AverageRow]
    accounts: list[Account]
    previous_label: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def has_previous(self) -> bool:
        return bool(self.previous_label)

    def by_gap(self) -> list[RateRow]:
        """Items furthest below the nation first; items without a national rate last, in catalog order."""
        return sorted(self.rates, key=lambda r: (r.diff is None, r.diff if r.diff is not None else 0))

    @property
    def missing(self) -> list[Account]:
        return [a for a in self.accounts if a.status == MISSING]


def rate_rows(catalog: Catalog, members: Sequence[Member]) -> list[RateRow]:
    subs = _subitems(catalog)
    return [RateRow(it, sum(meets(subs, it, m.answers) for m in members), len(members)) for it in items(catalog)]


def ranks(totals: Sequence[float]) -> list[int]:
    """1 + the number of strictly higher totals (ties share a rank)."""
    ordered = sorted(totals)
    return [1 + len(ordered) - bisect_right(ordered, t) for t in totals]


def analyse(current: Dataset, previous: Dataset | None = None, national: Reference | None = None) -> Analysis:
    cat = current.catalog
    rates = rate_rows(cat, current.members)
    if previous is not None:
        before = {r.item.key: r.rate for r in rate_rows(previous.catalog, previous.members)}
        for r in rates:
            r.previous = before.get(r.item.key)
    results = [score(cat, m.answers) for m in current.members]
    subs = _subitems(cat)
    member_rows = []
    for m, res, rank in zip(current.members, results, ranks([r.total for r in results])):
        marks = [int(meets(subs, r.item, m.answers)) for r in rates]
        lacking = [r for r, got in zip(rates, marks) if not got and r.rate is not None and r.rate >= LACKING_SHARE]
        lacking.sort(key=lambda r: -r.rate)
        member_rows.append(MemberRow(m, res.total, rank, marks, lacking))
    member_rows.sort(key=lambda r: (r.rank, r.member.code))
    prev_results = [score(previous.catalog, m.answers) for m in previous.members] if previous else []
    return Analysis(cat, current.label, [r.item for r in rates], rates, member_rows,
                    averages(cat, results, national, prev_results if previous else None),
                    [*current.accounts, *(previous.accounts if previous else [])],
                    previous.label if previous else "")


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def averages(catalog: Catalog, results, national: Reference | None, previous=None) -> list[AverageRow]:
    """Prefecture means of every group, goal, grant and the total; the national mean from the tally where
    it is exact (every indicator of the group adds its items' points), else from the published results
    of the same year (national), else none; last year's prefecture mean when given."""
    tally = tally_means(catalog)
    rows = []

    def add(level, key, label, maximum, get, parts=None):
        nat, source = tally.get(key), "集計表（小項目の全国該当率 × 配点）"
        if parts is not None:  # a goal, grant or the total: the sum of its parts, when every part is known
            known = [tally.get(p) for p in parts]
            nat = sum(known) if known and None not in known else None
            if nat is not None:
                tally[key] = nat
        if nat is None:
            nat, source = _published(national, level, key)
        rows.append(AverageRow(level, key, label, maximum, _mean([get(r) for r in results]), nat, source,
                               _mean([get(r) for r in previous]) if previous else None))

    for grant in catalog.grants:
        for goal in grant.goals:
            for group in goal.groups:
                key = f"{goal.id}.{group.kind.value}"
                add("group", key, f"{grant.short} 目標{goal.number} {GROUP_LABELS[group.kind]}", group.points,
                    lambda r, k=(goal.id, group.kind.value): r.groups.get(k, 0.0))
            add("goal", goal.id, f"{grant.short} 目標{goal.number} 計", goal.points,
                lambda r, k=goal.id: r.goals.get(k, 0.0), [f"{goal.id}.{g.kind.value}" for g in goal.groups])
        add("grant", grant.id, f"{grant.short}交付金 合計", grant.points, lambda r, k=grant.id: r.grants.get(k, 0.0),
            [goal.id for goal in grant.goals])
    add("total", "total", "総合計", catalog.total, lambda r: r.total, [g.id for g in catalog.grants])
    order = ("group", "goal", "grant", "total")  # the groups together: the chart's categories
    return sorted(rows, key=lambda r: order.index(r.level))


def _published(national: Reference | None, level: str, key: str) -> tuple[float | None, str]:
    if national is None:
        return None, "資料に記載なし"
    stat = {"group": national.groups, "goal": national.goals, "grant": national.grants}.get(level, {}).get(key) \
        if level != "total" else national.total
    if stat is None or stat.mean is None:
        return None, "資料に記載なし"
    return stat.mean, f"公表資料 {'・'.join(national.sources)}（{national.scope}）"


def tally_means(catalog: Catalog) -> dict[str, float]:
    """The national mean of each group whose score is the plain sum of its items' points (no cap reached,
    no alternatives, every item with a national rate): Σ points × national rate, as the tally's subtotals."""
    out = {}
    for grant, goal, group in catalog.groups():
        total = 0.0
        for ind in group.indicators:
            part = _additive_mean(ind)
            if part is None:
                break
            total += part
        else:
            out[f"{goal.id}.{group.kind.value}"] = total
    return out


def _additive_mean(ind) -> float | None:
    rule = ind.rule
    subs = ind.subitems
    if isinstance(rule, SumRule):
        if any(s.requires or s.national is None or s.points is None for s in subs):
            return None
        if rule.cap is not None and rule.cap < sum(s.points for s in subs) or ind.points < sum(s.points for s in subs):
            return None
        return sum(s.points * s.national.rate for s in subs)
    if isinstance(rule, LevelsRule) and rule.combine == "sum" and sum(ladder_top(s) for s in subs) <= ind.points:
        bands = [b for s in subs for b in s.bands]
        if any(b.national is None for b in bands):
            return None
        return sum(b.points * b.national.rate for b in bands)
    return None
