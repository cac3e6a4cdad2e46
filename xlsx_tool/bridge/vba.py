"""Add a procedure to a module of an Office VBA project (xl/vbaProject.bin) without Office.

The project is a compound file (MS-CFB) holding each module's source compressed (MS-OVBA 2.4.1) after
a cache of compiled code (MODULEOFFSET bytes, named in the compressed `dir` stream). xlwings' add-in
declares its project version 0xFFFF in _VBA_PROJECT: Excel then ignores the cached code and compiles
every module from its source when it opens the add-in (MS-OVBA 2.3.4.1: the version "MUST be ignored
on read"; xlwings ships its own xlwings module as source only in the same way). So appending source is
enough: the module's cache and every other stream are kept byte for byte, and the compound file is
written anew because the module's stream grows.
"""

from __future__ import annotations

import io
import struct
import uuid

import olefile

# -- MS-OVBA 2.4.1 compression -----------------------------------------------------------------

CHUNK = 4096


def _layout(position: int) -> tuple[int, int, int]:
    """(offset bits, length mask, maximum length) of a copy token at `position` (> 0) in a chunk."""
    offset_bits = max((position - 1).bit_length(), 4)
    length_mask = 0xFFFF >> offset_bits
    return offset_bits, length_mask, length_mask + 3


def decompress(data: bytes) -> bytes:
    if not data or data[0] != 1:
        raise ValueError("not an MS-OVBA compressed container")
    out, pos = bytearray(), 1
    while pos < len(data):
        header = struct.unpack_from("<H", data, pos)[0]
        end, pos = min(pos + (header & 0x0FFF) + 3, len(data)), pos + 2
        start = len(out)
        if not header & 0x8000:  # raw chunk
            out += data[pos:pos + CHUNK]
            pos += CHUNK
            continue
        while pos < end:
            flags, pos = data[pos], pos + 1
            for bit in range(8):
                if pos >= end:
                    break
                if not flags >> bit & 1:
                    out.append(data[pos])
                    pos += 1
                    continue
                token = struct.unpack_from("<H", data, pos)[0]
                pos += 2
                offset_bits, length_mask, _ = _layout(len(out) - start)
                length, offset = (token & length_mask) + 3, (token >> (16 - offset_bits)) + 1
                for _ in range(length):
                    out.append(out[-offset])
    return bytes(out)


def _compress_chunk(chunk: bytes) -> bytes:
    out, pos = bytearray(), 0
    while pos < len(chunk):
        flag_at, flags = len(out), 0
        out.append(0)
        for bit in range(8):
            if pos >= len(chunk):
                break
            best_len, best_off = 0, 0
            if pos:
                _, _, maximum = _layout(pos)
                limit = min(maximum, len(chunk) - pos)
                for candidate in range(pos - 1, -1, -1):
                    n = 0
                    while n < limit and chunk[candidate + n] == chunk[pos + n]:
                        n += 1
                    if n > best_len:
                        best_len, best_off = n, pos - candidate
                        if n == limit:
                            break
            if best_len >= 3:
                offset_bits, _, _ = _layout(pos)
                out += struct.pack("<H", ((best_off - 1) << (16 - offset_bits)) | (best_len - 3))
                flags |= 1 << bit
                pos += best_len
            else:
                out.append(chunk[pos])
                pos += 1
        out[flag_at] = flags
    return bytes(out)


def compress(data: bytes) -> bytes:
    out = bytearray([1])
    for start in range(0, len(data), CHUNK):
        chunk = data[start:start + CHUNK]
        packed = _compress_chunk(chunk)
        if len(packed) <= CHUNK:
            out += struct.pack("<H", 0xB000 | (len(packed) + 2 - 3)) + packed
        else:  # incompressible: a raw chunk of 4096 bytes (MS-OVBA 2.4.1.3.7 pads a short one)
            out += struct.pack("<H", 0x3FFF) + chunk.ljust(CHUNK, b"\0")
    return bytes(out)


# -- the dir stream ----------------------------------------------------------------------------------

def module_offsets(dir_stream: bytes) -> dict[str, int]:
    """MODULEOFFSET of each module stream, from the decompressed dir stream (MS-OVBA 2.3.4.2)."""
    data, pos, stream, out = decompress(dir_stream), 0, None, {}
    while pos + 6 <= len(data):
        ident, size = struct.unpack_from("<HI", data, pos)
        if ident == 0x0009:  # PROJECTVERSION: its size field says 4, six bytes follow
            size = 6
        value = data[pos + 6:pos + 6 + size]
        if ident == 0x001A:  # MODULESTREAMNAME
            stream = value.decode("latin-1")
        elif ident == 0x0031 and stream is not None:  # MODULEOFFSET
            out[stream] = struct.unpack("<I", value)[0]
        pos += 6 + size
    return out


# -- MS-CFB, version 3 -------------------------------------------------------------------------------

SECTOR, MINI, CUTOFF = 512, 64, 4096
FREE, END, FATSECT, NOSTREAM = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF


class _Entry:
    def __init__(self, d, path: str, data: bytes | None):
        self.name, self.type, self.flags = d.name, d.entry_type, d.dwUserFlags
        self.clsid = uuid.UUID(d.clsid).bytes_le if d.clsid else bytes(16)
        self.times, self.data, self.path = (d.createTime, d.modifyTime), data, path
        self.kids: list[_Entry] = []
        self.left = self.right = self.child = NOSTREAM
        self.red, self.depth, self.start, self.size = False, 0, END, 0


