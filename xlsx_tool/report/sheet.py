"""Gap report as a sheet (採点結果) in a copy of the workbook; input sheets are left untouched."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from openpyxl import load_workbook
from openpyxl.chart import BarChart
from openpyxl.chart import Reference as ChartRef
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from xlsx_tool.scoring.gap import GapReport
from xlsx_tool.util.atomic import write_atomically
from xlsx_tool.util.cells import put
from xlsx_tool.util.styles import BASE, BOLD, FILL_GOAL, FILL_GROUP, FILL_HEADER, PERCENT, TITLE, UNLOCKED, WRAP_TOP
from xlsx_tool.workbook.meta import SUMMARY_SHEET

REPORT_SHEET = "採点結果"
KEY_COL = "M"  # hidden: row keys for programs reading the report back
GOOD = Font(name=BASE.name, size=10, color="1A7F37")
BAD = Font(name=BASE.name, size=10, color="C62828", bold=True)
FILL_LEVEL = {"goal": FILL_GROUP, "grant": FILL_GOAL, "total": FILL_GOAL}
GROUP_HEADERS = [("交付金", 8), ("目標", 9), ("指標群", 16), ("得点", 7), ("配点", 7), ("得点率", 8),
                 ("全国平均", 9), ("全国中央値", 9), ("都道府県平均", 10), ("前年度", 8), ("全国差", 8),
                 ("前年差", 8)]


def _header(ws, row: int, headers) -> None:
    for i, (h, _) in enumerate(headers, start=1):
        put(ws, f"{get_column_letter(i)}{row}", h, font=BOLD, fill=FILL_HEADER,
             align=Alignment(horizontal="center", vertical="center", wrap_text=True))


def _section(ws, row: int, title: str) -> int:
    put(ws, f"A{row}", title, font=Font(name=BASE.name, size=12, bold=True), border=False,
         align=Alignment(vertical="center"))
    return row + 1


def _write_headline(ws, report: GapReport, row: int) -> int:
    total = report.total_row
    lines = [("総合計", total.own, total.max, total.rate, "total")]
    lines += [(f"{r.grant}交付金", r.own, r.max, r.rate, r.key) for r in report.rows if r.level == "grant"]
    for label, own, maximum, rate, key in lines:
        put(ws, f"A{row}", label, font=BOLD, fill=FILL_GOAL)
        ws.merge_cells(f"A{row}:B{row}")
        put(ws, f"C{row}", own, font=BOLD)
        put(ws, f"D{row}", f"/ {maximum:g} 点", border=False)
        put(ws, f"E{row}", rate, fmt=PERCENT)
        ws[f"{KEY_COL}{row}"] = f"headline:{key}"
        row += 1
    if total.national_mean is not None:
        put(ws, f"A{row}", "全国平均・中央値", font=BOLD, fill=FILL_GROUP)
        ws.merge_cells(f"A{row}:B{row}")
        put(ws, f"C{row}", total.national_mean)
        put(ws, f"D{row}", total.national_median)
        put(ws, f"E{row}", total.diff(total.national_mean), font=GOOD if total.status == "good" else BAD)
        ws[f"{KEY_COL}{row}"] = "headline:national"
        row += 1
    for rk in report.ranks:
        put(ws, f"A{row}", f"順位（{rk.scope}）", font=BOLD, fill=FILL_GROUP)
        ws.merge_cells(f"A{row}:B{row}")
        put(ws, f"C{row}", rk.rank)
        put(ws, f"D{row}", f"/ {rk.of}", border=False)
        ws[f"{KEY_COL}{row}"] = f"rank:{rk.scope}"
        row += 1
    for label in filter(None, [report.national_label and f"全国比較: {report.national_label}",
                               report.prefecture_label and f"都道府県比較: {report.prefecture_label}",
                               report.previous_label and f"前年度: {report.previous_label}"]):
        put(ws, f"A{row}", label, border=False, align=Alignment(vertical="top"))
        row += 1
    return row


def _write_groups(ws, report: GapReport, row: int) -> tuple[int, int, int]:
    _header(ws, row, GROUP_HEADERS)
    row += 1
    for r in report.rows:
        values = [r.grant, r.goal, r.group, r.own, r.max, r.rate, r.national_mean, r.national_median,
                  r.prefecture_mean, r.previous, r.diff(r.national_mean), r.diff(r.previous)]
        fill = FILL_LEVEL.get(r.level)
        for i, v in enumerate(values, start=1):
            font = BOLD if r.level in ("grant", "total") else BASE
            if i in (4, 11) and r.status != "none":
                font = GOOD if r.status == "good" else BAD
            put(ws, f"{get_column_letter(i)}{row}", v, font=font, fill=fill, fmt=PERCENT if i == 6 else None)
        ws[f"{KEY_COL}{row}"] = f"group:{r.key}"
        row += 1
    # chart data: one row per goal (rate, national mean rate), placed right of the table
    chart_rows = report.chart()
    start = row + 1
    put(ws, f"A{start}", "目標", font=BOLD, fill=FILL_HEADER)
    put(ws, f"B{start}", "自団体", font=BOLD, fill=FILL_HEADER)
    put(ws, f"C{start}", "全国平均", font=BOLD, fill=FILL_HEADER)
    for i, (label, own, nat) in enumerate(chart_rows, start=start + 1):
        put(ws, f"A{i}", label)
        put(ws, f"B{i}", own, fmt=PERCENT)
        put(ws, f"C{i}", nat, fmt=PERCENT)
        ws[f"{KEY_COL}{i}"] = f"chart:{label}"
    return start + len(chart_rows) + 1, start, len(chart_rows)


def _add_chart(ws, data_row: int, n: int, anchor: str) -> None:
    chart = BarChart()
    chart.type = "bar"
    chart.title = "目標別の得点率（全国平均との比較）"
    chart.y_axis.title = "得点率"
    chart.y_axis.scaling.min = 0
    chart.y_axis.scaling.max = 1
    chart.y_axis.number_format = "0%"
    chart.height, chart.width = 9, 16
    data = ChartRef(ws, min_col=2, max_col=3, min_row=data_row, max_row=data_row + n)
    cats = ChartRef(ws, min_col=1, min_row=data_row + 1, max_row=data_row + n)
    chart.add_data(data, titles_from_data=True)
    chart.set_categories(cats)
    ws.add_chart(chart, anchor)


def _write_table(ws, row: int, headers, rows, keys, memo_col: int | None = None) -> int:
    _header(ws, row, headers)
    row += 1
    for values, key in zip(rows, keys):
        for i, v in enumerate(values, start=1):
            c = put(ws, f"{get_column_letter(i)}{row}", v, align=WRAP_TOP)
            if memo_col == i:
                c.protection = UNLOCKED
        ws[f"{KEY_COL}{row}"] = key
        row += 1
    return row


def write_report_sheet(report: GapReport, source: str | Path, target: str | Path,
                       generated_at: str | None = None) -> Path:
    """Copy `source` to `target` with the report sheet added after 集計 (replacing an older one)."""
    source, target = Path(source), Path(target)
    if source.resolve() == target.resolve():
        raise ValueError("出力先が入力ブックと同じです。元のブックは変更しません。別のファイル名を指定してください")
    wb = load_workbook(source)
    if REPORT_SHEET in wb.sheetnames:
        del wb[REPORT_SHEET]
    ws = wb.create_sheet(REPORT_SHEET, index=wb.sheetnames.index(SUMMARY_SHEET) + 1)
    for i, (_, width) in enumerate(GROUP_HEADERS, start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.column_dimensions["B"].width = 30  # item labels and texts in the lower tables
    ws.column_dimensions["C"].width = 40
    ws.column_dimensions[KEY_COL].hidden = True
    who = " ".join(str(report.entity.get(k) or "") for k in ("prefecture", "entity_name")).strip()
    put(ws, "A1", f"{report.catalog.year_label} 評価結果 ギャップ報告 {who}", font=TITLE, border=False,
         align=Alignment(vertical="center"))
    put(ws, "A2", f"作成 {generated_at or datetime.now().strftime('%Y-%m-%d %H:%M')}（xlsx_tool、カタログ "
                   f"{report.catalog.id}）", border=False, align=Alignment(vertical="center"))
    row = _write_headline(ws, report, 4) + 1
    row = _section(ws, row, "目標・指標群別の得点")
    row, chart_row, n = _write_groups(ws, report, row)
    _add_chart(ws, chart_row, n, f"E{chart_row}")
    row = max(row, chart_row + 19) + 1
    row = _section(ws, row, "得点できなかった項目（失った点数の大きい順）")
    row = _write_table(
        ws, row, [("順", 5), ("項目", 30), ("内容", 40), ("失点", 6), ("回答", 8), ("全国得点率", 10), ("備考", 16)],
        [[i, m.label, m.text, m.lost, m.answer if m.answer is not None else "未回答",
          m.national_rate, ("多くの団体が得点 " if m.high else "") + m.note] for i, m in enumerate(report.missed, 1)],
        [f"missed:{m.answer_id}" for m in report.missed]) + 1
    row = _section(ws, row, "平均を下回った指標（課題と対応）")
    row = _write_table(
        ws, row, [("項目", 20), ("評価指標", 30), ("得点", 6), ("配点", 6), ("平均", 8), ("比較", 10), ("課題と対応", 40)],
        [[b.label, b.text, b.own, b.max, b.average, b.scope, None] for b in report.below],
        [f"below:{b.key}" for b in report.below], memo_col=7) + 1
    if report.previous_label:
        row = _section(ws, row, "前年度からの変化")
        changes = ([("新たに該当", c) for c in report.newly_met] + [("該当しなくなった", c) for c in report.newly_lost]
                   + [("得点の変化", c) for c in report.changed_points]
                   + [("対応付け（得点率）", c) for c in report.mapped])
        row = _write_table(ws, row, [("区分", 14), ("項目", 30), ("内容", 40), ("前年度", 8), ("今年度", 8)],
                           [[k, c.label, c.text, c.before, c.after] for k, c in changes],
                           [f"change:{c.answer_id}" for _, c in changes]) + 1
    for note in report.notes:
        put(ws, f"A{row}", f"※ {note}", border=False, align=Alignment(vertical="top"))
        row += 1
    ws.protection.sheet = True
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_area = f"A1:L{row}"
    ws.oddFooter.left.text = who.replace("&", "&&")  # & starts a header/footer code
    ws.oddFooter.center.text = "&P / &N"
    return write_atomically(target, lambda tmp: wb.save(tmp))
