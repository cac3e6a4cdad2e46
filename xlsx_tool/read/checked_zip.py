"""The collector's fast path to a returned book's zip: the file read once into memory, members inflated
on demand, with exactly the decisions of read/file_checks.check_container (the same FileRejected in
the same order), and FastPathUnsupported wherever it cannot be sure of that.
"""

from __future__ import annotations

import io
import os
import struct
import zipfile
from pathlib import Path

from xlsx_tool.read.file_checks import (  # the container checks this path shares with check_container
    LOCAL_HEADER,
    MASK_UNSUPPORTED,
    XML_SNIFF,
    XML_SUFFIXES,
    check_bomb,
    check_container,
    check_parts,
    check_prolog,
    fast_zlib,
    inflate_within,
)

# The collector's fast reader reads the file once into memory and inflates members itself. It makes
# the same decisions as check_container: it raises the same FileRejected where check_container would
# (same order, same reasons), and FastPathUnsupported wherever it cannot be sure it would (anything
# irregular: not a zip, encrypted or patched members, other compression methods, local headers that
# disagree with the directory, bad CRCs, truncated data). The caller then runs the openpyxl path from
# the start, which gives the reason it always gave.

FAST_MAX_FILE = 32 * 1024 * 1024  # larger files go the openpyxl way (no book of ours comes close)
FAST_MAX_PART = 16 * 1024 * 1024  # largest member the fast reader inflates whole


class FastPathUnsupported(Exception):
    """The fast reader met something it does not handle exactly as the openpyxl path does."""


class Member:
    """A zip member as zipfile.ZipInfo describes it (the attributes the checks use), from
    central_directory; `raw_name` is the name's bytes as stored."""
    __slots__ = ("filename", "orig_filename", "raw_name", "flag_bits", "compress_type", "CRC", "compress_size",
                 "file_size", "header_offset")

    def __init__(self, filename, raw_name, flag_bits, compress_type, crc, compress_size, file_size, header_offset):
        self.filename = self.orig_filename = filename
        self.raw_name, self.flag_bits, self.compress_type, self.CRC = raw_name, flag_bits, compress_type, crc
        self.compress_size, self.file_size, self.header_offset = compress_size, file_size, header_offset


_END = struct.Struct("<4s4H2LH")
_CENTRAL = struct.Struct("<4s4B4HL2L5HLL")
_ZIP64_LOCATOR = b"PK\x06\x07"


def _plain_extra(extra: bytes) -> bool:
    """The extra field walks as zipfile's ZipInfo._decodeExtra walks it, without a Zip64 record
    (zipfile raises on a record longer than the field; trailing bytes shorter than a header are ignored)."""
    while len(extra) >= 4:
        kind, length = struct.unpack_from("<HH", extra)
        if length + 4 > len(extra) or kind == 0x0001:
            return False
        extra = extra[length + 4:]
    return True


def central_directory(data: bytes) -> list[Member] | None:
    """The members as zipfile lists them, for the plain archives spreadsheet programs write (one
    end record without comment at the very end, no Zip64, nothing before the first member); None
    for anything else, which zipfile then reads."""
    if len(data) < _END.size or data[-_END.size - 20:-_END.size].startswith(_ZIP64_LOCATOR):
        return None
    sig, disk, disk_cd, entries_here, entries, size_cd, offset_cd, comment = _END.unpack_from(data, len(data) - _END.size)
    if (sig != b"PK\x05\x06" or comment or disk or disk_cd or entries_here != entries
            or offset_cd + size_cd != len(data) - _END.size):
        return None
    members, pos, end = [], offset_cd, offset_cd + size_cd
    for _ in range(entries):
        if pos + _CENTRAL.size > end:
            return None
        (sig, _, _, version, _, flags, method, _, _, crc, csize, usize, name_len, extra_len, comment_len,
         _, _, _, offset) = _CENTRAL.unpack_from(data, pos)
        start = pos + _CENTRAL.size
        raw = data[start:start + name_len]
        if (sig != b"PK\x01\x02" or version > 63 or b"\0" in raw or start + name_len > end
                or 0xFFFFFFFF in (csize, usize, offset)):
            return None
        try:  # ASCII reads the same in both encodings
            name = raw.decode("ascii" if raw.isascii() else "utf-8" if flags & 0x800 else "cp437")
        except UnicodeDecodeError:
            return None
        if extra_len and not _plain_extra(data[start + name_len:start + name_len + extra_len]):
            return None
        members.append(Member(name, raw, flags, method, crc, csize, usize, offset))
        pos = start + name_len + extra_len + comment_len
    return members if pos == end else None