def _tree(entries: list[_Entry], index: dict[int, int], depth: int = 0) -> tuple[int, int]:
    """Balanced binary tree of sorted siblings: (root id, height); the deepest nodes red, the rest black
    (every path then holds the same number of black nodes, as MS-CFB's red-black tree requires)."""
    if not entries:
        return NOSTREAM, -1
    mid = len(entries) // 2
    node = entries[mid]
    node.left, lh = _tree(entries[:mid], index, depth + 1)
    node.right, rh = _tree(entries[mid + 1:], index, depth + 1)
    node.depth = depth
    return index[id(node)], max(lh, rh) + 1


def _paint(entries: list[_Entry]) -> None:
    deepest = max(e.depth for e in entries)
    for e in entries:
        e.red = 0 < deepest == e.depth


def _chain(fat: list[int], first: int, count: int) -> int:
    if not count:
        return END
    fat.extend(range(first + 1, first + count))
    fat.append(END)
    return first


def write_compound(ole: olefile.OleFileIO, replaced: dict[str, bytes]) -> bytes:
    """The compound file `ole` with the streams in `replaced` (path "VBA/dir" → bytes) swapped."""
    order: list[_Entry] = []

    def visit(d, path: str) -> _Entry:
        data = None
        if d.entry_type == olefile.STGTY_STREAM:
            data = replaced[path] if path in replaced else ole.openstream(path).read()
        entry = _Entry(d, path, data)
        order.append(entry)
        entry.kids = [visit(k, f"{path}/{k.name}" if path else k.name) for k in d.kids]
        return entry

    root = visit(ole.root, "")
    index = {id(e): i for i, e in enumerate(order)}
    for e in order:
        if e.kids:
            kids = sorted(e.kids, key=lambda k: (len(k.name), k.name.upper()))
            e.child, _ = _tree(kids, index)
            _paint(kids)

    fat: list[int] = []
    body = bytearray()
    mini, minifat = bytearray(), []
    for e in order:
        if e.data is None:
            continue
        e.size = len(e.data)
        if e.size < CUTOFF:
            e.start = _chain(minifat, len(mini) // MINI, -(-e.size // MINI))
            mini += e.data.ljust(-(-e.size // MINI) * MINI, b"\0")
        else:
            e.start = _chain(fat, len(body) // SECTOR, -(-e.size // SECTOR))
            body += e.data.ljust(-(-e.size // SECTOR) * SECTOR, b"\0")

    def place(data: bytes, fill: bytes = b"\0") -> int:
        count = -(-len(data) // SECTOR)
        first = _chain(fat, len(body) // SECTOR, count)
        body.extend(data + fill * ((count * SECTOR - len(data)) // len(fill)))
        return first

    root.start, root.size = place(bytes(mini)), len(mini)
    minifat_bytes = struct.pack(f"<{len(minifat)}I", *minifat)
    first_minifat = place(minifat_bytes, struct.pack("<I", FREE)) if minifat else END
    directory = b"".join(_dir_entry(e) for e in order)
    directory += _dir_entry(None) * (-len(order) % (SECTOR // 128))
    first_dir = place(directory)
    fat_sectors = 1
    while len(fat) + fat_sectors > fat_sectors * (SECTOR // 4):
        fat_sectors += 1
    if fat_sectors > 109:
        raise ValueError("compound file too large for a header-only DIFAT")
    fat_ids = list(range(len(fat), len(fat) + fat_sectors))
    fat += [FATSECT] * fat_sectors
    fat += [FREE] * (fat_sectors * (SECTOR // 4) - len(fat))
    body += struct.pack(f"<{len(fat)}I", *fat)
    header = struct.pack("<8s16sHHHHH6sIIIIIIIII", olefile.MAGIC, bytes(16), 0x3E, 3, 0xFFFE, 9, 6, bytes(6),
                         0, fat_sectors, first_dir, 0, CUTOFF, first_minifat, -(-len(minifat_bytes) // SECTOR),
                         END, 0)
    header += struct.pack("<109I", *(fat_ids + [FREE] * (109 - fat_sectors)))
    return header + bytes(body)


def _dir_entry(e: _Entry | None) -> bytes:
    if e is None:
        return struct.pack("<64sHBBIII16sIQQIII", b"", 0, 0, 0, NOSTREAM, NOSTREAM, NOSTREAM, bytes(16), 0, 0, 0, 0,
                           0, 0)
    name = e.name.encode("utf-16-le") + b"\0\0"
    start = e.start if e.data is not None or e.type == olefile.STGTY_ROOT else 0
    return struct.pack("<64sHBBIII16sIQQIII", name, len(name), e.type, 0 if e.red else 1, e.left, e.right, e.child,
                       e.clsid, e.flags, *e.times, start, e.size, 0)


# -- the change ------------------------------------------------------------------------------------------

def append_to_module(vba_project: bytes, module: str, source: str, codepage: str = "cp1252") -> bytes:
    """`vba_project` with `source` (VBA, CRLF line ends) appended to the source of module stream `module`."""
    ole = olefile.OleFileIO(io.BytesIO(vba_project))
    try:
        path = f"VBA/{module}"
        offset = module_offsets(ole.openstream("VBA/dir").read())[module]
        stream = ole.openstream(path).read()
        text = decompress(stream[offset:]).rstrip(b"\r\n\0") + b"\r\n" + source.encode(codepage)
        return write_compound(ole, {path: stream[:offset] + compress(text)})
    finally:
        ole.close()
