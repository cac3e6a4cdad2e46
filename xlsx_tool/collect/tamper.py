"""Compare a returned workbook with the template its catalog generates.

Every non-input cell of the input sheets and of 集計 must hold the template's text or formula
(formulas compared after the spelling changes LibreOffice and Excel make when they save again:
quotes around sheet names, $ signs, spaces, case), and must stay locked; the id column must
be in the template's rows (a different order means rows were inserted or deleted).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from openpyxl.utils import get_column_letter

from xlsx_tool.catalog.answers import answer_id_set
from xlsx_tool.catalog.entity import Entity
from xlsx_tool.catalog.model import Catalog, catalog_hash
from xlsx_tool.read.checked_zip import FastPathUnsupported
from xlsx_tool.util.memo import remember
from xlsx_tool.util.problems import message
from xlsx_tool.workbook.meta import (
    COL_ANSWER,
    COL_ID,
    COL_PREVIOUS,
    COL_REMARKS,
    FIRST_DATA_ROW,
    SUMMARY_SHEET,
    input_sheet_names,
)
from xlsx_tool.workbook.writer import build_workbook

MAX_LISTED = 8  # cells named in a message
_COL = {get_column_letter(c): c for c in range(1, 703)}  # "A" -> 1 … "ZZ" -> 702


def normalise(value: object) -> object:
    if isinstance(value, str):
        if value.startswith("="):
            known = _FORMULAS.get(value)
            if known is None:
                known = re.sub(r"[\s$']", "", value).upper().replace("_XLFN.", "")
                if len(value) <= 1000:
                    remember(_FORMULAS, value, known, 20_000)
            return known
        return value.strip() or None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


_FORMULAS: dict[str, str] = {}  # formula -> normalised: books repeat the template's formulas


@dataclass(frozen=True)
class SheetPrint:
    ids: tuple[tuple[int, str], ...]  # (row, id) of the hidden id column
    cells: dict[str, object]  # coordinate -> normalised value of every fixed cell (row >= 2)
    inputs: frozenset[str]  # coordinates staff may edit


@dataclass
class TamperFindings:
    missing_sheets: list[str] = field(default_factory=list)
    moved_rows: list[str] = field(default_factory=list)  # sheets with rows inserted/deleted
    changed: list[str] = field(default_factory=list)  # "sheet!A1"
    unlocked: list[str] = field(default_factory=list)
    unprotected: list[str] = field(default_factory=list)

    @property
    def tampered(self) -> bool:
        return bool(self.missing_sheets or self.moved_rows or self.changed or self.unlocked)

    def reasons(self) -> list[str]:
        out = [message("tamper.missing_sheet", sheet=name) for name in self.missing_sheets]
        if self.moved_rows:
            out.append(message("tamper.moved_rows", rows="、".join(self.moved_rows)))
        if self.changed:
            out.append(message("tamper.changed", cells=_few(self.changed)))
        if self.unlocked:
            out.append(message("tamper.unlocked", cells=_few(self.unlocked)))
        return out


def _few(cells: list[str]) -> str:
    more = f" ほか {len(cells) - MAX_LISTED} か所" if len(cells) > MAX_LISTED else ""
    return "、".join(cells[:MAX_LISTED]) + more


def _sheet_print(ws, editable_cols: str | None, answer_ids: frozenset[str] = frozenset()) -> SheetPrint:
    ids, cells, inputs = [], {}, set()
    for row in ws.iter_rows(min_row=2):
        for c in row:
            if not c.protection.locked:  # an input, empty in the template too (集計's yen per point)
                inputs.add(c.coordinate)
            if normalise(c.value) is None:
                continue
            if c.column == _COL[COL_ID] and c.row >= FIRST_DATA_ROW:  # column index: merged cells have no letter
                ids.append((c.row, c.value))
            if c.protection.locked:
                cells[c.coordinate] = normalise(c.value)
    if editable_cols:  # input cells are empty in the template but still inputs (rows of an answer)
        for r, ident in ids:
            if ident in answer_ids:
                inputs.update(f"{col}{r}" for col in editable_cols)
    return SheetPrint(tuple(ids), cells, frozenset(inputs))


_PRINTS: dict[str, dict[str, SheetPrint]] = {}
def template_print(catalog: Catalog) -> dict[str, SheetPrint]:
    """Fingerprint of the sheets a catalog's template holds (entity-independent rows only)."""
    key = catalog_hash(catalog)
    if key not in _PRINTS:
        wb = build_workbook(catalog, Entity(), generated_at="-")
        prints = {name: _sheet_print(wb[name], COL_ANSWER + COL_REMARKS, answer_id_set(catalog))
                  for name in input_sheet_names(catalog).values()}
        prints[SUMMARY_SHEET] = _sheet_print(wb[SUMMARY_SHEET], None)
        _PRINTS[key] = prints
    return _PRINTS[key]


