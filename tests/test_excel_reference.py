"""What Excel shows: our XML for a feature compared with a workbook Excel itself saved
(../shared/excel-reference, see its README), element by element where it matters."""

from __future__ import annotations

import os
import random
import re
import warnings
import zipfile
from pathlib import Path
from xml.etree import ElementTree as ET
from xml.sax.saxutils import escape

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter, range_boundaries

from xlsx_tool.catalog.entity import Entity
from xlsx_tool.catalog.loading import load_shipped_catalog
from xlsx_tool.cli import main
from xlsx_tool.workbook.filler import fill_workbook, random_answers
from xlsx_tool.workbook.meta import input_sheet_names
from xlsx_tool.workbook.writer import write_workbook

from shared_paths import SHARED  # noqa: E402

REFERENCE = SHARED / "excel-reference"
M = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
C = "{http://schemas.openxmlformats.org/drawingml/2006/chart}"
R8 = load_shipped_catalog("R8", "municipality")
ENTITY = Entity(name="平塚市", code="142034", prefecture="神奈川県", insured=73333)


def _reference(name: str) -> Path:
    path = REFERENCE / name
    if not path.is_file():
        pytest.fail(f"Excel reference file missing: {path} (../shared/excel-reference beside the project, "
                    "or set XLSX_TOOL_SHARED to the shared folder)")
    return path


def _xml(book: Path, part: str) -> ET.Element:
    with zipfile.ZipFile(book) as z:
        return ET.fromstring(z.read(part))


def _shape(node: ET.Element) -> tuple:
    """Tag, attribute names and children's shapes: what a reader of the XML sees, without the values."""
    return node.tag, tuple(sorted(node.attrib)), tuple(_shape(child) for child in node)


def _sheet_part(book: Path, title: str) -> str:
    wb = _xml(book, "xl/workbook.xml")
    rels = _xml(book, "xl/_rels/workbook.xml.rels")
    rid = next(s.get("{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id")
               for s in wb.iter(f"{M}sheet") if s.get("name") == title)
    target = next(r.get("Target") for r in rels if r.get("Id") == rid)
    return "xl/" + target.lstrip("/").removeprefix("xl/")


# -- list validations: the answer dropdowns, a ladder's levels included ---------------------------------


def test_answer_dropdowns_are_list_validations_as_excel_writes_them(tmp_path):
    """data_validation02.xlsx: Excel's list validation with an input message. Every dropdown of the book
    (該当/非該当 and each ladder's なし…エ / ①–④) has Excel's attributes, a formula within Excel's 255
    characters and titles within its 32."""
    ref = next(_xml(_reference("data_validation02.xlsx"), "xl/worksheets/sheet1.xml").iter(f"{M}dataValidation"))
    assert ref.get("type") == "list" and ref.find(f"{M}formula1") is not None
    book = write_workbook(R8, ENTITY, tmp_path / "book.xlsx")
    formulas = set()
    for title in input_sheet_names(R8).values():
        for dv in _xml(book, _sheet_part(book, title)).iter(f"{M}dataValidation"):
            if dv.get("type") != "list":
                continue
            assert set(ref.attrib) - {"sqref"} <= set(dv.attrib), dv.attrib  # all Excel writes, ours too
            assert all(dv.get(a) == ref.get(a) for a in ("allowBlank", "showInputMessage", "showErrorMessage"))
            formula = dv.find(f"{M}formula1").text
            assert len(formula) <= 255 and len(dv.get("promptTitle")) <= 32 and len(dv.get("errorTitle")) <= 32
            assert len(dv.get("prompt")) <= 255 and len(dv.get("error")) <= 225
            formulas.add(formula)
    assert len(formulas) >= 3  # 該当/非該当, ア–エ, ①–④ (and more): one list each


X14_EXT = ('<extLst><ext uri="{CCE6A557-97BC-4b89-ADB6-D9C93CAAB3DF}" '
           'xmlns:x14="http://schemas.microsoft.com/office/spreadsheetml/2009/9/main">'
           '<x14:dataValidations count="{n}" xmlns:xm="http://schemas.microsoft.com/office/excel/2006/main">'
           '{items}</x14:dataValidations></ext></extLst>')
LIST_DV = re.compile(r'<dataValidation [^>]*type="list"[^>]*>.*?</dataValidation>', re.S)


def _source(formula: str) -> tuple[str, str]:
    """(sheet, range) of a list formula, however the sheet name is quoted."""
    sheet, _, ref = formula.rpartition("!")
    return sheet.strip("'"), ref


