"""The pure scorer: each rule by hand-worked examples, 平塚市 R6 (seed 000), and properties."""

import pytest
from catalog_fixtures import rules_catalog
from hypothesis import given, settings
from hypothesis import strategies as st

from xlsx_tool.catalog.answers import answer_choices, answer_slots
from xlsx_tool.catalog.loading import load_shipped_catalog, parse_catalog
from xlsx_tool.catalog.model import DirectRule, GroupKind
from xlsx_tool.scoring.scorer import score

CAT = parse_catalog(rules_catalog(), "rules")
Y, N = "該当", "非該当"


def ind_score(answers, ind_id):
    return score(CAT, answers).indicators[ind_id]


@pytest.mark.parametrize("answers,expected", [
    ({}, 0),
    ({"P1-p1-a": Y}, 4),
    ({"P1-p1-a": Y, "P1-p1-b": N, "P1-p1-c": Y}, 8),
    ({"P1-p1-a": Y, "P1-p1-b": Y, "P1-p1-c": Y, "P1-p1-d": Y}, 12),  # 16 capped at 12
    ({"P1-p1-a": " 該当 "}, 4),  # the sheet trims spaces, so does the scorer
    ({"P1-p1-a": "○"}, 0),
])
def test_sum_with_cap(answers, expected):
    assert ind_score(answers, "P1-p1") == expected


@pytest.mark.parametrize("a,b,expected", [(Y, Y, 10), (Y, N, 4), (N, Y, 0), (None, Y, 0), (Y, None, 4)])
def test_subitem_counts_only_if_the_other_is_met(a, b, expected):
    assert ind_score({"P1-p2-a": a, "P1-p2-b": b}, "P1-p2") == expected


@pytest.mark.parametrize("met,expected", [(0, 0), (1, 2), (2, 2), (3, 5), (4, 5), (5, 8)])
def test_tiers_by_number_met(met, expected):
    answers = {f"P1-p3-{x}": (Y if i < met else N) for i, x in enumerate("abcde")}
    assert ind_score(answers, "P1-p3") == expected


@pytest.mark.parametrize("value,expected", [
    (None, 0), (0, 0), (9.99, 0), (10, 2), (25.49, 2), (25.5, 4), (49.999, 4), (50, 6), (1000, 6),
    ("60", 0),  # text is not a number in the sheet either (ISNUMBER)
    (True, 0),
])
def test_thresholds(value, expected):
    assert ind_score({"P1-a1": value}, "P1-a1") == expected


@pytest.mark.parametrize("value,expected", [(None, 0), (0, 0), (9, 9), (12, 12), (15, 12), (-3, 0), ("12", 0)])
def test_direct_points_are_clamped(value, expected):
    assert ind_score({"P1-a2": value}, "P1-a2") == expected


def test_levels_add_up_and_rates():
    answers = {"P1-p1-a": Y, "P1-p3-a": Y, "P1-a1": 30, "P1-a2": 6, "S1-p1": 20}
    res = score(CAT, answers)
    assert res.groups[("P1", "process")] == 4 + 2
    assert res.groups[("P1", "activity")] == 4 + 6
    assert res.goals["P1"] == 16 and res.grants["promotion"] == 16 and res.grants["support"] == 20
    assert res.total == 36 and res.max_total == 68
    assert res.to_json()["rate"] == pytest.approx(36 / 68)


def test_unanswered_and_invalid_answers_are_listed():
    res = score(CAT, {"P1-p1-a": Y, "P1-p1-b": "該当　", "P1-a2": 7, "S1-p1": "１２"})
    assert "P1-p1-a" not in res.unanswered and "P1-p1-c" in res.unanswered and "P1-a1" in res.unanswered
    problems = {p.answer_id: p.message for p in res.problems}
    assert set(problems) == {"P1-p1-b", "P1-a2", "S1-p1"}
    assert "「該当」に直してください" in problems["P1-p1-b"]
    assert "3 点刻み" in problems["P1-a2"]
    assert "文字列" in problems["S1-p1"]


