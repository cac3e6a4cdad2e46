"""Hostile and foreign files (issue 17, items 1 and 9). A zip whose headers declare small sizes but whose
data inflates far larger is rejected, with a real process's memory flat, by both readers and by score;
.ods, .xlsb, .zip, Strict Open XML and Document-Inspector-cleaned books get their cause and what to do.
Every file is generated here; the zips are assembled byte by byte, independently of the readers."""

import json
import os
import random
import re
import struct
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from xlsx_tool.catalog.entity import Entity
from xlsx_tool.catalog.loading import load_shipped_catalog
from xlsx_tool.cli import main
from xlsx_tool.cli.bench import bomb_peaks
from xlsx_tool.collect.batch import Expectation, collect, inspect_file
from xlsx_tool.read.file_checks import FileRejected, check_container
from xlsx_tool.scoring.scorer import score
from xlsx_tool.util.problems import message
from xlsx_tool.workbook.filler import fill_workbook, random_answers
from xlsx_tool.workbook.writer import write_workbook

CAT = load_shipped_catalog("R8", "municipality")
READERS = ("fast", "openpyxl")
SHEET = "xl/worksheets/sheet2.xml"  # an input sheet: the fast reader inflates it whole
THEME = "xl/theme/theme1.xml"  # read by neither reader's checks beyond its first 4 KB
UTF8 = 0x800


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hostile")
    answers = random_answers(CAT, random.Random(17), blank_rate=0.0)
    template = write_workbook(CAT, Entity(name="試験町", code="012345", prefecture="北海道"), tmp / "template.xlsx")
    return fill_workbook(template, answers, tmp / "book.xlsx", CAT), answers


# -- zips assembled here ---------------------------------------------------------------------------

def _deflate(data: bytes, last: bool = True) -> bytes:
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush(zlib.Z_FINISH if last else zlib.Z_FULL_FLUSH)


