"""Putting values into cells: styled, never as a formula unless asked, and safe against formula injection."""

from __future__ import annotations

import math
import weakref
from copy import copy

from openpyxl.cell.cell import Cell
from openpyxl.worksheet.worksheet import Worksheet

from xlsx_tool.util.styles import BASE, BOX, WRAP_TOP

INJECTION_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def safe(value: object) -> object:
    """Neutralise formula injection in text for CSV and for values handed to Excel (where a leading
    apostrophe is taken as the text prefix); numbers and None pass through. In .xlsx files written here
    use `append_text_safely` instead: an apostrophe stored in the file would show in the cell."""
    if isinstance(value, str) and value.startswith(INJECTION_PREFIXES):
        return "'" + value
    return value


# Excel lays a line of 游ゴシック 10 pt out about 16.5 pt high (the font's ascent and descent are large:
# its default row at 11 pt is 18.75 pt); at 13.5 pt per line, the ＭＳ Ｐゴシック figure, text is cut off.
LINE_HEIGHT = 16.5


def row_height(text: str, width_chars: int) -> float:
    """Points a row needs for `text` wrapped in a column `width_chars` wide (CJK characters take about two
    width units), at 10 pt type."""
    units = sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)
    lines = sum(max(1, math.ceil(sum(2 if ord(c) > 0x2E80 else 1 for c in part) / width_chars))
                for part in text.split("\n")) if text else 1
    return LINE_HEIGHT * max(lines, math.ceil(units / width_chars)) + 3


def put(ws: Worksheet, ref: str, value, font=BASE, fill=None, align=WRAP_TOP, fmt=None, border=True,
         formula: bool = False):
    """Style and fill a cell. Text starting with "=" stays text unless `formula` (a catalog, roster or
    comparison file must never be able to put a live formula into a workbook)."""
    c = ws[ref]
    c.value = value
    if not formula and c.data_type == "f":
        c.data_type = "s"
    # openpyxl hashes every style object on each assignment to find its index. A combination applied
    # to a cell in a given state gives the same indexes every time, so it is looked up once per
    # workbook (with the objects kept alive, so that their ids stay theirs).
    known = _STYLES.setdefault(ws.parent, {})
    key = (id(font), id(align), id(fill), fmt, border, None if c._style is None else tuple(c._style))
    hit = known.get(key)
    if hit is not None:
        c._style = copy(hit[0])
        return c
    c.font = font
    c.alignment = align
    if fill is not None:
        c.fill = fill
    if fmt:
        c.number_format = fmt
    if border:
        c.border = BOX
    known[key] = (copy(c._style), (font, align, fill))
    return c


_STYLES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # workbook -> style combination -> indexes


def append_text_safely(ws: Worksheet, values) -> None:
    """Append a row; text that would start a formula is stored as text with Excel's quotePrefix (what
    typing an apostrophe in Excel gives): the cell shows the text as it is and never computes."""
    row = []
    for value in values:
        if isinstance(value, str) and value.startswith(INJECTION_PREFIXES):
            value = Cell(ws, value=value)  # appended as it is: no read-back of the row (max_row walks the sheet)
            value.data_type = "s"
            value.quotePrefix = True
        row.append(value)
    ws.append(row)
