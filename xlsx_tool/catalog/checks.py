"""Structural checks on a parsed catalog: points add up, ids unique, rules well-formed.

Each check returns messages "path: problem (Japanese) / English → how to fix", from the message
catalogue (util/problems.py, codes catalog.*).
"""

from __future__ import annotations

import re

from xlsx_tool.catalog.model import (
    NO_LEVEL,
    Catalog,
    DirectRule,
    Indicator,
    LevelsRule,
    SumRule,
    ThresholdsRule,
    TiersRule,
    ladder_top,
)
from xlsx_tool.catalog.published import PUBLISHED_POINTS, PUBLISHED_SOURCES
from xlsx_tool.util.problems import located

ID_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")
RESERVED_GOAL_IDS = {"total", "promotion", "support", "group"}  # used in the workbook's score_* names


def structural_problems(cat: Catalog) -> list[str]:
    return [*_id_problems(cat), *_sum_problems(cat), *_published_problems(cat), *_rule_problems(cat),
            *_same_as_problems(cat)]


def _same_as_problems(cat: Catalog) -> list[str]:
    """A repeated sub-item names another, asked, sub-item with the same points and levels."""
    subs = {s.id: (ind, s) for *_, ind in cat.indicators() for s in ind.subitems}
    out = []
    for sid, (ind, sub) in subs.items():
        if sub.same_as is None:
            continue
        other = subs.get(sub.same_as)
        same = other is not None and other[1].same_as is None and other[1].id != sid and \
            type(other[0].rule) is type(ind.rule) and other[1].points == sub.points and \
            [(b.label, b.points) for b in other[1].bands] == [(b.label, b.points) for b in sub.bands]
        if not same:
            out.append(located("catalog.same_as", f"subitems({sid}).same_as", same_as=sub.same_as))
    return out


def _walk_ids(cat: Catalog):
    for gi, grant in enumerate(cat.grants):
        for oi, goal in enumerate(grant.goals):
            yield f"grants[{gi}].goals[{oi}].id", goal.id
            for pi, group in enumerate(goal.groups):
                for ii, ind in enumerate(group.indicators):
                    base = f"grants[{gi}].goals[{oi}].groups[{pi}].indicators[{ii}]"
                    yield f"{base}.id", ind.id
                    for si, sub in enumerate(ind.subitems):
                        yield f"{base}.subitems[{si}].id", sub.id


def _id_problems(cat: Catalog) -> list[str]:
    out, seen = [], {}
    for path, ident in _walk_ids(cat):
        if not ID_PATTERN.match(ident):
            out.append(located("catalog.id_pattern", path, ident=ident))
        if ident in seen:
            out.append(located("catalog.id_duplicate", path, ident=ident, first=seen[ident]))
        else:
            seen[ident] = path
    names: dict[str, str] = {}
    for gi, grant in enumerate(cat.grants):
        for oi, goal in enumerate(grant.goals):
            path = f"grants[{gi}].goals[{oi}].id"
            if goal.id.lower() in RESERVED_GOAL_IDS:
                out.append(located("catalog.id_reserved", path, ident=goal.id,
                                   reserved=", ".join(sorted(RESERVED_GOAL_IDS))))
            key = re.sub(r"[^A-Za-z0-9]", "_", goal.id).lower()
            if key in names and names[key] != goal.id:
                out.append(located("catalog.id_collision", path, ident=goal.id, other=names[key]))
            names.setdefault(key, goal.id)
    grant_ids = [g.id for g in cat.grants]
    if len(set(grant_ids)) != len(grant_ids):
        out.append(located("catalog.grant_duplicate", "grants"))
    return out


def _mismatch(path: str, declared: int, parts_sum: int, what: str) -> str:
    return located("catalog.points_sum", path, declared=declared, what=what, parts=parts_sum)


def _sum_problems(cat: Catalog) -> list[str]:
    out = []
    grant_sum = sum(g.points for g in cat.grants)
    if grant_sum != cat.total:
        out.append(_mismatch("total", cat.total, grant_sum, "交付金 (grants)"))
    for gi, grant in enumerate(cat.grants):
        s = sum(o.points for o in grant.goals)
        if s != grant.points:
            out.append(_mismatch(f"grants[{gi}].points ({grant.short})", grant.points, s, "目標 (goals)"))
        for oi, goal in enumerate(grant.goals):
            s = sum(p.points for p in goal.groups)
            if s != goal.points:
                out.append(_mismatch(f"grants[{gi}].goals[{oi}].points ({goal.id})", goal.points, s, "指標群 (groups)"))
            kinds = [p.kind for p in goal.groups]
            if len(set(kinds)) != len(kinds):
                out.append(located("catalog.group_duplicate", f"grants[{gi}].goals[{oi}].groups ({goal.id})"))
            for pi, group in enumerate(goal.groups):
                s = sum(i.points for i in group.indicators)
                if s != group.points:
                    out.append(_mismatch(f"grants[{gi}].goals[{oi}].groups[{pi}].points ({goal.id} {group.kind.value})",
                                         group.points, s, "指標 (indicators)"))
    return out


