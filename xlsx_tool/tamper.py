"""Compare a returned workbook with the template its catalog generates.

Every non-input cell of the input sheets and of 集計 must hold the template's text or formula
(formulas compared after the spelling changes LibreOffice and Excel make when they save again:
quotes around sheet names, $ signs, spaces, case), and must stay locked; the id column must
be in the template's rows (a different order means rows were inserted or deleted).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .catalog import Catalog
from .entity import Entity
from .workbook_meta import (COL_ANSWER, COL_ID, COL_PREVIOUS, COL_REMARKS, FIRST_DATA_ROW, SUMMARY_SHEET,
                            input_sheet_names)
from .workbook_writer import build_workbook

MAX_LISTED = 8  # cells named in a message


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
            if c.column_letter == COL_ID and c.row >= FIRST_DATA_ROW:
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


def template_print(catalog: Catalog) -> dict[str, SheetPrint]:
    """Fingerprint of the sheets a catalog's template holds (entity-independent rows only)."""
    key = catalog.content_hash()
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
                if coord in tmpl.inputs or c.column_letter == COL_PREVIOUS:  # last year's answers vary
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
