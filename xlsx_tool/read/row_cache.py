"""Rows remembered by their bytes, for collections.

`split_rows` serves collections: books generated from one template and saved by one program repeat
most rows byte for byte (fixed texts, formulas, answer rows with the same answer). The sheet data is
cut after each "</row>"; each distinct piece is decoded once per process and remembered by its bytes
(`RowCache`): rows of plain cells without a parser (`_simple_row`, tested against the parser), the
others by ElementTree inside the sheet's own root tag. The rest of the sheet (protection, merged
cells, ...) is parsed once per distinct content (`_outside`). Anything the split cannot vouch for
(a piece that does not parse, rows nested or out of order, a cell naming another row, shared
formulas, merged cells, a DOCTYPE, another encoding, ...) gives None, and the caller parses the whole
sheet with ElementTree as before.

Formula cells' cached results (`<v>` after `<f>`) are dropped before a row is remembered: the reader
gives a formula cell its formula, never its cached result, so rows that differ only there are one row.
"""

from __future__ import annotations

import itertools
import operator
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from openpyxl.utils.cell import coordinate_to_tuple
from openpyxl.worksheet._reader import _cast_number

from xlsx_tool.read.rows import (
    COORDS,
    MAX_COORDS,
    NUMBER_KIND,
    ROW,
    SHARED_KIND,
    VALUE_KIND,
    M,
    NotRowLocal,
    raw_cells,
    row_number,
)
from xlsx_tool.util.memo import remember

# -- rows remembered by their bytes ------------------------------------------------------------------

@dataclass(eq=False, slots=True)
class RowRecord:
    """One distinct <row>: its number, its raw cells, and its cells resolved for each book context."""
    number: int
    cells: tuple
    shared: tuple[int, ...]  # shared-string indexes the row refers to, in cell order
    resolved: dict = field(default_factory=dict)  # context key -> read.fast_engine.ResolvedRow


@dataclass(eq=False, slots=True)
class Outside:
    """The sheet without its rows (protection, hyperlinks ...), parsed once per distinct content."""
    root: ET.Element
    protected: bool | None = None  # set by the reader the first time it reads the protection


@dataclass
class SplitSheet:
    rows: list[RowRecord]
    outside: Outside


# An optional XML declaration (UTF-8 or no encoding: rows are parsed without it) and the root tag.
# Nothing else may precede the root, so there is no DOCTYPE and no entity can be declared.
_PROLOG = re.compile(rb'(?:<\?xml(?:[^>](?!encoding))*(?:\sencoding=["\'](?i:utf-8)["\'][^>]*)?\?>)?\s*'
                     rb"(<worksheet\b[^>]*>)")
# A formula cell's cached result: a <v> right after the </f> of the cell's formula and right before the
# cell's end, holding printable ASCII but "<", "&" and ">" (so nothing the parser would refuse or expand,
# "]]>" included: what is dropped could not have changed the verdict on the piece). Results in other
# characters stay (the row is then remembered with them). A literal start and replacement, no groups:
# one fast pass over a sheet.
_FORMULA_RESULT = re.compile(rb"</f><v>[ -%'-;=?-~]*</v></c>")
_NOT_IN_ROWS = frozenset({M + "sheetProtection", M + "mergeCells", M + "hyperlinks", M + "row",
                          M + "sheetData", M + "worksheet"})
_NUMBER = operator.attrgetter("number")
KEPT_MAX, YOUNG_MAX = 16_000, 4_000  # pieces per process; a few KB each with their resolved rows
MAX_PIECE = 16 * 1024  # bytes of the largest piece remembered (a row of a template is well under 2 KB)


