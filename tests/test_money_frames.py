"""The frames as published (issue 18, item 2): 保険者機能強化推進枠 criteria (1)-(3), R7's 成果指向型 frame,
R6's 激変緩和, the payment capped by 所要見込額. Every expected yen is worked out by hand in the comments,
on populations of 3-5 entities written to disk as a results CSV and a parameters YAML."""

import json
from fractions import Fraction

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from xlsx_tool.cli import main
from xlsx_tool.money.estimate import CRITERIA, ParamsError, allocate, cushioned, load_params
from xlsx_tool.read.tables import read_results

CLASSES = "size_classes: {10万人以上: 0.4, 5万人以上10万人未満: 0.2, 1万人以上5万人未満: 0.25, 3千人以上1万人未満: 0.1, 3千人未満: 0.05}\n"


def _params(tmp_path, grants: str, extra: str = "", kind: str = "municipality", classes: bool = True):
    path = tmp_path / "params.yaml"
    path.write_text(f"kind: {kind}\nillustrative: true\ngrants:\n{grants}{CLASSES if classes else ''}{extra}",
                    encoding="utf-8")
    return path


def _results(tmp_path, text: str):
    path = tmp_path / "results.csv"
    path.write_text(text, encoding="utf-8")
    return path


def _run(tmp_path, params, results, *extra):
    return CliRunner().invoke(main, ["estimate", "--results", str(results), "--params", str(params),
                                     "--share-among-given", *extra])


# -- 保険者機能強化推進枠: one unit per criterion met, municipalities only (seed 002) ----------------------

CRITERIA_CSV = ("code,name,insured,total,promotion,crit_continuing_top,crit_depopulated_top,crit_rank_improved,"
                "requested_promotion\n"
                "011002,A市,20000,100,100,1,1,1,500000\n"    # all three criteria: 3 units
                "012025,B市,20000,100,100,1,0,0,300000\n"    # (1) only: 1 unit
                "012033,C町,20000,100,100,0,0,0,\n"          # none: 0 units
                "012041,D町,20000,100,100,0,0,1,\n")         # (3) only: 1 unit


def test_promotion_frame_counts_each_criterion_once(tmp_path):
    params = _params(tmp_path, "  promotion: {budget: 1000001, frames: {promotion_frame: 1.0}}\n")
    result = _run(tmp_path, params, _results(tmp_path, CRITERIA_CSV), "--json")
    assert result.exit_code == 0, result.output
    rows = [e["grants"]["promotion"] for e in json.loads(result.output)["entities"]]
    # 5 units in all: 1,000,001 / 5 = 200,000.2 a unit -> quotas 600,000.6 / 200,000.2 / 0 / 200,000.2;
    # floors 600,000 + 200,000 + 0 + 200,000 = 1,000,000, the 1 yen left to the largest remainder (A, .6)
    assert [r["promotion_frame"] for r in rows] == [600_001, 200_000, 0, 200_000]
    # payment: the lower of allocation and 所要見込額; a blank 所要見込額 caps nothing
    assert [r["payment"] for r in rows] == [500_000, 200_000, 0, 200_000]
    assert [r["requested"] for r in rows] == [500_000, 300_000, None, None]


def test_a_criterion_other_than_0_or_1_is_refused_naming_code_and_column(tmp_path):
    params = _params(tmp_path, "  promotion: {budget: 1000, frames: {promotion_frame: 1.0}}\n")
    results = _results(tmp_path, CRITERIA_CSV.replace("012025,B市,20000,100,100,1,", "012025,B市,20000,100,100,2,"))
    result = _run(tmp_path, params, results)
    assert result.exit_code == 2
    out = result.output.replace("\n", "")
    assert "results.csv" in out and "012025" in out and "crit_continuing_top" in out and "0 か 1" in out
    assert "Traceback" not in out


@pytest.mark.parametrize("frame", ["promotion_frame", "outcome_oriented"])
def test_municipal_frames_are_refused_for_prefectures(tmp_path, frame):
    params = _params(tmp_path, f"  promotion: {{budget: 1000, frames: {{basic: 0.9, {frame}: 0.1}}}}\n",
                     kind="prefecture", classes=False)
    with pytest.raises(ParamsError, match="都道府県には適用されません"):
        load_params(params)
    prefs = _results(tmp_path, "code,total,promotion\n010006,100,100\n")
    result = _run(tmp_path, params, prefs)
    assert result.exit_code == 2 and "params.yaml" in result.output and "Traceback" not in result.output


