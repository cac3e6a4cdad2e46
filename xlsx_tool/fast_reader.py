"""Fast reader of returned workbooks: only the parts collection needs, with the C XML parser.

`load_book(path)` reads the file once (container checks of file_checks on the bytes in memory),
then parses on demand: [Content_Types].xml, the workbook part and its relationships, styles (cell
formats: protection and date formats only), shared strings, docProps/core.xml, and only the sheets
asked for (`book[name]`). A sheet gives what openpyxl's ``load_workbook(path, data_only=False)``
gives for it, cell by cell: the same value of the same type (numbers as openpyxl casts them, dates
from date-formatted numbers, shared and inline strings with openpyxl's treatment of rich text and
phonetic runs, formulas as "=..." text, shared formulas translated, merged cells emptied), the
style's `locked` flag and the sheet protection. The book offers the subset of openpyxl's API the
collector uses (`sheetnames`, `book[name].iter_rows(..., values_only=True)`, `properties.modified`),
so workbook_reader.read_meta/read_answers and collect's identification run on it unchanged.

Whatever this reader does not handle exactly as openpyxl does raises FastPathUnsupported (array or
data-table formulas, hyperlinks, chart sheets, duplicate sheet names, DOCTYPE anywhere, damaged or
unusual zip members, unknown elements inside strings, ...). The collector then reads the file again
through openpyxl and says so in the result; nothing is decided on a guess.

Not parsed (openpyxl parses them and rejects the book if they are malformed): other sheets,
comments, drawings, defined names, sheet relationships, fonts/fills/borders of styles.xml.
"""

from __future__ import annotations

import posixpath
import xml.etree.ElementTree as ET
from pathlib import Path

from openpyxl.formula.translate import Translator
from openpyxl.packaging.core import DocumentProperties
from openpyxl.styles.numbers import builtin_format_code, is_date_format, is_timedelta_format
from openpyxl.utils.cell import coordinate_to_tuple, range_boundaries
from openpyxl.utils.datetime import CALENDAR_MAC_1904, WINDOWS_EPOCH, from_excel, from_ISO8601
from openpyxl.workbook.child import INVALID_TITLE_REGEX
from openpyxl.worksheet._reader import _cast_number
from openpyxl.worksheet.merge import MergeCells
from openpyxl.worksheet.protection import SheetProtection
from openpyxl.xml.functions import fromstring as openpyxl_fromstring

from .file_checks import CheckedZip, FastPathUnsupported, open_checked

__all__ = ["FastBook", "FastSheet", "FastPathUnsupported", "load_book"]

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
CT_NS = "http://schemas.openxmlformats.org/package/2006/content-types"
_M = "{%s}" % MAIN
ROW, VALUE, FORMULA, INLINE = _M + "row", _M + "v", _M + "f", _M + "is"
T, RUN, RPH, PHONETIC_PR, RUN_PR, SI = _M + "t", _M + "r", _M + "rPh", _M + "phoneticPr", _M + "rPr", _M + "si"
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
_COORDS: dict[str, tuple[int, int]] = {}  # "B12" -> (12, 2), shared by every book a process reads


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _no_doctype(data: bytes) -> bytes:
    """A DOCTYPE or ENTITY anywhere (the container check only sniffs each part's first 4 KB) goes to
    the openpyxl path, whose parsers refuse entity declarations."""
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
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