def _list_cells(book: Path) -> dict[tuple[str, str], tuple[str, str]]:
    """(sheet, cell) -> the source of its plain list validation, every sheet of the book."""
    wb = _xml(book, "xl/workbook.xml")
    out = {}
    for sheet in wb.iter(f"{M}sheet"):
        for dv in _xml(book, _sheet_part(book, sheet.get("name"))).iter(f"{M}dataValidation"):
            if dv.get("type") == "list":
                for ref in dv.get("sqref").split():
                    min_col, min_row, max_col, max_row = range_boundaries(ref)
                    for row in range(min_row, max_row + 1):
                        for col in range(min_col, max_col + 1):
                            out[sheet.get("name"), f"{get_column_letter(col)}{row}"] = \
                                _source(dv.find(f"{M}formula1").text)
    return out


def _as_excel_saves_it(book: Path, target: Path) -> Path:
    """`book` as Excel 2010+ saves it: a list validation pointing at another sheet is not in <dataValidations>
    but in the x14 extension at the end of the sheet (formula in xm:f, Excel's unquoted sheet name, cells in
    xm:sqref); the rest of each part byte for byte."""
    with zipfile.ZipFile(book) as src, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as dst:
        for name in src.namelist():
            data = src.read(name)
            if name.startswith("xl/worksheets/sheet") and LIST_DV.search(data.decode()):
                text = data.decode()
                items = []
                for found in LIST_DV.findall(text):
                    dv = ET.fromstring(found)
                    attrs = " ".join(f'{k}="{escape(v, {chr(34): "&quot;"})}"' for k, v in dv.attrib.items()
                                     if k != "sqref")
                    formula = "!".join(_source(dv.find("formula1").text))
                    items.append(f"<x14:dataValidation {attrs}><x14:formula1><xm:f>{escape(formula)}</xm:f>"
                                 f"</x14:formula1><xm:sqref>{dv.get('sqref')}</xm:sqref></x14:dataValidation>")
                text = LIST_DV.sub("", text)
                left = text.count("<dataValidation ")
                text = re.sub(r'<dataValidations count="\d+">', f'<dataValidations count="{left}">', text)
                text = text.replace('<dataValidations count="0"></dataValidations>', "")
                ext = X14_EXT.replace("{n}", str(len(items))).replace("{items}", "".join(items))
                data = text.replace("</worksheet>", ext + "</worksheet>").encode()
            dst.writestr(name, data)
    return target


