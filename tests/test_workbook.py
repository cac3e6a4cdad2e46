"""Generated workbooks: structure, validation, protection, identification, reading back."""

import hashlib
import random
import re
import zipfile

import pytest
from catalog_fixtures import rules_catalog
from conftest import all_catalogs, catalog_key
from openpyxl import load_workbook

from xlsx_tool.catalog.answers import answer_slots
from xlsx_tool.catalog.entity import Entity
from xlsx_tool.catalog.loading import load_shipped_catalog, parse_catalog
from xlsx_tool.catalog.model import DirectRule, LevelsRule, ThresholdsRule
from xlsx_tool.read.core import BookError
from xlsx_tool.read.openpyxl_engine import read_book
from xlsx_tool.workbook.filler import fill_workbook, random_answers
from xlsx_tool.workbook.meta import COL_ANSWER, COL_ID, COL_REMARKS, FIRST_DATA_ROW, input_sheet_names
from xlsx_tool.workbook.writer import write_workbook

ENTITY = Entity(name="平塚市", code="142034", prefecture="神奈川県", insured=73333)
# Functions that Excel 2010+ and LibreOffice evaluate identically; nothing needing _xlfn.
ALLOWED_FUNCTIONS = {"IF", "SUM", "MIN", "MAX", "AND", "ISNUMBER", "LEN", "TRIM", "N", "NOT", "ROUND"}


@pytest.fixture(scope="module", params=[catalog_key(c) for c in all_catalogs()])
def generated(request, tmp_path_factory):
    cat = next(c for c in all_catalogs() if catalog_key(c) == request.param)
    path = write_workbook(cat, ENTITY, tmp_path_factory.mktemp("gen") / "book.xlsx")
    return cat, path, load_workbook(path)


def _answer_cells(cat, wb):
    """answer id -> (worksheet, row), found through the hidden id column."""
    cells = {}
    for sheet in input_sheet_names(cat).values():
        ws = wb[sheet]
        for row in range(FIRST_DATA_ROW, ws.max_row + 1):
            cells[ws[f"{COL_ID}{row}"].value] = (ws, row)
    return {aid: cells[aid] for aid, *_ in answer_slots(cat)}


def test_sheets_and_hidden_metadata(generated):
    cat, path, wb = generated
    expected = ["表紙", *input_sheet_names(cat).values(), "集計"]
    assert wb.sheetnames[:len(expected)] == expected
    meta = {r[0]: r[1] for r in wb["_meta"].iter_rows(values_only=True)}
    assert wb["_meta"].sheet_state == "veryHidden" and wb["_lists"].sheet_state == "hidden"
    assert meta["catalog_id"] == cat.id and meta["catalog_hash"] == cat.content_hash()
    assert meta["year"] == cat.year and meta["kind"] == cat.kind.value
    assert meta["entity_code"] == "142034" and meta["generator_version"]
    for name in ("score_total", *(f"score_{g.id}" for g in cat.grants)):
        assert name in wb.defined_names


def test_every_answer_cell_has_a_validation_with_stop_alert(generated):
    cat, _, wb = generated
    cells = _answer_cells(cat, wb)
    for aid, ind, is_sub in answer_slots(cat):
        ws, row = cells[aid]
        ref = f"{COL_ANSWER}{row}"
        dvs = [dv for dv in ws.data_validations.dataValidation if ref in dv.sqref]
        assert len(dvs) == 1, aid
        dv = dvs[0]
        assert dv.showErrorMessage and dv.errorStyle in (None, "stop") and dv.showInputMessage and dv.prompt
        if is_sub or isinstance(ind.rule, DirectRule):
            assert dv.type == "list"
            sheet, rng = dv.formula1.split("!")
            values = [c.value for row_ in wb[sheet.strip("'")][rng.replace("$", "")] for c in row_]
            if isinstance(ind.rule, LevelsRule):  # a ladder: none, then its levels from the lowest
                sub = next(s for s in ind.subitems if s.id == aid)
                assert values == ["なし", *(b.label for b in sub.bands)]
            else:
                assert values == (["該当", "非該当"] if is_sub else list(range(0, ind.points + 1, ind.rule.step)))
            assert len(dv.formula1) < 255
        else:
            assert isinstance(ind.rule, ThresholdsRule) and dv.type == "decimal"


def test_protection_inputs_unlocked_everything_else_locked(generated):
    cat, _, wb = generated
    cells = _answer_cells(cat, wb)
    inputs = set()
    for ws, row in cells.values():
        for col in (COL_ANSWER, COL_REMARKS):
            assert ws[f"{col}{row}"].protection.locked is False
            inputs.add((ws.title, f"{col}{row}"))
    assert wb.security.lockStructure
    for ws in wb.worksheets:
        assert ws.protection.sheet, ws.title
        if ws.title in input_sheet_names(cat).values() or ws.title == "集計":
            for row in ws.iter_rows():
                for c in row:
                    if c.value is not None and (ws.title, c.coordinate) not in inputs:
                        assert c.protection.locked, (ws.title, c.coordinate)


