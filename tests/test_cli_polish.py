"""What a new user of the command line met (issue 17, items 12 and 14): Click's usage errors in Japanese,
a CSV given to score, eligibility with missing inputs, the xlwings scripts without a licence key, and
score warning about a book collect would reject."""

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from xlsx_tool.catalog.entity import Entity
from xlsx_tool.catalog.loading import load_shipped_catalog
from xlsx_tool.cli import main
from xlsx_tool.workbook.filler import fill_workbook, random_answers
from xlsx_tool.workbook.writer import write_workbook

CAT = load_shipped_catalog("R8", "municipality")


def _run(*args, env=None, cwd=None):
    """The installed command in a real process: what a user sees on the terminal."""
    command = Path(sys.executable).with_name("xlsx-tool")  # the console script installed beside this Python
    return subprocess.run([str(command), *args], capture_output=True, text=True,
                          encoding="utf-8", env=env, cwd=cwd, timeout=120, check=False)


def _flat(text: str) -> str:
    return "".join(text.split())


ENGLISH = ("Usage:", "Error:", "Try '", "Missing argument", "No such option", "is not a valid", "does not exist",
           "is not one of", "Invalid value", "[OPTIONS]", "Traceback")


@pytest.mark.parametrize("args, phrases", [
    (["score"], ["使い方: xlsx-tool score [オプション] BOOK", "エラー:", "引数が指定されていません", "BOOK"]),
    (["score", "book.xlsx", "--bogus"], ["使い方: xlsx-tool score", "オプション --bogus はありません"]),
    (["generate", "--insured", "abc"], ["--insured", "「abc」は整数ではありません"]),
    (["generate", "--insured", "-3"], ["--insured", "範囲"]),
    (["report", "book.xlsx", "--format", "pdf"], ["「pdf」は指定できません", "html"]),
    (["generate", "--catalog", "nothere.yaml"], ["ファイル「nothere.yaml」が見つかりません"]),
    (["generate", "--code", "12"], ["団体コード「12」は 6 桁"]),
    (["frob"], ["使い方: xlsx-tool [オプション] コマンド [引数]...", "コマンド「frob」はありません"]),
])
def test_click_usage_errors_are_japanese_with_exit_code_2(tmp_path, args, phrases):
    done = _run(*args, cwd=tmp_path)
    out = done.stdout + done.stderr
    assert done.returncode == 2, out
    for phrase in phrases:
        assert phrase in out, (phrase, out)
    for english in ENGLISH:
        assert english not in out, (english, out)


def test_help_and_version_are_japanese():
    runner = CliRunner()
    text = runner.invoke(main, ["score", "--help"]).output
    assert "使い方:" in text and "オプション:" in text and "この説明を表示して終了します" in text
    assert "Usage" not in text and "Show this message" not in text
    assert "バージョン" in runner.invoke(main, ["--version"]).output


def test_a_csv_given_to_score_is_called_a_csv_not_a_renamed_file(tmp_path):
    data = tmp_path / "data.csv"
    data.write_text("団体コード,年度,列番号,得点\n142034,R8,15,4\n", encoding="utf-8")
    for command in ("score", "report"):
        result = CliRunner().invoke(main, [command, str(data)])
        out = _flat(result.output)
        assert result.exit_code == 2
        assert "CSVなどのテキストファイルで、Excelブックではありません" in out
        assert "generate--results" in out and "report--compare" in out
        assert "拡張子" not in out  # not "the extension was changed"


def test_eligibility_names_each_missing_input_and_exits_1(tmp_path):
    result = CliRunner().invoke(main, ["eligibility", "--budget", "1000", "--amended", "1100"])
    assert result.exit_code == 1
    out = _flat(result.output)
    assert "入力不足" in out and "判定に必要な入力がありません" in out
    assert "--settlement②前年度決算額（見込み）（円）" in out and "--last-budget②前年度当初予算" in out
    assert "--amended" not in out and "--budget①" not in out  # given inputs are not named

    result = CliRunner().invoke(main, ["eligibility", "--json"])
    assert result.exit_code == 1
    data = json.loads(result.output)
    assert data["eligible"] is None and [m.split()[0] for m in data["missing"]] == [
        "--budget", "--settlement", "--amended", "--last-budget"]

    done = CliRunner().invoke(main, ["eligibility", "--budget", "1200", "--settlement", "1000", "--amended", "1100",
                                     "--last-budget", "1050"])
    assert done.exit_code == 0 and "交付対象" in done.output


def test_eligibility_of_a_book_names_the_sheet_cells(tmp_path):
    book = write_workbook(CAT, Entity(name="平塚市", code="142034"), tmp_path / "book.xlsx")
    wb = load_workbook(book)
    wb["交付要件"]["C4"] = 1000  # ① only
    wb.save(book)
    result = CliRunner().invoke(main, ["eligibility", str(book)])
    assert result.exit_code == 1
    out = _flat(result.output)
    assert "交付要件!C6②前年度決算額" in out and "交付要件!C7" in out and "交付要件!C8" in out
    assert "交付要件!C4" not in out


def test_xlwings_scripts_without_a_licence_key_print_the_message_only(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "XLWINGS_LICENSE_KEY"}
    env["HOME"] = str(tmp_path)  # no licence file from a user's home
    done = subprocess.run([sys.executable, "-m", "xlsx_tool.bridge.scripts"], capture_output=True, text=True,
                          encoding="utf-8", env=env, cwd=tmp_path, timeout=120, check=False)
    assert done.returncode != 0
    assert "Traceback" not in done.stderr and "LicenseError" not in done.stderr
    assert "XLWINGS_LICENSE_KEY=noncommercial" in done.stderr


def _filled(tmp_path, name="book.xlsx"):
    template = write_workbook(CAT, Entity(name="平塚市", code="142034"), tmp_path / "t" / name)
    return fill_workbook(template, random_answers(CAT, random.Random(3), blank_rate=0.0), tmp_path / name, CAT)


def test_score_is_silent_on_an_untouched_book(tmp_path):
    result = CliRunner().invoke(main, ["score", str(_filled(tmp_path))])
    assert result.exit_code == 0, result.output
    assert "警告" not in result.output and "collect" not in result.output


def test_score_warns_of_a_formula_replaced_by_a_constant(tmp_path):
    book = _filled(tmp_path)
    wb = load_workbook(book)
    ws = wb["推進交付金"]
    cell = next(c for c in ws["E"] if isinstance(c.value, str) and c.value.startswith("=MIN("))
    cell.value = 16
    wb.save(book)
    result = CliRunner().invoke(main, ["score", str(book)])
    assert result.exit_code == 1
    out = _flat(result.output)
    assert "総合計" in out  # still scored
    assert "警告" in out and "collect" in out and "受け付けられません" in out
    assert f"推進交付金!{cell.coordinate}" in out
    data = json.loads(CliRunner().invoke(main, ["score", str(book), "--json"]).output)
    assert any(f"推進交付金!{cell.coordinate}" in r for r in data["tampering"])


def test_score_warns_of_an_inserted_row(tmp_path):
    book = _filled(tmp_path)
    wb = load_workbook(book)
    wb["支援交付金"].insert_rows(6)
    wb.save(book)
    result = CliRunner().invoke(main, ["score", str(book)])
    assert result.exit_code == 1
    out = _flat(result.output)
    assert "行が挿入または削除されています（支援交付金）" in out and "collect" in out
