"""Reading returned books through xlwings' calamine engine gives what the openpyxl reader gives."""

from __future__ import annotations

import random

import pytest
import yaml
from catalog_fixtures import rules_catalog
from openpyxl import Workbook, load_workbook

from xlsx_tool import bridge
from xlsx_tool.catalog.entity import Entity
from xlsx_tool.catalog.loading import load_shipped_catalog, parse_catalog
from xlsx_tool.read import calamine_engine as calamine_reader
from xlsx_tool.read import openpyxl_engine as workbook_reader
from xlsx_tool.scoring.scorer import score
from xlsx_tool.workbook.filler import extreme_answers, fill_workbook, random_answers
from xlsx_tool.workbook.meta import COL_ANSWER, COL_ID, COL_REMARKS, FIRST_DATA_ROW, META_SHEET, input_sheet_names
from xlsx_tool.workbook.writer import write_workbook

ENTITY = Entity(name="平塚市", code="142034", prefecture="神奈川県", insured=73333)


@pytest.fixture(autouse=True)
def xlwings_license(monkeypatch):
    monkeypatch.setenv("XLWINGS_LICENSE_KEY", "noncommercial")  # xlwings Reader (calamine): PolyForm Noncommercial
    bridge.ensure_engine("calamine")


def _catalogs(tmp_path):
    cat_file = tmp_path / "rules.yaml"
    cat_file.write_text(yaml.safe_dump(rules_catalog(), allow_unicode=True), encoding="utf-8")
    shipped = [(load_shipped_catalog(*n.split("-", 1)), None) for n in ("R5-municipality", "R8-municipality",
                                                                         "R7-prefecture")]
    return shipped + [(parse_catalog(rules_catalog(), "rules"), cat_file)]


def _with_remarks(path, catalog, rng):
    """Write some 根拠・備考 texts (and leave the rest empty) in place."""
    wb = load_workbook(path)
    for sheet in input_sheet_names(catalog).values():
        ws = wb[sheet]
        for row in range(FIRST_DATA_ROW, ws.max_row + 1):
            if ws[f"{COL_ID}{row}"].value and ws[f"{COL_ANSWER}{row}"].value is not None and rng.random() < 0.3:
                ws[f"{COL_REMARKS}{row}"] = f"根拠 {row}: 計画書 p.{rng.randint(1, 99)}"
    wb.save(path)
    return path


def _same(path, cat_file):
    cat_a, got = calamine_reader.read_book(path, cat_file)
    cat_b, want = workbook_reader.read_book(path, cat_file)
    assert cat_a.content_hash() == cat_b.content_hash()
    assert got.path == want.path and got.meta == want.meta
    assert got.answers == want.answers and got.remarks == want.remarks and got.missing == want.missing
    assert {k: type(v) for k, v in got.answers.items()} == {k: type(v) for k, v in want.answers.items()}
    assert score(cat_a, got.answers).to_json() == score(cat_b, want.answers).to_json()
    return got


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_fillings_read_and_score_identically(tmp_path, seed):
    rng = random.Random(seed)
    for catalog, cat_file in _catalogs(tmp_path):
        answers = random_answers(catalog, rng, blank_rate=(0.1, 0.4, 0.9)[seed - 1])
        template = write_workbook(catalog, ENTITY, tmp_path / f"t_{catalog.id}_{seed}.xlsx")
        filled = _with_remarks(fill_workbook(template, answers, tmp_path / f"f_{catalog.id}_{seed}.xlsx", catalog),
                               catalog, rng)
        got = _same(filled, cat_file)
        assert {k: v for k, v in got.answers.items()} == answers  # blanks included
        _same(template, cat_file)  # nothing answered at all


def test_extremes_and_odd_values_read_identically(tmp_path):
    catalog = load_shipped_catalog("R8", "municipality")
    template = write_workbook(catalog, ENTITY, tmp_path / "t.xlsx")
    for best in (True, False):
        _same(fill_workbook(template, extreme_answers(catalog, best), tmp_path / f"x{best}.xlsx", catalog), None)
    ids = catalog.answer_ids()
    odd = {ids[0]: "該当 ", ids[1]: "はい", ids[2]: 3.5, ids[3]: "12"}  # invalid values are read as they are
    got = _same(fill_workbook(template, odd, tmp_path / "odd.xlsx", catalog), None)
    assert got.answers[ids[0]] == "該当 " and got.answers[ids[2]] == 3.5


def test_refusals_have_the_openpyxl_readers_messages(tmp_path):
    catalog = load_shipped_catalog("R8", "municipality")
    book = write_workbook(catalog, ENTITY, tmp_path / "book.xlsx")
    foreign = tmp_path / "foreign.xlsx"
    Workbook().save(foreign)
    text = tmp_path / "text.xlsx"
    text.write_text("code,name\n1,a\n", encoding="utf-8")
    changed = tmp_path / "changed.xlsx"
    wb = load_workbook(book)
    meta = wb[META_SHEET]
    for row in meta.iter_rows():
        if row[0].value == "catalog_hash":
            row[1].value = "0" * 64
    wb.save(changed)
    renamed = tmp_path / "renamed.xlsx"
    wb = load_workbook(book)
    wb[input_sheet_names(catalog)[catalog.grants[0].id]].title = "推進"
    wb.save(renamed)
    for path in (foreign, text, changed, renamed, tmp_path / "missing.xlsx"):
        with pytest.raises(workbook_reader.BookError) as want:
            workbook_reader.read_book(path)
        with pytest.raises(calamine_reader.BookError) as got:
            calamine_reader.read_book(path)
        assert got.value.problem == want.value.problem and got.value.path == want.value.path


def test_the_bridge_reads_a_calamine_book_without_writing(tmp_path):
    catalog = load_shipped_catalog("R8", "municipality")
    answers = random_answers(catalog, random.Random(4))
    template = write_workbook(catalog, ENTITY, tmp_path / "t.xlsx")
    filled = fill_workbook(template, answers, tmp_path / "f.xlsx", catalog)
    before = filled.read_bytes()
    with calamine_reader.open_book(filled) as book:
        outcome = bridge.score_book(book)
        assert outcome.ok and outcome.sheet is None  # a reader engine: results returned, nothing written
        assert outcome.result.to_json() == score(catalog, answers).to_json()
        contents = calamine_reader.BookContents(path=filled, meta=calamine_reader.read_meta(book, filled))
        calamine_reader.read_answers(book, catalog, contents)
        assert contents.answers == answers
    assert filled.read_bytes() == before