# -- 成果指向型支援枠 (R7, seed 002: 推進交付金 only, split not published) ----------------------------------

ORIENTED_CSV = ("code,name,insured,total,promotion,outcome_oriented,requested_promotion\n"
                "011002,A市,20000,100,100,1,3000000\n"
                "012025,B市,10000,100,100,1,1000000\n"
                "012033,C市,30000,100,100,0,\n"
                "012041,D市,15000,100,100,1,2000000\n")


@pytest.mark.parametrize("split, expected", [
    # 100,000 yen among A, B, D (C not flagged):
    # equal: 33,333.33 each; floors 99,999, the 1 yen to the earliest of the tied remainders (A)
    ("equal", [33_334, 33_333, 0, 33_333]),
    # by 所要見込額 3,000,000 : 1,000,000 : 2,000,000 -> 50,000 / 16,666.67 / 33,333.33; 1 yen to B (.67)
    ("requested", [50_000, 16_667, 0, 33_333]),
    # by 第1号被保険者 20,000 : 10,000 : 15,000 -> 44,444.44 / 22,222.22 / 33,333.33; 1 yen to A (.44)
    ("insured", [44_445, 22_222, 0, 33_333]),
])
def test_outcome_oriented_frame_by_each_split(tmp_path, split, expected):
    params = _params(tmp_path, "  promotion: {budget: 2000000, frames: {basic: 0.95, outcome_oriented: 0.05}}\n",
                     f"outcome_oriented_split: {split}\n")
    result = _run(tmp_path, params, _results(tmp_path, ORIENTED_CSV), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["budgets"]["promotion"] == {"basic": 1_900_000, "outcome_oriented": 100_000}  # 95 % / 5 %
    assert [e["grants"]["promotion"]["outcome_oriented"] for e in data["entities"]] == expected
    assert sum(e["grants"]["promotion"]["allocation"] for e in data["entities"]) == 2_000_000


def test_outcome_oriented_split_by_request_needs_the_request(tmp_path):
    params = _params(tmp_path, "  promotion: {budget: 1000, frames: {outcome_oriented: 1.0}}\n",
                     "outcome_oriented_split: requested\n")
    results = _results(tmp_path, ORIENTED_CSV.replace("1,1000000\n", "1,\n"))
    result = _run(tmp_path, params, results)
    assert result.exit_code == 2
    out = result.output.replace("\n", "")
    assert "012025" in out and "requested_promotion" in out and "outcome_oriented_split" in out


def test_outcome_oriented_is_a_promotion_frame_only(tmp_path):
    params = _params(tmp_path, "  support: {budget: 1000, frames: {basic: 0.95, outcome_oriented: 0.05}}\n")
    with pytest.raises(ParamsError, match="推進交付金の枠"):
        load_params(params)


# -- 激変緩和 (R6, seed 001: method not published; the rule of money/estimate.py) ----------------------

CUSHION_CSV = ("code,name,insured,total,promotion,last_amount_promotion\n"
               "011002,A市,20000,400,400,300000\n"
               "012025,B市,20000,300,300,300000\n"
               "012033,C市,20000,200,200,250000\n"
               "012041,D市,20000,100,100,\n")


def test_cushion_holds_each_within_its_bounds_and_conserves_the_budget(tmp_path):
    params = _params(tmp_path, "  promotion:\n    budget: 1000000\n    frames: {basic: 1.0}\n"
                               "    cushion: {floor: 0.9, ceiling: 1.1}\n", "insured_weight: 0\n")
    result = _run(tmp_path, params, _results(tmp_path, CUSHION_CSV), "--json", "--out", str(tmp_path / "a.csv"))
    assert result.exit_code == 0, result.output
    rows = [e["grants"]["promotion"] for e in json.loads(result.output)["entities"]]
    # frames: one size class, by score 400:300:200:100 of 1,000,000 -> 400,000 / 300,000 / 200,000 / 100,000
    assert [r["basic"] for r in rows] == [400_000, 300_000, 200_000, 100_000]
    # bounds: A [270,000, 330,000]; B [270,000, 330,000]; C [225,000, 275,000]; D none (no last amount)
    # round 1: A 400,000 -> 330,000 (frees 70,000); C 200,000 -> 225,000 (needs 25,000): 45,000 to share
    #   among B and D by 300,000 : 100,000 -> B +33,750 = 333,750, D +11,250 = 111,250
    # round 2: B above 330,000 -> 330,000 (frees 3,750) -> D alone: 115,000
    assert [r["allocation"] for r in rows] == [330_000, 330_000, 225_000, 115_000]
    assert [r["cushion"] for r in rows] == [-70_000, 30_000, 25_000, 15_000]
    assert sum(r["allocation"] for r in rows) == 1_000_000
    csv_text = (tmp_path / "a.csv").read_text(encoding="utf-8-sig")
    assert "promotion_cushion" in csv_text.splitlines()[0] and ",-70000," in csv_text


def test_cushion_without_a_whole_yen_between_its_bounds_holds_at_the_floor(tmp_path):
    params = _params(tmp_path, "  promotion:\n    budget: 1000\n    frames: {basic: 1.0}\n"
                               "    cushion: {floor: 0.95, ceiling: 0.95}\n", "insured_weight: 0\n")
    results = _results(tmp_path, "code,name,insured,total,promotion,last_amount_promotion\n"
                                 "011002,甲,20000,100,100,101\n012025,乙,20000,100,100,\n")
    result = _run(tmp_path, params, results, "--json")
    assert result.exit_code == 0, result.output
    # 500 each by score; 甲's bounds: 0.95 x 101 = 95.95 -> [96, 95], no whole yen: held at 96; 乙 (no last
    # amount) takes the 404 freed: 904
    rows = [e["grants"]["promotion"] for e in json.loads(result.output)["entities"]]
    assert [r["allocation"] for r in rows] == [96, 904] and [r["cushion"] for r in rows] == [-404, 404]
    text = _run(tmp_path, params, results, "--entity", "011002").output.replace("\n", "")
    assert "激変緩和による調整 -404 円" in text


def test_cushion_that_cannot_be_conserved_is_reported(tmp_path):
    params = _params(tmp_path, "  promotion:\n    budget: 1000000\n    frames: {basic: 1.0}\n"
                               "    cushion: {floor: 1.0}\n", "insured_weight: 0\n")
    results = _results(tmp_path, "code,insured,total,promotion,last_amount_promotion\n"
                                 "011002,20000,100,100,600000\n012025,20000,100,100,600000\n")
    result = _run(tmp_path, params, results, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    # 500,000 each by score; both floored at 1.0 x 600,000 = 600,000: 200,000 more than the budget
    assert [e["grants"]["promotion"]["allocation"] for e in data["entities"]] == [600_000, 600_000]
    assert data["unallocated"]["promotion"] == -200_000
    assert len(data["notes"]) == 1 and "-200,000" in data["notes"][0] and "推進交付金" in data["notes"][0]
    text = _run(tmp_path, params, results)
    assert "注意: 推進交付金の激変緩和" in text.output.replace("\n", "")


def test_cushion_gives_nothing_to_an_entity_not_eligible(tmp_path):
    params = _params(tmp_path, "  support:\n    budget: 900000\n    frames: {basic: 1.0}\n"
                               "    cushion: {floor: 0.9}\n", "insured_weight: 0\n")
    results = _results(tmp_path, "code,insured,total,support,support_eligible,last_amount_support\n"
                                 "011002,20000,100,100,1,\n012025,20000,200,200,1,\n012033,20000,300,300,0,500000\n")
    result = _run(tmp_path, params, results, "--json")
    assert result.exit_code == 0, result.output
    # C is not eligible: no share and no floor; A and B by 100:200 of 900,000 -> 300,000 / 600,000
    assert [e["grants"]["support"]["allocation"] for e in json.loads(result.output)["entities"]] == \
        [300_000, 600_000, 0]


def test_cushion_parameters_are_checked(tmp_path):
    for cushion in ("{}", "{floor: 1.2, ceiling: 1.1}"):
        params = _params(tmp_path, f"  promotion: {{budget: 1, frames: {{basic: 1.0}}, cushion: {cushion}}}\n")
        with pytest.raises(ParamsError, match="cushion"):
            load_params(params)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 400), st.integers(1, 500_000), st.integers(0, 3), st.booleans(),
                          st.one_of(st.none(), st.integers(0, 10**7))), min_size=1, max_size=12),
       st.integers(0, 10**8), st.sampled_from(["equal", "requested", "insured"]),
       st.one_of(st.none(), st.sampled_from([0.5, 0.9, 1.0])), st.one_of(st.none(), st.sampled_from([1.0, 1.1, 2.0])))
