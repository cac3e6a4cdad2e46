"""Catalog data built in the tests: one that exercises every scoring rule."""

from __future__ import annotations

import copy


def _prov():
    return {"status": "not_in_sources", "sources": [], "note": "テスト用"}


def _sub(iid, label, points=None, requires=None):
    d = {"id": f"{iid}-{label}", "label": label, "text": f"小項目 {label}"}
    if points is not None:
        d["points"] = points
    if requires is not None:
        d["requires"] = f"{iid}-{requires}"
    return d


def rules_catalog() -> dict:
    """Every rule type: sum with cap, sum with a dependent sub-item, tiers, thresholds, direct."""
    p_inds = [
        {"id": "P1-p1", "number": "1", "text": "各4点・上限12点の指標", "points": 12,
         "rule": {"type": "sum", "cap": 12},
         "subitems": [_sub("P1-p1", x, 4) for x in "abcd"], "provenance": _prov()},
        {"id": "P1-p2", "number": "2", "text": "イはアが該当のときのみ加点", "points": 10,
         "rule": {"type": "sum"},
         "subitems": [_sub("P1-p2", "a", 4), _sub("P1-p2", "b", 6, requires="a")], "provenance": _prov()},
        {"id": "P1-p3", "number": "3", "text": "該当数に応じた配点", "points": 8,
         "rule": {"type": "tiers", "tiers": [{"met": 1, "points": 2}, {"met": 3, "points": 5}, {"met": 5, "points": 8}]},
         "subitems": [_sub("P1-p3", x) for x in "abcde"], "provenance": _prov()},
    ]
    a_inds = [
        {"id": "P1-a1", "number": "1", "text": "実施率（%）", "points": 6,
         "rule": {"type": "thresholds", "unit": "%", "thresholds": [{"min": 10, "points": 2}, {"min": 25.5, "points": 4}, {"min": 50, "points": 6}]},
         "provenance": _prov()},
        {"id": "P1-a2", "number": "2", "text": "国算定の得点", "points": 12, "rule": {"type": "direct", "step": 3},
         "provenance": _prov()},
    ]
    s_inds = [
        {"id": "S1-p1", "number": "1", "text": "直接入力", "points": 20, "rule": {"type": "direct"}, "provenance": _prov()},
    ]
    return {
        "schema_version": 1, "id": "R99-municipality", "year": "R99", "kind": "municipality",
        "title": "テスト用カタログ", "total": 68, "provenance": _prov(),
        "grants": [
            {"id": "promotion", "name": "保険者機能強化推進交付金", "short": "推進", "points": 48, "goals": [
                {"id": "P1", "number": "Ⅰ", "name": "目標1", "points": 48, "groups": [
                    {"kind": "process", "points": 30, "indicators": p_inds},
                    {"kind": "activity", "points": 18, "indicators": a_inds}]}]},
            {"id": "support", "name": "介護保険保険者努力支援交付金", "short": "支援", "points": 20, "goals": [
                {"id": "S1", "number": "Ⅰ", "name": "目標1", "points": 20, "groups": [
                    {"kind": "process", "points": 20, "indicators": s_inds}]}]},
        ],
    }


def modified(data: dict, path: list, value) -> dict:
    """A deep copy of data with the value at path replaced (or deleted when value is ...)."""
    out = copy.deepcopy(data)
    node = out
    for key in path[:-1]:
        node = node[key]
    if value is ...:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return out


def ratio_catalog() -> dict:
    """A figure computed from numerator/denominator, with cut-offs at float boundaries (29/50*100)."""
    ind = {"id": "P1-a1", "number": "1", "text": "参加率（%）", "points": 6,
           "rule": {"type": "thresholds", "unit": "%", "ratio": {"numerator": "参加者数", "denominator": "高齢者人口",
                                                                 "per": 100},
                    "thresholds": [{"min": 29, "points": 2}, {"min": 57, "points": 4}, {"min": 58, "points": 6}]},
           "provenance": _prov()}
    return {
        "schema_version": 1, "id": "R98-municipality", "year": "R98", "kind": "municipality",
        "title": "比率のテスト用カタログ", "total": 6, "provenance": _prov(),
        "grants": [{"id": "promotion", "name": "保険者機能強化推進交付金", "short": "推進", "points": 6, "goals": [
            {"id": "P1", "number": "Ⅰ", "name": "目標1", "points": 6, "groups": [
                {"kind": "activity", "points": 6, "indicators": [ind]}]}]}],
    }