class CheckedZip:
    """A zip read into memory whose container checks passed; members inflated on demand."""

    def __init__(self, data: bytes, infos: list[zipfile.ZipInfo]):
        self.data = data
        self.infos = infos
        self.by_name = {i.filename: i for i in infos}  # as ZipFile.getinfo: the last of a duplicate name
        self._started: dict = {}  # member -> its content, or (inflater, first bytes), from `prefix`
        self._kept = 0  # bytes of content kept by check_size
        self._spans: dict = {}  # member -> (start, end) of its compressed data
        self._ended: set = set()  # deflated members `prefix` inflated to their end within their size

    def __contains__(self, name: str) -> bool:
        return name in self.by_name

    def _span(self, info: zipfile.ZipInfo) -> tuple[int, int]:
        """Where the member's compressed data lies (found once per member)."""
        span = self._spans.get(info)
        if span is None:
            span = self._spans[info] = self._find_span(info)
        return span

    def _find_span(self, info: zipfile.ZipInfo) -> tuple[int, int]:
        data, off = self.data, info.header_offset
        if info.flag_bits & MASK_UNSUPPORTED or info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise FastPathUnsupported(f"zip member {info.filename}: flags {info.flag_bits:#x}, method {info.compress_type}")
        if off < 0 or off + LOCAL_HEADER.size > len(data):
            raise FastPathUnsupported(f"zip member {info.filename}: header outside the file")
        sig, _, _, flags, _, _, _, _, _, _, name_len, extra_len = LOCAL_HEADER.unpack_from(data, off)
        start = off + LOCAL_HEADER.size
        local = data[start:start + name_len]
        if not (sig == b"PK\x03\x04" and getattr(info, "raw_name", None) == local
                and (flags ^ info.flag_bits) & 0x800 == 0):
            try:
                name = local.decode("utf-8" if flags & 0x800 else "cp437")
            except UnicodeDecodeError:
                raise FastPathUnsupported(f"zip member {info.filename}: undecodable local name") from None
            if sig != b"PK\x03\x04" or name != info.orig_filename:
                raise FastPathUnsupported(f"zip member {info.filename}: local header differs from the directory")
        start += name_len + extra_len
        end = start + info.compress_size
        if end > len(data):
            raise FastPathUnsupported(f"zip member {info.filename}: data outside the file")
        return start, end

    def _whole(self, info: zipfile.ZipInfo, raw) -> bytes:
        if info.compress_type == zipfile.ZIP_STORED:
            return _checked(info, bytes(raw))
        return _inflated(info, fast_zlib.decompressobj(-15), b"", raw)

    def prefix(self, info: zipfile.ZipInfo, size: int = XML_SNIFF, span: tuple[int, int] | None = None) -> tuple[bytes, int]:
        """The first `size` bytes as ZipFile.open(info).read(size) gives them, read the way it reads
        them (compressed data in chunks of at least 4 KB, inflated at most max(n, 4 KB) bytes at a time,
        the CRC checked as soon as the member's end is reached: the same damage is found), and how
        many compressed bytes were read. What was inflated is kept for `read`."""
        start, end = span or self._span(info)
        raw = memoryview(self.data)[start:end]
        inflater = None if info.compress_type == zipfile.ZIP_STORED else fast_zlib.decompressobj(-15)
        compress_left, left, pos, wanted, eof, cut = end - start, info.file_size, 0, size, False, False
        produced = []
        try:
            while wanted > 0 and not eof:  # ZipExtFile.read, _read1 and _read2
                if inflater is None:
                    take = min(max(wanted, _MIN_READ), compress_left)
                    data, pos, compress_left = raw[pos:pos + take], pos + take, compress_left - take
                    eof = compress_left <= 0
                else:
                    data = inflater.unconsumed_tail
                    if wanted > len(data) and compress_left > 0:
                        take = min(max(wanted - len(data), _MIN_READ), compress_left)
                        chunk = raw[pos:pos + take]
                        data, pos, compress_left = (data + chunk) if data else chunk, pos + take, compress_left - take
                    data = inflater.decompress(data, max(wanted, _MIN_READ))
                    eof = inflater.eof or (compress_left <= 0 and not inflater.unconsumed_tail)
                    if eof:
                        data += inflater.flush()
                if len(data) > left:
                    data, cut = data[:left], True
                left -= len(data)
                eof = eof or left <= 0
                produced.append(data)
                wanted -= len(data)
        except fast_zlib.error:
            raise FastPathUnsupported(f"zip member {info.filename}: damaged data") from None
        out = produced[0] if len(produced) == 1 and isinstance(produced[0], bytes) else b"".join(produced)
        if eof:  # zipfile checks the CRC of what it read as soon as it reaches the end
            self._started[info] = _checked(info, out)
            if inflater is not None and inflater.eof and not cut:
                self._ended.add(info)
        else:
            self._started[info] = (inflater, out, pos, start, end)
        return out[:size], pos

    def read(self, name: str) -> bytes:
        """A whole member (CRC-checked); KeyError when absent, as ZipFile.read."""
        info = self.by_name[name]
        if info.file_size > FAST_MAX_PART:
            raise FastPathUnsupported(f"zip member {name}: {info.file_size} bytes")
        started = self._started.pop(info, None)
        if isinstance(started, bytes):
            return started
        if started is not None:
            return self._rest(info, *started)
        start, end = self._span(info)
        if end - start > _SMALL_PART:
            return self._whole(info, memoryview(self.data)[start:end])
        known = _INFLATED.setdefault((info.compress_type, info.file_size, info.CRC), [])
        for compressed, out in known:
            if len(compressed) == end - start and self.data.startswith(compressed, start):
                return out
        out = self._whole(info, memoryview(self.data)[start:end])
        if len(out) <= _REMEMBERED_PART:
            _remember(known, (self.data[start:end], out))
        return out

    def _rest(self, info: zipfile.ZipInfo, inflater, head: bytes, pos: int, start: int, end: int) -> bytes:
        """A member whose start `prefix` read: the rest from where it stopped, checked as _whole."""
        rest = memoryview(self.data)[start + pos:end]
        if inflater is None:
            return _checked(info, head + bytes(rest))
        return _inflated(info, inflater, head, inflater.unconsumed_tail + rest)

    def prolog_clean(self, info: zipfile.ZipInfo) -> None:
        """check_prolog on the member's first XML_SNIFF bytes. Members repeat byte for byte across
        books of one template (theme, drawings, relationships): a member whose compressed start
        determines those bytes and was found clean before is not inflated again."""
        start, end = self._span(info)
        known = _CLEAN.setdefault((info.compress_type, info.file_size, info.CRC, end - start), [])
        for compressed in known:
            if self.data.startswith(compressed, start):
                return
        head, read = self.prefix(info, span=(start, end))  # what zipfile reads: damage there found as it finds it
        check_prolog(info.filename, head)
        if read <= _REMEMBERED_PREFIX:
            _remember(known, self.data[start:start + read])

    def check_size(self, info: zipfile.ZipInfo) -> None:
        """_check_sizes on one member: FileRejected (file.size_lie) when its data inflates past its
        declared size. What the prolog sniff started is inflated to the end and kept for `read` (up to
        FAST_MAX_PART bytes a book), other members only counted; a member whose compressed bytes were
        found within their size before is not inflated again. Damage is left to `read`, as zipfile
        finds it only when it reads the member."""
        if info.compress_type != zipfile.ZIP_DEFLATED or info in self._ended:
            return
        start, end = self._span(info)
        known = _WITHIN.setdefault((info.file_size, info.CRC, end - start), [])
        for compressed in known:
            if self.data.startswith(compressed, start):
                return
        started = self._started.get(info)
        keep = isinstance(started, tuple) and self._kept + info.file_size <= FAST_MAX_PART
        try:
            if keep:
                self._kept += info.file_size
                self._started[info] = self._rest(info, *started)
            else:
                inflate_within(info, fast_zlib.decompressobj(-15), (memoryview(self.data)[start:end],), keep=False)
        except (FastPathUnsupported, fast_zlib.error):
            if keep:  # its inflater is used up: `read` starts again and finds the damage
                del self._started[info]
            return
        if end - start <= _REMEMBERED_PREFIX:
            _remember(known, self.data[start:end])


