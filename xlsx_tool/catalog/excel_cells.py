"""Reading a catalog workbook, first half: where each value came from (sheet, row, column) and each cell
parsed to a value, every problem recorded at its cell with how to fix it.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, time

from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from xlsx_tool.catalog.excel_layout import CHOICES, HEADER, SHEET_ORDER, Column, SheetSpec
from xlsx_tool.catalog.loading import CatalogError
from xlsx_tool.util.problems import Problem

# -- import: where each value came from ---------------------------------------------------

@dataclass(frozen=True)
class Loc:
    """A cell (or a row, or a sheet) of the workbook."""

    sheet: str
    row: int | None = None
    column: str | None = None  # letter
    header: str = ""

    def sort_key(self):
        order = SHEET_ORDER.index(self.sheet) if self.sheet in SHEET_ORDER else len(SHEET_ORDER)
        return order, self.row or 0, len(self.column or ""), self.column or ""


@dataclass(frozen=True)
class CellProblem:
    loc: Loc
    message: str
    fix: str = ""

    def __str__(self) -> str:
        where = f"シート「{self.loc.sheet}」" if self.loc.sheet else "場所不明"
        if self.loc.row:
            where += f" {self.loc.row} 行目"
        if self.loc.column:
            where += f" {self.loc.column} 列（{self.loc.header}）"
        return f"{where}: {self.message}" + (f" → {self.fix}" if self.fix else "")


class CatalogSheetError(CatalogError):
    """Problems of a catalog workbook; ``cells`` locates each one (sheet, row, column)."""

    def __init__(self, source: str, cells: list[CellProblem], deferred: int = 0):
        self.cells = cells
        self.deferred = deferred  # checks skipped because they depend on a cell reported above
        super().__init__(source, [str(c) for c in cells])


class _Bad:
    """A cell whose value could not be used (already reported)."""

    def __repr__(self) -> str:
        return "BAD"


BAD = _Bad()


@dataclass
class Row:
    spec: SheetSpec
    number: int
    values: dict[str, object]
    locs: dict[str, Loc]

    def ok(self, key: str) -> bool:
        return self.values.get(key) is not BAD


@dataclass
class IndicatorSlot:
    data: dict
    path: str
    row: Row
    rule: str | None  # None when the rule type cell is not usable


@dataclass
class Importer:
    source: str
    problems: list[CellProblem] = field(default_factory=list)
    where: dict[str, Loc] = field(default_factory=dict)  # catalog path -> cell
    flags: list[tuple[str, str]] = field(default_factory=list)  # (catalog path, "sums" | "rule" | "published")
    seen_ids: dict[str, Loc] = field(default_factory=dict)
    # ids of rows left out for a problem already reported: the rows under them wait for that fix
    left_out: set[str] = field(default_factory=set)
    waiting_rows: int = 0

    # -- recording
    def report(self, loc: Loc, code: str, /, **fields) -> None:
        """Record the catalogue's problem `code` (util/problems.py) at the cell `loc`."""
        problem = Problem(code, fields)
        self.report_text(loc, problem.text, problem.fix)

    def report_text(self, loc: Loc, message: str, fix: str = "") -> None:
        """Record a message already rendered from the catalogue (the catalog validator's, mapped to a cell)."""
        self.problems.append(CellProblem(loc, message, fix))

    def bad(self, loc: Loc, code: str, /, **fields) -> _Bad:
        self.report(loc, code, **fields)
        return BAD

    def flag(self, path: str, affects: str) -> None:
        self.flags.append((path, affects))

    def take(self, row: Row, key: str, path: str, placeholder=None, affects: str = ""):
        """The row's value for key, registered at path; the placeholder (flagged) if unusable."""
        self.where[path] = row.locs[key]
        value = row.values.get(key)
        if value is BAD:
            if affects:
                self.flag(path, affects)
            return placeholder
        return value

    def unique_id(self, row: Row, key: str, ident: str) -> None:
        loc = row.locs[key]
        first = self.seen_ids.setdefault(ident, loc)
        if first is not loc:
            self.report(loc, "xlsx.duplicate_id", ident=ident, first_sheet=first.sheet, first_row=first.row)


# -- import: cells to values ----------------------------------------------------------------

def _loc(spec: SheetSpec, row: int, col: Column, letter: str) -> Loc:
    return Loc(spec.name, row, letter, col.header)