def _sheets_to_check(found: TamperFindings, wb, prints: dict) -> Iterator[tuple[str, object, object]]:
    """(name, fingerprint, sheet) of each template sheet the book has; a missing sheet is a finding."""
    for name, fingerprint in prints.items():
        if name in wb.sheetnames:
            yield name, fingerprint, wb[name]
        else:
            found.missing_sheets.append(name)


def _rows_in_place(found: TamperFindings, name: str, ws, ids: tuple, tmpl: SheetPrint) -> bool:
    """Whether the cells are worth comparing: rows inserted or deleted (the id column differs) make
    every later cell differ, so that is the one finding then. Protection removed is noted."""
    if ids != tmpl.ids:
        found.moved_rows.append(name)
        return False
    if not ws.protection.sheet:
        found.unprotected.append(name)
    return True


def check_tampering(wb, catalog: Catalog) -> TamperFindings:
    found = TamperFindings()
    for name, tmpl, ws in _sheets_to_check(found, wb, template_print(catalog)):
        ids = tuple((c.row, c.value) for c in ws[COL_ID][FIRST_DATA_ROW - 1:] if c.value is not None)
        if not _rows_in_place(found, name, ws, ids, tmpl):
            continue
        seen = set()
        for row in ws.iter_rows(min_row=2):
            for c in row:
                coord = c.coordinate
                # last year's answers vary; c.column, not c.column_letter, which a merged cell lacks
                if coord in tmpl.inputs or c.column == _COL[COL_PREVIOUS]:
                    continue
                expected = tmpl.cells.get(coord)
                if normalise(c.value) is None and expected is None:
                    continue
                seen.add(coord)
                if normalise(c.value) != expected:
                    found.changed.append(f"{name}!{coord}")
                elif not c.protection.locked:
                    found.unlocked.append(f"{name}!{coord}")
        found.changed.extend(f"{name}!{coord}" for coord in tmpl.cells.keys() - seen)
    return found


# --- fast path: the same findings on a read.fast_engine.FastBook -----------------------------------------

@dataclass(frozen=True)
class _FastPrint:
    key: tuple[str, str]  # (catalog hash, sheet name): which template a row's findings were made against
    tmpl: SheetPrint
    by_row: dict[int, tuple[tuple[int, str, object], ...]]  # row -> (col, coordinate, normalised value)
    inputs: frozenset[tuple[int, int]]
    extent: tuple[int, int]  # last row and column holding a template cell
    unseen: tuple[str, ...]  # template cells the walk skips (inputs, last year's column)


@dataclass(frozen=True, slots=True)
class _RowFindings:
    ident: tuple[int, object] | None  # (row, value) of the id column
    changed: tuple[str, ...]
    unlocked: tuple[str, ...]


_FAST_PRINTS: dict[str, dict[str, _FastPrint]] = {}
_NO_ROW: dict = {}


def _rc(coord: str) -> tuple[int, int]:
    letters = coord.rstrip("0123456789")
    return int(coord[len(letters):]), _COL[letters]


def fast_template_print(catalog: Catalog) -> dict[str, _FastPrint]:
    key = catalog_hash(catalog)
    if key not in _FAST_PRINTS:
        prints = {}
        for name, tmpl in template_print(catalog).items():
            inputs = frozenset(_rc(c) for c in tmpl.inputs)
            by_row: dict[int, list] = {}
            unseen = []
            for coord, value in tmpl.cells.items():
                r, c = _rc(coord)
                if (r, c) in inputs or c == _COL[COL_PREVIOUS]:
                    unseen.append(coord)
                else:
                    by_row.setdefault(r, []).append((c, coord, value))
            extent = (max((_rc(c)[0] for c in tmpl.cells), default=0), max((_rc(c)[1] for c in tmpl.cells), default=0))
            prints[name] = _FastPrint((key, name), tmpl, {r: tuple(sorted(v)) for r, v in by_row.items()},
                                      inputs, extent, tuple(unseen))
        _FAST_PRINTS[key] = prints
    return _FAST_PRINTS[key]


