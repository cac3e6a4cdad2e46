"""Tables written fast as xlsx sheets and as CSV (collect's 集計結果.xlsx, the prefecture analysis).

XlsxWriter writes the book (styles, header rows, frozen panes, filters, conditional colours, print setup,
charts: the XML Excel itself writes); the data rows of the tables, hundreds of thousands of cells for a
nation's books, are then put into each sheet's XML directly (`_rows_xml`), some ten times faster than
through either library. Values are written by type: text is always an inline string, never a formula or
a link; text that would start a formula carries Excel's quotePrefix (what typing an apostrophe gives).
"""

from __future__ import annotations

import csv
import io
import math
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import xlsxwriter
from xlsxwriter.exceptions import FileCreateError
from xlsxwriter.utility import xl_col_to_name

from xlsx_tool.util.cells import INJECTION_PREFIXES, safe
from xlsx_tool.util.names import readable
from xlsx_tool.util.styles import CHARSET, DEFAULT_ROW_HEIGHT, DEFAULT_SIZE, FAMILY, FILL_HEADER, FONT, PERCENT

PERCENT_COLUMNS = ("得点率", "実施率", "前年度実施率", "増減")
CM = 37.8  # pixels per centimetre at 96 dpi (XlsxWriter sizes charts in pixels)
MARK_FORMAT = '"○";"○";"×"'  # 1 shows ○, 0 shows ×: the cell keeps the number (filters, sums)
MET_FILL, NOT_MET_FILL = "#C6EFCE", "#FFC7CE"  # Excel's own 良い / 悪い colours
# scheme none: a format naming the default font would otherwise get scheme="minor" (the theme's Calibri)
XLSXWRITER_DEFAULT_FONT = {"font_name": FONT, "font_size": DEFAULT_SIZE, "font_family": FAMILY,
                           "font_charset": CHARSET, "font_scheme": "none"}
DEFAULT_ROW_PIXELS = round(DEFAULT_ROW_HEIGHT * 96 / 72)  # XlsxWriter takes it in pixels: 18.75 pt = 25 px


@dataclass
class Table:
    name: str  # sheet and CSV name
    header: list[str]
    rows: list[list[object]]
    widths: list[int] | None = None  # column widths (characters); None: from the header texts
    percent: tuple[str, ...] = PERCENT_COLUMNS  # columns (by header) shown as percentages
    freeze_cols: int = 2  # columns kept in view when scrolling right
    marks_from: int | None = None  # columns from this index hold 1/0 (met / not met): ○/× in colour
    header_height: float | None = None  # points; a tall header row wraps its texts