def _text_content(node: ET.Element) -> str:
    """Text.from_tree(node).content for the shapes Excel and LibreOffice write: a plain <t>, rich
    text runs <r><rPr/><t/></r>, phonetic runs <rPh> and <phoneticPr> (which openpyxl leaves out)."""
    plain, runs = None, []
    for child in node:
        tag = child.tag
        if tag == T:
            if len(child):
                raise FastPathUnsupported("element inside <t>")
            plain = child.text
        elif tag == RUN:
            run_text = None
            for part in child:
                if part.tag == T:
                    if run_text is not None or len(part):
                        raise FastPathUnsupported("unusual rich text run")
                    run_text = part.text
                elif part.tag != RUN_PR:
                    raise FastPathUnsupported(f"unknown element in a rich text run: {part.tag}")
            if run_text is None:
                raise FastPathUnsupported("rich text run without text")  # openpyxl raises TypeError
            runs.append(run_text)
        elif tag not in (RPH, PHONETIC_PR) and _local(tag) in ("t", "r", "rPh", "phoneticPr"):
            raise FastPathUnsupported(f"string element in another namespace: {tag}")
    if plain is None and not runs:
        return ""
    return (plain or "") + "".join(runs)


class _Protection:
    __slots__ = ("sheet",)

    def __init__(self, sheet: bool):
        self.sheet = sheet