def _zeros(megabytes: int) -> bytes:
    """Deflate blocks inflating to `megabytes` MB of zeros, not the last of a stream (about 1 KB a MB)."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    return (c.compress(bytes(1 << 20)) + c.flush(zlib.Z_FULL_FLUSH)) * megabytes


def _assemble(members) -> bytes:
    """A zip of (raw name, flags, deflate data, CRC, size in the central directory, size in the local header)."""
    body, central = bytearray(), bytearray()
    for name, flags, raw, crc, central_size, local_size in members:
        offset = len(body)
        body += struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, flags, 8, 0, 0, crc, len(raw), local_size, len(name), 0)
        body += name + raw
        central += struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, flags, 8, 0, 0, crc, len(raw), central_size,
                               len(name), 0, 0, 0, 0, 0, offset) + name
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(members), len(members), len(central), len(body), 0)
    return bytes(body + central + end)


def _lying(src: Path, dst: Path, part: str, megabytes: int, central_only: bool = False) -> tuple[Path, int]:
    """`src` with `part`'s data followed by `megabytes` MB of zeros. The central directory declares the
    original size and CRC (what zipfile then reads is the original member); the local header too, or
    with central_only the size the data really inflates to. Returns the file and the declared size."""
    members, declared = [], None
    with zipfile.ZipFile(src) as z:
        for info in z.infolist():
            data = z.read(info)
            if info.filename == part:
                declared, true_size = len(data), len(data) + (megabytes << 20)
                raw = _deflate(data, last=False) + _zeros(megabytes) + b"\x03\x00"  # an empty last block
                members.append((part.encode(), 0, raw, zlib.crc32(data), declared,
                                true_size if central_only else declared))
            else:
                members.append((info.filename.encode(), 0, _deflate(data), zlib.crc32(data), len(data), len(data)))
    dst.write_bytes(_assemble(members))
    return dst, declared


def _zip_of(dst: Path, files: dict[bytes, bytes], flags: int = 0) -> Path:
    dst.write_bytes(_assemble([(name, flags, _deflate(data), zlib.crc32(data), len(data), len(data))
                               for name, data in files.items()]))
    return dst


def _code_of(path: Path) -> str:
    with pytest.raises(FileRejected) as err:
        check_container(path)
    return err.value.code


def _score_output(path: Path) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["score", str(path)])
    assert "Traceback" not in result.output and not isinstance(result.exception, (KeyError, TypeError, ValueError))
    return result.exit_code, result.output


# -- item 1: sizes that lie --------------------------------------------------------------------------

@pytest.mark.parametrize("part", [SHEET, THEME])
@pytest.mark.parametrize("central_only", [False, True], ids=["both_headers", "central_only"])
def test_a_member_inflating_past_its_declared_size_is_rejected(book, tmp_path, part, central_only):
    path, _ = book
    expect = Expectation(CAT)
    assert inspect_file(path, expect).status != "rejected"  # the book itself is fine
    bomb, declared = _lying(path, tmp_path / "bomb.xlsx", part, 64, central_only)
    with zipfile.ZipFile(bomb) as z:  # zipfile stops at the declared size: it sees the original member
        assert z.getinfo(part).file_size == declared and len(z.read(part)) == declared
    assert _code_of(bomb) == "file.size_lie"
    for reader in READERS:
        result = inspect_file(bomb, expect, reader)
        assert result.status == "rejected", (reader, result)
        assert result.reasons == [message("file.size_lie", part=part, declared=declared)], reader
        assert part in result.reason and f"{declared} バイト" in result.reason and "zip 爆弾" in result.reason
        assert result.reader == reader and not result.fallback  # the fast reader decides it itself


def test_score_rejects_a_lying_zip_with_the_same_message(book, tmp_path):
    bomb, declared = _lying(book[0], tmp_path / "bomb.xlsx", SHEET, 16)
    code, output = _score_output(bomb)
    assert code != 0
    assert message("file.size_lie", part=SHEET, declared=declared) in output.replace("\n", "")


_PEAK = """
import json, resource, sys
from pathlib import Path
from xlsx_tool.catalog.loading import load_shipped_catalog
from xlsx_tool.collect.batch import Expectation, inspect_file
result = inspect_file(Path(sys.argv[1]), Expectation(load_shipped_catalog("R8", "municipality")), sys.argv[2])
print(json.dumps(result.status))
"""


def _child_peak_mb(path: Path, reader: str) -> tuple[float, str]:
    """Peak RSS of a new process inspecting `path`, as the kernel accounts it for that child (wait4)."""
    proc = subprocess.Popen([sys.executable, "-P", "-c", _PEAK, str(path), reader], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    out, err = proc.stdout.read(), proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    assert proc.returncode == 0, err.decode()
    return usage.ru_maxrss / 1024, json.loads(out)


@pytest.mark.skipif(not hasattr(os, "wait4"), reason="needs os.wait4 (POSIX)")
def test_memory_stays_flat_whatever_the_headers_say(book, tmp_path):
    """A 200 MB lie (about 200 KB on disk): the old fast reader inflated it whole, twice over (~450 MB)."""
    bomb, _ = _lying(book[0], tmp_path / "bomb.xlsx", SHEET, 200)
    assert bomb.stat().st_size < 1 << 20
    for reader in READERS:
        good, good_status = _child_peak_mb(book[0], reader)
        peak, status = _child_peak_mb(bomb, reader)
        assert peak < good + 150, (reader, good, peak)
        assert (good_status, status) == ("accepted", "rejected"), reader


def test_bench_reports_a_flat_peak_for_lying_zip_bombs(book, tmp_path, capsys):
    """The bench line: bombs of about 1 MB and 4 MB on disk (1 GB and 4 GB of zeros behind a declared
    sheet), each inspected in a new process; both rejected, both peaks near the good book's."""
    bomb_peaks(book[0], SHEET, tmp_path, CAT, None)
    line = capsys.readouterr().out.splitlines()[-1]
    assert line.startswith("lying_zip_peak_mb: ")
    found = re.findall(r"([\d.]+) MB file (\d+) MB \((\w+)\)", line)
    good = re.search(r"the good book (\d+) MB \((\w+)\)", line)
    assert [(round(float(size)), status) for size, _, status in found] == [(1, "rejected"), (4, "rejected")]
    assert good and good.group(2) == "accepted"
    assert all(int(peak) < int(good.group(1)) + 150 for _, peak, _ in found), line


