"""Gap report as a sheet (採点結果) in a copy of the workbook; input sheets are left untouched."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from openpyxl.chart import BarChart
from openpyxl.chart import Reference as ChartRef
from openpyxl.styles import Alignment
from openpyxl.utils import get_column_letter

from xlsx_tool.report.layout import GapLayout, LayoutTable, gap_layout, group_headers, who
from xlsx_tool.scoring.gap import GapReport
from xlsx_tool.util.atomic import write_atomically
from xlsx_tool.util.cells import put
from xlsx_tool.util.problems import message
from xlsx_tool.util.styles import (
    BASE,
    BOLD,
    FILL_GOAL,
    FILL_GROUP,
    FILL_HEADER,
    TITLE,
    UNLOCKED,
    WRAP_TOP,
    font,
    show_axes,
    use_default_row_height,
)
from xlsx_tool.workbook.filler import cache_values
from xlsx_tool.workbook.ignored_errors import mark_code_cells
from xlsx_tool.workbook.meta import SUMMARY_SHEET
from xlsx_tool.workbook.protection import protect_sheet
from xlsx_tool.workbook.x14_validations import load_keeping_validations

REPORT_SHEET = "採点結果"
KEY_COL = "M"  # hidden: row keys for programs reading the report back
GOOD = font(10, color="1A7F37")
BAD = font(10, color="C62828", bold=True)
MARK_FONT = {"good": GOOD, "bad": BAD}
FILL_LEVEL = {"goal": FILL_GROUP, "grant": FILL_GOAL, "total": FILL_GOAL}
CHART_ROWS = 19  # rows the chart takes beside and below its data
SECTION = font(12, bold=True)


def _header(ws, row: int, headers) -> None:
    for i, (h, _) in enumerate(headers, start=1):
        put(ws, f"{get_column_letter(i)}{row}", h, font=BOLD, fill=FILL_HEADER,
            align=Alignment(horizontal="center", vertical="center", wrap_text=True))


def _section(ws, row: int, title: str) -> int:
    put(ws, f"A{row}", title, font=SECTION, border=False,
        align=Alignment(vertical="center"))
    return row + 1


def _write_headline(ws, layout: GapLayout, row: int) -> int:
    for line in layout.headline:
        grant = line.level == "grant"
        label, _, figure, of, *rest = line.values
        put(ws, f"A{row}", label, font=BOLD, fill=FILL_GOAL if grant else FILL_GROUP)
        ws.merge_cells(f"A{row}:B{row}")
        put(ws, f"C{row}", figure, font=BOLD if grant else BASE)
        put(ws, f"D{row}", of, border=not isinstance(of, str))  # "/ 380 点" stands beside its figure
        if rest:
            put(ws, f"E{row}", rest[0], fmt=line.formats.get(4), font=MARK_FONT.get(line.marks.get(4), BASE))
        ws[f"{KEY_COL}{row}"] = line.key
        row += 1
    for label in layout.labels:
        put(ws, f"A{row}", label, border=False, align=Alignment(vertical="top"))
        row += 1
    return row


def _write_table(ws, row: int, table: LayoutTable) -> int:
    _header(ws, row, table.headers)
    return _write_rows(ws, row + 1, table)


def _write_rows(ws, row: int, table: LayoutTable) -> int:
    for line in table.rows:
        fill = FILL_LEVEL.get(line.level)
        bold = line.level in ("grant", "total")
        for i, v in enumerate(line.values):
            font = MARK_FONT.get(line.marks.get(i), BOLD if bold else BASE)
            c = put(ws, f"{get_column_letter(i + 1)}{row}", v, font=font, fill=fill, fmt=line.formats.get(i),
                    align=WRAP_TOP)
            if table.memo_column == i:
                c.protection = UNLOCKED
        ws[f"{KEY_COL}{row}"] = line.key
        row += 1
    return row


def _add_chart(ws, data_row: int, n: int, anchor: str, title: str) -> None:
    chart = BarChart()
    chart.type = "bar"
    chart.title = title
    chart.y_axis.title = "得点率"
    chart.y_axis.scaling.min = 0
    chart.y_axis.scaling.max = 1
    chart.y_axis.number_format = "0%"
    chart.height, chart.width = 9, 16
    data = ChartRef(ws, min_col=2, max_col=3, min_row=data_row, max_row=data_row + n)
    cats = ChartRef(ws, min_col=1, min_row=data_row + 1, max_row=data_row + n)
    chart.add_data(data, titles_from_data=True)
    chart.set_categories(cats)
    show_axes(chart)
    ws.add_chart(chart, anchor)


def write_report_sheet(report: GapReport, source: str | Path, target: str | Path,
                       generated_at: str | None = None) -> Path:
    """Copy `source` to `target` with the report sheet added after 集計 (replacing an older one)."""
    source, target = Path(source), Path(target)
    if source.resolve() == target.resolve():
        raise ValueError(message("report.same_file"))
    layout = gap_layout(report)
    wb = load_keeping_validations(source)  # a book saved in Excel has its dropdowns where openpyxl drops them
    if REPORT_SHEET in wb.sheetnames:
        del wb[REPORT_SHEET]
    ws = wb.create_sheet(REPORT_SHEET, index=wb.sheetnames.index(SUMMARY_SHEET) + 1)
    use_default_row_height(*wb.worksheets)  # openpyxl read the others back with its baseColWidth
    for i, (_, width) in enumerate(group_headers(), start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.column_dimensions["B"].width = 30  # item labels and texts in the lower tables
    ws.column_dimensions["C"].width = 40
    ws.column_dimensions[KEY_COL].hidden = True
    put(ws, "A1", layout.title, font=TITLE, border=False, align=Alignment(vertical="center"))
    put(ws, "A2", f"作成 {generated_at or datetime.now().strftime('%Y-%m-%d %H:%M')}（xlsx_tool、カタログ "
                  f"{report.catalog.id}）", border=False, align=Alignment(vertical="center"))
    row = _write_headline(ws, layout, 4) + 1
    for table in layout.tables:
        if table.key == "chart":  # the data right below the groups (plain header), the chart beside it
            chart_row = row + 1
            for i, (h, _) in enumerate(table.headers, start=1):
                put(ws, f"{get_column_letter(i)}{chart_row}", h, font=BOLD, fill=FILL_HEADER)
            row = _write_rows(ws, chart_row + 1, table)
            _add_chart(ws, chart_row, len(table.rows), f"E{chart_row}", table.title)
            row = max(row, chart_row + CHART_ROWS) + 1
            continue
        row = _write_table(ws, _section(ws, row, table.title), table)
        if table.key != "groups":
            row += 1
    for note in layout.notes:
        put(ws, f"A{row}", f"※ {note}", border=False, align=Alignment(vertical="top"))
        row += 1
    protect_sheet(ws)  # the chart and the notes too, as Excel protects
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "portrait"
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_area = f"A1:L{row}"
    ws.print_title_rows = "1:1"  # the title (year, prefecture, municipality) on every printed page
    who_text = who(report.entity)
    ws.oddFooter.left.text = who_text.replace("&", "&&")  # & starts a header/footer code
    ws.oddFooter.center.text = "&P / &N"
    mark_code_cells(wb)  # openpyxl drops what the book had
    cache_values(wb, report.catalog)
    return write_atomically(target, lambda tmp: wb.save(tmp))