def _number_text(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _parse_cell(imp: Importer, cell, col: Column, loc: Loc):
    value = cell.value
    if cell.data_type == "f":
        return imp.bad(loc, "xlsx.formula", value=value)
    if isinstance(value, (datetime, date, time)):
        return imp.bad(loc, "xlsx.date", value=value)
    if isinstance(value, str) and not value.strip() and (col.kind != "text" or col.required):
        value = None
    if value is None:
        if col.required:
            return imp.bad(loc, "xlsx.blank", header=col.header)
        return None
    return _PARSERS[col.kind](imp, value, col, loc)


def _parse_text(imp, value, col, loc):
    return value if isinstance(value, str) else _number_text(value)


def _parse_id(imp, value, col, loc):
    return _number_text(value).strip()


def _parse_int(imp, value, col, loc):
    text = unicodedata.normalize("NFKC", _number_text(value)).strip()
    if isinstance(value, bool) or not re.fullmatch(r"[+-]?\d+", text):
        return imp.bad(loc, "xlsx.not_integer", value=repr(value), minimum=col.minimum)
    number = int(text)
    if number < col.minimum:
        return imp.bad(loc, "xlsx.below_minimum", number=number, minimum=col.minimum)
    return number


def _parse_number(imp, value, col, loc):
    try:
        number = float(unicodedata.normalize("NFKC", str(value)).strip())
    except ValueError:
        number = math.nan
    if isinstance(value, bool) or not math.isfinite(number):
        return imp.bad(loc, "xlsx.not_number", value=repr(value))
    return number


def _parse_choice(imp, value, col, loc):
    text = str(value).strip()
    labels = CHOICES[col.choice]
    if text in labels:
        return text
    by_label = {label: code for code, label in labels.items()}
    if text in by_label:
        return by_label[text]
    allowed = " / ".join(f"{code}（{label}）" for code, label in labels.items())
    return imp.bad(loc, "xlsx.not_a_choice", text=text, header=col.header, allowed=allowed)


def _parse_sources(imp, value, col, loc):
    return [part.strip() for part in re.split(r"[,，、\n]", _number_text(value)) if part.strip()]


_PARSERS = {"text": _parse_text, "id": _parse_id, "int": _parse_int, "number": _parse_number,
            "choice": _parse_choice, "sources": _parse_sources}


def header_columns(ws: Worksheet, spec: SheetSpec, imp: Importer) -> dict[str, int] | None:
    found = {str(c.value).strip(): c.column for c in ws[1] if c.value is not None}
    missing = [col for col in spec.columns if col.header not in found]
    for col in missing:
        imp.report(Loc(spec.name, 1), "xlsx.no_column", header=col.header)
    return None if missing else {col.key: found[col.header] for col in spec.columns}


def read_rows(ws: Worksheet, spec: SheetSpec, columns: dict[str, int], imp: Importer) -> list[Row]:
    rows = []
    for number in range(2, ws.max_row + 1):
        cells = {key: ws.cell(number, ci) for key, ci in columns.items()}
        if all(c.value is None or (isinstance(c.value, str) and not c.value.strip()) for c in cells.values()):
            continue
        locs = {col.key: _loc(spec, number, col, get_column_letter(columns[col.key])) for col in spec.columns}
        values = {col.key: _parse_cell(imp, cells[col.key], col, locs[col.key]) for col in spec.columns}
        rows.append(Row(spec, number, values, locs))
    return rows


def header_row(ws: Worksheet, imp: Importer) -> Row | None:
    """The カタログ sheet read as one row: each field's value is in column B of the row labelled with it."""
    labels = {str(ws.cell(r, 1).value).strip(): r for r in range(1, ws.max_row + 1) if ws.cell(r, 1).value}
    missing = [col for col in HEADER.columns if col.header not in labels]
    for col in missing:
        imp.report(Loc(HEADER.name, None, "A", "項目"), "xlsx.no_field_row", header=col.header)
    if missing:
        return None
    locs = {col.key: Loc(HEADER.name, labels[col.header], "B", col.header) for col in HEADER.columns}
    values = {col.key: _parse_cell(imp, ws.cell(labels[col.header], 2), col, locs[col.key]) for col in HEADER.columns}
    return Row(HEADER, 0, values, locs)