def test_formulas_use_only_portable_functions(generated):
    _, path, _ = generated
    with zipfile.ZipFile(path) as z:
        xml = "".join(z.read(n).decode() for n in z.namelist() if n.startswith("xl/worksheets/sheet"))
    formulas = re.findall(r"<f>(.*?)</f>", xml)
    assert formulas
    used = {f for text in formulas for f in re.findall(r"([A-Z][A-Z0-9.]*)\(", text)}
    assert used <= ALLOWED_FUNCTIONS, used - ALLOWED_FUNCTIONS
    assert "_xlfn" not in xml


def test_print_setup_and_freeze(generated):
    cat, _, wb = generated
    for sheet in input_sheet_names(cat).values():
        ws = wb[sheet]
        assert int(ws.page_setup.paperSize) == 9  # A4
        assert ws.freeze_panes == f"A{FIRST_DATA_ROW}"
        assert ws.print_title_rows and "平塚市" in ws.oddFooter.left.text and "&P" in ws.oddFooter.center.text


def test_filled_book_reads_back_its_answers_and_source_is_untouched(tmp_path):
    cat = parse_catalog(rules_catalog(), "rules")
    template = write_workbook(cat, ENTITY, tmp_path / "template.xlsx")
    digest = hashlib.sha256(template.read_bytes()).hexdigest()
    answers = random_answers(cat, random.Random(7), blank_rate=0.3)
    filled = fill_workbook(template, answers, tmp_path / "filled.xlsx", cat)
    assert hashlib.sha256(template.read_bytes()).hexdigest() == digest
    with pytest.raises(BookError, match="カタログ"):  # a user catalog is not shipped: it must be named
        read_book(filled)
    cat_file = tmp_path / "cat.yaml"
    import yaml
    cat_file.write_text(yaml.safe_dump(rules_catalog(), allow_unicode=True), encoding="utf-8")
    got_cat, contents = read_book(filled, cat_file)
    assert got_cat.content_hash() == cat.content_hash()
    assert {k: v for k, v in contents.answers.items()} == {k: v for k, v in answers.items()}
    assert contents.missing == []
    before = hashlib.sha256(filled.read_bytes()).hexdigest()
    read_book(filled, cat_file)
    assert hashlib.sha256(filled.read_bytes()).hexdigest() == before


@pytest.mark.parametrize("content,needle", [
    (b"", "空のファイル"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "旧形式の Excel ブック (.xls)"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600 + "EncryptedPackage".encode("utf-16-le"), "暗号化"),
    ("code,name\n1,平塚市\n".encode("cp932"), "テキスト（CSV など）"),
    (b"PK\x03\x04broken", "壊れています"),
])
def test_broken_files_get_a_clear_message_naming_the_file(tmp_path, content, needle):
    path = tmp_path / "returned.xlsx"
    path.write_bytes(content)
    with pytest.raises(BookError) as exc:
        read_book(path)
    assert needle in str(exc.value) and "returned.xlsx" in str(exc.value)


def test_foreign_workbook_and_renamed_sheet_are_refused(tmp_path):
    from openpyxl import Workbook
    foreign = tmp_path / "foreign.xlsx"
    Workbook().save(foreign)
    with pytest.raises(BookError, match="このツールで作成した自己評価シートではありません"):
        read_book(foreign)
    cat = load_shipped_catalog("R8", "municipality")
    path = write_workbook(cat, ENTITY, tmp_path / "r8.xlsx")
    wb = load_workbook(path)
    wb["推進交付金"].title = "推進"
    wb.save(tmp_path / "renamed.xlsx")
    with pytest.raises(BookError, match="入力シート「推進交付金」がありません"):
        read_book(tmp_path / "renamed.xlsx")


def test_book_from_another_catalog_version_is_refused(tmp_path):
    cat = load_shipped_catalog("R8", "municipality")
    path = write_workbook(cat, ENTITY, tmp_path / "r8.xlsx")
    wb = load_workbook(path)
    wb["_meta"]["B4"] = "0" * 64  # catalog_hash row
    assert wb["_meta"]["A4"].value == "catalog_hash"
    wb.save(tmp_path / "other.xlsx")
    with pytest.raises(BookError, match="別の版"):
        read_book(tmp_path / "other.xlsx")


