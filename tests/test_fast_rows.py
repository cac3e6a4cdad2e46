"""The fast reader's row-by-row path (fast_rows.split_rows): wherever it is used it gives what the
whole-sheet parse and openpyxl give, and anything it cannot vouch for goes to the whole-sheet parse."""

import random
import re
import zipfile
from pathlib import Path

import pytest
from openpyxl import load_workbook

from xlsx_tool.catalog.entity import Entity
from xlsx_tool.catalog.loading import load_shipped_catalog
from xlsx_tool.read import row_cache as fast_rows
from xlsx_tool.read.fast_engine import FastPathUnsupported, load_book
from xlsx_tool.workbook.filler import fill_workbook, random_answers
from xlsx_tool.workbook.writer import write_workbook

CAT = load_shipped_catalog("R8", "municipality")
SHEET = "xl/worksheets/sheet2.xml"  # 推進交付金
MAIN = b"http://schemas.openxmlformats.org/spreadsheetml/2006/main"


@pytest.fixture(scope="module")
def filled(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("rows")
    template = write_workbook(CAT, Entity(name="町01", code="01"), tmp / "t.xlsx")
    return fill_workbook(template, random_answers(CAT, random.Random(5), blank_rate=0.2), tmp / "filled.xlsx", CAT)


def _with_sheet(src: Path, dst: Path, change) -> Path:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info)
            zout.writestr(info, change(data) if info.filename == SHEET else data)
    return dst


def _row(n: int, data: bytes) -> re.Match:
    return re.search(rb'<row r="%d"[^>]*>.*?</row>' % n, data, re.S)


def _same_as_openpyxl(path: Path) -> None:
    book, wb = load_book(path), load_workbook(path)
    for title in book.sheetnames:
        fast, ws = book[title], wb[title]
        assert fast.values.keys() == ws._cells.keys(), title
        for k, c in ws._cells.items():
            assert type(fast.values[k]) is type(c.value) and fast.values[k] == c.value, (title, k, c.value)
            if type(c).__name__ == "Cell":
                assert book.locked[fast.styles.get(k, 0)] == c.protection.locked, (title, k)  # 0: a cell openpyxl creates
        assert (fast.max_row, fast.max_column) == (ws.max_row, ws.max_column), title
        assert fast.protection.sheet == bool(ws.protection.sheet), title
        rows = list(fast.iter_rows(min_row=2, min_col=2, max_col=9, values_only=True))
        assert rows == list(ws.iter_rows(min_row=2, min_col=2, max_col=9, values_only=True)), title


def test_generated_books_are_read_row_by_row(filled):
    """The path is actually taken for every sheet the collector reads, and gives openpyxl's cells."""
    book = load_book(filled)
    for title in ("推進交付金", "支援交付金", "集計", "_meta"):  # (表紙 has merged cells: whole-sheet parse)
        assert fast_rows.split_rows(book.zip.read(book.part_name(title))) is not None, title
        assert book[title].rows is not None, title
    _same_as_openpyxl(filled)


def _cached_results(d: bytes) -> bytes:  # what Excel and LibreOffice write: the formulas' last results (others)
    return re.sub(rb"</f>(?:<v ?/>|<v>[^<]*</v>)", b"</f><v>7</v>", d)


def _append(rows: bytes):
    return lambda d: d.replace(b"</sheetData>", rows + b"</sheetData>")


def _inside_row(n: int, extra: bytes):
    def change(d):
        m = _row(n, d)
        return d[:m.end() - 6] + extra + d[m.end() - 6:]
    return change


def _swap_rows(d: bytes) -> bytes:
    a, b = _row(5, d), _row(6, d)
    return d[:a.start()] + b.group() + a.group() + d[b.end():]


def _duplicate_row(d: bytes) -> bytes:
    a = _row(6, d)
    return d[:a.end()] + a.group() + d[a.end():]


