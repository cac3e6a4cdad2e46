"""Fast reader of returned workbooks: only the parts collection needs, with the C XML parser.

`load_book(path)` reads the file once (container checks of read.file_checks on the bytes in memory),
then parses on demand: [Content_Types].xml, the workbook part and its relationships, styles (cell
formats: protection and date formats only), shared strings, docProps/core.xml, and only the sheets
asked for (`book[name]`). A sheet gives what openpyxl's ``load_workbook(path, data_only=False)``
gives for it, cell by cell: the same value of the same type (numbers as openpyxl casts them, dates
from date-formatted numbers, shared and inline strings with openpyxl's treatment of rich text and
phonetic runs, formulas as "=..." text, shared formulas translated, merged cells emptied), the
style's `locked` flag and the sheet protection. The book offers the subset of openpyxl's API the
collector uses (`sheetnames`, `book[name].iter_rows(..., values_only=True)`, `properties.modified`),
so read.openpyxl_engine.read_meta/read_answers and collect's identification run on it unchanged.

Sheets are read row by row where read.row_cache.split_rows can vouch for the cut (each distinct row decoded
once per process and remembered, with the tamper findings made on it), else parsed whole; both ways
give the same cells.

Whatever this reader does not handle exactly as openpyxl does raises FastPathUnsupported (array or
data-table formulas, hyperlinks, chart sheets, duplicate sheet names, DOCTYPE anywhere, damaged or
unusual zip members, unknown elements inside strings, ...). The collector then reads the file again
through openpyxl and says so in the result; nothing is decided on a guess.

Not parsed (openpyxl parses them and rejects the book if they are malformed): other sheets,
comments, drawings, defined names, sheet relationships, fonts/fills/borders of styles.xml, row and
column attributes (heights, widths) and members past their first 4 KB when they are not read.
"""

from __future__ import annotations

import functools
import itertools
import operator
import posixpath
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from openpyxl.packaging.core import DocumentProperties
from openpyxl.styles.numbers import builtin_format_code, is_date_format, is_timedelta_format
from openpyxl.utils.cell import range_boundaries
from openpyxl.utils.datetime import CALENDAR_MAC_1904, WINDOWS_EPOCH, from_excel, from_ISO8601
from openpyxl.workbook.child import INVALID_TITLE_REGEX
from openpyxl.worksheet.merge import MergeCells
from openpyxl.worksheet.protection import SheetProtection
from openpyxl.xml.functions import fromstring as openpyxl_fromstring

from xlsx_tool.read.checked_zip import CheckedZip, FastPathUnsupported, open_checked
from xlsx_tool.read.row_cache import RowRecord, split_rows
from xlsx_tool.read.rows import NUMBER_KIND, SHARED_KIND, raw_cells, row_number, text_content
from xlsx_tool.util.memo import remember

__all__ = ["FastBook", "FastSheet", "FastPathUnsupported", "load_book"]

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
CT_NS = "http://schemas.openxmlformats.org/package/2006/content-types"
_M = "{%s}" % MAIN
ROW, SI = _M + "row", _M + "si"
PROTECTION, MERGE_CELLS, HYPERLINKS = _M + "sheetProtection", _M + "mergeCells", _M + "hyperlinks"
SHARED_STRINGS_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
WORKBOOK_CTS = (  # the order openpyxl's _find_workbook_part tries them
    "application/vnd.ms-excel.template.macroEnabled.main+xml",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml",
    "application/vnd.ms-excel.sheet.macroEnabled.main+xml",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
)
ARC_CORE = "docProps/core.xml"
_FALSE = ("false", "f", "0", "")  # openpyxl's Bool: these are False, any other text True
_SHEET_STATES = (None, "visible", "hidden", "veryHidden")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _no_doctype(data: bytes) -> bytes:
    """A DOCTYPE or ENTITY anywhere (the container check only sniffs each part's first 4 KB) goes to
    the openpyxl path, whose parsers refuse entity declarations."""
    if b"<!" in data and (b"<!DOCTYPE" in data or b"<!ENTITY" in data):
        raise FastPathUnsupported("DOCTYPE or ENTITY in a part")
    return data


def _parse(data: bytes) -> ET.Element:
    return ET.fromstring(_no_doctype(data))