class RowTable:
    """Decoded pieces of one kind of sheet (one root tag). A piece is first `young`; seen again, it is
    `kept`. Pieces only one book has (its title, its identity) stay young and are dropped in bulk,
    so memory stays bounded however many books a process reads, while the repeated rows stay."""
    __slots__ = ("kept", "young")

    def __init__(self):
        self.kept: dict[bytes, tuple[RowRecord, ...]] = {}
        self.young: dict[bytes, tuple[RowRecord, ...]] = {}

    def remember(self, piece: bytes, recs: tuple[RowRecord, ...]) -> None:
        if len(piece) <= MAX_PIECE:  # longer: decoded, not remembered (memory bounded in bytes too)
            remember(self.young, piece, recs, YOUNG_MAX)  # full: mostly pieces of one book each

    def keep(self, piece: bytes, recs: tuple[RowRecord, ...]) -> None:
        remember(self.kept, piece, recs, KEPT_MAX)


class RowCache:
    """A RowTable per root tag (the namespace context pieces are parsed in)."""

    def __init__(self):
        self.by_root: dict[bytes, RowTable] = {}

    def table(self, root_tag: bytes) -> RowTable:
        return self.by_root.get(root_tag) or remember(self.by_root, root_tag, RowTable(), 16)


CACHE = RowCache()


def split_rows(data: bytes) -> SplitSheet | None:
    """The sheet's rows as remembered records and the rest parsed, or None when the split cannot
    vouch for them.

    The sheet data is cut after each "</row>". A cut inside a comment, CDATA or processing
    instruction leaves a piece that does not parse, so every piece that parses (inside the root tag,
    for its namespace declarations) is a sequence of whole rows, and the pieces together are exactly
    the sheet data. Each distinct piece is parsed once and checked for what the whole-sheet reader
    would find inside the rows (nested rows, protection, merged cells, hyperlinks, in the main
    namespace whatever the prefix); the rest of the sheet is parsed as a whole (`_outside`)."""
    prolog = _PROLOG.match(data)
    if prolog is None or not _main_root(prolog.group(1)):
        return None
    root_tag = prolog.group(1)
    open_at = data.find(b"<sheetData>")
    close_at = data.rfind(b"</sheetData>")  # the last: an earlier one would be inside a row, refused there
    if open_at < 0 or close_at < open_at:
        return None
    start = open_at + len(b"<sheetData>")
    outside = _outside(data[:start] + _PROBE + data[close_at:], root_tag)
    if outside is None:
        return None
    # The results are dropped from the whole sheet data at once when it allows (one pass instead of one
    # per row); a piece the whole does not allow for is dropped on its own, or not, in _remember.
    pieces = _without_results(data[start:close_at]).split(b"</row>")
    rest = pieces.pop()  # after the last "</row>": nothing, or rows written as <row .../>
    table = CACHE.table(root_tag)  # keyed by the piece without its closing "</row>"
    found = list(map(table.kept.get, pieces))
    if None in found and not _remember(table, root_tag, pieces, found):
        return None
    records: list[RowRecord] = list(itertools.chain.from_iterable(found))
    if rest:  # rare; not remembered (its bytes mean something else than a piece's)
        if (more := _decode(root_tag, rest, b"")) is None:
            return None
        records.extend(more)
    numbers = list(map(_NUMBER, records))
    if not all(map(operator.lt, [0, *numbers], numbers)):
        return None  # rows out of order or repeated: the whole-sheet reader's counter decides
    return SplitSheet(records, outside)


_ROOTS: dict[bytes, bool] = {}


def _main_root(root_tag: bytes) -> bool:
    """The root tag is a <worksheet> whose unprefixed children are in the main namespace: rows are
    parsed inside it, and pieces are read as rows of the main namespace only if they are."""
    known = _ROOTS.get(root_tag)
    if known is None:
        try:
            root = ET.fromstring(root_tag + b"<sheetData/></worksheet>")
            known = root.tag == M + "worksheet" and len(root) == 1 and root[0].tag == M + "sheetData"
        except ET.ParseError:
            known = False
        remember(_ROOTS, root_tag, known, 64)
    return known


