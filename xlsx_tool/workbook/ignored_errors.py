"""Excel's "number stored as text" triangle switched off where a sheet holds a code as text (団体コード keeps
its leading zero as text): <ignoredErrors><ignoredError sqref="B6" numberStoredAsText="1"/></ignoredErrors>,
as Excel writes it (ignore_error02.xlsx in tests/test_excel_reference.py).

openpyxl 3.1 neither reads nor writes ignoredErrors. Its worksheet writer is extended here, in this one
place, to write the cells a sheet lists (ignore_number_as_text) right after the row and column breaks:
where the schema puts ignoredErrors (after rowBreaks, colBreaks, customProperties, cellWatches; before
smartTags, drawing, legacyDrawing, tableParts). Sheets that list no cell are written as before. A book read
back by openpyxl has lost the list: mark_code_cells lists the cover's code cell again before it is saved.
"""

from __future__ import annotations

from openpyxl.worksheet._writer import WorksheetWriter
from openpyxl.xml.functions import Element, SubElement

from xlsx_tool.workbook.meta import COVER_CODE_LABEL, COVER_SHEET

_CELLS = "_xlsx_tool_number_text"  # worksheet attribute: the cells listed, in order


def ignore_number_as_text(ws, ref: str) -> None:
    cells = ws.__dict__.setdefault(_CELLS, [])
    if ref not in cells:
        cells.append(ref)


def mark_code_cells(wb) -> None:
    """List the cover's 団体コード cell (the value beside its label) on a built or re-read book."""
    if COVER_SHEET not in wb.sheetnames:
        return
    ws = wb[COVER_SHEET]
    for cell in ws["A"]:
        if cell.value == COVER_CODE_LABEL:
            ignore_number_as_text(ws, f"B{cell.row}")


def _ignored_errors(ws):
    cells = getattr(ws, _CELLS, None)
    if not cells:
        return None
    element = Element("ignoredErrors")
    SubElement(element, "ignoredError", {"sqref": " ".join(cells), "numberStoredAsText": "1"})
    return element


def _write_breaks_and_ignored_errors(self) -> None:
    _write_breaks(self)
    element = _ignored_errors(self.ws)
    if element is not None:
        self.xf.send(element)


# openpyxl's own method, kept on its class so that importing this module again does not wrap the wrapper
if not hasattr(WorksheetWriter, "xlsx_tool_original_write_breaks"):
    WorksheetWriter.xlsx_tool_original_write_breaks = WorksheetWriter.write_breaks
_write_breaks = WorksheetWriter.xlsx_tool_original_write_breaks
WorksheetWriter.write_breaks = _write_breaks_and_ignored_errors
