"""The command line as users run it: generate, score (table and JSON), demo."""

import json
import subprocess
import sys
from importlib import resources

from click.testing import CliRunner
from openpyxl import load_workbook

from xlsx_tool.catalog.loading import load_shipped_catalog
from xlsx_tool.cli import main
from xlsx_tool.workbook.filler import fill_workbook


def test_generate_r8_municipality_with_entity(tmp_path):
    result = CliRunner().invoke(main, ["generate", "--year", "R8", "--kind", "municipality", "--out", str(tmp_path),
                                       "--name", "平塚市", "--code", "142034", "--prefecture", "神奈川県",
                                       "--insured", "73333"])
    assert result.exit_code == 0, result.output
    path = tmp_path / "R8_municipality_142034_平塚市.xlsx"
    assert path.exists()
    wb = load_workbook(path)
    cover = {r[0]: r[1] for r in wb["表紙"].iter_rows(max_col=2, values_only=True) if r[0]}
    assert cover["年度"] == "令和8年度（2026年度）"
    assert cover["団体名"] == "平塚市" and cover["第1号被保険者数"] == 73333 and cover["都道府県"] == "神奈川県"


def test_generate_refuses_unknown_year_with_a_message(tmp_path):
    result = CliRunner().invoke(main, ["generate", "--year", "R3", "--out", str(tmp_path)])
    assert result.exit_code == 2
    out = "".join(result.output.split())
    assert "この年度・区分の同梱カタログはありません" in out and "--catalog" in out
    assert "誤り" not in out  # nothing is wrong with a file: there is none (issue 17, item 14)


def _filled_r8(tmp_path):
    cat = load_shipped_catalog("R8", "municipality")
    CliRunner().invoke(main, ["generate", "--year", "R8", "--out", str(tmp_path), "--code", "142034"])
    template = tmp_path / "R8_municipality_142034.xlsx"
    ids = cat.answer_ids()
    answers = {ids[0]: "該当", ids[1]: "非該当", ids[2]: "該当"}
    ladder = next(s for *_, i in cat.indicators() for s in i.subitems if s.bands)  # 推進Ⅰ 活動 1: its top level
    answers[ladder.id] = ladder.bands[-1].label
    return cat, answers, fill_workbook(template, answers, tmp_path / "filled.xlsx", cat)


