"""Fast paths (issue 7): the fast reader decides every file exactly as the openpyxl path does, and the
fast writer writes exactly what build_workbook writes. No timing is asserted anywhere."""

import logging
import random
import re
import shutil
import time
import zipfile
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import all_catalogs, thresholds_tag
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Protection
from test_collect import EXPECTED, corpus  # noqa: F401  the collection issue's corpus (LibreOffice)

import xlsx_tool.cli.bench  # noqa: F401  registers `bench` (also imported by cli.py)
from xlsx_tool.catalog.answers import answer_slots
from xlsx_tool.catalog.entity import Entity
from xlsx_tool.catalog.loading import load_shipped_catalog
from xlsx_tool.cli import main
from xlsx_tool.collect import batch as collect_mod
from xlsx_tool.collect.batch import Expectation, collect, inspect_all, inspect_file
from xlsx_tool.collect.distribute import generate_for_roster
from xlsx_tool.collect.roster import RosterEntry
from xlsx_tool.read.fast_engine import FastPathUnsupported, load_book
from xlsx_tool.scoring.scorer import score
from xlsx_tool.workbook.filler import fill_workbook, random_answers
from xlsx_tool.workbook.template import differences, template_for
from xlsx_tool.workbook.writer import write_workbook

CAT = load_shipped_catalog("R8", "municipality")
ROSTER = frozenset(f"{i:02d}" for i in range(1, 40))
SST_CT = b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'


def _rewrite(src: Path, dst: Path, transforms: dict, extra: dict | None = None) -> Path:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info)
            zout.writestr(info, transforms[info.filename](data) if info.filename in transforms else data)
        for name, data in (extra or {}).items():
            zout.writestr(name, data)
    return dst


def _members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {i.filename: z.read(i) for i in z.infolist()}


def _as_excel_saves(src: Path, dst: Path) -> Path:
    """Inline strings moved to a shared-strings part with phonetic runs and rich-text runs (as Excel
    writes Japanese text), and two formulas of column I made one shared formula."""
    strings: list[bytes] = []
    members = _members(src)
    sheets = [n for n in members if n.startswith("xl/worksheets/sheet")]

    def to_sst(data: bytes) -> bytes:
        def repl(m):
            strings.append(m.group(2))
            return m.group(1) + b' t="s"><v>' + str(len(strings) - 1).encode() + b"</v></c>"
        return re.sub(rb'(<c r="[A-Z]+\d+"(?: s="\d+")?) t="inlineStr"><is><t(?: [^>]*)?>(.*?)</t></is></c>', repl, data)

    transforms = {name: to_sst for name in sheets}
    converted = {name: to_sst(members[name]) for name in sheets}
    promotion = converted["xl/worksheets/sheet2.xml"]
    rows = [int(r) for r in re.findall(rb'<c r="I(\d+)"><f>IF\(LEN\(D\d+\)&gt;0,1,0\)</f>', promotion)]
    first = next(r for r in rows if r + 1 in rows)
    promotion = promotion.replace(b'<c r="I%d"><f>' % first, b'<c r="I%d"><f t="shared" ref="I%d:I%d" si="0">'
                                  % (first, first, first + 1))
    promotion = re.sub(rb'<c r="I%d"><f>[^<]*</f>' % (first + 1), b'<c r="I%d"><f t="shared" si="0"/>' % (first + 1),
                       promotion)
    converted["xl/worksheets/sheet2.xml"] = promotion
    items = []
    for i, text in enumerate(strings):
        if i % 3 == 0:
            items.append(b"<si><t>" + text + b'</t><rPh sb="0" eb="1"><t>\xe3\x83\xa8\xe3\x83\x9f</t></rPh>'
                         b'<phoneticPr fontId="1" type="noConversion"/></si>')
        elif i % 3 == 1 and len(text.decode()) > 2 and b"&" not in text:
            head, tail = text.decode()[:1].encode(), text.decode()[1:].encode()
            items.append(b"<si><r><rPr><b/></rPr><t>" + head + b'</t></r><r><t xml:space="preserve">'
                         + tail + b"</t></r></si>")
        else:
            items.append(b"<si><t>" + text + b"</t></si>")
    sst = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst xmlns="http://schemas.openxmlformats.org/'
           b'spreadsheetml/2006/main" count="%d" uniqueCount="%d">' % (len(items), len(items)) + b"".join(items) + b"</sst>")
    transforms = {name: (lambda data, n=name: converted[n]) for name in sheets}
    transforms["[Content_Types].xml"] = lambda d: d.replace(b"</Types>", SST_CT + b"</Types>")
    return _rewrite(src, dst, transforms, {"xl/sharedStrings.xml": sst})