def _children(node: ET.Element, name: str, ns: str = MAIN):
    """Children called `name`: openpyxl matches local names, so the same name in another namespace
    is something this reader does not handle."""
    tag = "{%s}%s" % (ns, name)
    for child in node:
        if child.tag == tag:
            yield child
        elif _local(child.tag) == name:
            raise FastPathUnsupported(f"{child.tag} in another namespace")


def _bool(value: str | None, default: bool) -> bool:
    return default if value is None else value not in _FALSE


class _Protection:
    __slots__ = ("sheet",)

    def __init__(self, sheet: bool):
        self.sheet = sheet


@dataclass(eq=False, slots=True)
class ResolvedRow:
    """One row's cells in one book context (shared strings, cell formats, calendar), remembered with
    its read.row_cache.RowRecord so that books repeating the row share it."""
    number: int
    values: dict[tuple[int, int], object]
    styles: dict[tuple[int, int], int]
    max_col: int
    verdicts: dict = field(default_factory=dict)  # tamper's findings for this row, per template sheet
    spans: dict = field(default_factory=dict)  # (min_col, max_col) -> the row's values in those columns

    def span(self, min_col: int, max_col: int) -> tuple:
        out = self.spans.get((min_col, max_col))
        if out is None:
            get, r = self.values.get, self.number
            out = self.spans[(min_col, max_col)] = tuple(get((r, c)) for c in range(min_col, max_col + 1))
        return out


_MAX_COL, _HAS_CELLS = operator.attrgetter("max_col"), operator.attrgetter("values")


class FastSheet:
    """One worksheet's cells as openpyxl's non-read-only load gives them. A sheet read row by row
    (read.row_cache.split_rows) keeps its `rows` in order and builds `values`/`styles` only when asked;
    otherwise `rows` is None."""

    def __init__(self, title: str, values: dict[tuple[int, int], object] | None,
                 styles: dict[tuple[int, int], int] | None, protected: bool, merged_extent: tuple[int, int],
                 had_cells: bool, rows: list[ResolvedRow] | None = None):
        self.title = title
        self._values = values  # (row, col) -> value, every <c> of the sheet (merged cells emptied)
        self._styles = styles  # (row, col) -> cellXfs index
        self.protection = _Protection(protected)
        self.rows = rows
        if rows is not None:
            last_col = max(map(_MAX_COL, rows), default=0)  # 0 for a row without cells
            last_row = next((row.number for row in reversed(rows) if row.values), 0)
        else:
            last_row = max((r for r, _ in values), default=0)
            last_col = max((c for _, c in values), default=0)
        self._current_row = last_row if had_cells else 0
        self.max_row = max(1, last_row, merged_extent[0])
        self.max_column = max(1, last_col, merged_extent[1])

    @functools.cached_property
    def _by_number(self) -> dict[int, ResolvedRow]:
        return {row.number: row for row in self.rows}

    @property
    def values(self) -> dict[tuple[int, int], object]:
        if self._values is None:
            self._values = _merged(row.values for row in self.rows)
        return self._values

    @property
    def styles(self) -> dict[tuple[int, int], int]:
        if self._styles is None:
            self._styles = _merged(row.styles for row in self.rows)
        return self._styles

    def iter_rows(self, min_row=None, max_row=None, min_col=None, max_col=None, values_only=False):
        if not values_only:
            raise NotImplementedError("FastSheet.iter_rows gives values only")
        if self._current_row == 0 and not any([min_col, min_row, max_col, max_row]):
            return iter(())
        min_col, min_row = min_col or 1, min_row or 1
        max_col, max_row = max_col or self.max_column, max_row or self.max_row
        if self.rows is not None:
            by_number = self._by_number
            empty = (None,) * (max_col - min_col + 1)
            return ((row.span(min_col, max_col) if (row := by_number.get(r)) is not None else empty)
                    for r in range(min_row, max_row + 1))
        get = self.values.get
        return (tuple(get((r, c)) for c in range(min_col, max_col + 1)) for r in range(min_row, max_row + 1))


def _merged(dicts) -> dict:
    out: dict = {}
    for d in dicts:
        out.update(d)
    return out


