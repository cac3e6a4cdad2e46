"""The openpyxl engine: the cells of a returned workbook for the reader core (never writes it).

Also reads a read.fast_engine.FastBook, which offers the same sheet interface."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from openpyxl import load_workbook

from xlsx_tool.catalog.model import Catalog
from xlsx_tool.read import core
from xlsx_tool.read.core import BookContents, BookError, check_book_file
from xlsx_tool.workbook.filler import yen_inputs
from xlsx_tool.workbook.meta import COVER_SHEET, FIRST_DATA_ROW, META_SHEET

if TYPE_CHECKING:
    from xlsx_tool.catalog.eligibility import EligibilityInputs


def _meta_rows(wb):
    return wb[META_SHEET].iter_rows(min_col=1, max_col=2, values_only=True) if META_SHEET in wb.sheetnames else None


def _cover_rows(wb):
    return wb[COVER_SHEET].iter_rows(min_col=1, max_col=2, values_only=True) if COVER_SHEET in wb.sheetnames else None


def _sheet_rows(wb):
    def rows(name: str):
        if name not in wb.sheetnames:
            return None
        return wb[name].iter_rows(min_row=FIRST_DATA_ROW, min_col=core.FIRST_COLUMN, max_col=core.LAST_COLUMN,
                                  values_only=True)

    return rows


def read_meta(wb, path: Path) -> dict[str, object]:
    """The _meta identification of an open workbook (openpyxl or read.fast_engine.FastBook)."""
    return core.read_meta(path, _meta_rows(wb))


def read_answers(wb, catalog: Catalog, contents: BookContents) -> None:
    """Fill contents.answers/remarks/missing from an open workbook (found by the hidden id column)."""
    core.read_answers(catalog, contents, _sheet_rows(wb))


def read_book(path: str | Path, catalog_path: str | Path | None = None,
              thresholds_path: str | Path | None = None) -> tuple[Catalog, BookContents]:
    path = Path(path)
    check_book_file(path)
    try:
        wb = load_workbook(path, read_only=True, data_only=False)
    except Exception as exc:  # openpyxl raises many types for damaged files
        raise BookError(path, "book.cannot_open", detail=exc) from None
    try:
        catalog, contents = core.read_contents(path, _meta_rows(wb), _sheet_rows(wb), catalog_path, thresholds_path,
                                               _cover_rows(wb))
        contents.yen = yen_inputs(wb, catalog)
    finally:
        wb.close()
    if any(isinstance(v, str) and v.startswith("=") for v in contents.yen.values()):
        contents.yen = _calculated(path, catalog, contents.yen)  # a yen computed by a formula: as Excel shows it
    return catalog, contents


def _calculated(path: Path, catalog: Catalog, yen: dict[str, object]) -> dict[str, object]:
    """The values Excel last calculated for the yen cells that hold a formula (what the sheet shows)."""
    wb = load_workbook(path, read_only=True, data_only=True)
    try:
        shown = yen_inputs(wb, catalog)
    finally:
        wb.close()
    return {g: shown.get(g) if isinstance(v, str) and v.startswith("=") else v for g, v in yen.items()}


def read_eligibility_inputs(path: str | Path) -> "EligibilityInputs":
    """The 交付要件 sheet's inputs of a workbook (blank optional amounts count as 0)."""
    from xlsx_tool.catalog.eligibility import INPUT_ROWS, YES, EligibilityInputs
    from xlsx_tool.workbook.meta import ELIGIBILITY_SHEET, eligibility_cells

    path = Path(path)
    check_book_file(path)
    wb = load_workbook(path, read_only=False, data_only=False)
    if ELIGIBILITY_SHEET not in wb.sheetnames:
        raise BookError(path, "book.no_eligibility_sheet", sheet=ELIGIBILITY_SHEET)
    ws = wb[ELIGIBILITY_SHEET]
    values = {}
    for (field, _, kind), ref in zip(INPUT_ROWS, eligibility_cells().values()):
        v = ws[ref].value
        if kind == "yesno":
            values[field] = isinstance(v, str) and v.strip() == YES
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            values[field] = v
        elif v not in (None, ""):
            raise BookError(path, "book.not_a_number", sheet=ELIGIBILITY_SHEET, cell=ref, value=v)
    optional = {"transfer_to_multilayer", "extra_this_year", "extra_last_year"}
    values.update({f: 0 for f in optional if values.get(f) is None})
    return EligibilityInputs(**values)