def _remember(table: RowTable, root_tag: bytes, pieces: list[bytes], found: list) -> bool:
    """Fill the gaps of `found` (None) from the young pieces or by decoding, and remember them; False
    when one is not a sequence of plain rows. Formula cells' cached results do not change what the
    reader gives, so a piece is also remembered without them: books differing only there share it.
    The pieces not seen before are decoded together (one parse for the rows that differ in a book)."""
    todo: dict[bytes, list[int]] = {}  # piece without cached results -> positions
    for i, piece in enumerate(pieces):
        if found[i] is None:
            plain = _without_results(piece)
            recs = table.kept.get(plain) if plain is not piece else None
            if recs is None and (recs := table.young.get(plain)) is not None:
                table.keep(plain, recs)  # seen before: a row books repeat
            if recs is not None:
                found[i] = recs
            else:
                todo.setdefault(plain, []).append(i)
    if not todo:
        return True
    plains = list(todo)
    for plain, recs in zip(plains, _decode_together(root_tag, plains)):
        if recs is None:
            return False
        table.remember(plain, recs)
        for i in todo[plain]:
            found[i] = recs
    return True


def _without_results(piece: bytes) -> bytes:
    """The piece without the cached results of its formula cells, where that cannot change what it
    reads as: a <v> between the end of a <f> and the end of their <c> (a cell with a formula is read
    as its formula, whatever its <v>), in a piece without comment, CDATA or processing instruction
    (where such text would not be tags) and without namespace declaration (which could put the <f> in
    another namespace, and its <v> would then be the cell's value)."""
    if b"</f><v>" not in piece or b"xmlns" in piece or _declarations(piece):
        return piece
    return _FORMULA_RESULT.sub(b"</f></c>", piece)


def _declarations(piece: bytes) -> bool:
    """Whether the piece holds "<!" or "<?"; the single characters are looked for first (a scan for a
    lone byte is many times faster than for a pair starting with "<", and "!" is rare in sheet data)."""
    if b"?" in piece and b"<?" in piece:
        return True
    at = piece.find(b"!")
    while at >= 0:
        if at and piece[at - 1] == 0x3C:  # "<"
            return True
        at = piece.find(b"!", at + 1)
    return False


def _decode_together(root_tag: bytes, plains: list[bytes]) -> list[tuple[RowRecord, ...] | None]:
    """_decode of each piece (+ "</row>"): rows of plain cells without a parser (`_simple_row`), the
    others with one parse when every piece holds one row."""
    out: list = [None] * len(plains)
    rest = []
    for i, plain in enumerate(plains):
        simple = _simple_row(plain)
        if simple is not None:
            out[i] = (simple,)
        else:
            rest.append(i)
    if len(rest) > 1 and all(plains[i].count(b"<row") == 1 and not _declarations(plains[i]) for i in rest):  # every "</row>" a real end tag: the rows line up with the pieces
        sheet_data = _sheet_data(root_tag + b"<sheetData>" + b"</row>".join(plains[i] for i in rest)
                                 + b"</row></sheetData></worksheet>")
        if sheet_data is not None and len(sheet_data) == len(rest):
            for i, row in zip(rest, sheet_data):
                out[i] = _records([row])
            return out
    for i in rest:
        out[i] = _decode(root_tag, plains[i], b"</row>")
    return out


# Rows of plain cells, as spreadsheet programs write most rows: no prefix, character reference,
# carriage return, CDATA, comment or rich text, formulas without attributes, the attributes of each cell
# r, s, t in that order. For these the text between the tags is the value once the five predefined
# entities are replaced (no XML parser would give anything else), so they are decoded as raw_cells
# decodes them without one. Anything else goes to the parser.
_ROW_START = re.compile(rb'<row r="([1-9][0-9]{0,6})"((?: [a-zA-Z]+="[^"<&\r\n\t]*")*)>')
_SIMPLE_CELL = re.compile(rb'<c r="([A-Z]{1,3}[1-9][0-9]{0,6})"(?: s="([0-9]{1,9})")?(?: t="([a-zA-Z]+)")?'
                          rb'(?: ?/>|>(?:<f>([^<]*)</f>(?:<v>[^<]*</v>|<v ?/>)?|<v>([^<]*)</v>|<is><t>([^<]*)</t></is>'
                          rb'|<v ?/>|)</c>)')
