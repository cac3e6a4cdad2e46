"""Structural checks on a parsed catalog: points add up, ids unique, rules well-formed.

Each check returns messages "path: problem (Japanese) / English → how to fix".
"""

from __future__ import annotations

import re

from xlsx_tool.catalog.model import Catalog, DirectRule, Indicator, SumRule, ThresholdsRule, TiersRule
from xlsx_tool.catalog.published import PUBLISHED_POINTS, PUBLISHED_SOURCES

ID_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")
RESERVED_GOAL_IDS = {"total", "promotion", "support", "group"}  # used in the workbook's score_* names


def structural_problems(cat: Catalog) -> list[str]:
    return [*_id_problems(cat), *_sum_problems(cat), *_published_problems(cat), *_rule_problems(cat)]


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
            out.append(f"{path}: id '{ident}' は英字で始まる英数字・'-'・'_' のみ使えます / "
                       "id must start with a letter and use only A-Z a-z 0-9 - _ → id を書き換えてください")
        if ident in seen:
            out.append(f"{path}: id '{ident}' が重複しています（{seen[ident]} と同じ） / duplicate id → "
                       "一意な id にしてください")
        else:
            seen[ident] = path
    names: dict[str, str] = {}
    for gi, grant in enumerate(cat.grants):
        for oi, goal in enumerate(grant.goals):
            path = f"grants[{gi}].goals[{oi}].id"
            if goal.id.lower() in RESERVED_GOAL_IDS:
                out.append(f"{path}: id '{goal.id}' は予約語です（{', '.join(sorted(RESERVED_GOAL_IDS))}） / reserved id "
                           "→ 別の id にしてください")
            key = re.sub(r"[^A-Za-z0-9]", "_", goal.id).lower()
            if key in names and names[key] != goal.id:
                out.append(f"{path}: id '{goal.id}' は '{names[key]}' と記号・大文字小文字しか違いません（ブックの名前が"
                           "重なります） / ids collide in workbook names → はっきり異なる id にしてください")
            names.setdefault(key, goal.id)
    grant_ids = [g.id for g in cat.grants]
    if len(set(grant_ids)) != len(grant_ids):
        out.append("grants: 同じ交付金が複数回あります / duplicate grant → 交付金ごとに 1 回だけ記述してください")
    return out


def _mismatch(path: str, declared: int, parts_sum: int, what: str) -> str:
    return (f"{path}: 配点 {declared} が{what}の合計 {parts_sum} と一致しません / declared points {declared} "
            f"!= sum of {what} {parts_sum} → 配点または内訳を修正してください")


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
                out.append(f"grants[{gi}].goals[{oi}].groups ({goal.id}): 同じ指標群が複数あります / "
                           "duplicate group kind → 指標群ごとに 1 つにまとめてください")
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
                    out.append(f"grants({grant_id}).goals(目標{number}): 公表配点 {want.get(number)} と異なります "
                               f"(カタログ: {got.get(number)}) / differs from the published table {src} → "
                               "目標・指標群の配点を公表資料に合わせてください")
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
    needs_subitems = isinstance(rule, (SumRule, TiersRule))
    if needs_subitems and not subs:
        out.append(f"rule '{rule.type}' には subitems が必要です / rule needs sub-items → subitems を追加するか "
                   "rule を direct にしてください")
    if not needs_subitems and subs:
        out.append(f"rule '{rule.type}' では subitems を使えません / rule takes no sub-items → subitems を削除するか "
                   "rule を sum / tiers にしてください")
    sub_ids = {s.id for s in subs}
    for si, s in enumerate(subs):
        if s.requires is not None and (s.requires not in sub_ids or s.requires == s.id):
            out.append(f"subitems[{si}].requires: '{s.requires}' は同じ指標内の他の小項目ではありません / "
                       "must name another sub-item of the same indicator → 正しい id にしてください")
    if isinstance(rule, SumRule):
        missing = [s.id for s in subs if s.points is None]
        if missing:
            out.append(f"rule 'sum' では各小項目に points が必要です（{', '.join(missing)}） / "
                       "every sub-item needs points → points を記入してください")
        cap = ind.points if rule.cap is None else rule.cap
        reachable = min(cap, sum(s.points or 0 for s in subs))
        if cap > ind.points:
            out.append(f"rule.cap {cap} が配点 {ind.points} を超えています / cap exceeds points → cap を配点以下にしてください")
        elif reachable != ind.points:
            out.append(f"小項目の合計（上限 {cap}）で到達できる点 {reachable} が配点 {ind.points} と一致しません / "
                       "sub-item points cannot reach the indicator points → 小項目の点数か配点を修正してください")
    elif isinstance(rule, TiersRule):
        if any(s.points is not None for s in subs):
            out.append("rule 'tiers' では小項目に points を書きません / tiers give points by count → "
                       "小項目の points を削除してください")
        out.extend(_ascending_problems([t.met for t in rule.tiers], [t.points for t in rule.tiers], "tiers", "met"))
        if rule.tiers and rule.tiers[-1].met > len(subs):
            out.append(f"tiers の met {rule.tiers[-1].met} が小項目数 {len(subs)} を超えています / "
                       "tier can never be reached → met を小項目数以下にしてください")
        if rule.tiers and rule.tiers[-1].points != ind.points:
            out.append(f"最上位 tier の点 {rule.tiers[-1].points} が配点 {ind.points} と一致しません / "
                       "top tier must equal the points → どちらかを修正してください")
    elif isinstance(rule, ThresholdsRule):
        out.extend(_ascending_problems([t.min for t in rule.thresholds], [t.points for t in rule.thresholds],
                                       "thresholds", "min"))
        if rule.thresholds and rule.thresholds[-1].points != ind.points:
            out.append(f"最上位 threshold の点 {rule.thresholds[-1].points} が配点 {ind.points} と一致しません / "
                       "top threshold must equal the points → どちらかを修正してください")
    elif isinstance(rule, DirectRule):
        if ind.points % rule.step:
            out.append(f"配点 {ind.points} が刻み step {rule.step} で割り切れません / points not a multiple of step "
                       "→ step を修正してください")
    return out


def _ascending_problems(keys, points, name: str, key: str) -> list[str]:
    out = []
    if any(b <= a for a, b in zip(keys, keys[1:])):
        out.append(f"{name} の {key} は昇順（重複なし）でなければなりません / {key} must strictly increase → 並べ替えてください")
    if any(b < a for a, b in zip(points, points[1:])):
        out.append(f"{name} の points は昇順でなければなりません / points must not decrease → 修正してください")
    return out