def test_score_json_has_totals_groups_and_unanswered(tmp_path):
    cat, answers, filled = _filled_r8(tmp_path)
    result = CliRunner().invoke(main, ["score", str(filled), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    ladder = next(s for *_, i in cat.indicators() for s in i.subitems if s.id in answers and s.bands)
    assert ladder.id.startswith("P1-a")  # the same goal as the three sub-items, its activity group
    top = sum(b.points for b in ladder.bands)  # every level reached (the tally: 4 levels of 3 points)
    assert top == 12
    assert data["total"] == 4 + 4 + top and data["max_total"] == 800
    assert [g["max"] for g in data["grants"]] == [400, 400]
    process, activity = data["grants"][0]["goals"][0]["groups"]
    assert process["kind"] == "process" and process["max"] == 64 and process["score"] == 8
    assert activity["kind"] == "activity" and activity["score"] == top
    assert len(data["unanswered"]) == len(cat.answer_ids()) - len(answers)
    assert set(answers).isdisjoint(data["unanswered"])


def test_score_table_is_japanese_and_lists_invalid_answers(tmp_path):
    cat, answers, filled = _filled_r8(tmp_path)
    bad = fill_workbook(filled, {cat.answer_ids()[3]: "はい"}, tmp_path / "bad.xlsx", cat)
    result = CliRunner().invoke(main, ["score", str(bad)])
    assert result.exit_code == 0, result.output
    assert "総合計" in result.output and "800" in result.output
    assert "不正な回答" in result.output and "はい" in result.output
    assert "未回答" in result.output


def test_score_refuses_a_non_workbook(tmp_path):
    path = tmp_path / "scan.xlsx"
    path.write_text("not a workbook")
    result = CliRunner().invoke(main, ["score", str(path)])
    assert result.exit_code == 2 and "scan.xlsx" in result.output


def test_demo_leaves_template_filled_example_and_scores(tmp_path):
    # through the installed console script, as the README's first command runs it
    proc = subprocess.run([sys.executable, "-m", "xlsx_tool", "demo", "--out", "samples"],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    tmp_path = tmp_path / "samples"
    names = {p.name for p in tmp_path.iterdir()}
    assert {"R8_municipality_template.xlsx", "R8_municipality_sample_filled.xlsx",
            "R8_municipality_sample_score.json", "R8_municipality_sample_score.txt",
            "R8_municipality_sample_report.html"} <= names
    data = json.loads((tmp_path / "R8_municipality_sample_score.json").read_text(encoding="utf-8"))
    assert data["max_total"] == 800 and 0 < data["total"] < 800
    assert "総合計" in (tmp_path / "R8_municipality_sample_score.txt").read_text(encoding="utf-8")


def test_rates_are_rounded_as_the_sheet_rounds_them(tmp_path):
    """20 of 64 is 31.25 %: the sheet (format 0.0%, Excel and LibreOffice round half away from zero) shows
    31.3 %, and so must the command line and the report (Python's format would say 31.2 %)."""
    cat = load_shipped_catalog("R8", "municipality")
    CliRunner().invoke(main, ["generate", "--year", "R8", "--out", str(tmp_path), "--code", "142034"])
    p1 = next(i for *_, i in cat.indicators() if i.id == "P1-p1")  # ア–エ 4 points each
    p2 = next(i for *_, i in cat.indicators() if i.id == "P1-p2")
    answers = {s.id: "該当" for s in p1.subitems} | {p2.subitems[0].id: "該当"}  # 16 + 4 = 20 of 64
    book = fill_workbook(tmp_path / "R8_municipality_142034.xlsx", answers, tmp_path / "filled.xlsx", cat)
    assert f"{20 / 64:.1%}" == "31.2%"  # what Python's own rounding gives
    table = CliRunner().invoke(main, ["score", str(book)]).output
    assert "31.3%" in table and "31.2%" not in table
    out = tmp_path / "r.html"
    assert CliRunner().invoke(main, ["report", str(book), "--out", str(out)]).exit_code == 0
    assert "31.3%" in out.read_text(encoding="utf-8")


def test_the_example_thresholds_are_accepted_wherever_generate_accepts_them(tmp_path):
    """Issue 17, item 10: score, report and collect take `--thresholds example` as generate does, and
    collect lists a ratio's numerator and denominator among the answers instead of crashing."""
    import random

    from xlsx_tool.read.openpyxl_engine import read_book
    from xlsx_tool.workbook.filler import random_answers

    runner = CliRunner()
    assert runner.invoke(main, ["generate", "--year", "R8", "--thresholds", "example", "--code", "142034",
                                "--out", str(tmp_path / "t")]).exit_code == 0
    template = next((tmp_path / "t").glob("*.xlsx"))
    cat, _ = read_book(template)
    (tmp_path / "inbox").mkdir()
    book = fill_workbook(template, random_answers(cat, random.Random(3), blank_rate=0.0),
                         tmp_path / "inbox" / "a.xlsx", cat)
    for args in (["score", str(book)], ["report", str(book), "--out", str(tmp_path / "r.html")],
                 ["collect", str(tmp_path / "inbox"), "--out", str(tmp_path / "out")]):
        result = runner.invoke(main, [*args, "--thresholds", "example"])
        assert result.exit_code == 0 and result.exception is None, (args[0], result.output)
    assert "受理 1" in result.output
    # another thresholds file than the book's example: refused with the fix, not the example used silently
    other = tmp_path / "other.yaml"
    example = resources.files("xlsx_tool.thresholds_data") / "R8-municipality.example.yaml"
    other.write_text(example.read_text(encoding="utf-8").replace("status: example", "status: official"), encoding="utf-8")
    for args in (["score", str(book)], ["report", str(book), "--out", str(tmp_path / "r2.html")]):
        result = runner.invoke(main, [*args, "--thresholds", str(other)])
        assert result.exit_code != 0 and "ブック作成時のもの" in result.output and "作成し直して" in result.output, \
            (args[0], result.output)
        assert "Traceback" not in result.output
    header = (tmp_path / "out" / "回答一覧.csv").read_text(encoding="utf-8-sig").splitlines()[0]
    ratio = next(i.rule.ratio for *_, i in cat.indicators() if getattr(i.rule, "ratio", None))
    assert ratio.numerator in header and ratio.denominator in header
