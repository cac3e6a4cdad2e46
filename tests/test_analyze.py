"""xlsx-tool analyze: the prefecture analysis of returned books and of published results in the tally's
layout. Expected rates, counts, ranks and lacking lists are computed here from the answers the test wrote
(and national rates from the shared tally file), never by the analysis code; every input is accounted for."""

from __future__ import annotations

import csv
import random
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from xlsx_tool.catalog.entity import Entity
from xlsx_tool.catalog.loading import load_shipped_catalog
from xlsx_tool.cli import main
from xlsx_tool.scoring.scorer import score
from xlsx_tool.workbook.filler import fill_workbook, random_answers
from xlsx_tool.workbook.writer import write_workbook

from shared_paths import TALLY, shared_file  # noqa: E402

CAT = load_shipped_catalog("R8", "municipality")
ROSTER = {"142034": "相模原市", "011002": "札幌市", "141003": "横浜市", "131016": "千代田区", "024465": "三戸町",
          "040002": "宮城テスト"}
ABSENT = "040002"  # in the roster, no book and no rows
OUTSIDER = "012025"  # rows in the results file, not in the roster


def _elements():
    """(列番号, sub-item, level): every scored element the test expects a row for (level 0: a sub-item)."""
    for *_, ind in CAT.indicators():
        for sub in ind.subitems:
            if sub.same_as is not None:
                continue
            if not sub.bands:
                yield sub.provenance.tally_column, sub, 0
            for k, band in enumerate(sub.bands, start=1):
                yield band.provenance.tally_column, sub, k


def _meets(sub, level: int, answers: dict) -> bool:
    value = answers.get(sub.id)
    if level == 0:
        return value == "該当"
    labels = [b.label for b in sub.bands]
    return value in labels and labels.index(value) + 1 >= level


def _national() -> dict[int, float]:
    with open(shared_file(TALLY), encoding="utf-8", newline="") as f:
        return {int(r["列番号"]): float(r["該当率"]) for r in csv.DictReader(f)
                if r["年度"] == "令和8年度" and r["指標群"]}


def _expected_rates(answer_sets: list[dict]) -> dict[int, tuple[int, float]]:
    n = len(answer_sets)
    return {col: (met := sum(_meets(sub, k, a) for a in answer_sets), met / n) for col, sub, k in _elements()}


def _roster(path: Path) -> Path:
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["団体コード", "団体名", "都道府県"])
        for code, name in ROSTER.items():
            w.writerow([code, name, "テスト県"])
    return path


def _answers(seed: int) -> dict[str, dict]:
    return {code: random_answers(CAT, random.Random(seed + i), blank_rate=0.1)
            for i, code in enumerate(ROSTER) if code != ABSENT}


def _results_csv(path: Path, answers: dict[str, dict]) -> Path:
    """The tally's layout: one row per element with points (目標Ⅳ given under both grants, as MHLW lists it)."""
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["団体コード", "年度", "列番号", "得点"])
        for code, a in answers.items():
            for *_, ind in CAT.indicators():
                for sub in ind.subitems:
                    own = {**a, sub.id: a.get(sub.same_as)} if sub.same_as else a
                    if not sub.bands and _meets(sub, 0, own):
                        w.writerow([code, "令和8年度", sub.provenance.tally_column, sub.points])
                    for k, band in enumerate(sub.bands, start=1):
                        if _meets(sub, k, own):
                            w.writerow([code, "R8", band.provenance.tally_column, band.points])
    return path