class TableBook:
    """An xlsx book of Tables (rows put in by `close`) and of small sheets written cell by cell."""

    def __init__(self, path: Path):
        self.path = path
        self.wb = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_urls": False,
                                                  "nan_inf_to_errors": True,
                                                  # the default font of the generated books (styles.py), as
                                                  # XlsxWriter writes a Japanese default (its default_format06
                                                  # test); every format starts from it
                                                  "default_format_properties": XLSXWRITER_DEFAULT_FONT,
                                                  "default_row_height": DEFAULT_ROW_PIXELS})
        header = {"bold": True, "font_name": FONT, "font_size": 10, "pattern": 1,
                  "bg_color": "#" + FILL_HEADER.fgColor.rgb[-6:]}
        self.header_format = header
        self.header = self.wb.add_format(header)
        self.header_prefix = self.wb.add_format({**header, "quote_prefix": True})
        self.prefix = self.wb.add_format({"quote_prefix": True})
        self.percent = self.wb.add_format({"num_format": PERCENT})
        self.mark = None  # made when a table has marks (collect's book stays as it was)
        self.tables: dict[int, Table] = {}  # sheet number (1-based) -> table

    def row(self, ws, r: int, values, text_format=None) -> None:
        for c, v in enumerate(values):
            if v is None:
                continue
            if isinstance(v, (int, float)):
                ws.write_number(r, c, v, self.percent if text_format == "percent" else None)
            else:
                text = str(v)
                fmt = None if text_format == "percent" else text_format
                prefixed = text.startswith(INJECTION_PREFIXES)
                ws.write_string(r, c, text, (self.header_prefix if fmt is self.header else self.prefix)
                                if prefixed else fmt)

    def sheet(self, name: str):
        return self.wb.add_worksheet(name)

    def table(self, t: Table):
        """The sheet with its header; its rows are put in by `close`. Returns the worksheet for more
        (conditional formats, notes beside the table)."""
        ws = self.wb.add_worksheet(t.name)
        for i, h in enumerate(t.header):
            width = t.widths[i] if t.widths else max(8, min(40, len(str(h)) * 2))
            ws.set_column(i, i, width, self.percent if h in t.percent else None)
        header = self.header
        if t.header_height:
            header = self.wb.add_format({**self.header_format, "text_wrap": True, "valign": "top"})
            ws.set_row(0, t.header_height)
        self.row(ws, 0, holdable(t.header), header)
        # the row-2 cells only make XlsxWriter keep the cell styles the rows use; close() replaces them
        ws.write_blank(1, 0, None, self.prefix)
        ws.write_blank(1, 1, None, self.percent)
        if t.marks_from is not None:
            self._marks(ws, t)
        ws.freeze_panes(1, t.freeze_cols)
        ws.autofilter(0, 0, len(t.rows), len(t.header) - 1)
        # printed by the prefecture: A4 landscape, all columns on the page width, the header on every page
        ws.set_paper(9)
        ws.set_landscape()
        ws.fit_to_pages(1, 0)
        ws.repeat_rows(0)
        ws.set_footer("&C&A  &P / &N")
        self.tables[len(self.wb.worksheets())] = t
        return ws

    def _marks(self, ws, t: Table) -> None:
        if self.mark is None:
            self.mark = self.wb.add_format({"num_format": MARK_FORMAT, "align": "center"})
        first, last = t.marks_from, len(t.header) - 1
        ws.write_blank(1, first, None, self.mark)
        span = (1, first, max(1, len(t.rows)), last)
        for value, fill in ((1, MET_FILL), (0, NOT_MET_FILL)):
            ws.conditional_format(*span, {"type": "cell", "criteria": "==", "value": value,
                                          "format": self.wb.add_format({"bg_color": fill})})

    def close(self) -> None:
        try:
            self.wb.close()
        except FileCreateError as exc:  # as the OSError it wraps, which the set writer words
            cause = exc.args[0] if exc.args else None
            raise cause if isinstance(cause, OSError) else OSError(str(exc)) from exc
        with zipfile.ZipFile(self.path) as zin:
            parts = [(info, zin.read(info)) for info in zin.infolist()]
        sheets = {f"xl/worksheets/sheet{k}.xml": t for k, t in self.tables.items()}
        with zipfile.ZipFile(self.path, "w", zipfile.ZIP_DEFLATED) as zout:
            for info, data in parts:
                if info.filename in sheets:
                    data = _with_rows(data, sheets[info.filename], self._styles(sheets[info.filename]))
                elif info.filename.startswith("xl/charts/chart"):
                    data = _AXIS_SHOWN.sub(rb'\1<c:delete val="0"/>', data)
                # the fastest deflate level: a nation's 17 MB of rows pack in 0.09 s instead of 0.29 s,
                # the file about a third larger
                zout.writestr(info, data, zipfile.ZIP_DEFLATED, compresslevel=1)

    def _styles(self, t: Table) -> tuple[int, dict[int, int]]:
        """The quote-prefix style and the style of each styled column of `t`."""
        columns = {i: self.percent.xf_index for i, h in enumerate(t.header) if h in t.percent}
        if t.marks_from is not None:
            columns.update({i: self.mark.xf_index for i in range(t.marks_from, len(t.header))})
        return self.prefix.xf_index, columns