class FastBook:
    """The parts of a workbook the collector reads, parsed on demand."""

    def __init__(self, path: Path, zipped: CheckedZip):
        self.path = path
        self.zip = zipped
        self._sheets: dict[str, FastSheet] = {}
        self._properties = None
        self._shared: list[str] | None = None
        self._read_manifest()
        self._read_workbook()
        self._read_styles()

    # -- package -------------------------------------------------------------------------------
    def _read_manifest(self) -> None:
        self.workbook_part, self.strings_part = _cached(_manifest, self.zip.read("[Content_Types].xml"))

    def _read_workbook(self) -> None:
        entries, date1904 = _cached(_workbook_entries, self.zip.read(self.workbook_part))
        self.epoch = CALENDAR_MAC_1904 if date1904 else WINDOWS_EPOCH
        folder, _, base = self.workbook_part.rpartition("/")
        rels_path = f"{folder}/_rels/{base}.rels" if folder else f"_rels/{base}.rels"
        rels = _cached(_relationships, self.zip.read(rels_path), folder)
        self.sheetnames: list[str] = []
        self._targets: dict[str, str] = {}
        lowered = set()
        for name, rid in entries:
            if not rid:
                continue  # openpyxl skips it with a warning
            rel_type, target = rels[rid]  # KeyError as openpyxl: the openpyxl path words it
            if target not in self.zip:
                continue
            if "chartsheet" in rel_type:
                raise FastPathUnsupported("chart sheet")
            if INVALID_TITLE_REGEX.search(name) or name.lower() in lowered:
                raise FastPathUnsupported("sheet name openpyxl would refuse or rename")
            lowered.add(name.lower())
            self.sheetnames.append(name)
            self._targets[name] = target

    def _read_styles(self) -> None:
        if "xl/styles.xml" not in self.zip:
            raise FastPathUnsupported("no styles part")
        self.locked, self.date_styles, self.timedelta_styles, serial = _cached(_styles, self.zip.read("xl/styles.xml"))
        self.context = (serial, self.epoch)  # what a row's cells depend on besides shared strings

    @property
    def shared_strings(self) -> list[str]:
        if self._shared is None:
            if self.strings_part is None:
                self._shared = []
            else:
                root = _parse(self.zip.read(self.strings_part))
                self._shared = [text_content(si).replace("x005F_", "") for si in root.iter(SI)]
        return self._shared

    @property
    def properties(self) -> DocumentProperties | _CoreDates:
        if self._properties is None:
            if ARC_CORE not in self.zip:
                raise FastPathUnsupported("no docProps/core.xml")  # openpyxl would invent 'now'
            data = _no_doctype(self.zip.read(ARC_CORE))
            self._properties = core_dates(data) or DocumentProperties.from_tree(openpyxl_fromstring(data))
        return self._properties

    # -- sheets --------------------------------------------------------------------------------
    def __contains__(self, name: str) -> bool:
        return name in self._targets

    def part_name(self, sheet: str) -> str:
        """The zip member holding a sheet."""
        return self._targets[sheet]

    def __getitem__(self, name: str) -> FastSheet:
        if name not in self._sheets:
            if name not in self._targets:
                raise KeyError(f"Worksheet {name} does not exist.")
            self._sheets[name] = self._read_sheet(name, self.zip.read(self._targets[name]))
        return self._sheets[name]

    def _read_sheet(self, title: str, data: bytes) -> FastSheet:
        split = split_rows(data)  # no DOCTYPE: nothing but an XML declaration may precede its root
        if split is None:
            return self._read_whole_sheet(title, _no_doctype(data))
        context = self.context
        rows = [rec.resolved.get(context) for rec in split.rows]  # rows without shared strings
        if None in rows:
            rows = [row or self._resolved(rec) for row, rec in zip(rows, split.rows)]
        outside = split.outside
        if outside.protected is None:
            outside.protected = _protected(outside.root)
        return FastSheet(title, None, None, outside.protected, (0, 0), any(map(_HAS_CELLS, rows)), rows)

    def _resolved(self, rec: RowRecord) -> ResolvedRow:
        """A remembered row in this book's context: the same object for every book sharing it."""
        key = (self.context, tuple(self.shared_strings[i] for i in rec.shared)) if rec.shared else self.context
        row = rec.resolved.get(key)
        if row is None:
            values, styles = {}, {}
            self._resolve(rec.cells, values, styles)
            row = remember(rec.resolved, key, ResolvedRow(rec.number, values, styles, max((c for _, c in values),
                                                                                        default=0)), 16)
        return row

    def _resolve(self, cells: list[tuple], values: dict, styles: dict) -> None:
        """Cells of read.rows.raw_cells with this book's shared strings, date formats and calendar."""
        n_styles, dates = len(self.locked), self.date_styles
        for rc, style_id, kind, value in cells:
            if not (0 <= style_id < n_styles):
                raise FastPathUnsupported(f"style index {style_id} out of range")  # openpyxl: IndexError
            if kind == NUMBER_KIND:
                if style_id in dates:
                    value = self._date(value, style_id)
            elif kind == SHARED_KIND:
                value = self.shared_strings[value]
            values[rc] = value
            styles[rc] = style_id

    def _read_whole_sheet(self, title: str, data: bytes) -> FastSheet:
        """openpyxl's WorkSheetParser.parse_row/parse_cell/parse_formula and bind_cells/bind_merged_cells,
        on the same element tree (the same expat parser underneath)."""
        root = ET.fromstring(data)
        values: dict[tuple[int, int], object] = {}
        styles: dict[tuple[int, int], int] = {}
        shared_formulae = {}
        number = 0
        for row in root.iter(ROW):
            number = row_number(row, number)
            self._resolve(raw_cells(row, number, shared_formulae), values, styles)
        had_cells = bool(values)
        protected = _protected(root)
        extent = (0, 0)
        merges = list(root.iter(MERGE_CELLS))
        if merges:
            for mc in MergeCells.from_tree(merges[-1]).mergeCell:
                min_col, min_row, max_col, max_row = range_boundaries(mc.ref)
                for r in range(min_row, max_row + 1):
                    for c in range(min_col, max_col + 1):
                        if (r, c) != (min_row, min_col):
                            values[(r, c)] = None  # a MergedCell
                            styles.pop((r, c), None)
                if (min_row, min_col) not in values:
                    values[(min_row, min_col)] = None  # openpyxl creates the top-left cell
                extent = (max(extent[0], max_row), max(extent[1], max_col))
        return FastSheet(title, values, styles, protected, extent, had_cells)

    def _date(self, value, style_id: int):
        try:
            return from_excel(value, self.epoch, timedelta=style_id in self.timedelta_styles)
        except (OverflowError, ValueError):
            raise FastPathUnsupported("date out of range") from None  # openpyxl: '#VALUE!' with a warning


