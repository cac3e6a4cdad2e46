"""Carrying last year's answers forward: exactly the persisting items, the rest listed."""

import random

from click.testing import CliRunner
from openpyxl import load_workbook

from xlsx_tool.catalog.entity import Entity
from xlsx_tool.catalog.loading import load_shipped_catalog
from xlsx_tool.cli import main
from xlsx_tool.read.openpyxl_engine import read_book
from xlsx_tool.workbook.carry import carry_answers
from xlsx_tool.workbook.filler import fill_workbook, random_answers
from xlsx_tool.workbook.meta import COL_ANSWER, COL_ID, COL_PREVIOUS, input_sheet_names
from xlsx_tool.workbook.writer import write_workbook

R7 = load_shipped_catalog("R7", "municipality")
R8 = load_shipped_catalog("R8", "municipality")
R6 = load_shipped_catalog("R6", "municipality")


def _shape_of(cat):
    out = {}
    for *_, ind in cat.indicators():
        if ind.subitems:
            out.update({s.id: "choice" for s in ind.subitems})
        else:
            out[ind.id] = (ind.rule.type, ind.points)
    return out


def test_carries_exactly_the_persisting_items_r6_to_r7():
    prev = random_answers(R6, random.Random(2), blank_rate=0.0)
    result = carry_answers(R6, prev, R7)
    old, new = _shape_of(R6), _shape_of(R7)
    persisting = {aid for aid in old if aid in new and old[aid] == new[aid]}
    assert set(result.carried) == persisting
    assert all(result.carried[a] == prev[a] for a in persisting)
    assert {p for p, _ in result.not_carried} == set(old) - persisting
    reasons = dict(result.not_carried)
    assert reasons["P1-p1"].startswith("今年度は小項目ごとの回答に変わりました")  # direct in R6, sub-items in R7
    assert "S2-p1" in reasons and reasons["S2-p1"] == "今年度の様式にない項目です"  # 支援Ⅱ restructured


def test_mapping_carries_renumbered_items_and_blank_answers_are_not_listed():
    prev = {"S2-p1": 20, "S2-p2": None}
    result = carry_answers(R6, prev, R7, {"S2-p1": "S2-p"})  # 20 of 20 → the 64-point group entry
    assert result.not_carried == [("S2-p1", "今年度は回答の形式または配点が変わりました")]
    prev = {"P1-p2": 16, "P1-p3": 12}
    result = carry_answers(R7, prev, R8, {"P1-p2": "P1-p3", "P1-p3": "P1-p2"})  # swapped numbering
    assert result.carried == {"P1-p3": 16, "P1-p2": 12} and result.not_carried == []


def test_generate_with_previous_and_carry(tmp_path):
    prev = random_answers(R7, random.Random(4), blank_rate=0.2)
    template = write_workbook(R7, Entity(name="大河原町", code="043222"), tmp_path / "t.xlsx")
    last = fill_workbook(template, prev, tmp_path / "last.xlsx", R7)
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["generate", "--year", "R8", "--out", str(out), "--code", "043222",
                                       "--name", "大河原町", "--previous", str(last), "--carry"])
    assert result.exit_code == 0, result.output
    expected = carry_answers(R7, prev, R8)
    assert f"前年度の回答 {len(expected.carried)} 項目を引き継ぎ" in result.output
    book = out / "R8_municipality_043222_大河原町.xlsx"
    _, contents = read_book(book)
    filled = {k: v for k, v in contents.answers.items() if v is not None}
    assert filled == expected.carried  # pre-filled exactly the persisting, answered items
    wb = load_workbook(book)
    for sheet in input_sheet_names(R8).values():
        ws = wb[sheet]
        for r in range(4, ws.max_row + 1):
            aid = ws[f"{COL_ID}{r}"].value
            if aid in expected.carried:
                assert ws[f"{COL_PREVIOUS}{r}"].value == expected.carried[aid]
                assert ws[f"{COL_ANSWER}{r}"].value == expected.carried[aid]


def test_regenerating_never_replaces_the_book_it_reads(tmp_path):
    prev = random_answers(R8, random.Random(1), blank_rate=0.0)
    out = tmp_path / "returned"
    book = write_workbook(R8, Entity(name="大河原町", code="043222"), out / "R8_municipality_043222_大河原町.xlsx")
    fill_workbook(book, prev, book.with_name("tmp.xlsx"), R8).replace(book)
    before = book.read_bytes()
    result = CliRunner().invoke(main, ["generate", "--year", "R8", "--out", str(out), "--code", "043222",
                                       "--name", "大河原町", "--previous", str(book), "--carry"])
    assert result.exit_code == 2 and "前年度ブックと同じファイル" in result.output
    assert book.read_bytes() == before