INLINE_X = b'<c r="A%d" t="inlineStr"><is><t>x</t></is></c>'
# name -> (change to the 推進交付金 sheet, whether the row-by-row path must still be taken)
VARIANTS = {
    "cached_formula_results": (_cached_results, True),
    "comment_in_a_row": (_inside_row(6, b"<!-- note -->"), True),
    "cdata_text": (_append(b'<row r="9050"><c r="B9050" t="inlineStr"><is><t><![CDATA[a<b&c]]></t></is></c></row>'), True),
    "whitespace_between_rows": (lambda d: d.replace(b"</row><row", b"</row>\n  <row"), True),
    "empty_rows_self_closed": (_append(b'<row r="9040" ht="20" customHeight="1"/><row r="9041">' + INLINE_X % 9041
                                       + b'</row><row r="9042"/>'), True),
    "footer_varies": (lambda d: d.replace(b"<oddFooter>", b"<oddFooter>&amp;L\xe5\x88\xa5"), True),
    "comment_hiding_a_row_end": (_inside_row(6, b"<!-- </row> -->"), False),
    "cdata_hiding_a_row_end": (_append(b'<row r="9050"><c r="B9050" t="inlineStr"><is><t><![CDATA[</row>]]></t></is>'
                                       b"</c></row>"), False),
    "rows_out_of_order": (_swap_rows, False),
    "row_repeated": (_duplicate_row, False),
    "row_without_number": (lambda d: d.replace(b'<row r="6"', b"<row"), False),
    "cell_naming_another_row": (lambda d: d.replace(b'<c r="H6"', b'<c r="H60"'), False),
    "protection_inside_a_row": (_inside_row(6, b'<c r="Z6"><sheetProtection sheet="0"/></c>'), False),
    "row_nested_in_a_cell": (_inside_row(6, b'<c r="Z6"><row r="70"><c r="A70"><v>1</v></c></row></c>'), False),
    "merged_cells": (lambda d: d.replace(b"</sheetData>", b'</sheetData><mergeCells count="1">'
                                         b'<mergeCell ref="J6:K6"/></mergeCells>'), False),
    "main_namespace_under_a_prefix": (lambda d: d.replace(b"<worksheet ", b'<worksheet xmlns:x="' + MAIN + b'" ', 1)
                                      .replace(b'<c r="A6"', b'<x:c r="A6"', 1).replace(b"</is></c><c r=\"B6\"",
                                                                                      b"</is></x:c><c r=\"B6\"", 1),
                                      True),
    "row_under_a_prefix": (lambda d: d.replace(b"<worksheet ", b'<worksheet xmlns:x="' + MAIN + b'" ', 1)
                           .replace(b"</sheetData>", b'<x:row r="9060"><c r="A9060"><v>3</v></c></x:row></sheetData>'), True),
    "sheet_data_in_another_namespace": (lambda d: d.replace(b"<sheetData>", b'<o:wrap xmlns:o="urn:other"><sheetData>')
                                        .replace(b"</sheetData>", b"</sheetData></o:wrap>"), False),
    "footer_not_plain": (lambda d: d.replace(b"<oddFooter>", b'<oddFooter xml:space="preserve">'), True),
    "shared_formula": (lambda d: re.sub(rb'<f>([^<]*)</f>', rb'<f t="shared" ref="Z1:Z1" si="0">\1</f>', d, count=1),
                       False),
    "latin1_declaration": (lambda d: b'<?xml version="1.0" encoding="ISO-8859-1"?>' + d, False),
}


@pytest.mark.parametrize("name", VARIANTS)
def test_a_variant_reads_as_openpyxl_reads_it(filled, tmp_path, name):
    change, split_taken = VARIANTS[name]
    path = _with_sheet(filled, tmp_path / f"{name}.xlsx", change)
    data = load_book(path).zip.read(SHEET)
    assert change(load_book(filled).zip.read(SHEET)) != load_book(filled).zip.read(SHEET)  # the change applies
    assert (fast_rows.split_rows(data) is not None) == split_taken
    _same_as_openpyxl(path)