def _book(tmp: Path, name: str, code: str, answers: dict, year: str = "R8") -> Path:
    cat = load_shipped_catalog(year, "municipality")
    template = write_workbook(cat, Entity(name=f"町{code}", code=code, prefecture="テスト県"), tmp / "t" / f"{name}.xlsx")
    return fill_workbook(template, answers, tmp / name, cat)


def _edit(src: Path, dst: Path, change) -> Path:
    wb = load_workbook(src)
    change(wb)
    wb.save(dst)
    return dst


@pytest.fixture(scope="module")
def fast_corpus(tmp_path_factory):
    """Good books, odd values, every kind of tampering, Excel-like shared strings, and files the fast
    reader must hand to openpyxl. name -> (path, expected reader)."""
    tmp = tmp_path_factory.mktemp("fast")
    rng = random.Random(11)
    books: dict[str, tuple[Path, str]] = {}

    def good(name, code, blank=0.1):
        return _book(tmp, name, code, random_answers(CAT, rng, blank_rate=blank))

    for i in range(4):
        books[f"ok{i}"] = (good(f"ok{i}.xlsx", f"0{i + 1}", blank=0.3 * (i % 2)), "fast")
    books["template"] = (write_workbook(CAT, Entity(name="町05", code="05"), tmp / "template.xlsx"), "fast")
    books["blank_code"] = (write_workbook(CAT, Entity(name="町"), tmp / "blank_code.xlsx"), "fast")
    slots = [aid for aid, _, _ in answer_slots(CAT)][:5]  # odd values of every type, whatever the cell asks
    odd = random_answers(CAT, rng, blank_rate=0.0)
    odd.update(dict(zip(slots, ["4", True, datetime(2025, 4, 1), "該当　", 1.0])))
    books["odd_values"] = (_book(tmp, "odd_values.xlsx", "06", odd), "fast")
    base = good("base.xlsx", "07", blank=0.0)

    def formula_changed(wb):
        cell = next(c for c in wb["推進交付金"]["E"] if isinstance(c.value, str) and c.value.startswith("=MIN("))
        cell.value = "=16"

    def text_changed(wb):
        wb["支援交付金"]["B7"].value = "書き換え"

    def unlocked(wb):
        wb["推進交付金"]["B7"].protection = Protection(locked=False)

    def unprotected(wb):
        wb["推進交付金"].protection.sheet = False

    def merged(wb):
        wb["推進交付金"].merge_cells("B7:C7")

    def renamed(wb):
        wb["集計"].title = "集計表"

    def no_meta(wb):
        del wb["_meta"]

    def no_meta_no_code(wb):
        del wb["_meta"]
        wb["表紙"]["B6"].value = None

    def row_inserted(wb):
        wb["支援交付金"].insert_rows(6)

    def summary_cleared_below(wb):
        ws = wb["集計"]
        ws.delete_rows(ws.max_row - 2, 3)

    for name, change in [("formula_changed", formula_changed), ("text_changed", text_changed),
                         ("unlocked", unlocked), ("unprotected", unprotected), ("merged", merged),
                         ("renamed", renamed), ("no_meta", no_meta), ("no_meta_no_code", no_meta_no_code),
                         ("row_inserted", row_inserted)]:
        books[name] = (_edit(base, tmp / f"{name}.xlsx", change), "fast")
    books["summary_cleared_below"] = (_edit(base, tmp / "summary_cleared_below.xlsx", summary_cleared_below), "openpyxl")
    books["excel_like"] = (_as_excel_saves(base, tmp / "excel_like.xlsx"), "fast")
    books["excel_like_ok"] = (_as_excel_saves(good("b2.xlsx", "08"), tmp / "excel_like_ok.xlsx"), "fast")
    books["last_year"] = (_book(tmp, "last_year.xlsx", "09", random_answers(load_shipped_catalog("R7", "municipality"),
                                                                              rng, 0.0), year="R7"), "fast")
    books["not_in_roster"] = (good("not_in_roster.xlsx", "99"), "fast")
    Workbook().save(tmp / "foreign.xlsx")
    books["foreign"] = (tmp / "foreign.xlsx", "fast")
    # what the fast reader hands to openpyxl: entities declared after 4 KB, hyperlinks, array formulas
    pad = b"<!--" + b" " * 5000 + b"-->"
    books["late_entity"] = (_rewrite(base, tmp / "late_entity.xlsx", {"xl/worksheets/sheet4.xml": lambda d: (
        b'<?xml version="1.0"?>' + pad + b'<!DOCTYPE worksheet [<!ENTITY e "x">]>' + d)}), "openpyxl")
    link = b'<hyperlinks><hyperlink ref="Z40" display="x" location="A1"/></hyperlinks>'
    books["hyperlink"] = (_rewrite(base, tmp / "hyperlink.xlsx", {"xl/worksheets/sheet3.xml": lambda d: re.sub(
        rb"(</sheetData>)", rb"\1" + link, d, count=1)}), "openpyxl")
    books["array_formula"] = (_rewrite(base, tmp / "array_formula.xlsx", {"xl/worksheets/sheet3.xml": lambda d: d.replace(
        b"</sheetData>", b'<row r="90"><c r="Z90"><f t="array" ref="Z90">1+1</f></c></row></sheetData>')}), "openpyxl")
    books["broken_xml"] = (_rewrite(base, tmp / "broken_xml.xlsx", {"xl/worksheets/sheet2.xml": lambda d: d[:-40]}),
                           "openpyxl")
    (tmp / "empty.xlsx").write_bytes(b"")
    books["empty"] = (tmp / "empty.xlsx", "fast")
    books["truncated"] = (tmp / "truncated.xlsx", "fast")
    (tmp / "truncated.xlsx").write_bytes(base.read_bytes()[:5000])
    (tmp / "notes.txt").write_text("メモ", encoding="utf-8")
    books["text_file"] = (tmp / "notes.txt", "")
    return books


