"""Checks on a file before any parser sees it: bounded time and memory for hostile input.

Each problem gets its own Japanese reason: empty file, encrypted workbook, old .xls, text (CSV)
renamed .xlsx, damaged zip, zip bomb (declared sizes and ratios, and members whose data inflates to
more than their headers declare), XML entity declarations; and what a zip that is not a workbook is
instead, with what to do: an OpenDocument spreadsheet (.ods), an Excel binary workbook (.xlsb), a
Strict Open XML workbook, a zip of books (named) or of other files.

Memory and time per file do not depend on what the headers say: no member is ever inflated past its
declared size (plus one byte, which is how a lie is found), and declared sizes are bounded by
MAX_UNCOMPRESSED and MAX_RATIO.
"""

from __future__ import annotations

import os
import struct
import zipfile
import zlib

try:  # the same API, about twice as fast to inflate and CRC-check (collections inflate every book)
    from zlib_ng import zlib_ng as fast_zlib
except ImportError:  # not installed under Pyodide (xlwings Lite, pyproject's marker): stdlib zlib, the same bytes
    fast_zlib = zlib
from pathlib import Path

from xlsx_tool.util.problems import ToolError

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
MAX_UNCOMPRESSED = 200 * 1024 * 1024  # a self-assessment book is well under 5 MB unpacked
MAX_RATIO = 200  # deflate rarely exceeds ~100:1 on real sheets
MAX_MEMBERS = 2000
XML_SNIFF = 4096  # DOCTYPE/ENTITY must appear in the prolog
BOOK_SUFFIXES = (".xlsx", ".xlsm", ".xls")
LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")  # a zip member's local header
MASK_UNSUPPORTED = 0x01 | 0x20 | 0x40  # encrypted, compressed patched data, strong encryption
STRICT_NS = b"http://purl.oclc.org/ooxml/spreadsheetml/main"  # the main namespace of Strict Open XML


class FileRejected(ToolError):
    """The file cannot be read safely; `reason` is the Japanese explanation (util/problems.py)."""

    @property
    def reason(self) -> str:
        return self.problem.message


def _ole_kind(head: bytes, path: Path) -> FileRejected:
    data = path.read_bytes()[:65536] if path.stat().st_size < 50 * 1024 * 1024 else head
    # An encrypted OOXML package is an OLE file with EncryptionInfo/EncryptedPackage streams
    # (names stored in UTF-16LE in the directory).
    if "EncryptedPackage".encode("utf-16-le") in data or "EncryptionInfo".encode("utf-16-le") in data:
        return FileRejected("file.encrypted")
    return FileRejected("file.xls")


def _looks_like_text(head: bytes) -> bool:
    if not head or b"\0" in head:
        return False
    for enc in ("utf-8", "cp932"):
        try:
            head.decode(enc)
            return True
        except UnicodeDecodeError:
            continue
    return False


def check_container(path: Path) -> None:
    """Raise FileRejected unless `path` is a zip that an xlsx parser can open safely."""
    size = path.stat().st_size
    if size == 0:
        raise FileRejected("file.empty")
    with path.open("rb") as fh:
        head = fh.read(2048)
    if head.startswith(OLE_MAGIC):
        raise _ole_kind(head, path)
    if not head.startswith(b"PK"):
        if _looks_like_text(head):
            raise FileRejected("file.text", suffix=path.suffix or "-")
        raise FileRejected("file.not_xlsx")
    try:
        with zipfile.ZipFile(path) as z:
            infos = z.infolist()
            check_bomb(infos)
            check_parts(infos)
            _check_entities(z, infos)
        with path.open("rb") as fh:
            _check_sizes(fh, infos)
    except zipfile.BadZipFile:
        raise FileRejected("file.not_zip") from None
    except (zipfile.LargeZipFile, NotImplementedError, OSError, EOFError) as exc:
        raise FileRejected("file.broken", detail=exc) from None


