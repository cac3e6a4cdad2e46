"""全国地方公共団体コード (issue 17, items 7 and 14): one normaliser for 6-digit codes with their check digit
and 5-digit codes without it; rosters with 5-digit codes match the books; --code is checked."""

import json
import random

import pytest
from click.testing import CliRunner
from openpyxl import Workbook

from xlsx_tool.catalog.entity import Entity, code_key, column_codes, entity_code
from xlsx_tool.catalog.loading import load_shipped_catalog
from xlsx_tool.cli import main
from xlsx_tool.collect.roster import RosterError, read_roster
from xlsx_tool.util.problems import ToolError
from xlsx_tool.workbook.filler import fill_workbook, random_answers
from xlsx_tool.workbook.meta import META_SHEET
from xlsx_tool.workbook.writer import write_workbook

# Published codes (総務省 全国地方公共団体コード): the sixth digit is the check digit. 埼玉県 (weighted sum 11,
# remainder 0) and 栃木県 (sum 45, remainder 1) are the two edge cases of "11 minus the remainder, last digit".
KNOWN = {"131016": "東京都千代田区", "011002": "札幌市", "142034": "平塚市", "141003": "横浜市",
         "024465": "南部町（青森県）", "040002": "宮城県", "110001": "埼玉県", "090000": "栃木県"}


@pytest.mark.parametrize("code", sorted(KNOWN))
def test_known_codes_and_their_five_digit_forms(code):
    assert entity_code(code) == code
    assert entity_code(code[:5]) == code  # the check digit is added
    assert entity_code(int(code[:5]) if code[0] != "0" else code[:5]) == code
    assert code_key(code[:5]) == code_key(code)  # a 5-digit code matches its book


def test_full_width_and_spaces_are_folded():
    assert entity_code(" １３１０１６ ") == "131016"
    assert entity_code(14203.0) == "142034"  # typed as a number in Excel


@pytest.mark.parametrize("bad", ["131017", "011001", "142030"])
def test_a_wrong_check_digit_is_an_error_naming_the_value_and_the_right_digit(bad):
    with pytest.raises(ToolError) as exc:
        entity_code(bad)
    right = next(c for c in KNOWN if c[:5] == bad[:5])
    text = exc.value.problem.message
    assert f"「{bad}」" in text and "検査数字" in text and right in text


@pytest.mark.parametrize("bad", ["12", "1310166", "13l016", "", "千代田区"])
def test_anything_else_is_an_error_naming_the_value(bad):
    with pytest.raises(ToolError) as exc:
        entity_code(bad)
    assert f"団体コード「{bad}」" in exc.value.problem.message and "6 桁" in exc.value.problem.message


def test_a_column_of_numbers_that_lost_their_leading_zeros():
    # 6-digit codes typed as numbers: 011002 → 11002 beside 131016
    assert column_codes([11002, 131016, 24465]) == ["011002", "131016", "024465"]
    # only 5-digit numbers whose 6-digit reading fits its check digit: a Hokkaido roster typed as numbers
    assert column_codes([11002, 24465]) == ["011002", "024465"]
    # 5-digit codes (no check digit); 01100 typed as a number is 1100
    assert column_codes(["13101", "14203", 1100]) == ["131016", "142034", "011002"]
    # own numbering stays as written
    assert column_codes(["01", "A-1"]) == ["01", "A-1"]


def _roster_csv(path, lines):
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_roster_with_five_digit_codes_becomes_six_digit_codes(tmp_path):
    roster = _roster_csv(tmp_path / "roster.csv", ["団体コード,団体名", "13101,千代田区", "14203,平塚市", "02446,南部町"])
    assert [e.entity.code for e in read_roster(roster)] == ["131016", "142034", "024465"]


def test_roster_wrong_check_digit_names_the_row_counting_blank_lines(tmp_path):
    roster = _roster_csv(tmp_path / "roster.csv",
                         ["code,name", "", "131016,千代田区", "", "", "142035,平塚市", "13101,千代田区"])
    with pytest.raises(RosterError) as exc:
        read_roster(roster)
    wrong_digit = ("6 行目 列「code」: 団体コード「142035」の検査数字（6 桁目）が正しくありません（14203 の検査数字は 4）"
                   " → 団体コードを確かめてください（142034 ではありませんか）")
    assert exc.value.problems == [wrong_digit, "7 行目 列「code」: 団体コード 131016 が 3 行目と重複しています"]


def test_xlsx_roster_rows_are_the_rows_excel_shows(tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.append(["団体コード", "団体名", "第1号被保険者数"])
    ws.append([11002, "札幌市", 500000])
    ws["A5"], ws["B5"], ws["C5"] = 142034, "平塚市", "多い"  # rows 3 and 4 left blank
    wb.save(tmp_path / "roster.xlsx")
    with pytest.raises(RosterError) as exc:
        read_roster(tmp_path / "roster.xlsx")
    assert exc.value.problems == ["5 行目 列「insured」: 第1号被保険者数「多い」は 0 以上の整数ではありません"]


def test_collect_with_a_five_digit_roster_accepts_the_books(tmp_path):
    """Item 7: a roster in 5-digit codes rejected every book as 名簿にありません."""
    cat = load_shipped_catalog("R8", "municipality")
    inbox = tmp_path / "inbox"
    rng = random.Random(7)
    for code, name in (("142034", "平塚市"), ("024465", "南部町")):
        template = write_workbook(cat, Entity(name=name, code=code), tmp_path / "t" / f"{code}.xlsx")
        fill_workbook(template, random_answers(cat, rng, blank_rate=0.0), inbox / f"{code}.xlsx", cat)
    roster = _roster_csv(tmp_path / "roster.csv", ["団体コード,団体名", "14203,平塚市", "2446,南部町", "13101,千代田区"])
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["collect", str(inbox), "--roster", str(roster), "--out", str(out),
                                       "--year", "R8", "--workers", "1"])
    assert "名簿にありません" not in result.output, result.output
    assert result.exit_code == 0, result.output
    text = (out / "collect.json").read_text(encoding="utf-8")
    assert "名簿にありません" not in text
    status = {r["code"]: r["status"] for r in json.loads(text) if isinstance(r, dict) and "code" in r}
    assert status == {"142034": "accepted", "024465": "accepted"}


def test_generate_code_checks_and_completes_the_code(tmp_path):
    runner = CliRunner()
    result = runner.invoke(main, ["generate", "--year", "R8", "--code", "12", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "団体コード「12」は 6 桁" in result.output and "Error" not in result.output
    result = runner.invoke(main, ["generate", "--year", "R8", "--code", "142035", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "142034ではありませんか" in "".join(result.output.split())
    assert not list(tmp_path.glob("*.xlsx"))
    result = runner.invoke(main, ["generate", "--year", "R8", "--code", "14203", "--name", "平塚市",
                                  "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "検査数字を補って142034" in "".join(result.output.split())
    (book,) = tmp_path.glob("*.xlsx")
    assert "142034" in book.name
    from openpyxl import load_workbook

    meta = {r[0]: r[1] for r in load_workbook(book)[META_SHEET].iter_rows(values_only=True) if r[0]}
    assert meta["entity_code"] == "142034"