def test_fast_reader_decides_every_file_as_the_openpyxl_path(fast_corpus):
    expect = Expectation(CAT, ROSTER)
    for name, (path, reader) in fast_corpus.items():
        fast, slow = inspect_file(path, expect, "fast"), inspect_file(path, expect, "openpyxl")
        assert fast == slow, (name, fast, slow)
        assert fast.reader == reader, (name, fast.reader, fast.fallback)
        assert bool(fast.fallback) == (reader == "openpyxl"), (name, fast.fallback)
    statuses = {name: inspect_file(path, expect).status for name, (path, _) in fast_corpus.items()}
    assert statuses["ok0"] != "rejected" and statuses["excel_like_ok"] != "rejected"
    assert all(statuses[n] == "rejected" for n in ("formula_changed", "text_changed", "unlocked", "merged",
                                                   "renamed", "row_inserted", "odd_values", "late_entity"))
    assert statuses["unprotected"] == "warning" and statuses["no_meta"] == "warning"


def test_fast_book_cells_equal_openpyxl_cells(fast_corpus):
    """Every cell's value and type, the locked flag of every styled cell, dimensions and protection."""
    for name in ("ok0", "odd_values", "excel_like", "merged", "unlocked", "no_meta"):
        path = fast_corpus[name][0]
        book, wb = load_book(path), load_workbook(path)
        assert book.sheetnames == wb.sheetnames
        for title in book.sheetnames:
            fast, ws = book[title], wb[title]
            cells = {k: c for k, c in ws._cells.items()}
            assert fast.values.keys() == cells.keys(), (name, title)
            for k, c in cells.items():
                assert type(fast.values[k]) is type(c.value) and fast.values[k] == c.value, (name, title, k)
                if type(c).__name__ == "Cell":
                    assert book.locked[fast.styles[k]] == c.protection.locked, (name, title, k)
            assert (fast.max_row, fast.max_column) == (ws.max_row, ws.max_column)
            assert fast.protection.sheet == bool(ws.protection.sheet)
        assert book.properties.modified == wb.properties.modified