def check_bomb(infos) -> None:
    if len(infos) > MAX_MEMBERS:
        raise FileRejected("file.too_many_parts", count=len(infos))
    total = sum(i.file_size for i in infos)
    if total > MAX_UNCOMPRESSED:
        raise FileRejected("file.too_large", megabytes=total // (1024 * 1024))
    for i in infos:
        if i.file_size > 1024 * 1024 and i.file_size > MAX_RATIO * max(i.compress_size, 1):
            raise FileRejected("file.ratio", part=i.filename,
                               ratio=i.file_size // max(i.compress_size, 1))


def check_parts(infos) -> None:
    """FileRejected unless the zip holds a workbook's required parts, saying what it holds instead."""
    names = {i.filename for i in infos}
    if "[Content_Types].xml" in names and "xl/workbook.xml" in names:
        return
    if {"mimetype", "content.xml"} <= names:
        raise FileRejected("file.ods")
    if "xl/workbook.bin" in names:
        raise FileRejected("file.xlsb")
    if "[Content_Types].xml" not in names and not any(n.startswith("xl/") for n in names):
        books = [_shown(i) for i in infos if i.filename.lower().endswith(BOOK_SUFFIXES)]
        if books:
            raise FileRejected("file.zip", books=_listed(books))
        files = [_shown(i) for i in infos if not i.filename.endswith("/")]
        raise FileRejected("file.zip_no_book", names=_listed(files))
    raise FileRejected("file.missing_parts")


def _shown(info) -> str:
    """A member's name as whoever made the zip saw it: a name stored without the UTF-8 flag is read
    as cp437 (zipfile's reading), which garbles the cp932 names of a zip made on Japanese Windows."""
    if info.flag_bits & 0x800 or info.filename.isascii():
        return info.filename
    try:
        return info.filename.encode("cp437").decode("cp932")
    except UnicodeError:
        return info.filename


def _listed(names: list[str], most: int = 3) -> str:
    more = f" ほか {len(names) - most} 件" if len(names) > most else ""
    return "、".join(names[:most]) + more


def _check_entities(z: zipfile.ZipFile, infos) -> None:
    for i in infos:
        if i.filename.endswith(XML_SUFFIXES):
            with z.open(i) as fh:
                prolog = fh.read(XML_SNIFF)
            check_prolog(i.filename, prolog)


XML_SUFFIXES = (".xml", ".rels", ".vml")
_READ_CHUNK = 1 << 20  # compressed bytes read at a time by _check_sizes
_STEP = 1 << 20  # most bytes inflated by one call


def _check_sizes(fh, infos) -> None:
    """FileRejected (file.size_lie) for the first deflated member whose data inflates to more than its
    declared size: zipfile stops at the declared size, so openpyxl would read a truncated member
    without noticing. Each member is streamed from the file and inflated one byte past its declared
    size at most. A member that cannot be located or inflated is left to zipfile, which says what
    is wrong when it reads it."""
    for info in infos:
        if info.compress_type != zipfile.ZIP_DEFLATED or info.flag_bits & MASK_UNSUPPORTED:
            continue
        fh.seek(info.header_offset)
        head = fh.read(LOCAL_HEADER.size)
        if len(head) < LOCAL_HEADER.size or not head.startswith(b"PK\x03\x04"):
            continue
        name_len, extra_len = struct.unpack_from("<2H", head, LOCAL_HEADER.size - 4)
        fh.seek(name_len + extra_len, os.SEEK_CUR)
        try:
            inflate_within(info, fast_zlib.decompressobj(-15), _file_chunks(fh, info.compress_size), keep=False)
        except fast_zlib.error:
            continue


def _file_chunks(fh, size: int):
    while size > 0 and (chunk := fh.read(min(_READ_CHUNK, size))):
        size -= len(chunk)
        yield chunk


def inflate_within(info: zipfile.ZipInfo, inflater, chunks, keep: bool, produced: int = 0) -> bytes:
    """Inflate the compressed `chunks` with `inflater` (which already gave `produced` bytes) until the
    stream ends, at most _STEP bytes at a time and never more than one byte past the declared size:
    FileRejected (file.size_lie) when that byte comes. The content when `keep`, else b"" (counted)."""
    parts = []
    for chunk in chunks:
        while not inflater.eof:
            want = min(info.file_size - produced + 1, _STEP)
            out = inflater.decompress(chunk, want)
            produced += len(out)
            if produced > info.file_size:
                raise FileRejected("file.size_lie", part=info.filename, declared=info.file_size)
            if keep:
                parts.append(out)
            chunk = inflater.unconsumed_tail
            if not chunk and len(out) < want:
                break  # this chunk is used up and nothing is pending
    return b"".join(parts)


def check_prolog(filename: str, prolog: bytes) -> None:
    if b"<!DOCTYPE" in prolog or b"<!ENTITY" in prolog:
        raise FileRejected("file.xml_entity", part=filename)
    if filename == "xl/workbook.xml" and STRICT_NS in prolog:
        raise FileRejected("file.strict")
