"""Compare a returned workbook with the template its catalog generates.

Every non-input cell of the input sheets and of 集計 must hold the template's text or formula
(formulas compared after the spelling changes LibreOffice and Excel make when they save again:
quotes around sheet names, $ signs, spaces, case), and must stay locked; the id column must
be in the template's rows (a different order means rows were inserted or deleted).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from openpyxl.utils import get_column_letter

from .catalog import Catalog
from .entity import Entity
from .file_checks import FastPathUnsupported
from .workbook_meta import (COL_ANSWER, COL_ID, COL_PREVIOUS, COL_REMARKS, FIRST_DATA_ROW, SUMMARY_SHEET,
                            input_sheet_names)
from .workbook_writer import build_workbook

MAX_LISTED = 8  # cells named in a message
_COL = {get_column_letter(c): c for c in range(1, 703)}  # "A" -> 1 … "ZZ" -> 702


def normalise(value: object) -> object:
    if isinstance(value, str):
        if value.startswith("="):
            return re.sub(r"[\s$']", "", value).upper().replace("_XLFN.", "")
        return value.strip() or None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


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
        out = [f"シート「{name}」がありません（名前の変更または削除）" for name in self.missing_sheets]
        if self.moved_rows:
            out.append(f"入力欄の行が挿入または削除されています（{'、'.join(self.moved_rows)}）")
        if self.changed:
            out.append(f"計算式または固定の文字が変更されています（{_few(self.changed)}）")
        if self.unlocked:
            out.append(f"保護されたセルのロックが解除されています（{_few(self.unlocked)}）")
        return out


def _few(cells: list[str]) -> str:
    more = f" ほか {len(cells) - MAX_LISTED} か所" if len(cells) > MAX_LISTED else ""
    return "、".join(cells[:MAX_LISTED]) + more


def _sheet_print(ws, editable_cols: str | None) -> SheetPrint:
    ids, cells, inputs = [], {}, set()
    for row in ws.iter_rows(min_row=2):
        for c in row:
            if normalise(c.value) is None:
                continue
            if c.column == _COL[COL_ID] and c.row >= FIRST_DATA_ROW:  # column index: merged cells have no letter
                ids.append((c.row, c.value))
            if not c.protection.locked:
                inputs.add(c.coordinate)
            else:
                cells[c.coordinate] = normalise(c.value)
    if editable_cols:  # input cells are empty in the template but still inputs
        for r, _ in ids:
            inputs.update(f"{col}{r}" for col in editable_cols)
    return SheetPrint(tuple(ids), cells, frozenset(inputs))


_PRINTS: dict[str, dict[str, SheetPrint]] = {}
_HASHES: dict[int, tuple[Catalog, str]] = {}  # id -> (the catalog, kept alive so the id stays its own, hash)


def catalog_hash(catalog: Catalog) -> str:
    """catalog.content_hash(), computed once per catalog object (catalogs are frozen)."""
    known = _HASHES.get(id(catalog))
    if known is None or known[0] is not catalog:
        if len(_HASHES) > 64:
            _HASHES.clear()
        known = _HASHES[id(catalog)] = (catalog, catalog.content_hash())
    return known[1]


def template_print(catalog: Catalog) -> dict[str, SheetPrint]:
    """Fingerprint of the sheets a catalog's template holds (entity-independent rows only)."""
    key = catalog_hash(catalog)
    if key not in _PRINTS:
        wb = build_workbook(catalog, Entity(), generated_at="-")
        prints = {name: _sheet_print(wb[name], COL_ANSWER + COL_REMARKS)
                  for name in input_sheet_names(catalog).values()}
        prints[SUMMARY_SHEET] = _sheet_print(wb[SUMMARY_SHEET], None)
        _PRINTS[key] = prints
    return _PRINTS[key]