def test_every_frame_and_the_cushion_conserve_the_budget(tmp_path_factory, rows, budget, split, low, high):
    """Whatever the population: the budget adds up to the yen, or a note says by how much it does not."""
    tmp = tmp_path_factory.mktemp("p")
    cushion = "" if low is None and high is None else "    cushion: {" + ", ".join(
        f"{k}: {v}" for k, v in (("floor", low), ("ceiling", high)) if v is not None) + "}\n"
    frames = "{basic: 0.6, outcome: 0.2, promotion_frame: 0.1, outcome_oriented: 0.1}"
    params = load_params(_params(tmp, f"  promotion:\n    budget: {budget}\n    frames: {frames}\n{cushion}",
                                 f"outcome_oriented_split: {split}\n"))
    lines = ["code,insured,total,promotion,P4,outcome_oriented,requested_promotion,last_amount_promotion,"
             + ",".join(CRITERIA)]
    for i, (score, insured, crit, oriented, last) in enumerate(rows):
        lines.append(f"{i},{insured},{score},{score},{score // 4},{int(oriented)},{insured * 10},"
                     f"{'' if last is None else last}," + ",".join(str(int(crit > j)) for j in range(3)))
    entities = read_results(_results(tmp, "\n".join(lines) + "\n"))
    est = allocate(entities, params)
    got = [r.allocation for r in est.grants["promotion"]]
    assert all(y >= 0 for y in got)
    if not any(score or crit or oriented for score, _, crit, oriented, _ in rows):
        return  # nobody has any weight: nothing to share
    if any("激変緩和" in note for note in est.notes):  # the only note that says the budget was not kept
        assert sum(got) != budget and est.unallocated["promotion"] == budget - sum(got)
    else:
        assert sum(got) == budget and est.unallocated["promotion"] == 0
    if cushion:
        for (_, _, _, _, last), yen in zip(rows, got):
            if last:  # within [ceil(floor x last), floor(ceiling x last)]
                assert low is None or yen >= Fraction(str(low)) * last
                assert high is None or yen <= Fraction(str(high)) * last


