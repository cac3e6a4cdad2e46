"""Gap analysis (pure): where the points were lost, against averages and last year.

Input: a catalog, answers and their ScoreResult, plus optional comparison data (shipped
references, a national results table, a previous year's answers). Output: a GapReport that
the HTML, Markdown and xlsx writers only lay out.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from xlsx_tool.catalog.answers import is_blank
from xlsx_tool.catalog.entity import code_key, size_class
from xlsx_tool.catalog.model import (
    ANSWER_MET,
    GROUP_LABELS,
    KIND_LABELS,
    NO_LEVEL,
    Catalog,
    GroupKind,
    Indicator,
    LevelsRule,
    ratio_ids,
)
from xlsx_tool.catalog.reference import Reference, Stat, group_key
from xlsx_tool.catalog.rules import is_met, level_reached
from xlsx_tool.scoring.scorer import ScoreResult, rate, score

HIGH_NATIONAL_RATE = 0.7  # an item "most entities get": national mean >= 70% of its points
@dataclass(frozen=True)
class EntityResult:
    """One row of a national results file (one entity)."""

    code: str
    name: str
    prefecture: str
    insured: int | None
    scores: Mapping[str, float]  # "total", grant ids, goal ids, group keys, indicator ids
    members: tuple[str, ...] = ()  # 構成市町村 of a 広域連合 / 一部事務組合 (one insurer)


@dataclass
class Comparison:
    """Everything the report compares against; all optional."""

    national: Reference | None = None
    prefecture: Reference | None = None
    results: Sequence[EntityResult] = ()
    results_label: str = ""
    previous: ScoreResult | None = None
    previous_answers: Mapping[str, object] | None = None
    previous_label: str = ""
    mapping: Mapping[str, str] = field(default_factory=dict)  # previous id -> current id


@dataclass
class Row:
    level: str  # group / goal / grant / kind / total
    key: str
    grant: str
    goal: str
    group: str
    own: float
    max: float
    national_mean: float | None = None
    national_median: float | None = None
    prefecture_mean: float | None = None
    previous: float | None = None

    @property
    def rate(self) -> float:
        return rate(self.own, self.max)

    def diff(self, other: float | None) -> float | None:
        return None if other is None else round(self.own - other, 4)

    @property
    def status(self) -> str:
        """good / bad against the nearest average (prefecture first), or none."""
        ref = self.prefecture_mean if self.prefecture_mean is not None else self.national_mean
        if ref is None:
            return "none"
        return "good" if self.own >= ref else "bad"


@dataclass
class Missed:
    answer_id: str
    label: str
    indicator: str
    text: str
    lost: float
    answer: object
    national_rate: float | None
    note: str = ""
    peers_known: bool = False  # national_rate is the share of municipalities that got it (the tally)
    by_grant: dict[str, float] = field(default_factory=dict)  # lost per grant (目標Ⅳ counts in both)

    @property
    def high(self) -> bool:
        return self.national_rate is not None and self.national_rate >= HIGH_NATIONAL_RATE

    @property
    def peers(self) -> str:
        """How common it is, for the council report: 全国の市町村の 10 団体中 9 団体が得点（自団体は 4 点を逃しています）."""
        if not self.peers_known or self.national_rate is None:
            return ""
        tenths = round(self.national_rate * 10)
        share = "ほぼすべて" if tenths >= 10 else f"10 団体中 {tenths} 団体" if tenths else "1 割未満"
        return f"全国の市町村の{share}が得点（自団体は {self.lost:g} 点を逃しています）"


@dataclass
class Below:
    key: str
    label: str
    text: str
    own: float
    max: float
    average: float
    scope: str


@dataclass
class Change:
    answer_id: str
    label: str
    text: str
    before: object
    after: object


@dataclass
class Rank:
    scope: str
    rank: int
    of: int


@dataclass
class GapReport:
    catalog: Catalog
    result: ScoreResult
    entity: dict[str, object]
    rows: list[Row]
    missed: list[Missed]
    below: list[Below]
    newly_met: list[Change]
    newly_lost: list[Change]
    changed_points: list[Change]
    mapped: list[Change]
    ranks: list[Rank]
    national_label: str
    prefecture_label: str
    previous_label: str
    notes: list[str]
    national_scope: str = "全国"  # what the national figures are: 全国, or 比較対象 N 団体 for a partial results file
    missed_yen: dict[str, int] = field(default_factory=dict)  # answer id -> 概算 yen, when money inputs are given
    money_note: str = ""  # the assumption behind missed_yen

    @property
    def total_row(self) -> Row:
        return next(r for r in self.rows if r.level == "total")

    def chart(self) -> list[tuple[str, float, float | None]]:
        """(goal label, own rate, national mean rate) per goal."""
        out = []
        for r in self.rows:
            if r.level == "goal":
                nat = None if r.national_mean is None else rate(r.national_mean, r.max)
                out.append((f"{r.grant}{r.goal}", r.rate, nat))
        return out


# -- comparison data --------------------------------------------------------------------


def compatible(ref: Reference, catalog: Catalog) -> bool:
    """A reference fits a catalog when every group max it states equals the catalog's points."""
    points = {group_key(goal.id, g.kind.value): g.points for _, goal, g in catalog.groups()}
    return bool(ref.groups) and all(
        key in points and (stat.max is None or stat.max == points[key]) for key, stat in ref.groups.items())