# -- item 9: files that are not books, or books this tool cannot read -----------------------------

def _ods(tmp: Path) -> Path:
    return _zip_of(tmp / "回答.ods", {
        b"mimetype": b"application/vnd.oasis.opendocument.spreadsheet",
        b"content.xml": b'<?xml version="1.0"?><office:document-content '
                        b'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"/>',
        b"META-INF/manifest.xml": b'<?xml version="1.0"?><manifest:manifest '
                                  b'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"/>'})


def _xlsb(tmp: Path) -> Path:
    return _zip_of(tmp / "回答.xlsb", {
        b"[Content_Types].xml": b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
                                b'content-types"><Override PartName="/xl/workbook.bin" ContentType="application/'
                                b'vnd.ms-excel.sheet.binary.macroEnabled.main"/></Types>',
        b"_rels/.rels": b'<?xml version="1.0"?><Relationships/>',
        b"xl/workbook.bin": b"\x83\x01\x00\x84\x01\x00"})


def _strict(src: Path, dst: Path) -> Path:
    """What Excel's 'Strict Open XML Spreadsheet' writes: the same parts in the purl.oclc.org namespaces."""
    names = {b"http://schemas.openxmlformats.org/spreadsheetml/2006/main": b"http://purl.oclc.org/ooxml/spreadsheetml/main",
             b"http://schemas.openxmlformats.org/officeDocument/2006/relationships":
             b"http://purl.oclc.org/ooxml/officeDocument/relationships"}
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info)
            for old, new in names.items():
                data = data.replace(old, new)
            if info.filename == "xl/workbook.xml":
                data = data.replace(b"<workbook ", b'<workbook conformance="strict" ', 1)
            zout.writestr(info, data)
    return dst


def _cases(tmp: Path, src: Path) -> dict[str, tuple[Path, str]]:
    """name -> (file, the whole message it must get)."""
    inside = "2024年度/札幌市_回答.xlsx"
    with zipfile.ZipFile(tmp / "提出.zip", "w") as z:
        z.write(src, inside)
    renamed = tmp / "提出（拡張子だけ xlsx）.xlsx"
    renamed.write_bytes((tmp / "提出.zip").read_bytes())
    # a name in cp932 without the UTF-8 flag, as a zip made on Japanese Windows stores it
    japanese_windows = _zip_of(tmp / "windows.zip", {"提出/回答.xlsx".encode("cp932"): src.read_bytes()})
    other = _zip_of(tmp / "写真.zip", {b"a.jpg": b"\xff\xd8", b"b.pdf": b"%PDF", b"c.txt": b"x", b"d.txt": b"y"})
    return {
        "ods": (_ods(tmp), message("file.ods")),
        "xlsb": (_xlsb(tmp), message("file.xlsb")),
        "zip": (tmp / "提出.zip", message("file.zip", books=inside)),
        "zip_named_xlsx": (renamed, message("file.zip", books=inside)),
        "zip_from_japanese_windows": (japanese_windows, message("file.zip", books="提出/回答.xlsx")),
        "zip_without_books": (other, message("file.zip_no_book", names="a.jpg、b.pdf、c.txt ほか 1 件")),
        "strict": (_strict(src, tmp / "strict.xlsx"), message("file.strict")),
    }