_CONTROL = bytes([*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x0D])  # not XML characters; carriage return
_OTHER_ENTITY = re.compile(rb"&(?!(?:amp|lt|gt|quot|apos);)")


def _plain_text(piece: bytes) -> bool:
    """No character the parser would refuse or change, no entity but the five predefined ones."""
    return not (len(piece.translate(None, _CONTROL)) != len(piece) or b"]]>" in piece or b"\xef\xbf\xbe" in piece
                or b"\xef\xbf\xbf" in piece or (b"&" in piece and _OTHER_ENTITY.search(piece)))


def _text(raw: bytes) -> str:
    text = raw.decode()
    if "&" in text:
        text = (text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace("&apos;", "'")
                .replace("&amp;", "&"))
    return text


def _simple_row(piece: bytes) -> RowRecord | None:
    head = _ROW_START.match(piece)
    if head is None or not _plain_text(piece):
        return None
    if head.group(2):
        attributes = [b"r", *re.findall(rb' ([a-zA-Z]+)="', head.group(2))]
        if len(set(attributes)) != len(attributes) or b"xmlns" in attributes:
            return None  # a repeated attribute (not well-formed); a namespace declaration
    try:
        piece.decode("utf-8")
    except UnicodeDecodeError:
        return None
    number, cells, end = int(head.group(1)), [], head.end()
    for m in _SIMPLE_CELL.finditer(piece, end):
        if m.start() != end:
            return None
        end = m.end()
        coordinate, style, data_type, formula, value, text = m.groups()
        coordinate = coordinate.decode()
        rc = COORDS.get(coordinate) or remember(COORDS, coordinate, coordinate_to_tuple(coordinate), MAX_COORDS)
        if rc[0] != number:
            return None
        kind = VALUE_KIND
        if formula is not None:
            value = "=" + _text(formula)
        elif data_type == b"inlineStr":
            value = None if text is None else _text(text)
        elif not value:
            value = None
        elif data_type is None or data_type == b"n":
            try:
                value, kind = _cast_number(value.decode()), NUMBER_KIND
            except ValueError:
                return None  # the parser's way reports it
        elif data_type == b"s":
            if not value.isdigit():
                return None
            value, kind = int(value), SHARED_KIND
        elif data_type in (b"b", b"d"):
            return None  # rare: the parser's way
        else:
            value = _text(value)
        cells.append((rc, int(style) if style else 0, kind, value))
    if end != len(piece):
        return None
    return RowRecord(number, tuple(cells), tuple(v for _, _, kind, v in cells if kind == SHARED_KIND))


_OUTSIDE: dict[bytes, Outside | None] = {}
_FOOTER_OPEN, _FOOTER_CLOSE = b"<headerFooter", b"</headerFooter>"


_CLOSERS = (b"-->", b"?>", b"]]>")  # what would close a comment, processing instruction or CDATA around it


def _outside(skeleton: bytes, root_tag: bytes) -> Outside | None:
    """The sheet with an empty <sheetData>, parsed; None when that is not what it is (the cut was not
    at the sheet data element, the part does not parse) or when it holds rows or merged cells: the
    whole-sheet reader decides those.

    The page header/footer carries the entity's name, so it alone differs between books of one
    template: it is checked on its own (well-formed, nothing the reader looks for inside) and the
    rest is parsed once per distinct content."""
    if skeleton.count(b"sheetData") != 2:
        return None  # only the start and end tags the cut was made at may name it
    first, end = skeleton.find(_FOOTER_OPEN), skeleton.find(_FOOTER_CLOSE)
    root_end = skeleton.rfind(b"</worksheet>")
    if (skeleton.find(_PROBE) < first < end <= root_end - len(_FOOTER_CLOSE)
            and skeleton.find(_FOOTER_OPEN, first + 1) < 0  # one footer, inside the root element, and not
            and not any(skeleton.find(close, end, root_end) >= 0 for close in _CLOSERS)):  # in a comment/PI/CDATA
        end += len(_FOOTER_CLOSE)
        if _plain_footer(skeleton[first:end], root_tag):
            skeleton = skeleton[:first] + skeleton[end:]
    outside = _OUTSIDE.get(skeleton)
    if outside is None and skeleton not in _OUTSIDE:
        outside = _parse_outside(skeleton)
        if len(skeleton) <= 256 * 1024:
            remember(_OUTSIDE, skeleton, outside, 256)
    return outside