def pick_reference(refs: Sequence[Reference], catalog: Catalog, scope: str) -> Reference | None:
    """The latest reference of this scope and kind, not later than the catalog's year, that fits it."""
    fits = [r for r in refs if r.scope == scope and r.kind == catalog.kind
            and int(r.year[1:]) <= catalog.reiwa and compatible(r, catalog)]
    return max(fits, key=lambda r: int(r.year[1:]), default=None)


def reference_from_results(results: Sequence[EntityResult], catalog: Catalog, scope: str, label: str) -> Reference:
    """National (or prefecture) mean and median of every column of a results table."""
    keys = {k for r in results for k in r.scores}

    def stat(key: str, maximum: float | None) -> Stat | None:
        values = [r.scores[key] for r in results if r.scores.get(key) is not None]
        if not values:
            return None
        return Stat(max=maximum, mean=statistics.fmean(values), median=statistics.median(values),
                    rate=None if not maximum else statistics.fmean(values) / maximum)

    groups = {group_key(goal.id, g.kind.value): g.points for _, goal, g in catalog.groups()}
    goals = {goal.id: goal.points for grant in catalog.grants for goal in grant.goals}
    grants = {grant.id: grant.points for grant in catalog.grants}
    inds = {ind.id: ind.points for *_, ind in catalog.indicators()}

    def section(maxima):
        return {k: s for k, m in maxima.items() if k in keys and (s := stat(k, m)) is not None}

    return Reference(year=catalog.year, kind=catalog.kind, scope=scope, sources=[label],
                     note=f"{label} の {len(results)} 団体から算出", entities=len(results),
                     total=stat("total", catalog.total), grants=section(grants), goals=section(goals),
                     groups=section(groups), indicators=section(inds))


def ranks_for(own_total: float, own_code: str, prefecture: str, insured: int | None,
              results: Sequence[EntityResult], scope: str = "全国") -> list[Rank]:
    """Competition ranks (1 + entities scoring strictly more), the entity itself excluded from others;
    `scope` names the whole file (全国 only when it covers the nation)."""
    others = [r for r in results if code_key(r.code) != code_key(own_code) and r.scores.get("total") is not None]
    scopes = [(scope, others)]
    if prefecture:
        scopes.append((prefecture, [r for r in others if r.prefecture == prefecture]))
    cls = size_class(insured)
    if cls:
        scopes.append((f"第1号被保険者 {cls}", [r for r in others if size_class(r.insured) == cls]))
    return [Rank(scope, 1 + sum(r.scores["total"] > own_total for r in rows), len(rows) + 1)
            for scope, rows in scopes if rows]


# -- the report -------------------------------------------------------------------------


def _stat(ref: Reference | None, section: str, key: str) -> Stat | None:
    if ref is None:
        return None
    if section == "total":
        return ref.total
    return getattr(ref, section).get(key)


def _mean(ref, section, key):
    s = _stat(ref, section, key)
    return None if s is None else s.mean


def _level_maxima(catalog: Catalog) -> dict[str, int]:
    """Maximum points of every row key (group key, goal, grant, group kind, total)."""
    out = {"total": catalog.total}
    for grant in catalog.grants:
        out[grant.id] = grant.points
        for goal in grant.goals:
            out[goal.id] = goal.points
            out.update({group_key(goal.id, g.kind.value): g.points for g in goal.groups})
    out.update({k.value: v for k, v in catalog.group_kind_points().items()})
    return out