def test_unanswered_answer_cells_are_highlighted(generated):
    cat, _, wb = generated
    cells = _answer_cells(cat, wb)
    for sheet in input_sheet_names(cat).values():
        ws = wb[sheet]
        rules = [(str(rng.sqref), r) for rng in ws.conditional_formatting for r in rng.rules]
        assert len(rules) == 1
        sqref, rule = rules[0]
        assert rule.type == "expression" and "$I" in rule.formula[0] and rule.dxf.fill is not None
        rows = [row for w, row in cells.values() if w.title == sheet]
        first, last = sqref.split(":")
        assert first == f"{COL_ANSWER}{FIRST_DATA_ROW}" and int(last[1:]) >= max(rows)


def test_password_protects_sheets_and_structure(tmp_path):
    cat = load_shipped_catalog("R8", "prefecture")
    wb = load_workbook(write_workbook(cat, ENTITY, tmp_path / "p.xlsx", password="secret"))
    # the SHA-512 form Excel writes (issue 16; the hash itself: tests/test_excel_reference.py)
    assert all(ws.protection.hashValue and ws.protection.algorithmName == "SHA-512" for ws in wb.worksheets)
    assert wb.security.workbookHashValue and wb.security.lockStructure
    wb2 = load_workbook(write_workbook(cat, ENTITY, tmp_path / "n.xlsx"))
    assert not any(ws.protection.hashValue or ws.protection.password for ws in wb2.worksheets)
    assert all(ws.protection.sheet for ws in wb2.worksheets) and not wb2.security.workbookHashValue


def test_text_from_a_roster_or_catalog_never_becomes_a_formula(tmp_path):
    from catalog_fixtures import modified

    data = modified(rules_catalog(), ["grants", 1, "goals", 0, "groups", 0, "indicators", 0, "text"], "=1+1")
    cat = parse_catalog(data, "hostile")
    entity = Entity(name="=HYPERLINK(\"http://x\",\"x\")", code="=2+2", prefecture="A&B県")
    wb = load_workbook(write_workbook(cat, entity, tmp_path / "h.xlsx"))
    formulas = {(ws.title, c.coordinate): c.value for ws in wb.worksheets for row in ws.iter_rows() for c in row
                if c.data_type == "f"}
    assert not [v for v in formulas.values() if "HYPERLINK" in v or v in ("=1+1", "=2+2")]
    cover = {r[0]: r[1] for r in wb["表紙"].iter_rows(max_col=2, values_only=True) if r[0]}
    assert cover["団体名"] == entity.name and cover["団体コード"] == "=2+2"
    assert wb["推進交付金"].oddFooter.left.text.startswith("A&&B県")