# seed 000, 平塚市 R6: process item points as published (配点 → 平塚市得点), per goal in catalog order
HIRATSUKA_R6 = {
    "P1": [16, 16, 16, 16], "P2": [32, 28], "P3": [30, 28],
    "S1": [6, 8, 7, 7, 2, 9, 7], "S2": [20, 14, 25], "S3": [16, 21, 21],
}
HIRATSUKA_GOAL_TOTALS = {"P1": 64, "P2": 60, "P3": 58, "S1": 46, "S2": 59, "S3": 58}


def _subset_with_points(subitems, target):
    """Sub-items whose points add to exactly `target` (depth-first; the lists are short)."""
    def search(i, left):
        if left == 0:
            return []
        if i == len(subitems) or left < 0:
            return None
        with_it = search(i + 1, left - subitems[i].points)
        return [subitems[i], *with_it] if with_it is not None else search(i + 1, left)
    return search(0, target)


def test_hiratsuka_r6_process_totals_are_reproduced():
    """平塚市's R6 process points per indicator (seed 000) are reachable by sub-items met, and score to its
    published goal totals."""
    cat = load_shipped_catalog("R6", "municipality")
    answers = {}
    for _, goal, group in cat.groups():
        if group.kind == GroupKind.process:
            inds = group.indicators
            assert len(inds) == len(HIRATSUKA_R6[goal.id]), goal.id
            for ind, points in zip(inds, HIRATSUKA_R6[goal.id]):
                met = _subset_with_points(ind.subitems, points)
                assert met is not None, (ind.id, points)
                answers.update({s.id: Y if s in met else N for s in ind.subitems})
    res = score(cat, answers)
    assert not res.problems
    assert {g: res.groups[(g, "process")] for g in HIRATSUKA_GOAL_TOTALS} == HIRATSUKA_GOAL_TOTALS
    assert sum(HIRATSUKA_GOAL_TOTALS.values()) == res.to_json()["total"]


def _answer_strategy(catalog):
    slots = list(answer_slots(catalog))
    values = []
    for aid, ind, is_sub in slots:
        if is_sub:
            values.append(st.sampled_from([None, *answer_choices(ind, aid)]))
        elif isinstance(ind.rule, DirectRule):
            values.append(st.one_of(st.none(), st.integers(0, ind.points)))
        else:
            values.append(st.one_of(st.none(), st.floats(0, 200, allow_nan=False)))
    return st.tuples(*values).map(lambda vs: {aid: v for (aid, *_), v in zip(slots, vs)})


@settings(max_examples=200, deadline=None)
@given(_answer_strategy(CAT), st.data())
def test_meeting_one_more_subitem_never_lowers_the_score(answers, data):
    subs = [aid for aid, _, is_sub in answer_slots(CAT) if is_sub]
    aid = data.draw(st.sampled_from(subs))
    before = score(CAT, {**answers, aid: N})
    after = score(CAT, {**answers, aid: Y})
    assert after.total >= before.total
    assert 0 <= after.total <= CAT.total
    for ind_id, pts in after.indicators.items():
        assert 0 <= pts <= next(i.points for *_, i in CAT.indicators() if i.id == ind_id)


def test_ratio_figures_are_rounded_like_the_sheet_compares():
    from catalog_fixtures import ratio_catalog

    cat = parse_catalog(ratio_catalog(), "ratio")
    assert 29 / 50 * 100 < 58  # in binary floating point ...
    assert score(cat, {"P1-a1-num": 29, "P1-a1-den": 50}).total == 6  # ... but 58 % as the sheet shows it
    assert score(cat, {"P1-a1-num": 28, "P1-a1-den": 50}).total == 2  # 56 %
    assert score(cat, {"P1-a1-num": 29, "P1-a1-den": 0}).total == 0
    assert score(cat, {"P1-a1-num": "29", "P1-a1-den": 50}).total == 0


def test_answers_equal_in_python_but_not_in_the_sheet_are_scored_apart():
    """Books of a collection are scored one after another: TRUE (a bool, which ISNUMBER refuses) after a
    book with the number 1 (equal keys in Python), and the reverse, each get their own points."""
    cat = parse_catalog(rules_catalog(), "rules")
    for first, second in ((1, True), (True, 1), (1.0, True), (0, False), (False, 0), (12.0, 12)):
        got = [score(cat, {"S1-p1": v}).indicators["S1-p1"] for v in (first, second)]
        expect = [0 if isinstance(v, bool) else min(20, v) for v in (first, second)]
        assert got == expect, (first, second, got)