def _row_findings(fast: _FastPrint, number: int, values: dict, styles: dict, cols, locked) -> _RowFindings:
    """check_tampering's walk over one row: the book's non-empty cells and the template's cells, in
    column order (`values`/`styles` may hold other rows too; `cols` are this row's columns)."""
    col_id, col_previous = _COL[COL_ID], _COL[COL_PREVIOUS]
    ident = values.get((number, col_id)) if number >= FIRST_DATA_ROW else None
    expected = {c: (coord, value) for c, coord, value in fast.by_row.get(number, ())}
    candidates = set(expected)
    if number >= 2:
        candidates.update(c for c in cols if values[(number, c)] is not None)
    changed, unlocked = [], []
    for c in sorted(candidates):
        rc = (number, c)
        if rc in fast.inputs or c == col_previous:  # last year's answers vary
            continue
        value = normalise(values.get(rc))
        known = expected.get(c)
        if known is None:
            if value is None:
                continue
            coord, want = f"{get_column_letter(c)}{number}", None
        else:
            coord, want = known
        if value != want:
            changed.append(coord)
        elif not locked[styles.get(rc, 0)]:
            unlocked.append(coord)
    return _RowFindings(None if ident is None else (number, ident), tuple(changed), tuple(unlocked))


def _sheet_rows(ws, fast: _FastPrint, locked) -> list[_RowFindings]:
    """Findings per row, in row order, for the rows of the book and of the template. Rows read by
    read.row_cache rows are the same objects in every book that repeats them: their findings are remembered."""
    template_rows = fast.by_row.keys()
    if ws.rows is None:
        cols_of: dict[int, list[int]] = {}
        for r, c in ws.values:
            cols_of.setdefault(r, []).append(c)
        numbers = sorted(cols_of.keys() | template_rows)
        return [_row_findings(fast, n, ws.values, ws.styles, cols_of.get(n, ()), locked) for n in numbers]
    key = fast.key
    found = [row.verdicts.get(key) for row in ws.rows]
    for i, row in enumerate(ws.rows):
        if found[i] is None:
            found[i] = row.verdicts[key] = _row_findings(fast, row.number, row.values, row.styles,
                                                         [c for _, c in row.values], locked)
    missing = template_rows - {row.number for row in ws.rows}  # template rows the book lacks
    if missing:
        pairs = [(row.number, f) for row, f in zip(ws.rows, found)]
        pairs += [(n, _row_findings(fast, n, _NO_ROW, _NO_ROW, (), locked)) for n in missing]
        found = [f for _, f in sorted(pairs, key=lambda pair: pair[0])]
    return found


def check_tampering_fast(book, catalog: Catalog) -> TamperFindings:
    """check_tampering on a read.fast_engine.FastBook: the same findings in the same order.

    openpyxl walks every cell of the rectangle its sheet spans (cells, merged ranges, comments,
    and column H, which check_tampering reads first); a template cell outside that rectangle is
    listed last. The fast book does not know the comments' extent, so when a template cell lies
    outside the rectangle of its cells the order could differ: FastPathUnsupported."""
    found = TamperFindings()
    for name, fast, ws in _sheets_to_check(found, book, fast_template_print(catalog)):
        rows = _sheet_rows(ws, fast, book.locked)
        if not _rows_in_place(found, name, ws, tuple(r.ident for r in rows if r.ident is not None), fast.tmpl):
            continue
        if fast.extent[0] > ws.max_row or fast.extent[1] > max(ws.max_column, _COL[COL_ID]):
            raise FastPathUnsupported(f"template cells outside the cells of sheet {name}")
        for r in [r for r in rows if r.changed or r.unlocked]:
            found.changed.extend(f"{name}!{coord}" for coord in r.changed)
            found.unlocked.extend(f"{name}!{coord}" for coord in r.unlocked)
        found.changed.extend(f"{name}!{coord}" for coord in fast.unseen)
    return found