def score_rows(catalog: Catalog, res: ScoreResult, cmp: Comparison | None = None) -> list[Row]:
    """Rows per goal × group, goal, grant, group kind and total (with comparisons when given)."""
    cmp = cmp or Comparison()
    prev = cmp.previous
    prev_max = _level_maxima(prev.catalog) if prev else {}
    cur_max = _level_maxima(catalog)

    def row(level, section, key, grant, goal, group, own, maximum, prev_value):
        nat = _stat(cmp.national, section, key)
        if prev_max.get(key) != cur_max[key]:
            prev_value = None  # last year's structure differs here: nothing to compare
        return Row(level, key, grant, goal, group, own, maximum,
                   national_mean=None if nat is None else nat.mean,
                   national_median=None if nat is None else nat.median,
                   prefecture_mean=_mean(cmp.prefecture, section, key), previous=prev_value)

    rows = []
    for grant in catalog.grants:
        for goal in grant.goals:
            if len(goal.groups) > 1:
                for g in goal.groups:
                    k = (goal.id, g.kind.value)
                    rows.append(row("group", "groups", group_key(*k), grant.short, f"目標{goal.number}",
                                    GROUP_LABELS[g.kind], res.groups[k], g.points,
                                    prev.groups.get(k) if prev else None))
            label = "小計" if len(goal.groups) > 1 else GROUP_LABELS[goal.groups[0].kind]
            rows.append(row("goal", "goals", goal.id, grant.short, f"目標{goal.number}", label,
                            res.goals[goal.id], goal.points, prev.goals.get(goal.id) if prev else None))
        rows.append(row("grant", "grants", grant.id, grant.short, "合計", "", res.grants[grant.id], grant.points,
                        prev.grants.get(grant.id) if prev else None))
    for kind, points in catalog.group_kind_points().items():
        if kind != GroupKind.combined:
            own = sum(v for (_, k), v in res.groups.items() if k == kind.value)
            before = sum(v for (_, k), v in prev.groups.items() if k == kind.value) if prev else None
            rows.append(row("kind", "group_kinds", kind.value, "合計", GROUP_LABELS[kind], "", own, points, before))
    rows.append(row("total", "total", "total", "総合計", "", "", res.total, catalog.total,
                    prev.total if prev else None))
    return rows


def answer_label(grant, goal, group, ind: Indicator, sub=None) -> str:
    base = f"{grant.short} 目標{goal.number} {GROUP_LABELS[group.kind]} {ind.number}".rstrip()
    return f"{base} {sub.label}" if sub is not None else base


def answer_labels(catalog: Catalog) -> dict[str, str]:
    """A short Japanese label for every answer id (e.g. 推進 目標Ⅰ 体制・取組指標群 1 ア), the numerator
    and denominator of a ratio figure included."""
    out = {}
    for grant, goal, group, ind in catalog.indicators():
        if ind.subitems:
            out.update({s.id: answer_label(grant, goal, group, ind, s) for s in ind.subitems})
            continue
        out[ind.id] = answer_label(grant, goal, group, ind)
        ratio = getattr(ind.rule, "ratio", None)
        if ratio is not None:
            for aid, part in zip(ratio_ids(ind), (ratio.numerator, ratio.denominator)):
                out[aid] = f"{out[ind.id]} {part}"
    return out


def _gain(catalog: Catalog, answers: Mapping[str, object], base: ScoreResult, changes: dict) -> dict[str, float]:
    """What the changed answers add, per grant (a grant that gains nothing left out)."""
    after = score(catalog, {**answers, **changes}).grants
    return {g: after[g] - v for g, v in base.grants.items() if after[g] != v}