_SHEET_DATA = re.compile(rb"(<sheetData>.*?</row>).*?(</sheetData>)", re.S)
# Excel writes whether an axis is deleted right after its scaling, also when it is not (XlsxWriter
# leaves that out; tests/test_excel_reference.py compares with Excel's chart_column04.xlsx)
_AXIS_SHOWN = re.compile(rb"(</c:scaling>)(?!<c:delete )")
_DIMENSION = re.compile(rb'<dimension ref="[^"]*"/>')
_EXCEL_ESCAPE = re.compile(r"_(x[0-9A-Fa-f]{4}_)")  # Excel reads _xHHHH_ as a character: keep it literal
MAX_TEXT = 32767  # characters Excel holds in a cell


def _with_rows(xml: bytes, t: Table, styles: tuple[int, dict[int, int]]) -> bytes:
    """The sheet XML with the header row XlsxWriter wrote and `t`'s rows after it."""
    last = f"{xl_col_to_name(len(t.header) - 1)}{len(t.rows) + 1}"
    xml = _DIMENSION.sub(f'<dimension ref="A1:{last}"/>'.encode(), xml, count=1)
    rows = _rows_xml(t, *styles).encode("utf-8")
    return _SHEET_DATA.sub(lambda m: m.group(1) + rows + m.group(2), xml, count=1)


def _rows_xml(t: Table, prefix_style: int, column_styles: dict[int, int]) -> str:
    letters = [xl_col_to_name(i) for i in range(len(t.header))]
    styles = {i: f' s="{s}"' for i, s in column_styles.items()}
    texts: dict[str, str] = {}  # answers repeat: each text made holdable and escaped once
    out = []
    for r, row in enumerate(t.rows, start=2):
        cells = []
        for i, v in enumerate(row):
            if v is None:
                continue
            kind = v.__class__
            if kind is int or kind is float:  # not bool: its class is bool
                if math.isfinite(v):
                    cells.append(f'<c r="{letters[i]}{r}"{styles.get(i, "")}><v>{v!r}</v></c>')
            elif kind is bool:
                cells.append(f'<c r="{letters[i]}{r}" t="b"><v>{int(v)}</v></c>')
            else:
                tail = texts.get(v)
                if tail is None:
                    tail = texts[v] = _text_cell_tail(readable(str(v), keep_lines=True), prefix_style)
                cells.append(f'<c r="{letters[i]}{r}"{tail}')
        out.append(f'<row r="{r}">{"".join(cells)}</row>')
    return "".join(out)


def _xml_text(text: str) -> str:
    """Text as XML character data (xml.sax.saxutils.escape without importing urllib at start-up)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _text_cell_tail(text: str, prefix_style: int) -> str:
    text = _EXCEL_ESCAPE.sub(r"_x005F_\1", text[:MAX_TEXT])
    style = f' s="{prefix_style}"' if text.startswith(INJECTION_PREFIXES) else ""
    space = ' xml:space="preserve"' if text != text.strip() else ""
    return f'{style} t="inlineStr"><is><t{space}>{_xml_text(text)}</t></is></c>'


def holdable(row: list[object]) -> list[object]:
    """Text copied from files and books as any output can hold it (util.names.readable)."""
    return [readable(v, keep_lines=True) if isinstance(v, str) else v for v in row]


def csv_text(t: Table) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow([safe(h) for h in t.header])
    for row in t.rows:
        w.writerow(["" if v is None else safe(v) for v in holdable(row)])
    return buf.getvalue()


def unencodable(text: str, encoding: str) -> list[str]:
    """Characters of `text` that `encoding` cannot hold, each once, in order (the whole text is tried
    first: with UTF-8 nothing is left out, and a nation's CSVs hold millions of characters)."""
    try:
        text.encode(encoding)
        return []
    except UnicodeEncodeError:
        pass
    out: list[str] = []
    for ch in dict.fromkeys(text):
        try:
            ch.encode(encoding)
        except UnicodeEncodeError:
            out.append(ch)
    return out
