"""The analysis rendered: 分析結果.xlsx (util.sheets), 分析結果.html (templates/analysis.html.j2) and
小項目別実施率.csv, written as one set with analyze.json (the completion mark, last)."""

from __future__ import annotations

import json
from pathlib import Path

from xlsx_tool.analysis.model import LACKING_SHARE, Analysis
from xlsx_tool.util.atomic import write_set_atomically
from xlsx_tool.util.numbers import percent
from xlsx_tool.util.sheets import CM, Table, TableBook, csv_text, holdable
from xlsx_tool.util.templates import render

BOOK, PAGE, RATES_CSV, MARK = "分析結果.xlsx", "分析結果.html", "小項目別実施率.csv", "analyze.json"
RATE_COLUMNS = ("都道府県実施率", "全国実施率", "差", "前年度実施率", "増減", "県内実施率")
SOURCE_NOTE = "全国実施率は 厚生労働省 該当状況調査票集計表（全国1,741市町村）による。第三者による抽出表から取得"


def rates_table(a: Analysis) -> Table:
    """(1) Per item: the prefecture's rate against the nation's, furthest below the nation first."""
    header = ["年度", "列番号", "小項目", "内容", "配点", "都道府県該当数", "団体数", "都道府県実施率", "全国実施率", "差"]
    if a.has_previous:
        header += ["前年度実施率", "増減"]
    rows = []
    for r in a.by_gap():
        it = r.item
        row = [a.catalog.year, it.tally_column, it.label, it.text, it.points, r.met, r.of, r.rate, it.national, r.diff]
        rows.append(row + ([r.previous, r.change] if a.has_previous else []))
    return Table("小項目別実施率", header, rows, widths=[6, 7, 36, 50, 6, 8, 7, 9, 9, 9, 9, 9][:len(header)],
                 percent=RATE_COLUMNS, freeze_cols=3)


def matrix_table(a: Analysis) -> Table:
    """(2) Municipality × item: 1 met, 0 not (○/× in colour), with the total and the prefecture rank."""
    header = ["団体コード", "団体名", "合計", "県内順位", *[it.label for it in a.items]]
    rows = [[m.member.code, m.member.name, m.total, m.rank, *m.marks] for m in a.members]
    return Table("市町村別該当状況", header, rows, widths=[9, 14, 7, 7, *[5] * len(a.items)], freeze_cols=4,
                 marks_from=4, header_height=150)


def lacking_table(a: Analysis) -> Table:
    """(3) Per municipality: the items it lacks that most of its peers meet."""
    header = ["団体コード", "団体名", "小項目", "内容", "配点", "県内実施率", "全国実施率"]
    rows = [[m.member.code, m.member.name, r.item.label, r.item.text, r.item.points, r.rate, r.item.national]
            for m in sorted(a.members, key=lambda m: m.member.code) for r in m.lacking]
    return Table("未実施の小項目", header, rows, widths=[9, 14, 36, 60, 6, 9, 9], percent=RATE_COLUMNS)


def averages_table(a: Analysis) -> Table:
    """(4) Group, goal and grant means: the prefecture, the nation, last year."""
    header = ["区分", "配点", "県内平均", "全国平均", "全国平均の出典"]
    if a.has_previous:
        header += ["前年度県内平均", "増減"]
    rows = []
    for r in a.averages:
        row = [r.label, r.max, _points(r.mean), _points(r.national), r.national_source]
        rows.append(row + ([_points(r.previous), _points(r.change)] if a.has_previous else []))
    return Table("指標群別平均", header, rows, widths=[30, 6, 9, 9, 36, 12, 8][:len(header)], percent=())


def accounts_table(a: Analysis) -> Table:
    """Every input and every roster member without data, with why."""
    header = ["区分", "入力", "団体コード", "団体名", "理由"]
    rows = [[x.status, x.source, x.code, x.name, x.reason] for x in a.accounts]
    return Table("入力の確認", header, rows, widths=[12, 40, 9, 14, 80], percent=())


def _points(x: float | None) -> float | None:
    return None if x is None else round(x, 1)


def write_book(a: Analysis, path: Path) -> None:
    book = TableBook(path)
    book.table(rates_table(a))
    book.table(matrix_table(a))
    book.table(lacking_table(a))
    _averages_sheet(book, a)
    book.table(accounts_table(a))
    book.close()


def _averages_sheet(book: TableBook, a: Analysis) -> None:
    """Written cell by cell (a few rows) so that the chart's cache holds the values."""
    t = averages_table(a)
    ws = book.sheet(t.name)
    for i, width in enumerate(t.widths):
        ws.set_column(i, i, width)
    book.row(ws, 0, t.header, book.header)
    for r, row in enumerate(t.rows, start=1):
        book.row(ws, r, holdable(row))
    groups = [i for i, r in enumerate(a.averages, start=1) if r.level == "group"]
    chart = book.wb.add_chart({"type": "bar"})
    columns = [(2, "県内平均"), (3, "全国平均")] + ([(5, "前年度県内平均")] if a.has_previous else [])
    for col, _ in columns:
        chart.add_series({"name": [t.name, 0, col], "categories": [t.name, groups[0], 0, groups[-1], 0],
                          "values": [t.name, groups[0], col, groups[-1], col]})
    chart.set_title({"name": "指標群別の平均得点（県内・全国・前年度）"})
    chart.set_x_axis({"name": "得点"})
    chart.set_y_axis({"reverse": True})
    chart.set_size({"width": 22 * CM, "height": max(12, len(groups) * 1.1) * CM})
    ws.insert_chart(len(t.rows) + 2, 0, chart)
    ws.freeze_panes(1, 1)
    ws.set_paper(9)
    ws.set_landscape()
    ws.fit_to_pages(1, 0)


CSV_DIGITS = 6  # rates in the CSV are fractions (0.657143 = 65.7%), numbers a spreadsheet can sort and format


def rates_csv(a: Analysis) -> str:
    """小項目別実施率.csv: the rates table, rates as fractions rounded to CSV_DIGITS places."""
    t = rates_table(a)
    shown = {i for i, h in enumerate(t.header) if h in RATE_COLUMNS}
    rows = [[round(v, CSV_DIGITS) if i in shown and v is not None else v for i, v in enumerate(row)] for row in t.rows]
    return csv_text(Table(t.name, t.header, rows))


def html(a: Analysis) -> str:
    return render("analysis.html.j2", a=a, percent=percent, share=LACKING_SHARE, note=SOURCE_NOTE,
                  counts=status_counts(a))


def status_counts(a: Analysis) -> dict[str, int]:
    out: dict[str, int] = {}
    for x in a.accounts:
        out[x.status] = out.get(x.status, 0) + 1
    return out


def write_analysis(a: Analysis, out_dir: Path) -> list[Path]:
    """The workbook, the page, the CSV (UTF-8 with BOM) and analyze.json into `out_dir`, all or nothing
    (util.atomic). Raises util.atomic.OutputError when the set cannot be written."""
    text = html(a)
    data = json.dumps({"municipalities": len(a.members), "accounts": [x.__dict__ for x in a.accounts]},
                      ensure_ascii=False, indent=2)
    writers = {BOOK: lambda tmp: write_book(a, tmp),
               PAGE: lambda tmp: tmp.write_text(text, encoding="utf-8"),
               RATES_CSV: lambda tmp: tmp.write_bytes(rates_csv(a).encode("utf-8-sig")),
               MARK: lambda tmp: tmp.write_text(data, encoding="utf-8")}
    return write_set_atomically(out_dir, writers, MARK)
