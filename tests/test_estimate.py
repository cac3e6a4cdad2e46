"""Allocation estimate: budgets conserved to the yen, more points never less money, payment capped."""

import json
import math
import random
from fractions import Fraction

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from xlsx_tool.cli import main
from xlsx_tool.money.estimate import (
    CRITERIA,
    Params,
    allocate,
    largest_remainder,
    load_params,
    marginal_yen,
    with_scores,
)
from xlsx_tool.scoring.gap import EntityResult

PARAMS = load_params("example")


def population(n, seed, requested=True):
    rng = random.Random(seed)
    out = []
    for i in range(n):
        insured = int(math.exp(rng.uniform(math.log(300), math.log(900_000))))
        scores = {"promotion": rng.randint(0, 400), "support": rng.randint(0, 400),
                  "P4": rng.randint(0, 100), "S4": rng.randint(0, 100),
                  "support_eligible": 1 if rng.random() > 0.05 else 0}
        scores["total"] = scores["promotion"] + scores["support"]
        scores.update({c: 1 if rng.random() < 0.1 else 0 for c in CRITERIA})
        if requested:
            scores["requested_promotion"] = rng.randint(0, 20_000_000)
            scores["requested_support"] = rng.randint(0, 40_000_000)
        out.append(EntityResult(f"{i:06d}", f"団体{i}", "県", insured, scores))
    return out


NATION = population(1741, 1)


def test_budgets_are_conserved_to_the_yen_nationwide():
    est = allocate(NATION, PARAMS)
    for grant, gp in PARAMS.grants.items():
        rows = est.grants[grant]
        assert sum(r.allocation for r in rows) == gp.budget
        assert sum(est.budgets[grant].values()) == gp.budget and est.unallocated[grant] == 0
        for frame, budget in est.budgets[grant].items():
            assert sum(r.frames[frame] for r in rows) == budget


def test_payment_is_the_lower_of_allocation_and_request():
    est = allocate(NATION, PARAMS)
    for grant, rows in est.grants.items():
        for r in rows:
            assert r.payment == min(r.allocation, r.requested) and r.payment <= r.requested


def test_ineligible_entities_get_no_support_grant():
    est = allocate(NATION, PARAMS)
    for e, row in zip(NATION, est.grants["support"]):
        if not e.scores["support_eligible"]:
            assert row.allocation == 0


@pytest.mark.parametrize("delta", [1, 7, 60])
def test_more_points_never_mean_less_money_nationwide(delta):
    rng = random.Random(delta)
    before = allocate(NATION, PARAMS)
    for e in rng.sample(NATION, 8):
        for grant in ("promotion", "support"):
            after = allocate(with_scores(NATION, e.code, **{grant: delta, "total": delta}), PARAMS)
            assert after.for_code(e.code)[grant].allocation >= before.for_code(e.code)[grant].allocation


def test_basic_frame_is_proportional_within_a_size_class():
    est = allocate(NATION, PARAMS)
    from xlsx_tool.catalog.entity import size_class

    cls = "3千人未満"
    members = [(e, r) for e, r in zip(NATION, est.grants["promotion"]) if size_class(e.insured) == cls]
    budget = sum(r.frames["basic"] for _, r in members)
    weights = [Fraction(e.scores["promotion"] * e.insured) for e, _ in members]
    total = sum(weights)
    for (e, r), w in zip(members, weights):
        assert abs(r.frames["basic"] - budget * w / total) < 1  # whole yen from the exact quota


def test_a_frame_nobody_qualifies_for_goes_to_the_basic_frame():
    pop = [EntityResult(e.code, e.name, e.prefecture, e.insured, {**e.scores, **{c: 0 for c in CRITERIA}})
           for e in NATION[:200]]
    est = allocate(pop, PARAMS)
    assert "promotion_frame" not in est.budgets["promotion"]
    assert sum(r.allocation for r in est.grants["promotion"]) == PARAMS.grants["promotion"].budget


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 400), st.integers(1, 500_000), st.integers(0, 100), st.integers(0, 3)),
                min_size=1, max_size=40),
       st.integers(0, 10**9), st.data())