@pytest.mark.parametrize("where", [b'<row r="30"', b"</worksheet>"])
def test_a_doctype_anywhere_is_not_parsed_here(filled, tmp_path, where):
    """Past the first 4 KB (which the container check sniffs): still never parsed."""
    path = _with_sheet(filled, tmp_path / "doctype.xlsx",
                       lambda d: d.replace(where, b'<!DOCTYPE x [<!ENTITY e "boom">]>' + where, 1))
    book = load_book(path)
    data = book.zip.read(SHEET)
    assert data.find(b"<!DOCTYPE") > 4096
    assert fast_rows.split_rows(data) is None
    with pytest.raises(FastPathUnsupported):
        book["推進交付金"]


def test_books_sharing_rows_each_get_their_own_answers(tmp_path):
    """Rows are remembered across books: a second book that repeats most rows of the first still
    reads its own answers and its own identity."""
    template = write_workbook(CAT, Entity(name="町02", code="02"), tmp_path / "t.xlsx")
    rng = random.Random(9)
    answers = [random_answers(CAT, rng, blank_rate=0.3) for _ in range(3)]
    paths = [fill_workbook(template, a, tmp_path / f"b{i}.xlsx", CAT) for i, a in enumerate(answers)]
    for path, expected in zip(paths * 2, answers * 2):  # twice: the second round reads only remembered rows
        book = load_book(path)
        got = {}
        for title in ("推進交付金", "支援交付金"):
            for row in book[title].iter_rows(min_row=4, min_col=4, max_col=8, values_only=True):
                if row[4] in expected:
                    got[row[4]] = row[0]
        assert got == {k: v for k, v in expected.items()}


def _listing(members) -> list[tuple]:
    return [(m.filename, m.orig_filename, m.flag_bits, m.compress_type, m.CRC, m.compress_size, m.file_size,
             m.header_offset) for m in members]


def test_central_directory_lists_what_zipfile_lists(filled, tmp_path):
    """The fast reader's own central-directory parse equals zipfile's on plain archives (openpyxl's,
    LibreOffice-like stored members, UTF-8 names) and declines anything else, which zipfile reads."""
    import io

    from xlsx_tool.read.checked_zip import central_directory as _central_directory

    stored = tmp_path / "stored.zip"
    with zipfile.ZipFile(filled) as zin, zipfile.ZipFile(stored, "w", zipfile.ZIP_STORED) as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, zin.read(info))
        zout.writestr("日本語/名前.xml", b"<a/>")
    for path in (filled, stored):
        data = path.read_bytes()
        assert _listing(_central_directory(data)) == _listing(zipfile.ZipFile(io.BytesIO(data)).infolist())
    commented = tmp_path / "comment.zip"
    with zipfile.ZipFile(commented, "w") as z:
        z.writestr("a.xml", b"<a/>")
        z.comment = b"note"
    data = filled.read_bytes()
    for odd in (commented.read_bytes(), b"junk" + data, data[:-5], data + b"\0"):
        assert _central_directory(odd) is None


CORE = (b'<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
        b'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
        b'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">%s</cp:coreProperties>')