def test_collect_gives_the_same_collection_with_either_reader(fast_corpus, tmp_path, caplog):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for name, (path, _) in fast_corpus.items():
        shutil.copy(path, inbox / (name + path.suffix))
    roster = [RosterEntry(i, Entity(name=f"町{c}", code=c)) for i, c in enumerate(sorted(ROSTER), start=2)]
    with caplog.at_level(logging.WARNING, logger="xlsx_tool.collect"):
        fast = collect([inbox], CAT, roster, workers=2)
    slow = collect([inbox], CAT, roster, workers=2, reader="openpyxl")
    assert fast.files == slow.files
    assert {Path(r.file).stem for r in fast.fallbacks} == {"late_entity", "hyperlink", "array_formula", "broken_xml",
                                                          "summary_cleared_below"}
    assert "openpyxl で読み込みました" in caplog.text  # a fallback is reported, never silent


cell_values = st.one_of(
    st.none(), st.booleans(), st.integers(-10**12, 10**12),
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=12),
)


@pytest.mark.filterwarnings("ignore:Cell .* is marked as a date")
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(1, 30), st.integers(1, 12), cell_values, st.booleans(),
                          st.sampled_from(["General", "0.00", "yyyy/m/d", "[h]:mm", "@"])), max_size=25),
       st.booleans())
def test_any_sheet_reads_as_openpyxl_reads_it(tmp_path, cells, protected):
    wb = Workbook()
    ws = wb.active
    for row, col, value, locked, fmt in cells:
        c = ws.cell(row=row, column=col)
        c.value = value
        c.protection = Protection(locked=locked)
        c.number_format = fmt
    ws.protection.sheet = protected
    path = tmp_path / f"h{time.monotonic_ns()}.xlsx"
    wb.save(path)
    book, back = load_book(path), load_workbook(path)
    ws = back.active
    try:
        fast = book[book.sheetnames[0]]
    except FastPathUnsupported:  # a date beyond the calendar: openpyxl makes it '#VALUE!', the collector falls back
        assert any(c.value == "#VALUE!" for c in ws._cells.values())
        return
    assert fast.values.keys() == ws._cells.keys()
    for k, c in ws._cells.items():
        assert type(fast.values[k]) is type(c.value) and fast.values[k] == c.value, (k, c.value, fast.values[k])
        assert book.locked[fast.styles[k]] == c.protection.locked
    assert fast.protection.sheet == bool(ws.protection.sheet)


# -- writer ----------------------------------------------------------------------------------------