class _CoreDates:
    """DocumentProperties.modified as openpyxl reads it from a plain docProps/core.xml."""
    __slots__ = ("modified",)

    def __init__(self, modified: datetime):
        self.modified = modified


_CORE_DATES = ("created", "modified", "lastPrinted")


def core_dates(data: bytes) -> _CoreDates | None:
    """What DocumentProperties.from_tree gives for `modified`, when core.xml holds only elements it
    knows (any namespace: it matches local names) and no plain attribute on its root; None for
    anything else, which DocumentProperties itself then reads. Its checks are kept: every date
    element must read as a date and time (else it raises)."""
    root = ET.fromstring(data)
    if any(not key.startswith("{") for key in root.attrib):
        return None
    modified = None
    for el in root:
        name = el.tag.rsplit("}", 1)[-1]
        if name not in DocumentProperties.__elements__:
            if getattr(DocumentProperties, name, None) is not None:
                return None  # a class attribute that is not an element: leave it to openpyxl
            continue
        if name in _CORE_DATES and el.text:
            value = from_ISO8601(el.text)
            if not isinstance(value, datetime):
                return None  # openpyxl refuses it (a date without time, a duration)
            if name == "modified":
                modified = value
        elif name == "modified":
            modified = None
    if modified is None:
        return None  # openpyxl would give the time of reading
    return _CoreDates(modified)


def _protected(root: ET.Element) -> bool:
    """openpyxl's parse_sheet_protection (the last one counts); hyperlinks are not read here."""
    protected = False
    for el in root.iter(PROTECTION):
        protection = SheetProtection.from_tree(el)
        if el.get("password") is not None:
            protection.set_password(el.get("password"), True)
        protected = bool(protection.sheet)
    for links in root.iter(HYPERLINKS):
        if len(links):
            raise FastPathUnsupported("hyperlinks")  # openpyxl writes link targets into empty cells
    return protected