def test_properties_on_small_populations(rows, budget, data):
    params = Params.model_validate({**PARAMS.model_dump(), "grants": {
        "promotion": {"budget": budget, "frames": {"basic": 0.7, "outcome": 0.2, "promotion_frame": 0.1}}}})
    pop = [EntityResult(str(i), "", "", ins, {"promotion": s, "total": s, "P4": o,
                                              **{c: int(k > j) for j, c in enumerate(CRITERIA)}})
           for i, (s, ins, o, k) in enumerate(rows)]
    est = allocate(pop, params)
    rows_ = est.grants["promotion"]
    if any(s or o or k for s, _, o, k in rows):
        assert sum(r.allocation for r in rows_) == budget
    i = data.draw(st.integers(0, len(pop) - 1))
    after = allocate(with_scores(pop, str(i), promotion=data.draw(st.integers(1, 50))), params)
    assert after.for_code(str(i))["promotion"].allocation >= rows_[i].allocation


@given(st.integers(0, 10**12), st.lists(st.integers(0, 10**6), min_size=1, max_size=50))
def test_largest_remainder_adds_up(total, weights):
    shares = largest_remainder(total, [Fraction(w) for w in weights])
    assert sum(shares) == (total if any(weights) else 0)
    assert all(s >= 0 for s in shares)


def test_prefectures_by_share_of_the_national_score():
    params = load_params("example-prefecture")
    prefs = [EntityResult(str(i), f"県{i}", "", None, {"promotion": 250 + i, "support": 260, "P4": 40, "S4": 40,
                                                        "total": 510 + i}) for i in range(47)]
    est = allocate(prefs, params)
    basic = est.budgets["promotion"]["basic"]
    total = sum(e.scores["promotion"] for e in prefs)
    for e, r in zip(prefs, est.grants["promotion"]):
        assert abs(r.frames["basic"] - Fraction(basic * e.scores["promotion"], total)) < 1