def _parse_outside(skeleton: bytes) -> Outside | None:
    if b"<!DOCTYPE" in skeleton or b"<!ENTITY" in skeleton:
        return None  # the whole-sheet reader refuses it
    try:
        root = ET.fromstring(skeleton)
    except ET.ParseError:
        return None
    data_elements = list(root.iter(M + "sheetData"))
    if (len(data_elements) != 1 or root.find(M + "sheetData") is not data_elements[0]
            or [el.tag for el in data_elements[0]] != [_PROBE_TAG]  # the cut was at the sheet data element
            or next(root.iter(ROW), None) is not None or next(root.iter(M + "mergeCells"), None) is not None):
        return None
    return Outside(root)


_PROBE_TAG = "{urn:xlsx-tool:probe}probe"
_PROBE = b'<probe xmlns="urn:xlsx-tool:probe"/>'  # put where the rows were cut out


# A header/footer of plain texts (what Excel, LibreOffice and openpyxl write) is well-formed and holds
# nothing the reader looks for; anything else is parsed and looked through to be sure.
_PLAIN_FOOTER = re.compile(rb"<headerFooter>(?:<(oddHeader|oddFooter|evenHeader|evenFooter|firstHeader|firstFooter)"
                           rb"(?: ?/>|>[^<]*</\1>))*</headerFooter>")


def _plain_footer(footer: bytes, root_tag: bytes) -> bool:
    if _PLAIN_FOOTER.fullmatch(footer) and _plain_text(footer):
        try:
            footer.decode("utf-8")
            return True
        except UnicodeDecodeError:
            return False
    try:
        root = ET.fromstring(root_tag + footer + b"</worksheet>")
    except ET.ParseError:
        return False
    return len(root) == 1 and not any(el.tag in _NOT_IN_ROWS for el in root[0].iter())


def _decode(root_tag: bytes, piece: bytes, close: bytes) -> tuple[RowRecord, ...] | None:
    """The rows of a piece of sheet data (+ `close`), parsed on their own inside the sheet's root tag;
    None when the piece is not a sequence of plain rows."""
    if close and (simple := _simple_row(piece)) is not None:
        return (simple,)
    return _parse_rows(root_tag, piece, close)


def _parse_rows(root_tag: bytes, piece: bytes, close: bytes) -> tuple[RowRecord, ...] | None:
    sheet_data = _sheet_data(root_tag + b"<sheetData>" + piece + close + b"</sheetData></worksheet>")
    return None if sheet_data is None else _records(list(sheet_data))


def _sheet_data(document: bytes) -> ET.Element | None:
    """The one <sheetData> of a wrapped piece; None when it does not parse (the whole-sheet reader
    reports it) or the piece closed the sheet data and opened another."""
    try:
        root = ET.fromstring(document)
    except ET.ParseError:
        return None
    return root[0] if len(root) == 1 else None


def _records(rows: list[ET.Element]) -> tuple[RowRecord, ...] | None:
    if not rows or any(el.tag in _NOT_IN_ROWS for row in rows for el in row.iter() if el is not row):
        return None
    records = []
    for row in rows:
        if row.tag != ROW or row.get("r") is None:
            return None
        number = row_number(row, 0)
        try:
            cells = tuple(raw_cells(row, number, None))
        except NotRowLocal:
            return None
        if any(rc[0] != number for rc, *_ in cells):
            return None  # a cell naming another row
        records.append(RowRecord(number, cells, tuple(v for _, _, kind, v in cells if kind == SHARED_KIND)))
    return tuple(records)