# -- the small package parts, parsed once per distinct content in a process ------------------------
# Books generated from one template and saved by one program share these parts byte for byte; the
# whole content is the cache key (no hash that a crafted file could collide with).

_PART_CACHE: dict[tuple, object] = {}


def _cached(parse, data: bytes, *args):
    if len(data) > 1024 * 1024:
        return parse(data, *args)  # not remembered: memory stays bounded in bytes
    key = (parse.__name__, data, *args)
    if key not in _PART_CACHE:
        remember(_PART_CACHE, key, parse(data, *args), 64)
    return _PART_CACHE[key]


def _manifest(data: bytes) -> tuple[str, str | None]:
    """Workbook and shared-strings part names from [Content_Types].xml, as openpyxl finds them."""
    overrides = [(el.get("PartName"), el.get("ContentType")) for el in _children(_parse(data), "Override", CT_NS)]
    workbook = next((part for ct in WORKBOOK_CTS for part, t in overrides if t == ct), None)
    if not workbook:
        raise FastPathUnsupported("workbook part not named by an Override")
    strings = next((part for part, t in overrides if t == SHARED_STRINGS_CT), None)
    return workbook[1:], (strings[1:] if strings is not None else None)


def _workbook_entries(data: bytes) -> tuple[tuple[tuple[str, str | None], ...], bool]:
    """(sheet name, relationship id) in order, and whether the book counts dates from 1904."""
    root = _parse(data)
    sheets = ([None] + list(_children(root, "sheets")))[-1]  # openpyxl keeps the last of each
    props = ([None] + list(_children(root, "workbookPr")))[-1]
    entries = []
    for sheet in (_children(sheets, "sheet") if sheets is not None else ()):
        name, rid, state = sheet.get("name"), sheet.get("{%s}id" % REL_NS), sheet.get("state")
        if name is None or state not in _SHEET_STATES or not (sheet.get("sheetId") or "").strip().isdigit():
            raise FastPathUnsupported("unusual sheet entry")
        entries.append((name, rid))
    return tuple(entries), props is not None and _bool(props.get("date1904"), False)


def _relationships(data: bytes, folder: str) -> dict[str | None, tuple[str, str]]:
    """Id -> (type, target as a member name), resolved as openpyxl's get_dependents does."""
    rels = {}
    for rel in _children(_parse(data), "Relationship", PKG_REL):
        target = rel.get("Target")
        if target is None:
            raise FastPathUnsupported("relationship without target")
        if rel.get("TargetMode") != "External":
            target = target[1:] if target.startswith("/") else posixpath.normpath(posixpath.join(folder, target))
        rels[rel.get("Id")] = (rel.get("Type") or "", target)
    return rels


_STYLE_SERIALS = itertools.count()


def _styles(data: bytes) -> tuple[tuple[bool, ...], frozenset[int], frozenset[int], int]:
    """Per cellXfs index: locked (openpyxl takes the xf's <protection> whatever applyProtection
    says; no <protection> means locked), and which indexes format numbers as dates / durations."""
    root = _parse(data)
    custom: dict[int, str] = {}
    for fmts in _children(root, "numFmts"):
        for fmt in _children(fmts, "numFmt"):
            custom[int(fmt.get("numFmtId"))] = fmt.get("formatCode")
    xfs = ([None] + list(_children(root, "cellXfs")))[-1]
    locked, dates, deltas = [], set(), set()
    for idx, xf in enumerate(_children(xfs, "xf") if xfs is not None else ()):
        num = int(xf.get("numFmtId", 0))
        prot = list(_children(xf, "protection"))
        locked.append(_bool(prot[-1].get("locked"), True) if prot else True)
        fmt = custom[num] if num in custom else builtin_format_code(num)
        if is_date_format(fmt):
            dates.add(idx)
        if is_timedelta_format(fmt):
            deltas.add(idx)
    if not locked:
        raise FastPathUnsupported("no cell formats")  # openpyxl keeps its defaults then
    return tuple(locked), frozenset(dates), frozenset(deltas), next(_STYLE_SERIALS)


def load_book(path: str | Path) -> FastBook:
    """The book at `path` after the container checks (FileRejected as check_container would raise)."""
    path = Path(path)
    return FastBook(path, open_checked(path))