def test_cli_estimate_with_entity_detail(tmp_path):
    path = tmp_path / "results.csv"
    header = ["code", "name", "prefecture", "insured", "total", "promotion", "support", "P4", "S4", *CRITERIA]
    lines = [",".join(header)]
    for e in NATION[:300]:
        lines.append(",".join(str(v) for v in [e.code, e.name, e.prefecture, e.insured] +
                              [e.scores[k] for k in header[4:]]))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code = NATION[5].code
    result = CliRunner().invoke(main, ["estimate", "--results", str(path), "--params", "example", "--entity", code,
                                       "--json", "--out", str(tmp_path / "alloc.csv"), "--share-among-given"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["illustrative"] is True and len(data["entities"]) == 1
    pop = [EntityResult(e.code, e.name, e.prefecture, e.insured,
                        {k: e.scores[k] for k in header[4:]}) for e in NATION[:300]]
    assert data["detail"]["marginal_yen_per_point"]["promotion"] == marginal_yen(pop, PARAMS, code, "promotion")
    assert sum(data["budgets"]["promotion"].values()) == PARAMS.grants["promotion"].budget
    assert (tmp_path / "alloc.csv").read_text(encoding="utf-8-sig").count("\n") == 301
    table = CliRunner().invoke(main, ["estimate", "--results", str(path), "--params", "example", "--share-among-given"])
    assert "例示のパラメータ" in table.output and "交付見込額の上位" in table.output


def _missed_items_of_a_book(tmp_path, cat, answers):
    """The entity NATION[7]'s book filled with `answers`, and `estimate --entity --book` among 400 entities
    (results with P4/S4): its code, the missed items by id, and the population as EntityResults."""
    from xlsx_tool.catalog.entity import Entity
    from xlsx_tool.workbook.filler import fill_workbook
    from xlsx_tool.workbook.writer import write_workbook

    code = NATION[7].code
    book = fill_workbook(write_workbook(cat, Entity(code=code), tmp_path / "t.xlsx"), answers,
                         tmp_path / "book.xlsx", cat)
    path = tmp_path / "results.csv"
    header = ["code", "insured", "total", "promotion", "support", "P4", "S4"]
    path.write_text("\n".join([",".join(header)] + [",".join(str(v) for v in [e.code, e.insured] +
                                                              [e.scores[k] for k in header[2:]]) for e in NATION[:400]]),
                    encoding="utf-8")
    result = CliRunner().invoke(main, ["estimate", "--results", str(path), "--params", "example", "--entity", code,
                                       "--book", str(book), "--json", "--share-among-given"])
    assert result.exit_code == 0, result.output
    pop = [EntityResult(e.code, "", "", e.insured, {k: e.scores[k] for k in header[2:]}) for e in NATION[:400]]
    return code, {m["id"]: m for m in json.loads(result.output)["detail"]["missed_items"]}, pop


def test_yen_of_each_missed_item_from_the_entitys_book(tmp_path):
    from xlsx_tool.catalog.loading import load_shipped_catalog
    from xlsx_tool.workbook.filler import extreme_answers

    cat = load_shipped_catalog("R8", "municipality")
    answers = extreme_answers(cat, best=True)
    answers.update({"P1-p1-i": "非該当", "S1-p2-i": "非該当"})  # 4 points lost in 推進, 2 in 支援 (the tally)
    code, missed, pop = _missed_items_of_a_book(tmp_path, cat, answers)
    assert set(missed) == {"P1-p1-i", "S1-p2-i"}
    base = allocate(pop, PARAMS).for_code(code)
    for aid, grant, pts in (("P1-p1-i", "promotion", 4), ("S1-p2-i", "support", 2)):
        after = allocate(with_scores(pop, code, **{grant: pts, "total": pts}), PARAMS).for_code(code)
        assert missed[aid]["points"] == pts and missed[aid]["grant"] == grant
        assert missed[aid]["yen"] == after[grant].allocation - base[grant].allocation > 0


# -- a partial entity set (issue 18, item 3) ------------------------------------------------------------

THREE = "code,name,insured,total,promotion\n011002,A市,20000,100,100\n012025,B市,20000,200,200\n012033,C市,10000,300,300\n"
ONE_FRAME = """kind: municipality
illustrative: true
grants:
  promotion: {budget: 1000000, frames: {basic: 1.0}}
size_classes: {10万人以上: 0.4, 5万人以上10万人未満: 0.2, 1万人以上5万人未満: 0.25, 3千人以上1万人未満: 0.1, 3千人未満: 0.05}
"""


def _three(tmp_path):
    (tmp_path / "three.csv").write_text(THREE, encoding="utf-8")
    (tmp_path / "p.yaml").write_text(ONE_FRAME, encoding="utf-8")
    return ["estimate", "--results", str(tmp_path / "three.csv"), "--params", str(tmp_path / "p.yaml")]


def test_a_national_allocation_from_a_partial_set_is_refused(tmp_path):
    result = CliRunner().invoke(main, _three(tmp_path))
    assert result.exit_code == 2
    out = result.output.replace("\n", "")
    assert "3 団体分" in out and "1,741" in out and "--share-among-given" in out and "three.csv" in out
    assert "Traceback" not in out


def test_share_among_the_given_entities_says_so_on_every_line(tmp_path):
    result = CliRunner().invoke(main, _three(tmp_path) + ["--share-among-given", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["scope"]["share_among_given"] is True and data["scope"]["entities"] == 3
    assert "入力した 3 団体の間での按分" in data["scope"]["note"]
    # All three in 1万人以上5万人未満 (one live class gets the whole 1,000,000 yen); weights score × insured:
    # 100×20000 = 2,000,000, 200×20000 = 4,000,000, 300×10000 = 3,000,000 of 9,000,000 ->
    # 222,222.2 / 444,444.4 / 333,333.3: floors 222,222 + 444,444 + 333,333 = 999,999, the 1 left yen to the
    # largest remainder (B市, .44).
    got = [e["grants"]["promotion"]["allocation"] for e in data["entities"]]
    assert got == [222_222, 444_445, 333_333]
    text = CliRunner().invoke(main, _three(tmp_path) + ["--share-among-given", "--entity", "012025"])
    assert text.exit_code == 0, text.output
    lines = text.output.splitlines()
    scope = "入力した 3 団体の間での按分"
    for title in ("予算と配分枠", "団体の試算"):  # each table is preceded by the scope
        at = next(i for i, x in enumerate(lines) if title in x)
        assert scope in lines[at - 1], text.output
    per_point = [x for x in lines if "1 点あたり" in x]
    assert per_point and all(scope in x for x in per_point), text.output


def test_the_whole_nation_is_not_refused(tmp_path):
    path = tmp_path / "nation.csv"
    path.write_text("code,insured,total,promotion,support\n" + "".join(
        f"{e.code},{e.insured},{e.scores['total']},{e.scores['promotion']},{e.scores['support']}\n" for e in NATION),
        encoding="utf-8")
    result = CliRunner().invoke(main, ["estimate", "--results", str(path), "--params", "example", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["scope"] == {"entities": 1741, "nation": 1741, "share_among_given": False, "note": ""}
    assert sum(e["grants"]["promotion"]["allocation"] for e in data["entities"]) == PARAMS.grants["promotion"].budget


# -- yen per missed sub-item in the gap report (issue 18, item 4) ----------------------------------------


def _two_gaps_book(tmp_path):
    from xlsx_tool.catalog.entity import Entity
    from xlsx_tool.catalog.loading import load_shipped_catalog
    from xlsx_tool.workbook.filler import extreme_answers, fill_workbook
    from xlsx_tool.workbook.writer import write_workbook

    cat = load_shipped_catalog("R8", "municipality")
    answers = extreme_answers(cat, best=True)
    answers.update({"P1-p1-i": "非該当", "S1-p2-i": "非該当"})  # 4 points lost in 推進, 2 in 支援 (the tally)
    return fill_workbook(write_workbook(cat, Entity(code="142034"), tmp_path / "t.xlsx"), answers,
                         tmp_path / "book.xlsx", cat)


def _missed_rows(md: str) -> list[list[str]]:
    section = md.split("## 得点できなかった項目")[1].split("\n## ")[0]
    return [[c.strip() for c in line.strip("|").split("|")] for line in section.splitlines()
            if line.startswith("| ") and line[2:3].isdigit()]


def test_gap_report_shows_the_yen_of_each_missed_item_only_when_given(tmp_path):
    book = _two_gaps_book(tmp_path)
    out = tmp_path / "r.md"
    args = ["report", str(book), "--format", "md", "--out", str(out)]
    assert CliRunner().invoke(main, args).exit_code == 0
    plain = out.read_text(encoding="utf-8")
    assert "概算" not in plain and len(_missed_rows(plain)[0]) == 6  # no money inputs: no money column
    result = CliRunner().invoke(main, args + ["--yen-per-point", "推進=80,453", "--yen-per-point", "支援=100000"])
    assert result.exit_code == 0, result.output
    md = out.read_text(encoding="utf-8")
    rows = _missed_rows(md)
    # by hand: 4 points × 80,453 = 321,812 yen (推進); 2 points × 100,000 = 200,000 yen (支援)
    assert sorted((r[3], r[4]) for r in rows) == [("2", "200,000"), ("4", "321,812")]
    note = next(x for x in md.splitlines() if x.startswith("概算（円）"))
    assert "仮定" in note and "推進 1 点 80,453 円" in note and "支援 1 点 100,000 円" in note
    html = tmp_path / "r.html"
    assert CliRunner().invoke(main, ["report", str(book), "--out", str(html), "--yen-per-point", "推進=80453"]
                              ).exit_code == 0
    text = html.read_text(encoding="utf-8")
    assert 'data-f="yen">321,812<' in text and 'id="money-note"' in text


def test_a_malformed_yen_per_point_is_refused(tmp_path):
    result = CliRunner().invoke(main, ["report", str(tmp_path / "x.xlsx"), "--yen-per-point", "推進"])
    assert result.exit_code == 2 and "推進=80453" in result.output and "Traceback" not in result.output


def test_an_entity_not_in_the_results_is_named_with_the_file(tmp_path):
    result = CliRunner().invoke(main, _three(tmp_path) + ["--share-among-given", "--entity", "999999"])
    out = result.output.replace("\n", "")
    assert result.exit_code != 0 and "999999" in out and "three.csv" in out and "広域連合" in out
    assert "Traceback" not in out


def _with_typed_yen(book, dst, values):
    """The book with its 集計 yen cells (the names yen_per_point_<grant>) typed as staff would, saved as dst."""
    from openpyxl import load_workbook

    wb = load_workbook(book)
    for grant, value in values.items():
        sheet, coord = next(iter(wb.defined_names[f"yen_per_point_{grant}"].destinations))
        wb[sheet][coord.replace("$", "")] = value
    wb.save(dst)
    return dst


def test_the_gap_report_takes_the_yen_typed_in_the_book(tmp_path):
    book = _with_typed_yen(_two_gaps_book(tmp_path), tmp_path / "typed.xlsx", {"promotion": 80453, "support": 100000})
    out = tmp_path / "r.md"
    result = CliRunner().invoke(main, ["report", str(book), "--format", "md", "--out", str(out)])
    assert result.exit_code == 0, result.output
    md = out.read_text(encoding="utf-8")
    # by hand, as with --yen-per-point: 4 points × 80,453 = 321,812 yen; 2 points × 100,000 = 200,000 yen
    assert sorted((r[3], r[4]) for r in _missed_rows(md)) == [("2", "200,000"), ("4", "321,812")]
    assert "ブックの集計シートに入力された額" in next(x for x in md.splitlines() if x.startswith("概算（円）"))
    # the command line wins over the book
    CliRunner().invoke(main, ["report", str(book), "--format", "md", "--out", str(out), "--yen-per-point", "推進=1000"])
    rows = _missed_rows(out.read_text(encoding="utf-8"))
    assert sorted((r[3], r[4]) for r in rows) == [("2", "－"), ("4", "4,000")]
    # text typed where the yen goes is no yen: no money column, and a note naming the cell's text and the fix
    texted = _with_typed_yen(_two_gaps_book(tmp_path), tmp_path / "text.xlsx", {"promotion": "8万円"})
    result = CliRunner().invoke(main, ["report", str(texted), "--format", "md", "--out", str(out)])
    md = out.read_text(encoding="utf-8")
    assert result.exit_code == 0 and len(_missed_rows(md)[0]) == 6  # no 概算 column
    assert "1点あたりの金額（推進）「8万円」" in md and "数値で入力" in md


def test_a_yen_row_deleted_from_the_summary_leaves_the_report_without_money(tmp_path):
    """Deleting the yen row makes Excel rewrite the name as 集計!#REF!: the book still reads."""
    from openpyxl import load_workbook
    from openpyxl.workbook.defined_name import DefinedName

    wb = load_workbook(_two_gaps_book(tmp_path))
    wb.defined_names["yen_per_point_promotion"] = DefinedName("yen_per_point_promotion", attr_text="集計!#REF!")
    wb.save(tmp_path / "ref.xlsx")
    out = tmp_path / "r.md"
    result = CliRunner().invoke(main, ["report", str(tmp_path / "ref.xlsx"), "--format", "md", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert len(_missed_rows(out.read_text(encoding="utf-8"))[0]) == 6
    score = CliRunner().invoke(main, ["score", str(tmp_path / "ref.xlsx")])
    assert score.exit_code == 0 and "Traceback" not in score.output


def test_a_missed_outcome_item_is_priced_in_both_grants_and_their_outcome_frames(tmp_path):
    """A 目標Ⅳ ladder one level below its top: asked once, it adds its step to both grants and to both
    outcome columns (P4, S4) the アウトカム指標配分枠 is shared by."""
    from xlsx_tool.catalog.loading import load_shipped_catalog
    from xlsx_tool.catalog.model import ladder_points
    from xlsx_tool.workbook.filler import extreme_answers

    cat = load_shipped_catalog("R8", "municipality")
    sub = next(s for *_, ind in cat.indicators() for s in ind.subitems if s.id == "P4-o2-lv")
    top = len(sub.bands)
    step = ladder_points(sub, top) - ladder_points(sub, top - 1)  # from the catalog's levels
    answers = extreme_answers(cat, best=True)
    answers[sub.id] = sub.bands[-2].label
    code, missed, pop = _missed_items_of_a_book(tmp_path, cat, answers)
    assert missed[sub.id]["grant"] == "promotion+support" and missed[sub.id]["points"] == 2 * step
    base = allocate(pop, PARAMS).for_code(code)

    def yen(**changes):
        after = allocate(with_scores(pop, code, promotion=step, support=step, total=2 * step, **changes),
                         PARAMS).for_code(code)
        return sum(after[g].allocation - base[g].allocation for g in ("promotion", "support"))
    assert missed[sub.id]["yen"] == yen(P4=step, S4=step) > yen()  # the outcome frames count too


@pytest.mark.libreoffice
def test_a_yen_computed_by_a_formula_is_read_as_the_sheet_shows_it(tmp_path, soffice):
    """=80000+453 on 集計, calculated and saved by a spreadsheet program: the report prices with 80,453."""
    from xlsx_tool.workbook.recalc import recalculate

    typed = _with_typed_yen(_two_gaps_book(tmp_path), tmp_path / "formula.xlsx", {"promotion": "=80000+453"})
    (calculated,) = recalculate([typed], tmp_path / "lo")
    out = tmp_path / "r.md"
    result = CliRunner().invoke(main, ["report", str(calculated), "--format", "md", "--out", str(out)])
    assert result.exit_code == 0, result.output
    rows = _missed_rows(out.read_text(encoding="utf-8"))
    assert sorted((r[3], r[4]) for r in rows) == [("2", "－"), ("4", "321,812")]  # 4 × 80,453 by hand
