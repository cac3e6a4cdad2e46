"""Roster: validation messages (row, column, problem) and one personalised book per row."""

import random

import pytest
from click.testing import CliRunner
from openpyxl import Workbook, load_workbook

from xlsx_tool.catalog.entity import Entity
from xlsx_tool.catalog.loading import load_shipped_catalog
from xlsx_tool.cli import main
from xlsx_tool.collect.roster import RosterError, read_roster
from xlsx_tool.workbook.filler import fill_workbook, random_answers
from xlsx_tool.workbook.meta import COL_ANSWER, COL_ID, COL_PREVIOUS
from xlsx_tool.workbook.writer import write_workbook


def test_roster_errors_name_row_and_column(tmp_path):
    path = tmp_path / "roster.csv"
    path.write_text("code,name,prefecture,insured,previous\n"
                    "041009,仙台市,宮城県,264123,\n"
                    "041009,重複市,宮城県,10,\n"
                    ",名無し,宮城県,abc,\n"
                    "043010,,宮城県,-5,missing.xlsx\n", encoding="utf-8")
    with pytest.raises(RosterError) as exc:
        read_roster(path)
    problems = exc.value.problems
    assert "3 行目 列「code」: 団体コード 041009 が 2 行目と重複しています" in problems
    assert "4 行目 列「code」: 団体コードが空欄です" in problems
    assert "4 行目 列「insured」: 第1号被保険者数「abc」は 0 以上の整数ではありません" in problems
    assert "5 行目 列「name」: 団体名が空欄です" in problems
    assert "5 行目 列「insured」: 第1号被保険者数「-5」は 0 以上の整数ではありません" in problems
    assert "5 行目 列「previous」: 前年度ブック missing.xlsx が見つかりません" in problems
    assert len(problems) == 6
    assert str(path) in str(exc.value)


def test_roster_unknown_and_missing_columns(tmp_path):
    path = tmp_path / "roster.csv"
    path.write_text("団体名,人口\n仙台市,1\n", encoding="utf-8")
    with pytest.raises(RosterError) as exc:
        read_roster(path)
    assert any("列「code」がありません" in p for p in exc.value.problems)
    assert any("不明な列 人口" in p for p in exc.value.problems)


def test_roster_xlsx_with_japanese_headers_and_numeric_codes(tmp_path):
    wb = Workbook()
    wb.active.append(["団体コード", "団体名", "都道府県", "第1号被保険者数"])
    wb.active.append([41009, "仙台市", "宮城県", 264123])
    wb.save(tmp_path / "roster.xlsx")
    (entry,) = read_roster(tmp_path / "roster.xlsx")
    assert entry.entity == Entity(name="仙台市", code="041009", prefecture="宮城県", insured=264123)  # zero restored


def test_generate_from_roster_with_last_years_answers(tmp_path):
    r7 = load_shipped_catalog("R7", "municipality")
    prev_template = write_workbook(r7, Entity(name="大河原町", code="043222"), tmp_path / "t.xlsx")
    prev_answers = random_answers(r7, random.Random(1), blank_rate=0.0)
    fill_workbook(prev_template, prev_answers, tmp_path / "last" / "043222_R7.xlsx", r7)
    roster = tmp_path / "roster.csv"
    roster.write_text("code,name,prefecture,insured,previous\n"
                      "043222,大河原町,宮城県,6713,last/043222_R7.xlsx\n"
                      "041009,仙台市,宮城県,264123,\n"
                      "043010,七ヶ宿町,宮城県,600,\n", encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["generate", "--roster", str(roster), "--year", "R8", "--out", str(out)])
    assert result.exit_code == 0, result.output
    books = sorted(p.name for p in out.iterdir())
    assert books == ["R8_municipality_041009_仙台市.xlsx", "R8_municipality_043010_七ヶ宿町.xlsx",
                     "R8_municipality_043222_大河原町.xlsx"]
    cover = {r[0]: r[1] for r in load_workbook(out / books[0])["表紙"].iter_rows(max_col=2, values_only=True) if r[0]}
    assert cover["被保険者規模"] == "10万人以上" and cover["団体名"] == "仙台市"
    cover = {r[0]: r[1] for r in load_workbook(out / books[1])["表紙"].iter_rows(max_col=2, values_only=True) if r[0]}
    assert cover["被保険者規模"] == "3千人未満"
    ws = load_workbook(out / books[2])["推進交付金"]
    assert ws[f"{COL_PREVIOUS}3"].value == "前年度回答"
    shown = {ws[f"{COL_ID}{r}"].value: ws[f"{COL_PREVIOUS}{r}"].value for r in range(4, ws.max_row + 1)
             if ws[f"{COL_ID}{r}"].value in prev_answers}
    assert shown and all(shown[k] == prev_answers[k] for k in shown)
    assert all(ws[f"{COL_ANSWER}{r}"].value is None for r in range(4, ws.max_row + 1))  # not pre-filled
    assert load_workbook(out / books[0])["推進交付金"][f"{COL_PREVIOUS}3"].value is None


def test_roster_messages_say_roster_and_survive_odd_numbers(tmp_path):
    path = tmp_path / "roster.csv"
    path.write_text("code,name,insured\n1,A町,inf\n2,B町,nan\n", encoding="utf-8")
    with pytest.raises(RosterError) as exc:
        read_roster(path)
    assert str(exc.value).startswith(f"名簿 {path} に誤りがあります (2 件)")


def test_damaged_xlsx_comparison_file_is_reported_not_raised(tmp_path):
    from xlsx_tool.read.tables import ComparisonError, read_results

    bad = tmp_path / "results.xlsx"
    bad.write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(ComparisonError) as exc:
        read_results(bad)
    assert str(exc.value).startswith(f"比較データ {bad}") and "壊れています" in str(exc.value)
    csv_path = tmp_path / "results.csv"
    csv_path.write_text("code,total\n1,nan\n", encoding="utf-8")
    with pytest.raises(ComparisonError, match="2 行目 列「total」: 数値ではありません"):
        read_results(csv_path)


def test_codes_match_with_or_without_leading_zeros():
    from xlsx_tool.catalog.entity import code_key

    assert code_key("011002") == code_key(11002) == code_key(11002.0) == code_key("０１１００２") == "11002"
    assert code_key(" ABC1 ") == "ABC1" and code_key("000") == "0"