def _published_problems(cat: Catalog) -> list[str]:
    table = PUBLISHED_POINTS.get((cat.year, cat.kind.value))
    if table is None:
        return []
    src = PUBLISHED_SOURCES[(cat.year, cat.kind.value)]
    out = []
    declared = {
        g.id: {o.number: {p.kind.value: p.points for p in o.groups} for o in g.goals} for g in cat.grants
    }
    if declared != table:
        for grant_id in sorted(set(table) | set(declared)):
            want, got = table.get(grant_id, {}), declared.get(grant_id, {})
            for number in sorted(set(want) | set(got)):
                if want.get(number) != got.get(number):
                    out.append(located("catalog.published_points", f"grants({grant_id}).goals(目標{number})",
                                       published=want.get(number), declared=got.get(number), source=src))
    return out


def _rule_problems(cat: Catalog) -> list[str]:
    out = []
    for gi, grant in enumerate(cat.grants):
        for oi, goal in enumerate(grant.goals):
            for pi, group in enumerate(goal.groups):
                for ii, ind in enumerate(group.indicators):
                    path = f"grants[{gi}].goals[{oi}].groups[{pi}].indicators[{ii}] ({ind.id})"
                    out.extend(f"{path}: {p}" for p in indicator_rule_problems(ind))
    return out


def indicator_rule_problems(ind: Indicator) -> list[str]:
    rule, subs = ind.rule, ind.subitems
    out: list[str] = []
    needs_subitems = isinstance(rule, (SumRule, TiersRule, LevelsRule))
    if needs_subitems and not subs:
        out.append(located("catalog.needs_subitems", "", rule=rule.type))
    if not needs_subitems and subs:
        out.append(located("catalog.no_subitems", "", rule=rule.type))
    sub_ids = {s.id for s in subs}
    for si, s in enumerate(subs):
        if s.requires is not None and (s.requires not in sub_ids or s.requires == s.id):
            out.append(located("catalog.requires", f"subitems[{si}].requires", requires=s.requires))
    stray = [s.id for s in subs if s.bands] if not isinstance(rule, LevelsRule) else []
    if stray:
        out.append(located("catalog.bands_elsewhere", "", ids=", ".join(stray)))
    if isinstance(rule, LevelsRule):
        out.extend(_ladder_problems(ind, rule))
    elif isinstance(rule, SumRule):
        missing = [s.id for s in subs if s.points is None]
        if missing:
            out.append(located("catalog.sum_points_missing", "", ids=", ".join(missing)))
        cap = ind.points if rule.cap is None else rule.cap
        reachable = min(cap, sum(s.points or 0 for s in subs))
        if cap > ind.points:
            out.append(located("catalog.cap_too_high", "", cap=cap, points=ind.points))
        elif reachable != ind.points:
            out.append(located("catalog.unreachable", "", cap=cap, reachable=reachable, points=ind.points))
    elif isinstance(rule, TiersRule):
        if any(s.points is not None for s in subs):
            out.append(located("catalog.tier_points", ""))
        out.extend(_ascending_problems([t.met for t in rule.tiers], [t.points for t in rule.tiers], "tiers", "met"))
        if rule.tiers and rule.tiers[-1].met > len(subs):
            out.append(located("catalog.tier_unreachable", "", met=rule.tiers[-1].met, count=len(subs)))
        if rule.tiers and rule.tiers[-1].points != ind.points:
            out.append(located("catalog.top_tier", "", top=rule.tiers[-1].points, points=ind.points))
    elif isinstance(rule, ThresholdsRule):
        out.extend(_ascending_problems([t.min for t in rule.thresholds], [t.points for t in rule.thresholds],
                                       "thresholds", "min"))
        if rule.thresholds and rule.thresholds[-1].points != ind.points:
            out.append(located("catalog.top_threshold", "", top=rule.thresholds[-1].points, points=ind.points))
    elif isinstance(rule, DirectRule):
        if ind.points % rule.step:
            out.append(located("catalog.step", "", points=ind.points, step=rule.step))
    return out


def _ladder_problems(ind: Indicator, rule: LevelsRule) -> list[str]:
    out = []
    bare = [s.id for s in ind.subitems if not s.bands]
    if bare:
        out.append(located("catalog.ladder_bands", "", ids=", ".join(bare)))
    for s in ind.subitems:
        labels = [b.label for b in s.bands]
        if len(set(labels)) != len(labels) or NO_LEVEL in labels:
            out.append(located("catalog.band_labels", "", id=s.id))
    tops = [ladder_top(s) for s in ind.subitems]
    reachable = max(tops, default=0) if rule.combine == "best" else min(ind.points, sum(tops))
    if tops and reachable != ind.points:
        out.append(located("catalog.ladder_unreachable", "", reachable=reachable, points=ind.points))
    return out


def _ascending_problems(keys, points, name: str, key: str) -> list[str]:
    out = []
    if any(b <= a for a, b in zip(keys, keys[1:])):
        out.append(located("catalog.not_ascending", "", name=name, key=key))
    if any(b < a for a, b in zip(points, points[1:])):
        out.append(located("catalog.points_descending", "", name=name))
    return out