@pytest.fixture(scope="module")
def books(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("analyze_books")
    answers = _answers(100)
    folder = tmp / "returned"
    for code, a in answers.items():
        template = write_workbook(CAT, Entity(name=ROSTER[code], code=code, prefecture="テスト県"),
                                  tmp / "templates" / f"{code}.xlsx")
        fill_workbook(template, a, folder / f"{code}.xlsx", CAT)
    (folder / "メモ.txt").write_text("提出状況メモ", encoding="utf-8")  # not a book: rejected, listed
    return tmp, folder, answers


def _run(*args) -> object:
    result = CliRunner().invoke(main, [*map(str, args)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def _sheet(path: Path, name: str) -> list[dict]:
    ws = load_workbook(path, read_only=True)[name]
    rows = list(ws.iter_rows(values_only=True))
    return [dict(zip(rows[0], r)) for r in rows[1:]]


def _csv_rows(path: Path) -> list[dict]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "UTF-8 with BOM"
    return list(csv.DictReader(raw.decode("utf-8-sig").splitlines()))


def _pct(text: str) -> float:
    return float(text)  # a fraction: 0.657143 is 65.7%


def test_books_rates_matrix_lacking_and_accounting(books):
    tmp, folder, answers = books
    out = tmp / "out"
    result = _run("analyze", folder, "--roster", _roster(tmp / "roster.csv"), "--out", out, "--workers", 1)
    assert result.exit_code == 0, result.output
    sets = list(answers.values())
    expected, national = _expected_rates(sets), _national()

    # (1) per element: count, 団体数 (the absent municipality not counted), rates, difference; worst first
    rows = _sheet(out / "分析結果.xlsx", "小項目別実施率")
    assert len(rows) == len(expected)
    for r in rows:
        met, rate = expected[r["列番号"]]
        assert (r["都道府県該当数"], r["団体数"]) == (met, len(sets))
        assert r["都道府県実施率"] == pytest.approx(rate)
        assert r["全国実施率"] == pytest.approx(national[r["列番号"]])
        assert r["差"] == pytest.approx(rate - national[r["列番号"]])
    diffs = [r["差"] for r in rows]
    assert diffs == sorted(diffs)

    # the CSV: the same figures, as percentages
    table = _csv_rows(out / "小項目別実施率.csv")
    assert {"年度", "列番号", "小項目", "都道府県該当数", "団体数", "都道府県実施率", "全国実施率", "差"} <= set(table[0])
    assert len(table) == len(expected)
    for r in table:
        met, rate = expected[int(r["列番号"])]
        assert (r["年度"], int(r["都道府県該当数"]), int(r["団体数"])) == ("R8", met, len(sets))
        assert _pct(r["都道府県実施率"]) == pytest.approx(rate, abs=1e-6)

    # (2) the matrix: each municipality's marks in catalog order, its total and its rank in the prefecture
    totals = {code: score(CAT, a).total for code, a in answers.items()}
    matrix = _sheet(out / "分析結果.xlsx", "市町村別該当状況")
    assert sorted(r["団体コード"] for r in matrix) == sorted(answers)
    for r in matrix:
        a = answers[r["団体コード"]]
        marks = list(r.values())[4:]
        assert marks == [int(_meets(sub, k, a)) for _, sub, k in _elements()]
        assert r["合計"] == pytest.approx(totals[r["団体コード"]])
        assert r["県内順位"] == 1 + sum(t > totals[r["団体コード"]] for t in totals.values())
    ws = load_workbook(out / "分析結果.xlsx")["市町村別該当状況"]
    assert ws.freeze_panes == "E2" and ws.auto_filter.ref and ws.page_setup.orientation == "landscape"
    assert ws.conditional_formatting, "met / not met in colour"

    # (3) each municipality's lacking list: not met, met by at least half of the prefecture
    lacking = _sheet(out / "分析結果.xlsx", "未実施の小項目")
    for code, a in answers.items():
        want = sorted(col for col, sub, k in _elements() if not _meets(sub, k, a) and expected[col][1] >= 0.5)
        got = [r for r in lacking if r["団体コード"] == code]
        assert len(got) == len(want)
        assert all(r["県内実施率"] >= 0.5 for r in got)

    # (4) averages: the prefecture's total mean; the nation's 推進 目標Ⅰ process mean as the tally's subtotal
    averages = {r["区分"]: r for r in _sheet(out / "分析結果.xlsx", "指標群別平均")}
    assert averages["総合計"]["県内平均"] == pytest.approx(sum(totals.values()) / len(totals), abs=0.05)
    assert averages["推進 目標Ⅰ 体制・取組指標群"]["全国平均"] == pytest.approx(52.36, abs=0.05)
    assert load_workbook(out / "分析結果.xlsx")["指標群別平均"]._charts, "a native bar chart"

    # accounting: every file, and the roster member without a book
    accounts = _sheet(out / "分析結果.xlsx", "入力の確認")
    assert any(r["区分"] == "不受理" and "メモ.txt" in r["入力"] and "Excel ブックではありません" in r["理由"]
               for r in accounts)
    assert [r["団体コード"] for r in accounts if r["区分"] == "データなし"] == [ABSENT]
    assert sum(r["区分"].startswith("受理") for r in accounts) == len(answers)  # blanks: 注意あり
    html = (out / "分析結果.html").read_text(encoding="utf-8")
    assert ROSTER[ABSENT] in html and "メモ.txt" in html
    assert "データなし" in result.output and "メモ.txt" in result.output


def test_results_file_with_previous_year(books, tmp_path):
    """Published results (tally layout) as the source, books as last year: the change per element."""
    _, folder, answers = books
    now = _answers(500)
    path = _results_csv(tmp_path / "公表結果.csv", now)
    with path.open("a", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerow([OUTSIDER, "R8", 1, 4])  # a municipality of another prefecture
    out = tmp_path / "out"
    result = _run("analyze", path, "--roster", _roster(tmp_path / "roster.csv"), "--out", out,
                  "--previous", folder, "--previous-year", "R8", "--workers", 1)
    assert result.exit_code == 0, result.output
    expected, before = _expected_rates(list(now.values())), _expected_rates(list(answers.values()))
    table = _csv_rows(out / "小項目別実施率.csv")
    assert {"前年度実施率", "増減"} <= set(table[0])
    for r in table:
        col = int(r["列番号"])
        assert int(r["都道府県該当数"]) == expected[col][0]
        assert _pct(r["前年度実施率"]) == pytest.approx(before[col][1], abs=1e-6)
        assert _pct(r["増減"]) == pytest.approx(expected[col][1] - before[col][1], abs=2e-6)
    accounts = _sheet(out / "分析結果.xlsx", "入力の確認")
    assert any(r["団体コード"] == OUTSIDER and r["区分"] == "不受理" and "名簿にありません" in r["理由"] for r in accounts)
    assert {r["団体コード"] for r in accounts if r["区分"] == "データなし"} == {ABSENT}
    assert any(r["区分"] == "前年度 データなし" for r in accounts)
    averages = _sheet(out / "分析結果.xlsx", "指標群別平均")
    total = next(r for r in averages if r["区分"] == "総合計")
    mean_now = sum(score(CAT, a).total for a in now.values()) / len(now)
    mean_before = sum(score(CAT, a).total for a in answers.values()) / len(answers)
    assert total["前年度県内平均"] == pytest.approx(mean_before, abs=0.05)
    assert total["増減"] == pytest.approx(mean_now - mean_before, abs=0.1)


def test_refused_inputs_say_why(tmp_path):
    roster = _roster(tmp_path / "roster.csv")
    bad = tmp_path / "bad.csv"
    bad.write_text("団体コード,年度,列番号,得点\n142034,R8,abc,4\n", encoding="utf-8")
    result = _run("analyze", bad, "--roster", roster, "--out", tmp_path / "out")
    assert result.exit_code == 2 and "2 行目" in result.output and "列番号" in result.output
    other = tmp_path / "notes.txt"
    other.write_text("x", encoding="utf-8")
    result = _run("analyze", other, "--roster", roster, "--out", tmp_path / "out")
    assert result.exit_code == 2 and "分析できる入力ではありません" in result.output
    empty = tmp_path / "empty"
    empty.mkdir()
    result = _run("analyze", empty, "--roster", roster, "--out", tmp_path / "out")
    assert result.exit_code == 1 and "分析できる団体が 1 つもありません" in result.output
    assert not (tmp_path / "out").exists()