names = st.text(st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\x7f"), max_size=10)


@settings(max_examples=25, deadline=None)
@given(st.builds(Entity, name=names, code=names, prefecture=names,
                 insured=st.one_of(st.none(), st.integers(0, 10**7))), st.booleans())
def test_patched_book_equals_build_workbook_byte_for_byte(entity, with_previous):
    answers = random_answers(CAT, random.Random(len(entity.name)), blank_rate=0.2)
    template = template_for(CAT, with_previous=with_previous)
    assert differences(template, entity, generated_at="2026-01-01T00:00:00+00:00",
                       previous=answers if with_previous else None, prefill=answers) == []


@pytest.mark.parametrize("cat", all_catalogs(), ids=lambda c: c.id + ("+t" if thresholds_tag(c) else ""))
def test_every_catalog_has_a_working_template(cat):
    template = template_for(cat, password="pw" if cat.kind.value == "prefecture" else None,
                            thresholds=thresholds_tag(cat))
    assert differences(template, Entity(name="仙台市", code="041009", prefecture="宮城県", insured=264123)) == []


def test_patched_book_is_the_same_workbook_for_openpyxl(tmp_path):
    entity = Entity(name="大河原町", code="043222", prefecture="宮城県", insured=6713)
    prev = random_answers(CAT, random.Random(4), blank_rate=0.3)
    fast = template_for(CAT, thresholds=None, with_previous=True).write(
        tmp_path / "fast.xlsx", entity, generated_at="g", previous=prev, prefill=prev)
    slow = write_workbook(CAT, entity, tmp_path / "slow.xlsx", generated_at="g", previous_answers=prev, prefill=prev)
    a, b = load_workbook(fast), load_workbook(slow)
    assert a.sheetnames == b.sheetnames
    assert {n: str(d.value) for n, d in a.defined_names.items()} == {n: str(d.value) for n, d in b.defined_names.items()}
    assert a.security.lockStructure == b.security.lockStructure
    for wa, wb in zip(a.worksheets, b.worksheets):
        assert wa.sheet_state == wb.sheet_state and bool(wa.protection.sheet) == bool(wb.protection.sheet)
        assert str(wa.oddFooter.left.text) == str(wb.oddFooter.left.text)
        assert {str(m) for m in wa.merged_cells.ranges} == {str(m) for m in wb.merged_cells.ranges}
        assert [(str(v.sqref), v.formula1, v.type) for v in wa.data_validations.dataValidation] == \
               [(str(v.sqref), v.formula1, v.type) for v in wb.data_validations.dataValidation]
        assert wa._cells.keys() == wb._cells.keys()
        for k, ca in wa._cells.items():
            cb = wb._cells[k]
            assert (ca.value, ca.data_type, ca.number_format, ca.protection.locked) == \
                   (cb.value, cb.data_type, cb.number_format, cb.protection.locked), (wa.title, k)


def test_generated_books_pass_collection_on_both_readers(tmp_path):
    entries = [RosterEntry(i + 2, Entity(name=f"町{i:02d}", code=f"{i:02d}", prefecture="テスト県", insured=100 * i))
               for i in range(1, 6)]
    fast = generate_for_roster(CAT, entries, tmp_path / "fast")
    slow = generate_for_roster(CAT, entries, tmp_path / "slow", writer="openpyxl")
    assert [g.writer for g in fast] == ["fast"] * 5 and [g.writer for g in slow] == ["openpyxl"] * 5
    created = re.compile(rb"<dcterms:(created|modified)[^>]*>[^<]*</dcterms:\1>")
    meta_time = re.compile(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00")
    for f, s in zip(fast, slow):
        mf, ms = _members(f.path), _members(s.path)
        assert mf.keys() == ms.keys()
        for name in mf:
            a, b = created.sub(b"", mf[name]), created.sub(b"", ms[name])
            assert meta_time.sub(b"T", a) == meta_time.sub(b"T", b), (f.path.name, name)
    expect = Expectation(CAT, frozenset(e.entity.code for e in entries))
    for g in fast:  # every check passed; the last one refuses a book with no answer (issue 17, item 9)
        for reader in ("fast", "openpyxl"):
            result = inspect_file(g.path, expect, reader)
            assert result.status == "rejected" and len(result.reasons) == 1
            assert result.reason.startswith("回答が 1 件も入力されていません")


def test_carried_answers_go_through_the_fast_writer(tmp_path):
    from xlsx_tool.collect.distribute import generate_one

    prev = tmp_path / "prev.xlsx"
    r7 = load_shipped_catalog("R7", "municipality")
    fill_workbook(write_workbook(r7, Entity(name="町", code="01"), tmp_path / "t.xlsx"),
                  random_answers(r7, random.Random(2), 0.0), prev, r7)
    entity = Entity(name="町", code="01")
    done = generate_one(CAT, entity, tmp_path / "out", previous=prev, prefill=True)
    assert done.writer == "fast" and done.carry.carried
    template = template_for(CAT, with_previous=True)
    assert differences(template, entity, previous=done.carry.carried, prefill=done.carry.carried) == []


def test_fast_writer_fallback_is_reported(tmp_path, monkeypatch, caplog):
    from xlsx_tool.collect import distribute
    from xlsx_tool.workbook.template import FastWriterUnavailable

    with pytest.raises(FastWriterUnavailable):  # a date would change the cell's number format
        template_for(CAT).render(Entity(), prefill={CAT.answer_ids()[0]: datetime(2025, 1, 1)})

    def unavailable(*args, **kwargs):
        raise FastWriterUnavailable("test")

    monkeypatch.setattr(distribute, "template_for", unavailable)
    with caplog.at_level(logging.WARNING, logger="xlsx_tool.distribute"):
        done = generate_for_roster(CAT, [RosterEntry(2, Entity(name="町", code="01"))], tmp_path)
    assert (done[0].writer, done[0].fallback) == ("openpyxl", "test") and done[0].path.is_file()
    assert "openpyxl で作成しました" in caplog.text


# -- the worker pool -----------------------------------------------------------------------------

def _hang_on(name):
    real = collect_mod._inspect

    def inspect(path, expect, reader="fast"):
        if path.name == name:
            time.sleep(30)
        return real(path, expect, reader)
    return inspect


def test_a_hanging_file_does_not_take_its_chunk_with_it(tmp_path, monkeypatch):
    import multiprocessing

    if multiprocessing.get_start_method(allow_none=False) != "fork":
        pytest.skip("needs fork: the patched function must reach the workers")
    files = []
    for i in range(16):
        (tmp_path / f"f{i:02d}.txt").write_text("x", encoding="utf-8")
        files.append(tmp_path / f"f{i:02d}.txt")
    monkeypatch.setattr(collect_mod, "PER_FILE_SECONDS", 0.5)
    monkeypatch.setattr(collect_mod, "POOL_GRACE_SECONDS", 1)
    monkeypatch.setattr(collect_mod, "_inspect", _hang_on("f03.txt"))
    results = inspect_all(files, Expectation(CAT), workers=2)
    timed_out = [Path(r.file).name for r in results if "制限時間内" in r.reason]
    assert timed_out == ["f03.txt"]
    assert all("Excel ブックではありません" in r.reason for r in results if Path(r.file).name != "f03.txt")


# -- benchmark ---------------------------------------------------------------------------------

def test_bench_prints_the_figures(tmp_path):
    result = CliRunner().invoke(main, ["bench", "--n", "4", "--workers", "2", "--out", str(tmp_path / "w")])
    assert result.exit_code == 0, result.output
    keys = {line.split(":", 1)[0] for line in result.output.splitlines() if not line.startswith("#")}
    assert {"generate_s", "collect_s", "collect_peak_mb", "ratio_vs_floor", "fast_path_fallbacks",
            "analysis_build_s", "analysis_xlsx_kb", "ratio_end_to_end"} <= keys
    try:
        import pandas  # noqa: F401
        assert "ratio_vs_pandas" in keys
    except ImportError:
        assert "pandas baseline skipped" in result.output
    assert "fast_path_fallbacks: 0" in result.output
    # the books were collected as books of this catalog (seeds 100003..100006: none made invalid on purpose)
    assert "# statuses: accepted " in result.output and " / rejected 0;" in result.output


# -- LibreOffice -------------------------------------------------------------------------------

@pytest.mark.libreoffice
def test_libreoffice_opens_a_patched_book_and_its_totals_equal_the_scorer(tmp_path, soffice):
    from xlsx_tool.workbook.recalc import recalculate

    answers = random_answers(CAT, random.Random(8), blank_rate=0.0)
    book = template_for(CAT).write(tmp_path / "fast.xlsx", Entity(name="平塚市", code="142034"), prefill=answers)
    (saved,) = recalculate([book], tmp_path / "lo")
    result = inspect_file(saved, Expectation(CAT, frozenset({"142034"})))
    assert result.reader == "fast" and result.status == "accepted", result
    assert result.total == score(CAT, answers).total
    values = load_workbook(saved, data_only=True)["集計"]
    totals = [r for r in values.iter_rows(values_only=True) if r[0] == "総合計"]
    assert totals and totals[0][4] == score(CAT, answers).total


@pytest.mark.libreoffice
def test_collection_corpus_gives_identical_results_on_both_readers(corpus):
    """The collection issue's corpus (LibreOffice-saved book and every kind of bad file)."""
    inbox = corpus["inbox"]
    assert corpus["result"].exit_code == 0
    expect = Expectation(CAT, frozenset(f"{i:02d}" for i in range(1, 24)))
    for name in EXPECTED:
        path = inbox / name
        fast, slow = inspect_file(path, expect, "fast"), inspect_file(path, expect, "openpyxl")
        assert fast == slow, (name, fast, slow)
    lo = inspect_file(inbox / "05_libreoffice.xlsx", expect, "fast")
    assert lo.reader == "fast" and not lo.fallback
    book = load_book(inbox / "05_libreoffice.xlsx")  # LibreOffice's sheets are read row by row too
    assert all(book[title].rows is not None for title in ("推進交付金", "支援交付金", "集計", "_meta"))