def test_foreign_files_say_what_they_are_and_what_to_do(book, tmp_path):
    cases = _cases(tmp_path, book[0])
    wanted = {"ods": ["OpenDocument", "『Excel ブック (*.xlsx)』", "保存し直してください"],
              "xlsb": [".xlsb", "『Excel ブック (*.xlsx)』"], "strict": ["Strict Open XML", "『Excel ブック (*.xlsx)』"],
              "zip": ["zip", "展開", "札幌市_回答.xlsx"], "zip_from_japanese_windows": ["提出/回答.xlsx"],
              "zip_without_books": ["a.jpg", "ほか 1 件"]}
    expect = Expectation(CAT)
    for name, (path, text) in cases.items():
        for phrase in wanted.get(name, []):
            assert phrase in text, (name, phrase)
        for reader in READERS:
            result = inspect_file(path, expect, reader)
            assert (result.status, result.reasons) == ("rejected", [text]), (name, reader, result.reasons)
            assert not result.fallback, (name, result.fallback)


def test_score_gives_the_same_cause(book, tmp_path):
    for name, (path, text) in _cases(tmp_path, book[0]).items():
        code, output = _score_output(path)
        assert code != 0 and text in output.replace("\n", ""), (name, output)


def test_collect_accounts_for_every_foreign_file(book, tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    cases = _cases(inbox, book[0])
    (inbox / "メモ.txt").write_text("x", encoding="utf-8")
    col = collect([inbox], CAT, [], workers=1)
    reasons = {Path(r.file).name: r.reason for r in col.files}
    assert reasons == {**{path.name: text for path, text in cases.values()},
                       "メモ.txt": message("file.not_a_book", suffix=".txt")}


def _inspected(path: Path, tmp_path: Path) -> Path:
    """The book as Excel's ドキュメント検査 leaves it (hidden sheets and author names removed)."""
    wb = load_workbook(path)
    for name in ("_meta", "_lists"):
        del wb[name]
    for ws in wb.worksheets:
        for dv in ws.data_validations.dataValidation:
            if dv.formula1 and "_lists" in dv.formula1:
                dv.formula1 = "#REF!"
    wb.properties.creator = wb.properties.lastModifiedBy = None
    cleaned = tmp_path / "cleaned.xlsx"
    wb.save(cleaned)
    return cleaned


def test_score_names_the_document_inspector_for_a_book_without_its_identification(book, tmp_path):
    """score cannot rebuild what ドキュメント検査 removed; it names the cause and the fix (not 'not ours')."""
    code, output = _score_output(_inspected(book[0], tmp_path))
    flat = output.replace("\n", "")
    assert code != 0 and "cleaned.xlsx" in flat and "ドキュメント検査" in flat and "配布された様式" in flat
    assert "このツールで作成した自己評価シートではありません" not in flat


def test_a_foreign_book_with_a_sheet_named_cover_is_not_blamed_on_the_inspection(tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.title = "表紙"
    wb.active["A1"], wb.active["B1"] = "件名", "会議資料"
    wb.save(tmp_path / "other.xlsx")
    code, output = _score_output(tmp_path / "other.xlsx")
    flat = output.replace("\n", "")
    assert code != 0 and "ドキュメント検査" not in flat and "このツールで作成した自己評価シートではありません" in flat


def test_a_book_cleaned_by_the_document_inspector_is_identified_from_its_cover(book, tmp_path):
    """Excel's ドキュメント検査 removes hidden sheets (_meta, _lists: the lists' validations become #REF!)
    and the author names. The cover still says who and which year: collected with a note, same total."""
    cleaned, answers = _inspected(book[0], tmp_path), book[1]
    for reader in READERS:
        result = inspect_file(cleaned, Expectation(CAT, frozenset({"012345"})), reader)
        assert result.status == "warning" and result.reasons == [message("collect.from_cover")], (reader, result)
        assert (result.code, result.total) == ("012345", score(CAT, answers).total)