@pytest.mark.parametrize("body", [
    b'<dc:creator>a</dc:creator><cp:lastModifiedBy>b</cp:lastModifiedBy><dcterms:created xsi:type="dcterms:W3CDTF">'
    b'2020-01-01T00:00:00Z</dcterms:created><dcterms:modified xsi:type="dcterms:W3CDTF">2024-01-02T03:04:05Z'
    b'</dcterms:modified>',
    b"<dcterms:modified>2024-01-02T03:04:05.123+09:00</dcterms:modified>",
    b"<dcterms:modified>2024-01-02T03:04:05Z</dcterms:modified><dcterms:modified>2025-01-02T03:04:05Z</dcterms:modified>",
    b"<foo>1</foo><dcterms:modified>2024-01-02T03:04:05Z</dcterms:modified>",
    b"<dcterms:modified>2024-01-02</dcterms:modified>",  # a date only: openpyxl refuses it
    b"<dcterms:created>bad</dcterms:created><dcterms:modified>2024-01-02T03:04:05Z</dcterms:modified>",
    b"<tagname>1</tagname><dcterms:modified>2024-01-02T03:04:05Z</dcterms:modified>",
])
def test_last_saved_time_reads_as_openpyxl_reads_it(body):
    from openpyxl.packaging.core import DocumentProperties
    from openpyxl.xml.functions import fromstring

    from xlsx_tool.read.fast_engine import core_dates as _core_dates

    data = CORE % body

    def outcome(read):
        try:
            return read().modified
        except Exception as exc:  # noqa: BLE001  the kind of failure must match too
            return type(exc)

    expected = outcome(lambda: DocumentProperties.from_tree(fromstring(data)))
    assert outcome(lambda: _core_dates(data) or DocumentProperties.from_tree(fromstring(data))) == expected


ROOT = b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
SIMPLE_ROWS = [  # (piece without its "</row>", decoded without a parser?)
    (b'<row r="1"><c r="A1" s="15" t="inlineStr"><is><t>\xe4\xbb\xa4\xe5\x92\x8c 8 > 7</t></is></c></row', True),
    (b'<row r="4" spans="1:9" ht="30" customHeight="1"><c r="A4" s="3"><v>12.50</v></c><c r="B4" t="s"><v>7</v>'
     b'</c><c r="C4" s="2" t="n" /><c r="D4" t="inlineStr"><is><t></t></is></c><c r="E4"><v/></c></row', True),
    (b'<row r="5"><c r="A5" t="str"><v>text</v></c><c r="B5" t="e"><v>#N/A</v></c><c r="C5" t="inlineStr"><v>9</v>'
     b'</c><c r="D5"><is><t>x</t></is></c><c r="E5" t="foo"><v>y</v></c><c r="F5" s="007"><v>1E3</v></c></row', True),
    (b'<row r="6"><c r="A6" t="inlineStr"><is><t>a &amp; b &lt;&gt;&quot;&apos; &amp;lt;</t></is></c>'
     b'<c r="B6"><f>IF(LEN(D6)&gt;0,"&amp;",0)</f><v>1</v></c><c r="C6" t="inlineStr"><f></f></c>'
     b'<c r="D6" t="str"><f>A6&amp;"x"</f><v/></c><c r="E6" s="2"><f>SUM(E7:E9)</f></c></row', True),
    (b'<row r="6"><c r="A6" t="inlineStr"><is><t>&#65;</t></is></c></row', False),  # a character reference
    (b'<row r="6"><c r="A6"><f t="shared" si="0">1+1</f></c></row', False),
    (b'<row r="6"><c r="A6"><f>1+1</f><v>2</v><v>3</v></c></row', False),
    (b'<row r="6"><c r="A6" t="inlineStr"><is><t>a\r\nb</t></is></c></row', False),  # a carriage return
    (b'<row r="6"><c r="A6" t="inlineStr"><is><t>a ]]> b</t></is></c></row', False),
    (b'<row r="6"><c r="A6" t="inlineStr"><is><t>\x01</t></is></c></row', False),
    (b'<row r="6"><c r="A6" t="inlineStr"><is><t>\xef\xbf\xbe</t></is></c></row', False),
    (b'<row r="6" ht="1" ht="2"><c r="A6"><v>1</v></c></row', False),  # not well-formed
    (b'<row r="6" r="7"><c r="A6"><v>1</v></c></row', False),
    (b'<row r="6"><c r="A6" t="b"><v>1</v></c></row', False),
    (b'<row r="6"><c r="A6" t="d"><v>2024-01-01T00:00:00</v></c></row', False),
    (b'<row r="6"><c r="A6"><v>12abc</v></c></row', False),
    (b'<row r="6"><c r="A7"><v>1</v></c></row', False),  # a cell naming another row
    (b'<row r="6"><c s="1"><v>1</v></c></row', False),  # no coordinate
    (b'<row r="6"><c r="A6"><f>1+1</f><v>2</v></c></row', True),
    (b'<row r="6"><c r="A6" t="inlineStr"><is><t xml:space="preserve"> a </t></is></c></row', False),
    (b'<row r="6" x14ac:dyDescent="0.25"><c r="A6"><v>1</v></c></row', False),
    (b'<row r="6"><c r="A6"><v>1</v></c><!-- x --></row', False),
    (b'<row r="6"><c r="A6"><v>\xff</v></c></row', False),  # not UTF-8
]