def test_file_names_from_a_roster_open_in_excel_and_survive_the_command_line(tmp_path):
    """Names with & % ^ ! (macros and the command line that pass the path on break on them) or [ ]
    (Excel reads them as a link to another book) get their full-width forms; Windows-forbidden
    characters and control characters are dropped; the rest of the name is kept as written."""
    from click.testing import CliRunner

    from xlsx_tool.cli import main

    roster = tmp_path / "roster.csv"
    roster.write_text("code,name\n142034,A&B%C^D!E[1]\n142051,平塚市/藤沢:市\t\n", encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["generate", "--year", "R8", "--roster", str(roster), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.glob("*.xlsx")) == ["R8_municipality_142034_A＆B％C＾D！E［1］.xlsx",
                                                          "R8_municipality_142051_平塚市藤沢市.xlsx"]


def test_goal4_under_support_shows_the_promotion_answer_and_is_not_asked_again(tmp_path):
    """目標Ⅳ's items are the same under both grants (the tally lists them twice with the same values):
    asked once on the 推進 sheet, shown and scored on the 支援 sheet from that answer."""
    from xlsx_tool.scoring.scorer import score

    cat = load_shipped_catalog("R8", "municipality")
    repeated = {s.id: s.same_as for *_, i in cat.indicators() for s in i.subitems if s.same_as}
    assert sorted(repeated) == sorted(a.replace("P4-", "S4-") for a in cat.answer_ids() if a.startswith("P4-"))
    assert not set(repeated) & set(cat.answer_ids())
    wb = load_workbook(write_workbook(cat, Entity(name="平塚市", code="142034"), tmp_path / "b.xlsx"))
    rows = {}
    for sheet in input_sheet_names(cat).values():
        ws = wb[sheet]
        for r in range(FIRST_DATA_ROW, ws.max_row + 1):
            rows[ws[f"{COL_ID}{r}"].value] = (sheet, r)
    for sid, source in repeated.items():
        sheet, r = rows[sid]
        src_sheet, src_row = rows[source]
        cell = wb[sheet][f"{COL_ANSWER}{r}"]
        assert (sheet, src_sheet) == ("支援交付金", "推進交付金")
        assert cell.value == f"='推進交付金'!{COL_ANSWER}{src_row}" and cell.protection.locked
        assert not [dv for dv in wb[sheet].data_validations.dataValidation if cell.coordinate in dv.sqref]
    for seed in range(5):
        res = score(cat, random_answers(cat, random.Random(seed), blank_rate=0.2))
        assert res.goals["S4"] == res.goals["P4"]


# -- cached values: totals shown before Excel calculates (Protected View, previews) ----------------------


def _named_values(path) -> dict[str, object]:
    """The cached value of every workbook name (score_total, score_<grant>, …), as a preview reads it."""
    wb = load_workbook(path, data_only=True)
    values = {}
    for name, dn in wb.defined_names.items():
        (sheet, coord), = list(dn.destinations)
        values[name] = wb[sheet][coord.replace("$", "")].value
    return values


def _cover_value(path, label):
    ws = load_workbook(path, data_only=True)["表紙"]
    return next(ws[f"B{c.row}"].value for c in ws["A"] if c.value == label)


def test_totals_are_cached_in_the_generated_and_the_filled_book(tmp_path):
    """openpyxl wrote formulas with an empty <v/>: Protected View and previews, which do not calculate,
    showed blank totals. Expected: a blank book 0 everywhere and 交付要件 入力不足; a book with every item met
    at its maximum the published 配点 of each grant and of the total (the catalog's points), every answer
    counted — written by openpyxl, by the fast writer, filled into a blank book, and in its report copy."""
    from click.testing import CliRunner

    from xlsx_tool.cli import main
    from xlsx_tool.workbook.filler import extreme_answers
    from xlsx_tool.workbook.template import template_for

    cat = load_shipped_catalog("R8", "municipality")
    blank = write_workbook(cat, ENTITY, tmp_path / "blank.xlsx")
    names = _named_values(blank)
    assert names["score_total"] == 0 and all(names[f"score_{g.id}"] == 0 for g in cat.grants)
    assert _cover_value(blank, "回答済み") == 0 and _cover_value(blank, "合計得点") == 0
    assert names["eligibility_verdict"] == "入力不足"
    with zipfile.ZipFile(blank) as z:
        assert b'fullCalcOnLoad="1"' in z.read("xl/workbook.xml")  # Excel still recalculates on opening

    answers = extreme_answers(cat, best=True)
    filled = fill_workbook(blank, answers, tmp_path / "filled.xlsx", cat)
    prefilled = write_workbook(cat, ENTITY, tmp_path / "prefilled.xlsx", prefill=answers)
    fast = template_for(cat).write(tmp_path / "fast.xlsx", ENTITY, prefill=answers)
    report = tmp_path / "report.xlsx"  # the report copy: a book openpyxl read and saved again
    result = CliRunner().invoke(main, ["report", str(filled), "--format", "xlsx", "--out", str(report)])
    assert result.exit_code == 0, result.output
    for book in (filled, prefilled, fast, report):
        names = _named_values(book)
        assert {g.id: names[f"score_{g.id}"] for g in cat.grants} == {g.id: g.points for g in cat.grants}, book.name
        assert names["score_total"] == sum(g.points for g in cat.grants) == cat.total, book.name
        assert _cover_value(book, "合計得点") == cat.total, book.name
        assert _cover_value(book, "回答済み") == len(cat.answer_ids()), book.name


@pytest.mark.libreoffice
def test_every_cached_value_is_what_libreoffice_calculates(tmp_path, soffice):
    """Each formula cell's cached value against the value LibreOffice (the reference engine of the tests)
    calculates for it, in books of every rule kind pre-filled with random answers (blanks included), by
    openpyxl and by the fast writer."""
    from catalog_fixtures import ratio_catalog

    from xlsx_tool.workbook.recalc import recalculate
    from xlsx_tool.workbook.template import template_for

    books = []
    for n, cat in enumerate([load_shipped_catalog("R8", "municipality"), parse_catalog(rules_catalog(), "rules"),
                             parse_catalog(ratio_catalog(), "ratio")]):
        answers = random_answers(cat, random.Random(n), blank_rate=0.2)
        books.append(write_workbook(cat, ENTITY, tmp_path / f"slow{n}.xlsx", prefill=answers))
        books.append(template_for(cat).write(tmp_path / f"fast{n}.xlsx", ENTITY, prefill=answers))
    for ours, calculated in zip(books, recalculate(books, tmp_path / "lo")):
        formulas, cached, lo = (load_workbook(ours), load_workbook(ours, data_only=True),
                                load_workbook(calculated, data_only=True))
        checked = 0
        for ws in formulas.worksheets:
            for row in ws.iter_rows():
                for c in row:
                    if c.data_type != "f":
                        continue
                    mine, theirs = (wb[ws.title][c.coordinate].value for wb in (cached, lo))
                    mine, theirs = (None if v == "" else v for v in (mine, theirs))
                    assert mine == pytest.approx(theirs) if isinstance(theirs, float) else mine == theirs, \
                        (ours.name, ws.title, c.coordinate, c.value, mine, theirs)
                    checked += 1
        assert checked > 20, ours.name