def _missed(catalog: Catalog, answers: Mapping[str, object], res: ScoreResult, cmp: Comparison) -> list[Missed]:
    """Every sub-item not met, the next level of every ladder not at its top, and every entry below its
    maximum: by the points it would add, then by how many municipalities of the nation already have it
    (the survey's own national rate where the catalog carries it, else the indicator's mean rate)."""
    out = []
    for grant, goal, group, ind in catalog.indicators():
        nat = _stat(cmp.national, "indicators", ind.id)
        nat_rate = None if nat is None or nat.mean is None or not ind.points else nat.mean / ind.points
        if isinstance(ind.rule, LevelsRule):
            out.extend(_next_levels(catalog, answers, res, grant, goal, group, ind, nat_rate))
        elif ind.subitems:
            subs = {s.id: s for s in ind.subitems}
            for sub in ind.subitems:
                if sub.same_as is not None or is_met(answers.get(sub.id)):
                    continue
                change = {sub.id: ANSWER_MET}
                note = ""
                if sub.requires and not is_met(answers.get(sub.requires)):
                    change[sub.requires] = ANSWER_MET
                    note = f"{subs[sub.requires].label}と合わせて該当した場合"
                gain = _gain(catalog, answers, res, change)
                out.append(Missed(sub.id, answer_label(grant, goal, group, ind, sub), ind.text, sub.text,
                                  sum(gain.values()), answers.get(sub.id), sub.national.rate if sub.national
                                  else nat_rate, note, sub.national is not None, gain))
        elif res.indicators[ind.id] < ind.points:
            lost = ind.points - res.indicators[ind.id]
            out.append(Missed(ind.id, answer_label(grant, goal, group, ind), ind.text, ind.text, lost,
                              answers.get(ind.id), nat_rate, "未回答" if is_blank(answers.get(ind.id)) else "",
                              by_grant={grant.id: lost}))
    order = {}  # catalog order of every id a Missed can carry (sub-items and indicators)
    for *_, ind in catalog.indicators():
        order.setdefault(ind.id, len(order))
        for sub in ind.subitems:
            order[sub.id] = len(order)
    return sorted(out, key=lambda m: (-m.lost, -(m.national_rate or 0), order[m.answer_id]))


def _next_levels(catalog, answers, res, grant, goal, group, ind, nat_rate) -> list[Missed]:
    """For each ladder below its top: what reaching the next level would add."""
    out = []
    for sub in ind.subitems:
        if sub.same_as is not None:
            continue  # asked on another sheet: its next level is listed there, with both grants' points
        level = level_reached(sub, answers.get(sub.id))
        if level >= len(sub.bands):
            continue
        band = sub.bands[level]
        by_grant = _gain(catalog, answers, res, {sub.id: band.label})
        gain = sum(by_grant.values())
        now = sub.bands[level - 1].label if level else NO_LEVEL
        out.append(Missed(sub.id, f"{answer_label(grant, goal, group, ind, sub)} → {band.label}", ind.text,
                          f"{sub.text}：段階{band.label}に到達", gain, answers.get(sub.id),
                          band.national.rate if band.national else nat_rate,
                          f"現在の段階: {now}" + ("（他の系列の方が高いため加点なし）" if not gain else ""),
                          band.national is not None, by_grant))
    return out


def _below(catalog: Catalog, res: ScoreResult, cmp: Comparison) -> list[Below]:
    """Indicators (or, without item averages, goal × group) below the prefecture or national mean."""
    out = []
    for ref in (cmp.prefecture, cmp.national):
        if ref is None:
            continue
        if ref.indicators:
            for grant, goal, group, ind in catalog.indicators():
                mean = _mean(ref, "indicators", ind.id)
                if mean is not None and res.indicators[ind.id] < mean:
                    out.append(Below(ind.id, answer_label(grant, goal, group, ind), ind.text,
                                     res.indicators[ind.id], ind.points, mean, ref.scope))
        for grant, goal, group in catalog.groups():
            key = group_key(goal.id, group.kind.value)
            mean = _mean(ref, "groups", key)
            if mean is not None and res.groups[(goal.id, group.kind.value)] < mean:
                out.append(Below(key, f"{grant.short} 目標{goal.number} {GROUP_LABELS[group.kind]}", goal.name,
                                 res.groups[(goal.id, group.kind.value)], group.points, mean, ref.scope))
        if out:
            break  # the prefecture comparison, when there is one, is the one to discuss
    return out


def _labels(catalog: Catalog) -> dict[str, tuple[str, str]]:
    out = {goal.id: (f"{grant.short} 目標{goal.number}", goal.name) for grant in catalog.grants for goal in grant.goals}
    for grant, goal, group, ind in catalog.indicators():
        out[ind.id] = (answer_label(grant, goal, group, ind), ind.text)
        for sub in ind.subitems:
            out[sub.id] = (answer_label(grant, goal, group, ind, sub), sub.text)
    return out