@pytest.mark.parametrize("piece,simple", SIMPLE_ROWS)
def test_plain_rows_decode_as_the_parser_decodes_them(piece, simple):
    piece = piece[:-len(b"</row")]
    got = fast_rows._simple_row(piece)
    assert (got is not None) == simple
    if got is not None:
        (parsed,) = fast_rows._parse_rows(ROOT, piece, b"</row>")
        assert (got.number, got.cells, got.shared) == (parsed.number, parsed.cells, parsed.shared)
        assert all(type(a[3]) is type(b[3]) for a, b in zip(got.cells, parsed.cells))


def test_every_row_of_real_books_decodes_alike_with_or_without_the_parser(filled, tmp_path):
    """Every row of the sheets the collector reads, as openpyxl writes them and as Excel does
    (shared strings, cached formula results): the parser-free decoding agrees wherever it applies."""
    from test_fast_paths import _as_excel_saves

    books = [filled, _with_sheet(filled, tmp_path / "cached.xlsx", _cached_results),
             _as_excel_saves(filled, tmp_path / "excel.xlsx")]
    simple = 0
    for path in books:
        book = load_book(path)
        for title in ("推進交付金", "支援交付金", "集計", "_meta", "表紙"):
            data = book.zip.read(book.part_name(title))
            root = re.match(rb"(?:<\?xml[^>]*\?>)?\s*(<worksheet\b[^>]*>)", data).group(1)
            content = data[data.index(b"<sheetData>") + 11:data.index(b"</sheetData>")]
            for piece in content.split(b"</row>")[:-1]:
                got = fast_rows._simple_row(piece)
                if got is not None:
                    simple += 1
                    (parsed,) = fast_rows._parse_rows(root, piece, b"</row>")
                    assert (got.number, got.cells, got.shared) == (parsed.number, parsed.cells, parsed.shared)
    assert simple > 50  # most rows without formulas take the parser-free way


def test_files_are_found_as_rglob_finds_them(tmp_path):
    from xlsx_tool.collect.discovery import discover

    for rel in ("b.xlsx", "a-b/x.xlsx", "a/b.xlsx", "a/.hidden.xlsx", "A/c.xlsx", "a/deep/er/d.xlsx", "z.txt"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"x")
    (tmp_path / "link_to_file.xlsx").symlink_to(tmp_path / "b.xlsx")
    (tmp_path / "link_to_dir").symlink_to(tmp_path / "a", target_is_directory=True)
    (tmp_path / "broken.xlsx").symlink_to(tmp_path / "nowhere")
    # as rglob finds files (a link to a folder inside the root adds nothing: its files are found under
    # their real path), and also the dangling link, which collect reports instead of dropping (issue 17)
    expected = sorted([*(q for q in tmp_path.rglob("*") if q.is_file()), tmp_path / "broken.xlsx"])
    assert discover([tmp_path]) == expected and len(expected) == 9