def check_tampering(wb, catalog: Catalog) -> TamperFindings:
    found = TamperFindings()
    for name, tmpl in template_print(catalog).items():
        if name not in wb.sheetnames:
            found.missing_sheets.append(name)
            continue
        ws = wb[name]
        ids = tuple((c.row, c.value) for c in ws[COL_ID][FIRST_DATA_ROW - 1:] if c.value is not None)
        if ids != tmpl.ids:
            found.moved_rows.append(name)
            continue  # every later cell would differ: one reason is enough
        if not ws.protection.sheet:
            found.unprotected.append(name)
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


# --- fast path: the same findings on a fast_reader.FastBook -----------------------------------------

@dataclass(frozen=True)
class _FastPrint:
    tmpl: SheetPrint
    cells: dict[tuple[int, int], tuple[str, object]]  # (row, col) -> (coordinate, normalised value)
    inputs: frozenset[tuple[int, int]]
    extent: tuple[int, int]  # last row and column holding a template cell


_FAST_PRINTS: dict[str, dict[str, _FastPrint]] = {}


def _rc(coord: str) -> tuple[int, int]:
    letters = coord.rstrip("0123456789")
    return int(coord[len(letters):]), _COL[letters]


def fast_template_print(catalog: Catalog) -> dict[str, _FastPrint]:
    key = catalog_hash(catalog)
    if key not in _FAST_PRINTS:
        prints = {}
        for name, tmpl in template_print(catalog).items():
            cells = {_rc(coord): (coord, value) for coord, value in tmpl.cells.items()}
            extent = (max((r for r, _ in cells), default=0), max((c for _, c in cells), default=0))
            prints[name] = _FastPrint(tmpl, cells, frozenset(_rc(c) for c in tmpl.inputs), extent)
        _FAST_PRINTS[key] = prints
    return _FAST_PRINTS[key]


def check_tampering_fast(book, catalog: Catalog) -> TamperFindings:
    """check_tampering on a fast_reader.FastBook: the same findings in the same order.

    openpyxl walks every cell of the rectangle its sheet spans (cells, merged ranges, comments,
    and column H, which check_tampering reads first); a template cell outside that rectangle is
    listed last. The fast book does not know the comments' extent, so when a template cell lies
    outside the rectangle of its cells the order could differ: FastPathUnsupported."""
    found = TamperFindings()
    col_id, col_previous = _COL[COL_ID], _COL[COL_PREVIOUS]
    for name, fast in fast_template_print(catalog).items():
        if name not in book.sheetnames:
            found.missing_sheets.append(name)
            continue
        ws = book[name]
        values = ws.values
        ids = tuple(sorted((r, v) for (r, c), v in values.items()
                           if c == col_id and r >= FIRST_DATA_ROW and v is not None))
        if ids != fast.tmpl.ids:
            found.moved_rows.append(name)
            continue
        if not ws.protection.sheet:
            found.unprotected.append(name)
        if fast.extent[0] > ws.max_row or fast.extent[1] > max(ws.max_column, col_id):
            raise FastPathUnsupported(f"template cells outside the cells of sheet {name}")
        cells, inputs, styles, locked = fast.cells, fast.inputs, ws.styles, book.locked
        candidates = {rc for rc, v in values.items() if v is not None and rc[0] >= 2}
        candidates.update(cells)
        seen = set()
        for rc in sorted(candidates):
            if rc in inputs or rc[1] == col_previous:  # last year's answers vary
                continue
            value = normalise(values.get(rc))
            known = cells.get(rc)
            if known is None:
                if value is None:
                    continue
                coord, expected = f"{get_column_letter(rc[1])}{rc[0]}", None
            else:
                coord, expected = known
            seen.add(coord)
            if value != expected:
                found.changed.append(f"{name}!{coord}")
            elif not locked[styles.get(rc, 0)]:
                found.unlocked.append(f"{name}!{coord}")
        found.changed.extend(f"{name}!{coord}" for coord in fast.tmpl.cells.keys() - seen)
    return found