def _inflated(info: zipfile.ZipInfo, inflater, head: bytes, data) -> bytes:
    """`head` and the rest of the member from `data` to its end, checked as ZipFile checks a read;
    never inflated past the declared size (FileRejected file.size_lie)."""
    try:
        out = head + inflate_within(info, inflater, (data,), keep=True, produced=len(head))
    except fast_zlib.error:
        raise FastPathUnsupported(f"zip member {info.filename}: damaged data") from None
    if not inflater.eof:
        raise FastPathUnsupported(f"zip member {info.filename}: truncated data")
    return _checked(info, out)


def _checked(info: zipfile.ZipInfo, out: bytes) -> bytes:
    if len(out) != info.file_size or fast_zlib.crc32(out) != info.CRC:
        raise FastPathUnsupported(f"zip member {info.filename}: size or CRC differs")
    return out


def _read_whole(path: Path) -> tuple[bytes, int]:
    """The file's bytes and its size when opened (one open, one stat, reads until the end)."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    try:
        size = os.fstat(fd).st_size
        if size > FAST_MAX_FILE:
            raise FastPathUnsupported(f"file size {size}")
        chunks = [os.read(fd, size + 1)]
        while chunks[-1]:
            chunks.append(os.read(fd, 1 << 20))
        return b"".join(chunks), size
    finally:
        os.close(fd)


def open_checked(path: Path) -> CheckedZip:
    """check_container's checks, reading the file once: FileRejected exactly where check_container
    rejects, FastPathUnsupported where this reader cannot decide as it would."""
    try:
        data, size = _read_whole(path)
    except OSError as exc:
        raise FastPathUnsupported(f"cannot read: {exc}") from None
    if len(data) != size:
        raise FastPathUnsupported("the file changed while it was read")
    infos = central_directory(data) if data.startswith(b"PK") else None
    if infos is None:
        try:
            if not data.startswith(b"PK"):
                raise zipfile.BadZipFile("not a zip")
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                infos = z.infolist()
        except Exception:  # empty, OLE (.xls, encrypted), text, damaged zip: check_container words it
            check_container(path)
            raise FastPathUnsupported("a container check_container accepts but this reader cannot open") from None
    check_bomb(infos)
    check_parts(infos)
    checked = CheckedZip(data, infos)
    for i in infos:
        if i.filename.endswith(XML_SUFFIXES):
            checked.prolog_clean(i)
    for i in infos:
        checked.check_size(i)
    return checked


# Remembered by the member's compressed bytes (with method, size and CRC): the same bytes inflate to
# the same content, so nothing is decided on a hash that a crafted file could collide with. A clean
# prolog is remembered by the compressed bytes that determined its first XML_SNIFF bytes.
_MIN_READ = 4096  # zipfile.ZipExtFile.MIN_READ_SIZE
_SMALL_PART = 4096  # compressed size up to which a wholly read member is remembered ...
_REMEMBERED_PART = 64 * 1024  # ... when it inflates to at most this much
_REMEMBERED_PREFIX = 16 * 1024  # compressed bytes a remembered clean prolog may take
_INFLATED: dict[tuple, list[tuple[bytes, bytes]]] = {}  # (method, size, CRC) -> [(compressed, content)]
_CLEAN: dict[tuple, list[bytes]] = {}  # (method, size, CRC, compressed size) -> [compressed bytes read]
_WITHIN: dict[tuple, list[bytes]] = {}  # (size, CRC, compressed size) -> [members found to inflate within size]
_REMEMBERED = [0]  # entries in the three tables


def _remember(bucket: list, entry) -> None:
    """Add to a bucket of _INFLATED, _CLEAN or _WITHIN; all are emptied when they hold 4096 entries."""
    if _REMEMBERED[0] >= 4096:
        _INFLATED.clear()
        _CLEAN.clear()
        _WITHIN.clear()
        _REMEMBERED[0] = 0
    bucket.append(entry)
    _REMEMBERED[0] += 1