@pytest.mark.parametrize("change", [
    lambda d: b'<?xml version="1.0"?><!--' + b" " * 1000 + b'--><!DOCTYPE w [<!ENTITY e "x">]>' + d,
    lambda d: b"<!DOCTYPE w>" + d,
    lambda d: d.replace(b"<sheetData>", b"<!-- <!ENTITY e 'x'> --><sheetData>", 1),  # even in a comment
])
def test_entity_declarations_in_the_first_4_kb_are_refused_on_both_paths(filled, tmp_path, change):
    from xlsx_tool.collect.batch import Expectation, inspect_file

    path = _with_sheet(filled, tmp_path / "prolog.xlsx", change)
    expect = Expectation(CAT)
    fast, slow = inspect_file(path, expect, "fast"), inspect_file(path, expect, "openpyxl")
    assert fast == slow and "DOCTYPE/ENTITY" in fast.reason and fast.reader == "fast"


M_NS = b"http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def _move_footer(d: bytes) -> bytes:
    m = re.search(rb"<headerFooter>.*?</headerFooter>", d)
    return d[:m.start()] + d[m.end():] + m.group()


# Hostile or broken sheets found by review: each is decided exactly as on the openpyxl path.
HOSTILE = {
    "row_declares_a_namespace": lambda d: d.replace(b'<row r="3">', b'<row r="3" xmlns="urn:x">'),
    "result_like_text_in_cdata": lambda d: d.replace("<t>評価指標・評価項目</t>".encode(),
                                                     "<t><![CDATA[評価指標</f><v>1</v>・評価項目]]></t>".encode()),
    "formula_in_another_namespace": lambda d: d.replace(b'<c r="C2" s="17" t="n"><v>400</v></c>',
                                                        b'<c r="C2" s="17" t="n"><f xmlns="urn:x">1</f><v>400</v></c>'),
    "footer_after_the_root": lambda d: d + b"<headerFooter></headerFooter>",
    "footer_moved_after_the_root": _move_footer,
    "footer_with_a_noncharacter": lambda d: d.replace(b"<oddFooter>", b"<oddFooter>\xef\xbf\xbf"),
    "prefixed_row_in_the_footer": lambda d: d.replace(b"<worksheet ", b'<worksheet xmlns:x="' + M_NS + b'" ', 1)
    .replace(b"<evenHeader />", b'<evenHeader /><x:row r="99"><x:c r="B99" t="inlineStr"><x:is><x:t>zz</x:t></x:is>'
             b"</x:c></x:row>"),
    "sheet_data_in_a_comment": lambda d: d.replace(b"<sheetData>", b"<!--<sheetData>", 1)
    .replace(b"</sheetData>", b"</sheetData>--><sheetData/>"),
    "main_namespace_named_in_an_attribute": lambda d: d.replace(
        b'<worksheet xmlns="' + M_NS + b'"', b'<worksheet xmlns="urn:other" xmlns:m="' + M_NS + b'" a=\'xmlns="'
        + M_NS + b'"\'', 1).replace(b"<sheetData>", b"<m:sheetData/><sheetData>", 1),
    "second_sheet_data_inside_a_piece": lambda d: re.sub(  # row 6 with its attributes (height) as written
        rb'<row r="6"([^>]*)>', rb'<row r="6" /></sheetData><sheetData><row r="6"\1>', d, count=1),
}


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_sheets_are_decided_as_on_the_openpyxl_path(filled, tmp_path, name):
    from xlsx_tool.collect.batch import Expectation, inspect_file

    path = _with_sheet(filled, tmp_path / f"{name}.xlsx", HOSTILE[name])
    assert load_book(path).zip.read(SHEET) != load_book(filled).zip.read(SHEET)
    expect = Expectation(CAT)
    assert inspect_file(path, expect, "fast") == inspect_file(path, expect, "openpyxl")