def test_cushioned_keeps_the_sum_when_someone_is_free():
    # 100 / 100 / 100 with bounds [0, 50] on the first: 50 freed, shared 1:1 by the other two -> 125 / 125
    assert cushioned([100, 100, 100], [(0, 50), (0, None), (0, None)]) == [50, 125, 125]


def test_support_money_never_falls_to_the_outcome_oriented_frame(tmp_path):
    params = _params(tmp_path, "  support: {budget: 1000, frames: {basic: 1.0}}\n")
    # nobody has a 支援 score: the 基本分 has no weight; only A is flagged 成果指向型 (a 推進交付金 frame)
    results = _results(tmp_path, "code,insured,total,support,outcome_oriented\n"
                                 "011002,20000,0,0,1\n012025,20000,0,0,0\n")
    data = json.loads(_run(tmp_path, params, results, "--json").output)
    assert data["budgets"]["support"] == {"basic": 1000} and data["unallocated"]["support"] == 1000
    assert all(e["grants"]["support"]["allocation"] == 0 for e in data["entities"])


def test_a_frame_nobody_qualifies_for_is_moved_and_said_so(tmp_path):
    params = _params(tmp_path, "  promotion:\n    budget: 1000000\n    frames: {basic: 0.5, outcome: 0.5}\n",
                     "insured_weight: 0\n")
    results = _results(tmp_path, "code,name,insured,total,promotion\n011002,甲,20000,100,300\n012025,乙,20000,100,100\n")
    data = json.loads(_run(tmp_path, params, results, "--json").output)
    # no outcome column: the 500,000 of アウトカム指標配分枠 joins 基本分, 1,000,000 by score 300:100
    assert data["budgets"]["promotion"] == {"basic": 1_000_000}
    assert [e["grants"]["promotion"]["allocation"] for e in data["entities"]] == [750_000, 250_000]
    assert len(data["notes"]) == 1 and "アウトカム指標配分枠" in data["notes"][0] and "基本分" in data["notes"][0]
    text = _run(tmp_path, params, results).output.replace("\n", "")
    assert "注意: 推進交付金のアウトカム指標配分枠" in text