def test_the_report_copy_of_a_book_saved_in_excel_keeps_its_dropdowns(tmp_path):
    """openpyxl drops extLst when it reads a sheet, where Excel keeps every dropdown of our books (their
    lists are on the _lists sheet). The report copy of such a book has each answer cell's dropdown, with the
    same list."""
    template = write_workbook(R8, ENTITY, tmp_path / "template.xlsx")
    filled = fill_workbook(template, random_answers(R8, random.Random(5)), tmp_path / "filled.xlsx", R8)
    expected = _list_cells(filled)
    answer_sheets = set(input_sheet_names(R8).values())
    assert answer_sheets <= {sheet for sheet, _ in expected}  # every input sheet has its dropdowns
    saved = _as_excel_saves_it(filled, tmp_path / "saved_in_excel.xlsx")
    assert _list_cells(saved) == {}, "the book is not in Excel's form: a list validation is left in place"
    out = tmp_path / "report.xlsx"
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        result = CliRunner().invoke(main, ["report", str(saved), "--format", "xlsx", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert _list_cells(out) == expected
    assert not [w for w in seen if "Data Validation" in str(w.message)]  # openpyxl's "will be removed": untrue


# -- conditional formats: the unanswered-cell highlight --------------------------------------------


def _dxf_fills(book: Path) -> list[ET.Element]:
    return [dxf.find(f"{M}fill/{M}patternFill") for dxf in _xml(book, "xl/styles.xml").iter(f"{M}dxf")]


def test_the_unanswered_highlight_is_a_fill_excel_paints(tmp_path):
    """Excel paints a conditional format's solid fill from bgColor, in a patternFill without a pattern type
    (cond_format07.xlsx: two rules with a fill each). A fgColor alone, as openpyxl writes for a solid
    PatternFill, is not painted: the cover asks staff to fill the yellow cells, and none are yellow."""
    ref = [f for f in _dxf_fills(_reference("cond_format07.xlsx")) if f is not None]
    assert ref and {_shape(f) for f in ref} == {(f"{M}patternFill", (), ((f"{M}bgColor", ("rgb",), ()),))}

    book = write_workbook(R8, ENTITY, tmp_path / "book.xlsx")
    fills = _dxf_fills(book)
    sheet = _xml(book, _sheet_part(book, input_sheet_names(R8)[R8.grants[0].id]))
    rules = list(sheet.iter(f"{M}cfRule"))
    assert rules, "the input sheet has no conditional format"
    for rule in rules:
        fill = fills[int(rule.get("dxfId"))]
        assert _shape(fill) == _shape(ref[0]), ET.tostring(fill)
        assert re.fullmatch(r"FF[0-9A-F]{6}", fill.find(f"{M}bgColor").get("rgb"))  # opaque, as Excel writes


# -- charts: axes Excel draws -----------------------------------------------------------------------


def _axes(book: Path) -> list[ET.Element]:
    with zipfile.ZipFile(book) as z:
        parts = [n for n in z.namelist() if re.fullmatch(r"xl/charts/chart\d+\.xml", n)]
    return [ax for part in parts for tag in ("catAx", "valAx", "dateAx", "serAx")
            for ax in _xml(book, part).iter(f"{C}{tag}")]


def _delete(axis: ET.Element) -> tuple[int, str] | None:
    """Where the axis says whether it is deleted (index among its children) and what it says."""
    children = list(axis)
    for i, child in enumerate(children):
        if child.tag == f"{C}delete":
            return i, child.get("val")
    return None


def _check_axes_shown(book: Path) -> None:
    # chart_column04.xlsx: Excel writes an axis' c:delete right after c:scaling (there val="1" hides one)
    ref = [_delete(ax) for ax in _axes(_reference("chart_column04.xlsx"))]
    assert (2, "1") in ref
    axes = _axes(book)
    assert axes, f"no chart in {book.name}"
    for axis in axes:
        assert list(axis)[1].tag == f"{C}scaling"
        assert _delete(axis) == (2, "0"), f"{book.name}: {axis.tag} without <c:delete val=\"0\"/>"


def test_the_report_chart_has_axes_excel_draws(tmp_path):
    template = write_workbook(R8, ENTITY, tmp_path / "template.xlsx")
    filled = fill_workbook(template, random_answers(R8, random.Random(3)), tmp_path / "filled.xlsx", R8)
    out = tmp_path / "report.xlsx"
    result = CliRunner().invoke(main, ["report", str(filled), "--format", "xlsx", "--out", str(out)])
    assert result.exit_code == 0, result.output
    _check_axes_shown(out)


def test_the_collection_chart_has_axes_excel_draws(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for i, code in enumerate(("142034", "142051")):
        template = write_workbook(R8, Entity(name=f"市{i}", code=code), tmp_path / f"t{i}.xlsx")
        fill_workbook(template, random_answers(R8, random.Random(i)), inbox / f"{code}.xlsx", R8)
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["collect", str(inbox), "--out", str(out), "--workers", "1"])
    assert result.exit_code == 0, result.output
    _check_axes_shown(out / "集計結果.xlsx")


# -- protection: as Excel protects, and the password as current Excel hashes it ------------------------


def _spec_hash(password: str, salt_b64: str, spin: int) -> str:
    """ECMA-376 Part 1 §18.3.1.85 / MS-OFFCRYPTO §2.4.2.4, written here independently of the package:
    SHA-512 over salt ‖ UTF-16LE password, then spin rounds over previous ‖ little-endian round number."""
    import base64
    import hashlib
    import struct

    h = hashlib.sha512()
    h.update(base64.b64decode(salt_b64))
    h.update(password.encode("utf-16-le"))
    value = h.digest()
    for i in range(spin):
        value = hashlib.sha512(value + struct.pack("<I", i)).digest()
    return base64.b64encode(value).decode()


def test_the_spec_hash_gives_a_published_value():
    """A fixed value published by another implementation (ClosedXML's test of its SHA-512 sheet password:
    password 12345, this salt, 100,000 rounds), for both the independent implementation above and ours."""
    import base64

    from xlsx_tool.workbook.protection import password_hash

    salt, expected = "aVvPw1DNH3evPqRAd/y3UQ==", ("E+qAhyIg/HM0dUrPaENfimFOZp7wlOkJsf/sdG+AGHOA9grOv7VLb1ik2vuYohljI9G36e0"
                                                "ea9wnixCK0MMuyQ==")
    assert _spec_hash("12345", salt, 100_000) == expected
    assert base64.b64encode(password_hash("12345", base64.b64decode(salt), 100_000)).decode() == expected


@pytest.mark.parametrize("password", ["secret", "平塚市の様式2026", "p" * 255])
def test_a_password_is_stored_as_current_excel_stores_it(tmp_path, password):
    """Not the legacy 16-bit hash (five hex digits for long passwords, which Excel repairs; another hash
    for non-ASCII passwords): the salted SHA-512 attributes, the password recoverable by Excel's algorithm."""
    book = write_workbook(R8, ENTITY, tmp_path / "p.xlsx", password=password)
    wb = _xml(book, "xl/workbook.xml").find(f"{M}workbookProtection")
    assert "workbookPassword" not in wb.attrib and wb.get("lockStructure") == "1"
    assert wb.get("workbookAlgorithmName") == "SHA-512" and int(wb.get("workbookSpinCount")) >= 100_000
    assert wb.get("workbookHashValue") == _spec_hash(password, wb.get("workbookSaltValue"),
                                                     int(wb.get("workbookSpinCount")))
    sheet = _xml(book, _sheet_part(book, input_sheet_names(R8)[R8.grants[0].id])).find(f"{M}sheetProtection")
    assert "password" not in sheet.attrib and sheet.get("algorithmName") == "SHA-512"
    assert sheet.get("hashValue") == _spec_hash(password, sheet.get("saltValue"), int(sheet.get("spinCount")))
    assert sheet.get("hashValue") != _spec_hash(password + "x", sheet.get("saltValue"), int(sheet.get("spinCount")))


def test_sheets_are_protected_as_excel_protects_them(tmp_path):
    """protect02.xlsx: Excel's protected sheet locks contents, objects (the notes) and scenarios."""
    ref = _xml(_reference("protect02.xlsx"), "xl/worksheets/sheet1.xml").find(f"{M}sheetProtection")
    assert {k: ref.get(k) for k in ("sheet", "objects", "scenarios")} == {"sheet": "1", "objects": "1", "scenarios": "1"}
    book = write_workbook(R8, ENTITY, tmp_path / "book.xlsx")
    for title in input_sheet_names(R8).values():
        ours = _xml(book, _sheet_part(book, title)).find(f"{M}sheetProtection")
        assert {k: ours.get(k) for k in ("sheet", "objects", "scenarios")} == {k: ref.get(k) for k in
                                                                            ("sheet", "objects", "scenarios")}


# -- text that looks like a formula: Excel's text prefix, not an apostrophe in the cell -----------------


def test_formula_like_text_in_the_summary_book_is_text_with_excels_prefix(tmp_path):
    """A roster name such as =HYPERLINK(…) must never compute; in .xlsx that is a text cell with the
    quotePrefix style (what typing an apostrophe in Excel stores), not an apostrophe shown in the cell."""
    from openpyxl import load_workbook

    hostile = '=HYPERLINK("http://example.com","x")'
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    template = write_workbook(R8, Entity(name="市", code="142034"), tmp_path / "t.xlsx")
    fill_workbook(template, random_answers(R8, random.Random(1)), inbox / "142034.xlsx", R8)
    roster = tmp_path / "roster.csv"
    roster.write_text(f'code,name\n142034,"{hostile.replace(chr(34), chr(34) * 2)}"\n', encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["collect", str(inbox), "--roster", str(roster), "--out", str(out),
                                       "--workers", "1"])
    assert result.exit_code == 0, result.output
    wb = load_workbook(out / "集計結果.xlsx")
    cells = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row if isinstance(c.value, str)
             and "HYPERLINK" in c.value]
    assert cells, "the roster name should appear in the summary book"
    for c in cells:
        assert c.value == hostile and c.data_type == "s" and c.quotePrefix, (c.parent.title, c.coordinate, c.value)
    csv_text = (out / "一覧.csv").read_text(encoding="utf-8-sig")
    assert "'" + hostile.replace('"', '""') in csv_text  # CSV keeps the apostrophe: no prefix style there


# -- print setup of what a prefecture prints -----------------------------------------------------------


def _defined_names(book: Path) -> dict[tuple[str, str | None], str]:
    return {(d.get("name"), d.get("localSheetId")): d.text for d in _xml(book, "xl/workbook.xml").iter(f"{M}definedName")}


def test_the_summary_book_prints_as_excel_sets_up_fit_to_width_and_titles(tmp_path):
    """fit_to_pages05.xlsx: fit to one page wide and any number of pages tall (fitToHeight="0" with
    fitToPage); repeat01.xlsx: the header row repeated on every page (a sheet-local _xlnm.Print_Titles).
    集計結果.xlsx used to print as dozens of portrait pages without its header."""
    ref = _xml(_reference("fit_to_pages05.xlsx"), "xl/worksheets/sheet1.xml")
    ref_setup = ref.find(f"{M}pageSetup")
    assert ref.find(f"{M}sheetPr/{M}pageSetUpPr").get("fitToPage") == "1" and ref_setup.get("fitToHeight") == "0"
    assert "fitToWidth" not in ref_setup.attrib  # Excel leaves out the default 1
    ref_titles = _defined_names(_reference("repeat01.xlsx"))
    assert ref_titles == {("_xlnm.Print_Titles", "0"): "Sheet1!$1:$1"}

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    template = write_workbook(R8, Entity(name="市", code="142034"), tmp_path / "t.xlsx")
    fill_workbook(template, random_answers(R8, random.Random(2)), inbox / "142034.xlsx", R8)
    out = tmp_path / "out"
    assert CliRunner().invoke(main, ["collect", str(inbox), "--out", str(out), "--workers", "1"]).exit_code == 0
    book = out / "集計結果.xlsx"
    names = _defined_names(book)
    titles = [n for (name, _), n in names.items() if name == "_xlnm.Print_Titles"]
    tables = [s.get("name") for s in _xml(book, "xl/workbook.xml").iter(f"{M}sheet") if s.get("name") != "グラフ"]
    assert len(titles) == len(tables)
    for index, title in enumerate(tables):
        sheet = _xml(book, _sheet_part(book, title))
        setup = sheet.find(f"{M}pageSetup")
        assert sheet.find(f"{M}sheetPr/{M}pageSetUpPr").get("fitToPage") == "1"
        assert setup.get("fitToHeight") == "0" and setup.get("fitToWidth", "1") == "1"
        assert setup.get("orientation") == "landscape" and setup.get("paperSize") == "9"
        local = names.get(("_xlnm.Print_Titles", str(index)))
        assert local and re.fullmatch(r"('?)" + re.escape(title) + r"\1!\$1:\$1", local), (title, local)


# -- codes stored as text: no "number stored as text" triangle -------------------------------------------


# the children of a worksheet that come before and after ignoredErrors (ECMA-376 Part 1, CT_Worksheet)
_BEFORE_IGNORED = {f"{M}{t}" for t in ("sheetData", "sheetProtection", "mergeCells", "conditionalFormatting",
                                       "dataValidations", "printOptions", "pageMargins", "pageSetup",
                                       "headerFooter", "rowBreaks", "colBreaks")}
_AFTER_IGNORED = {f"{M}{t}" for t in ("smartTags", "drawing", "legacyDrawing", "tableParts", "extLst")}


def _cover_code_cell(book: Path) -> str:
    from openpyxl import load_workbook

    cover = load_workbook(book)["表紙"]
    row = next(c.row for c in cover["A"] if c.value == "団体コード")
    return f"B{row}"


def _check_code_not_flagged(book: Path) -> None:
    """ignore_error02.xlsx: Excel's <ignoredErrors><ignoredError sqref="A1" numberStoredAsText="1"/>."""
    ref = _xml(_reference("ignore_error02.xlsx"), "xl/worksheets/sheet1.xml").find(f"{M}ignoredErrors")
    assert ref is not None and ref.find(f"{M}ignoredError").get("numberStoredAsText") == "1"
    sheet = _xml(book, _sheet_part(book, "表紙"))
    ours = sheet.find(f"{M}ignoredErrors")
    assert ours is not None, f"{book.name}: the cover has no ignoredErrors: Excel flags 団体コード"
    assert _shape(ours) == _shape(ref)
    error = ours.find(f"{M}ignoredError")
    assert error.get("numberStoredAsText") == "1" and _cover_code_cell(book) in error.get("sqref").split()
    tags = [child.tag for child in sheet]
    at = tags.index(f"{M}ignoredErrors")
    assert set(tags[at + 1:]) <= _AFTER_IGNORED and set(tags[:at]) <= _BEFORE_IGNORED | {
        f"{M}{t}" for t in ("sheetPr", "dimension", "sheetViews", "sheetFormatPr", "cols")}, tags


def test_the_municipality_code_is_text_without_excels_triangle(tmp_path):
    """団体コード is text (a leading zero kept): Excel marks such a cell with a green triangle and a
    "number stored as text" warning unless the sheet lists it in ignoredErrors — in the generated book, in a
    book filled by openpyxl and in the report copy (openpyxl drops the element when it reads a book)."""
    from openpyxl import load_workbook

    entity = Entity(name="札幌市", code="011002", prefecture="北海道")
    book = write_workbook(R8, entity, tmp_path / "book.xlsx")
    cell = load_workbook(book)["表紙"][_cover_code_cell(book)]
    assert cell.value == "011002" and cell.data_type == "s"
    _check_code_not_flagged(book)
    filled = fill_workbook(book, random_answers(R8, random.Random(4)), tmp_path / "filled.xlsx", R8)
    _check_code_not_flagged(filled)
    out = tmp_path / "report.xlsx"
    result = CliRunner().invoke(main, ["report", str(filled), "--format", "xlsx", "--out", str(out)])
    assert result.exit_code == 0, result.output
    _check_code_not_flagged(out)


def test_the_fast_writer_writes_the_same_ignored_errors(tmp_path):
    from xlsx_tool.workbook.template import template_for

    path = template_for(R8).write(tmp_path / "fast.xlsx", Entity(name="札幌市", code="011002"))
    _check_code_not_flagged(path)


# -- fonts: one default, 游ゴシック as Excel writes it -------------------------------------------------


def test_the_default_font_is_yu_gothic_as_excel_writes_a_japanese_default(tmp_path):
    """default_format06.xlsx: a book whose default font is Japanese (ＭＳ Ｐゴシック), saved by Excel: the first
    font (the Normal style's, used by every cell without a font of its own) carries sz, color, name, family
    and charset="128" and no scheme. Without charset Excel may not pick the Japanese glyphs; with
    scheme="minor" it would take the theme's minor font (Calibri in the theme we write) instead of the name.
    family: Excel writes family="2" with charset 128 for its Japanese defaults (ＭＳ Ｐゴシック here, 游ゴシック in
    a Japanese Excel's new book); 11 pt is the size of 游ゴシック as Excel's Japanese default.
    The book used to start with Calibri while its cells used 游ゴシック without charset or family."""
    _check_yu_gothic_default(write_workbook(R8, ENTITY, tmp_path / "book.xlsx"))


def _check_yu_gothic_default(book: Path) -> None:
    ref = _xml(_reference("default_format06.xlsx"), "xl/styles.xml").find(f"{M}fonts/{M}font")
    assert ref.find(f"{M}charset").get("val") == "128" and ref.find(f"{M}scheme") is None
    styles = _xml(book, "xl/styles.xml")
    fonts = styles.findall(f"{M}fonts/{M}font")
    first = fonts[0]
    assert {c.tag for c in first} == {c.tag for c in ref}, (book.name, ET.tostring(first))
    assert first.find(f"{M}name").get("val") == "游ゴシック" and first.find(f"{M}sz").get("val") == "11"
    assert first.find(f"{M}family").get("val") == ref.find(f"{M}family").get("val") == "2"
    assert first.find(f"{M}charset").get("val") == "128"
    assert styles.find(f"{M}cellStyleXfs/{M}xf").get("fontId") == "0"
    for font in fonts:  # every font of the book: 游ゴシック, with its charset and family
        assert font.find(f"{M}name").get("val") == "游ゴシック", (book.name, ET.tostring(font))
        assert font.find(f"{M}charset").get("val") == "128" and font.find(f"{M}family").get("val") == "2"
        assert font.find(f"{M}scheme") is None, (book.name, ET.tostring(font))


def test_the_summary_book_and_the_catalog_export_have_the_books_default_font(tmp_path):
    """集計結果.xlsx (collect, XlsxWriter) and `catalog export` (openpyxl) used Calibri as the default font
    (every cell without a font of its own, the Normal style): now 游ゴシック 11 pt as in the generated books,
    with Excel's default row height for it (as default_format06.xlsx holds its font's)."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    template = write_workbook(R8, Entity(name="市", code="142034"), tmp_path / "t.xlsx")
    fill_workbook(template, random_answers(R8, random.Random(1)), inbox / "142034.xlsx", R8)
    runner = CliRunner()
    result = runner.invoke(main, ["collect", str(inbox), "--out", str(tmp_path / "out"), "--workers", "1"])
    assert result.exit_code == 0, result.output
    catalog = tmp_path / "catalog.xlsx"
    result = runner.invoke(main, ["catalog", "export", "--year", "R8", "--kind", "municipality", "--out", str(catalog)])
    assert result.exit_code == 0, result.output
    for book in (tmp_path / "out" / "集計結果.xlsx", catalog):
        _check_yu_gothic_default(book)
        for title, fmt in _sheet_formats(book).items():
            assert float(fmt.get("defaultRowHeight")) == 18.75 and "customHeight" not in fmt.attrib, (book, title)


# -- row heights: wrapped text shown whole ---------------------------------------------------------------


def _lines(text: str, width: int) -> int:
    """Lines of `text` wrapped at `width` units, a full-width character counting two (East Asian width)."""
    import math
    import unicodedata

    units = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
    return max(1, math.ceil(units / width))


def test_a_three_line_text_gets_three_lines_of_yu_gothic():
    """游ゴシック 10 pt takes about 16.5 pt per line in Excel; rows sized at 13.5 pt per line cut text off."""
    from xlsx_tool.util.cells import row_height

    assert row_height("一行目\n二行目\n三行目", 62) >= 3 * 16.5
    text = "あ" * 70  # 140 units: three lines in a column 62 wide
    assert _lines(text, 62) == 3 and row_height(text, 62) >= 3 * 16.5


def test_indicator_rows_are_tall_enough_for_their_wrapped_text(tmp_path):
    from openpyxl import load_workbook

    book = write_workbook(R8, ENTITY, tmp_path / "book.xlsx")
    ws = load_workbook(book)[input_sheet_names(R8)[R8.grants[0].id]]
    width = int(ws.column_dimensions["B"].width)
    checked = 0
    for row in range(4, ws.max_row + 1):
        text = ws[f"B{row}"].value
        if isinstance(text, str) and _lines(text, width) >= 3:
            assert ws.row_dimensions[row].height >= 16.5 * _lines(text, width), (row, text)
            checked += 1
    assert checked, "no indicator text of three lines or more in the first input sheet"


def _sheet_formats(book: Path) -> dict[str, ET.Element]:
    wb = _xml(book, "xl/workbook.xml")
    return {s.get("name"): _xml(book, _sheet_part(book, s.get("name"))).find(f"{M}sheetFormatPr")
            for s in wb.iter(f"{M}sheet")}


def test_sheets_declare_the_default_row_height_of_yu_gothic(tmp_path):
    """Excel writes the default font's row height as sheetFormatPr's defaultRowHeight, alone: 13.5 for ＭＳ Ｐ
    ゴシック 11 pt (default_format06.xlsx), 15 for Calibri 11 pt (default_format01.xlsx). A sheet of ours, whose
    default is 游ゴシック 11 pt, declares 18.75 pt (issue 16), in every sheet of a generated book (both
    writers) and of the report copy; openpyxl wrote Calibri's 15 and baseColWidth."""
    ref = _xml(_reference("default_format06.xlsx"), "xl/worksheets/sheet1.xml").find(f"{M}sheetFormatPr")
    assert ref.attrib == {"defaultRowHeight": "13.5"}
    assert _xml(_reference("default_format01.xlsx"), "xl/worksheets/sheet1.xml").find(
        f"{M}sheetFormatPr").get("defaultRowHeight") == "15"
    from xlsx_tool.workbook.template import template_for

    book = write_workbook(R8, ENTITY, tmp_path / "book.xlsx")
    fast = template_for(R8).write(tmp_path / "fast.xlsx", Entity(name="札幌市", code="011002"))
    filled = fill_workbook(book, random_answers(R8, random.Random(2)), tmp_path / "filled.xlsx", R8)
    out = tmp_path / "report.xlsx"
    result = CliRunner().invoke(main, ["report", str(filled), "--format", "xlsx", "--out", str(out)])
    assert result.exit_code == 0, result.output
    for path in (book, fast, out):
        formats = _sheet_formats(path)
        assert len(formats) >= 6
        for title, fmt in formats.items():
            assert fmt is not None and set(fmt.attrib) == set(ref.attrib), (path.name, title, fmt.attrib)
            assert float(fmt.get("defaultRowHeight")) == 18.75, (path.name, title)


# -- the report sheet: printed on A4 with its title, protected as Excel protects --------------------------


def test_the_report_sheet_prints_with_titles_and_is_protected_as_excel_does(tmp_path):
    """repeat01.xlsx: print titles are a sheet-local _xlnm.Print_Titles; landscape01.xlsx: A4 is
    paperSize="9"; protect02.xlsx: Excel protects contents, objects (the chart, notes) and scenarios."""
    assert _defined_names(_reference("repeat01.xlsx")) == {("_xlnm.Print_Titles", "0"): "Sheet1!$1:$1"}
    assert _xml(_reference("landscape01.xlsx"), "xl/worksheets/sheet1.xml").find(f"{M}pageSetup").get(
        "paperSize") == "9"
    ref = _xml(_reference("protect02.xlsx"), "xl/worksheets/sheet1.xml").find(f"{M}sheetProtection")
    template = write_workbook(R8, ENTITY, tmp_path / "template.xlsx")
    filled = fill_workbook(template, random_answers(R8, random.Random(5)), tmp_path / "filled.xlsx", R8)
    out = tmp_path / "report.xlsx"
    result = CliRunner().invoke(main, ["report", str(filled), "--format", "xlsx", "--out", str(out)])
    assert result.exit_code == 0, result.output
    titles = [s.get("name") for s in _xml(out, "xl/workbook.xml").iter(f"{M}sheet")]
    index = titles.index("採点結果")
    sheet = _xml(out, _sheet_part(out, "採点結果"))
    assert sheet.find(f"{M}pageSetup").get("paperSize") == "9"
    assert sheet.find(f"{M}sheetPr/{M}pageSetUpPr").get("fitToPage") == "1"
    local = _defined_names(out).get(("_xlnm.Print_Titles", str(index)))
    assert local and re.fullmatch(r"('?)採点結果\1!\$1:\$1", local), local
    ours = sheet.find(f"{M}sheetProtection")
    assert {k: ours.get(k) for k in ("sheet", "objects", "scenarios")} == {k: ref.get(k) for k in
                                                                        ("sheet", "objects", "scenarios")}


# -- notes (the indicator and 見込額 explanations) and the number validation of the yen cells --------------

V = "{urn:schemas-microsoft-com:vml}"
XL = "{urn:schemas-microsoft-com:office:excel}"
REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"


def _rels(book: Path, part: str) -> dict[str, str]:
    folder, name = part.rsplit("/", 1)
    return {r.get("Type"): r.get("Target") for r in _xml(book, f"{folder}/_rels/{name}.rels")}


def _resolve(part: str, target: str) -> str:
    return target.lstrip("/") if target.startswith("/") else os.path.normpath(
        os.path.join(part.rsplit("/", 1)[0], target)).replace(os.sep, "/")


def _notes(book: Path, title: str) -> tuple[ET.Element, ET.Element, ET.Element]:
    """The sheet, its comments part and its VML drawing, found through the sheet's relationships."""
    part = _sheet_part(book, title)
    rels = _rels(book, part)
    kinds = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
    return (_xml(book, part), _xml(book, _resolve(part, rels[kinds + "comments"])),
            _xml(book, _resolve(part, rels[kinds + "vmlDrawing"])))


def test_notes_are_written_as_excel_writes_notes(tmp_path):
    """Our notes beside Excel's (comment01.xlsx): the sheet's legacyDrawing, the comments part's elements,
    and each VML shape a Note whose Row/Column (0-based) name its comment's cell. Excel's x:Anchor (the
    popup's geometry) is the one element openpyxl leaves out; the schema makes it optional and Excel opens
    such notes (seen in EPPlus issue 1596's file)."""
    book = write_workbook(R8, ENTITY, tmp_path / "book.xlsx")
    ref_sheet, ref_comments, ref_vml = _notes(_reference("comment01.xlsx"), "Sheet1")
    sheet, comments, vml = _notes(book, input_sheet_names(R8)["promotion"])
    for ws in (ref_sheet, sheet):
        drawing = ws.find(f"{M}legacyDrawing")
        assert drawing is not None and drawing.get(f"{REL}id")
    assert [c.tag for c in comments] == [c.tag for c in ref_comments] == [f"{M}authors", f"{M}commentList"]
    ref_comment = ref_comments.find(f"{M}commentList/{M}comment")
    cells = comments.findall(f"{M}commentList/{M}comment")
    assert cells and all({"ref", "authorId"} <= set(c.attrib) and c.find(f"{M}text") is not None for c in cells)
    assert {"ref", "authorId"} <= set(ref_comment.attrib)
    ref_data = ref_vml.find(f"{V}shape/{XL}ClientData")
    wanted = {child.tag for child in ref_data} - {f"{XL}Anchor"}
    shapes = [s.find(f"{XL}ClientData") for s in vml.iter(f"{V}shape")]
    assert len(shapes) == len(cells)
    for data, comment in zip(shapes, cells):
        assert data.get("ObjectType") == ref_data.get("ObjectType") == "Note"
        assert wanted <= {child.tag for child in data}, wanted - {child.tag for child in data}
        col, row, *_ = range_boundaries(comment.get("ref"))
        assert (int(data.findtext(f"{XL}Row")), int(data.findtext(f"{XL}Column"))) == (row - 1, col - 1)


def test_the_yen_cells_validation_has_the_flags_excel_writes(tmp_path):
    """The 集計 yen cells take numbers ≥ 0 with a prompt: the attributes Excel writes on a validation with a
    prompt (data_validation02.xlsx), flags as "1", the formula as a child element. The reference files
    hold no decimal validation: type, operator and the bound are checked against the spec's names."""
    book = write_workbook(R8, ENTITY, tmp_path / "book.xlsx")
    ref = _xml(_reference("data_validation02.xlsx"), "xl/worksheets/sheet1.xml").find(
        f"{M}dataValidations/{M}dataValidation")
    ours = next(dv for dv in _xml(book, _sheet_part(book, "集計")).iter(f"{M}dataValidation")
                if dv.get("type") == "decimal")
    for name in ("allowBlank", "showInputMessage", "showErrorMessage"):
        assert ours.get(name) == ref.get(name) == "1", name
    assert {"promptTitle", "prompt", "sqref"} <= set(ours.attrib) & set(ref.attrib)
    assert (ours.get("operator"), ours.findtext(f"{M}formula1")) == ("greaterThanOrEqual", "0")
    wb = load_workbook(book)
    yen_cells = {dest[1].replace("$", "") for g in R8.grants
                 for dest in wb.defined_names[f"yen_per_point_{g.id}"].destinations}
    assert yen_cells <= set(ours.get("sqref").split())
