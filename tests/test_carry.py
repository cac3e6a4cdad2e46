"""Carrying last year's answers forward: exactly the persisting items, the rest listed."""

import csv
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

from shared_paths import TALLY, shared_file  # noqa: E402

R7 = load_shipped_catalog("R7", "municipality")
R8 = load_shipped_catalog("R8", "municipality")
R6 = load_shipped_catalog("R6", "municipality")


def _tally_items(year: str) -> dict[int, tuple]:
    """列番号 -> (grant, goal, group, number, short title, label, points) of one year, from MHLW's tally."""
    with open(shared_file(TALLY), encoding="utf-8", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["年度"] == f"令和{year[1:]}年度" and r["指標群"]]
    out = {}
    for r in rows:
        number, title, *labels = [p.strip() for p in r["指標"].split(" / ")]
        kind = "process" if "体制" in r["指標群"] else "activity" if "活動" in r["指標群"] else "outcome"
        out[int(r["列番号"])] = (r["交付金"], r["目標"], kind, number, title, "".join(labels), float(r["配点"]))
    return out


def _answers_by_tally(cat) -> dict[str, frozenset]:
    """Answer id -> the tally rows it is scored on (a sub-item: one; a ladder: one per level)."""
    items = _tally_items(cat.year)
    out = {}
    for *_, ind in cat.indicators():
        for sub in ind.subitems:
            if sub.same_as is None:  # 目標Ⅳ under 支援 repeats 推進's answer: not an answer of its own
                out[sub.id] = frozenset(items[el.provenance.tally_column] for el in (sub.bands or [sub]))
    return out


def test_carries_exactly_the_items_the_tally_shows_unchanged_r6_to_r7():
    """An answer carries when the same question (goal, group, number, short title, label, points in the
    tally) exists in both years under the same id; a renumbered indicator is another item."""
    prev = random_answers(R6, random.Random(2), blank_rate=0.0)
    result = carry_answers(R6, prev, R7)
    old, new = _answers_by_tally(R6), _answers_by_tally(R7)
    persisting = {aid for aid in old if aid in new and old[aid] == new[aid]}
    assert len(persisting) > 100 and len(set(old) - persisting) > 10  # most persist; the restructured do not
    assert set(result.carried) == persisting
    assert all(result.carried[a] == prev[a] for a in persisting)
    assert {p for p, _ in result.not_carried} == set(old) - persisting
    reasons = dict(result.not_carried)
    # 支援Ⅱ was renumbered: R6's 1 (認知症初期集中支援チーム) is not R7's 1 (認知症サポーター等)
    assert reasons["S2-p1-a"].startswith("今年度の同じ番号は別の項目です（前年度「認知症初期集中支援チームの活動状況」")


def test_mapping_carries_renumbered_items_and_blank_answers_are_not_listed():
    old, new = _answers_by_tally(R6), _answers_by_tally(R7)
    def item(rows):  # the same grant, goal, group, short title, label and points: all but the number
        return {(*r[:3], *r[4:]) for r in rows}
    moved = {a: b for a, rows in old.items() for b, rows_b in new.items() if a != b and item(rows) == item(rows_b)}
    assert moved, "R6→R7 renumbered some items (支援Ⅱ)"
    prev = {a: "該当" for a in moved} | {"P1-p1-a": None}
    result = carry_answers(R6, prev, R7, moved)
    assert result.carried == {b: "該当" for b in moved.values()} and result.not_carried == []


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