class FastSheet:
    """One worksheet's cells as openpyxl's non-read-only load gives them."""

    def __init__(self, title: str, values: dict[tuple[int, int], object], styles: dict[tuple[int, int], int],
                 protected: bool, merged_extent: tuple[int, int], had_cells: bool):
        self.title = title
        self.values = values  # (row, col) -> value, every <c> of the sheet (merged cells emptied)
        self.styles = styles  # (row, col) -> cellXfs index
        self.protection = _Protection(protected)
        rows = [r for r, _ in values]
        cols = [c for _, c in values]
        self._current_row = max(rows) if had_cells else 0
        self.max_row = max([1, *rows, merged_extent[0]])
        self.max_column = max([1, *cols, merged_extent[1]])

    def iter_rows(self, min_row=None, max_row=None, min_col=None, max_col=None, values_only=False):
        if not values_only:
            raise NotImplementedError("FastSheet.iter_rows gives values only")
        if self._current_row == 0 and not any([min_col, min_row, max_col, max_row]):
            return iter(())
        min_col, min_row = min_col or 1, min_row or 1
        max_col, max_row = max_col or self.max_column, max_row or self.max_row
        get = self.values.get
        return (tuple(get((r, c)) for c in range(min_col, max_col + 1)) for r in range(min_row, max_row + 1))


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
        for name, rid in entries:
            if not rid:
                continue  # openpyxl skips it with a warning
            rel_type, target = rels[rid]  # KeyError as openpyxl: the openpyxl path words it
            if target not in self.zip:
                continue
            if "chartsheet" in rel_type:
                raise FastPathUnsupported("chart sheet")
            if INVALID_TITLE_REGEX.search(name) or name.lower() in (n.lower() for n in self.sheetnames):
                raise FastPathUnsupported("sheet name openpyxl would refuse or rename")
            self.sheetnames.append(name)
            self._targets[name] = target

    def _read_styles(self) -> None:
        if "xl/styles.xml" not in self.zip:
            raise FastPathUnsupported("no styles part")
        self.locked, self.date_styles, self.timedelta_styles = _cached(_styles, self.zip.read("xl/styles.xml"))

    @property
    def shared_strings(self) -> list[str]:
        if self._shared is None:
            if self.strings_part is None:
                self._shared = []
            else:
                root = _parse(self.zip.read(self.strings_part))
                self._shared = [_text_content(si).replace("x005F_", "") for si in root.iter(SI)]
        return self._shared

    @property
    def properties(self) -> DocumentProperties:
        if self._properties is None:
            if ARC_CORE not in self.zip:
                raise FastPathUnsupported("no docProps/core.xml")  # openpyxl would invent 'now'
            data = _no_doctype(self.zip.read(ARC_CORE))
            self._properties = DocumentProperties.from_tree(openpyxl_fromstring(data))
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
        """openpyxl's WorkSheetParser.parse_row/parse_cell/parse_formula and bind_cells/bind_merged_cells,
        on the same element tree (the same expat parser underneath)."""
        root = _parse(data)
        values: dict[tuple[int, int], object] = {}
        styles: dict[tuple[int, int], int] = {}
        shared_formulae: dict[str, Translator] = {}
        n_styles, dates = len(self.locked), self.date_styles
        coords = _COORDS
        row_counter = 0
        for row in root.iter(ROW):
            r = row.get("r")
            if r is not None:
                try:
                    row_counter = int(r)
                except ValueError:
                    as_float = float(r)
                    if not as_float.is_integer():
                        raise
                    row_counter = int(as_float)
            else:
                row_counter += 1
            col_counter = 0
            for el in row:
                get = el.get
                data_type, coordinate, style_id = get("t", "n"), get("r"), get("s", 0)
                if style_id:
                    style_id = int(style_id)
                if not (0 <= style_id < n_styles):
                    raise FastPathUnsupported(f"style index {style_id} out of range")  # openpyxl: IndexError
                value = None if data_type == "inlineStr" else (el.findtext(VALUE) or None)
                if coordinate:
                    rc = coords.get(coordinate)
                    if rc is None:
                        rc = coords[coordinate] = coordinate_to_tuple(coordinate)
                    col_counter = rc[1]
                else:
                    col_counter += 1
                    rc = (row_counter, col_counter)
                formula = el.find(FORMULA)
                if formula is not None:
                    value = self._formula(formula, coordinate, shared_formulae)
                elif value is not None:
                    if data_type == "n":
                        value = _cast_number(value)
                        if style_id in dates:
                            value = self._date(value, style_id)
                    elif data_type == "s":
                        value = self.shared_strings[int(value)]
                    elif data_type == "b":
                        value = bool(int(value))
                    elif data_type == "d":
                        value = from_ISO8601(value)
                elif data_type == "inlineStr":
                    child = el.find(INLINE)
                    if child is not None:
                        value = _text_content(child)
                values[rc] = value
                styles[rc] = style_id
        had_cells = bool(values)
        protected = False
        for el in root.iter(PROTECTION):  # openpyxl's parse_sheet_protection; the last one counts
            protection = SheetProtection.from_tree(el)
            if el.get("password") is not None:
                protection.set_password(el.get("password"), True)
            protected = bool(protection.sheet)
        for links in root.iter(HYPERLINKS):
            if len(links):
                raise FastPathUnsupported("hyperlinks")  # openpyxl writes link targets into empty cells
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

    def _formula(self, formula: ET.Element, coordinate, shared: dict[str, Translator]) -> str:
        kind = formula.get("t")
        value = "=" if formula.text is None else "=" + formula.text
        if kind == "shared":
            idx = formula.get("si")
            if idx in shared:
                return shared[idx].translate_formula(coordinate)
            if value != "=":
                shared[idx] = Translator(value, coordinate)
        elif kind in ("array", "dataTable"):
            raise FastPathUnsupported(f"{kind} formula")
        return value

    def _date(self, value, style_id: int):
        try:
            return from_excel(value, self.epoch, timedelta=style_id in self.timedelta_styles)
        except (OverflowError, ValueError):
            raise FastPathUnsupported("date out of range") from None  # openpyxl: '#VALUE!' with a warning


# -- the small package parts, parsed once per distinct content in a process ------------------------
# Books generated from one template and saved by one program share these parts byte for byte; the
# whole content is the cache key (no hash that a crafted file could collide with).

_PART_CACHE: dict[tuple, object] = {}


def _cached(parse, data: bytes, *args):
    key = (parse.__name__, data, *args)
    if key not in _PART_CACHE:
        if len(_PART_CACHE) >= 64:
            _PART_CACHE.clear()
        _PART_CACHE[key] = parse(data, *args)
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


def _styles(data: bytes) -> tuple[tuple[bool, ...], frozenset[int], frozenset[int]]:
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
    return tuple(locked), frozenset(dates), frozenset(deltas)


def load_book(path: str | Path) -> FastBook:
    """The book at `path` after the container checks (FileRejected as check_container would raise)."""
    path = Path(path)
    return FastBook(path, open_checked(path))