def _patched(src: Path, dst: Path, member: str, patch) -> Path:
    """The archive with `patch(data, local_offset, central_offset)` applied to its raw bytes for `member`."""
    import struct

    data = bytearray(src.read_bytes())
    name = member.encode()
    central = next(i for i in (m.start() for m in re.finditer(rb"PK\x01\x02", data))
                   if data[i + 46:i + 46 + struct.unpack_from("<H", data, i + 28)[0]] == name)
    local = struct.unpack_from("<L", data, central + 42)[0]
    patch(data, local, central)
    dst.write_bytes(bytes(data))
    return dst


def _flip_crc(data, local, central):
    import struct

    for at in (local + 14, central + 16):
        struct.pack_into("<L", data, at, struct.unpack_from("<L", data, at)[0] ^ 1)


def _damage_deflate(data, local, central):
    import struct

    name_len, extra_len = struct.unpack_from("<HH", data, local + 26)
    data[local + 30 + name_len + extra_len + 280] ^= 0xFF


@pytest.mark.parametrize("member,patch", [("_rels/.rels", _flip_crc), ("xl/theme/theme1.xml", _damage_deflate)])
def test_damage_in_the_first_4_kb_of_any_member_is_found_on_both_paths(filled, tmp_path, member, patch):
    """zipfile reads the first 4 KB of every XML member (CRC-checked when that is all of it)."""
    from xlsx_tool.collect.batch import Expectation, inspect_file

    path = _patched(filled, tmp_path / "damaged.xlsx", member, patch)
    expect = Expectation(CAT)
    fast, slow = inspect_file(path, expect, "fast"), inspect_file(path, expect, "openpyxl")
    assert fast == slow and fast.status == "rejected"


def test_a_corrupt_extra_field_is_found_on_both_paths(filled, tmp_path):
    from xlsx_tool.collect.batch import Expectation, inspect_file

    dst = tmp_path / "extra.xlsx"
    with zipfile.ZipFile(filled) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == "docProps/app.xml":
                info.extra = b"\x99\x99\x10\x00"  # a record claiming 16 bytes that are not there
            zout.writestr(info, data)
    expect = Expectation(CAT)
    fast, slow = inspect_file(dst, expect, "fast"), inspect_file(dst, expect, "openpyxl")
    assert fast == slow and fast.status == "rejected"


def _hide_rows(d: bytes) -> bytes:
    """The real sheet data in a comment, and a forged empty one holding the reader's probe."""
    a, b = d.index(b"<sheetData>"), d.index(b"</sheetData>") + len(b"</sheetData>")
    return d[:a] + b"<!--" + d[a:b] + b'--><sheetData ><probe xmlns="urn:xlsx-tool:probe"/></sheetData >' + d[b:]


def _footer_in_comment(d: bytes) -> bytes:
    m = re.search(rb"<headerFooter>.*?</headerFooter>", d)
    return d[:m.start()] + b"<!--" + m.group().replace(b"<oddFooter>", b"<oddFooter>a--b") + b"-->" + d[m.end():]


def _rows_joined_through_a_comment(d: bytes) -> bytes:
    """Two pieces that parse together (a comment opened in one, closed in the other) but not alone."""
    r5, r6, r7 = _row(5, d), _row(6, d), _row(7, d)
    cells5 = d[d.index(b">", r5.start()) + 1:r5.end() - 6]
    cells7 = d[d.index(b">", r7.start()) + 1:r7.end() - 6]
    first = b'<x:row xmlns:x="' + M_NS + b'" r="5">' + cells5 + b'</x:row><row r="7"><!--'
    return d[:r5.start()] + first + b"</row>" + r6.group() + b"-->" + cells7 + b"<!--<row--></row>" + d[r7.end():]