def _changes(catalog: Catalog, answers: Mapping[str, object], res: ScoreResult, cmp: Comparison):
    met, lost, points, mapped = [], [], [], []
    if cmp.previous is None or cmp.previous_answers is None:
        return met, lost, points, mapped
    prev_cat, prev_ans = cmp.previous.catalog, cmp.previous_answers
    labels = _labels(catalog)
    prev_ids = set(prev_cat.answer_ids())
    for *_, ind in catalog.indicators():
        for sub in ind.subitems:
            if sub.id not in prev_ids or sub.same_as is not None:
                continue
            before, after = prev_ans.get(sub.id), answers.get(sub.id)
            label, text = labels[sub.id]
            if sub.bands:  # a ladder: its level went up or down
                up = level_reached(sub, after) - level_reached(sub, before)
                if up:
                    (met if up > 0 else lost).append(Change(sub.id, label, text, before, after))
            elif is_met(after) and not is_met(before):
                met.append(Change(sub.id, label, text, before, after))
            elif is_met(before) and not is_met(after):
                lost.append(Change(sub.id, label, text, before, after))
        if not ind.subitems and ind.id in cmp.previous.indicators:
            b, a = cmp.previous.indicators[ind.id], res.indicators[ind.id]
            if b != a:
                points.append(Change(ind.id, *labels[ind.id], b, a))
    prev_max, cur_max = _max_points(prev_cat), _max_points(catalog)
    for old, new in cmp.mapping.items():
        b = cmp.previous.indicators.get(old, cmp.previous.goals.get(old))
        a = res.indicators.get(new, res.goals.get(new))
        if b is None or a is None:
            continue
        old_label = _labels(prev_cat).get(old, (old, ""))[0]
        label = labels.get(new, (new, ""))[0]
        mapped.append(Change(new, f"{old_label}（{prev_cat.year}） → {label}", "",
                             rate(b, prev_max[old]), rate(a, cur_max[new])))
    return met, lost, points, mapped


def _max_points(catalog: Catalog) -> dict[str, int]:
    """Maximum points by indicator id and goal id (the ids a mapping file may name)."""
    out = {i.id: i.points for *_, i in catalog.indicators()}
    out.update({goal.id: goal.points for g in catalog.grants for goal in g.goals})
    return out


def _ref_label(ref: Reference | None, catalog: Catalog) -> str:
    if ref is None:
        return ""
    year = f"令和{ref.year[1:]}年度"
    src = "".join(f"[{s}]" for s in ref.sources)
    later = "（最新の公表値）" if ref.year != catalog.year else ""
    return f"{year} {ref.scope} {KIND_LABELS[ref.kind]}{later} {src}".strip()


def build_report(catalog: Catalog, answers: Mapping[str, object], res: ScoreResult, entity: Mapping[str, object],
                 cmp: Comparison) -> GapReport:
    notes = []
    if cmp.national is not None and cmp.national.year != catalog.year:
        notes.append(f"{catalog.year_label}の全国結果は未公表のため、{_ref_label(cmp.national, catalog)}と比較しています。")
    if res.unanswered:
        notes.append(f"未回答が {len(res.unanswered)} 項目あります（0 点として集計）。")
    if res.problems:
        notes.append(f"不正な回答が {len(res.problems)} 件あります（シートの計算と同じく 0 点または上限で集計）。")
    insured = entity.get("insured")
    scope = cmp.national.scope if cmp.national else "全国"
    ranks = ranks_for(res.total, str(entity.get("entity_code") or ""), str(entity.get("prefecture") or ""),
                      insured if isinstance(insured, int) else None, cmp.results, scope) if cmp.results else []
    met, lost, points, mapped = _changes(catalog, answers, res, cmp)
    return GapReport(
        catalog=catalog, result=res, entity=dict(entity), rows=score_rows(catalog, res, cmp),
        missed=_missed(catalog, answers, res, cmp), below=_below(catalog, res, cmp),
        newly_met=met, newly_lost=lost, changed_points=points, mapped=mapped, ranks=ranks,
        national_label=_ref_label(cmp.national, catalog) if not cmp.results_label else cmp.results_label,
        prefecture_label=_ref_label(cmp.prefecture, catalog), previous_label=cmp.previous_label, notes=notes,
        national_scope=scope)