HOSTILE.update({
    **{f"formula_result_{name}": (lambda bad: lambda d: re.sub(  # the grant total's cached result
        rb"(<f>SUM\(E4,[^<]*\)</f>)(?:<v ?/>|<v>[^<]*</v>)", lambda m: m[1] + b"<v>" + bad + b"</v>", d,
        count=1))(bad)
       for name, bad in [("char_ref_0", b"&#0;"), ("undefined_entity", b"&foo;"), ("noncharacter", b"\xef\xbf\xbf"),
                         ("control", b"\x01"), ("not_utf8", b"\xff"), ("japanese_text", "未回答".encode()),
                         ("ascii_text", b"n/a - 0"), ("double_dash", b"--"), ("cdata_end", b"1]]>2"),
                         ("cdata_end_alone", b"]]>")]},
    # a cell's result inside a comment: dropping it would drop the "--" the parser refuses there
    "result_with_double_dash_in_a_comment": lambda d: re.sub(
        rb'(<row r="6"[^>]*>.*?)</row>', rb'\1<!-- <c r="Q6"><f>1</f><v>--</v></c> --></row>', d, count=1, flags=re.S),
    "forged_probe": _hide_rows,
    "footer_in_a_comment": _footer_in_comment,
    "rows_joined_through_a_comment": _rows_joined_through_a_comment,
})


def _with_member(src: Path, dst: Path, name: str, data: bytes, method=zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            zout.writestr(info, zin.read(info))
        zout.writestr(name, data, compress_type=method)
    return dst


def _compressed_size(size: int):
    import struct

    def patch(data, local, central):
        struct.pack_into("<L", data, local + 18, size)
        struct.pack_into("<L", data, central + 20, size)
    return patch


def test_members_are_sniffed_as_zipfile_reads_them(filled, tmp_path):
    """zipfile reads compressed data in 4 KB chunks and checks the CRC as soon as it reaches the end:
    a bad CRC just past the first 4 KB, or compressed data cut right after them, is found on both paths,
    also after an intact copy of the member was found clean (the remembered verdict is not reused)."""
    import random
    import struct
    import zlib

    from xlsx_tool.collect.batch import Expectation, inspect_file

    expect = Expectation(CAT)

    def same(path):
        fast, slow = inspect_file(path, expect, "fast"), inspect_file(path, expect, "openpyxl")
        assert fast == slow, (path.name, fast, slow)
        return fast.status

    noise = b'<?xml version="1.0"?><a>' + random.Random(1).randbytes(6000) + b"</a>"  # does not compress
    intact = _with_member(filled, tmp_path / "noise.xlsx", "xl/extra.xml", noise)
    assert same(intact) != "rejected"
    assert same(_patched(intact, tmp_path / "noise_crc.xlsx", "xl/extra.xml", _flip_crc)) == "rejected"

    body = b'<?xml version="1.0"?><a>' + b"".join(b"<b>%d</b>" % i for i in range(3000)) + b"</a>"
    deflated = _with_member(filled, tmp_path / "deflated.xlsx", "xl/extra.xml", body)
    with zipfile.ZipFile(deflated) as z:
        info = z.getinfo("xl/extra.xml")
    raw = deflated.read_bytes()
    name_len, extra_len = struct.unpack_from("<HH", raw, info.header_offset + 26)
    start = info.header_offset + 30 + name_len + extra_len
    inflater = zlib.decompressobj(-15)
    inflater.decompress(raw[start:start + info.compress_size], 4096)
    used = info.compress_size - len(inflater.unconsumed_tail)
    assert same(_patched(deflated, tmp_path / "deflated_cut.xlsx", "xl/extra.xml", _compressed_size(used))) == "rejected"

    stored = _with_member(filled, tmp_path / "stored.xlsx", "xl/extra.xml", body, zipfile.ZIP_STORED)
    cut = _patched(stored, tmp_path / "stored_cut.xlsx", "xl/extra.xml", _compressed_size(4096))
    assert same(stored) != "rejected"  # its prolog found clean and remembered ...
    assert same(cut) == "rejected"  # ... which says nothing about a copy cut short
