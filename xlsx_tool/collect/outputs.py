"""Outputs of a collection: summary workbook, CSV exports and collect.json (all written atomically).

Text copied from returned books (names, answers, remarks) may start with =, +, -, @, tab or CR;
every such text is prefixed with an apostrophe so that no output cell can act as a formula.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
import zipfile
from bisect import bisect_right
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape as xml_escape

import xlsxwriter
from xlsxwriter.exceptions import FileCreateError
from xlsxwriter.utility import xl_col_to_name

from xlsx_tool.catalog.entity import code_key
from xlsx_tool.catalog.model import GROUP_LABELS, Catalog
from xlsx_tool.catalog.rules import is_met, level_reached, score_indicator
from xlsx_tool.collect.batch import Collection
from xlsx_tool.collect.results import REJECTED, STATUS_LABELS, WARNING, FileResult
from xlsx_tool.scoring.gap import answer_labels
from xlsx_tool.scoring.scorer import rate
from xlsx_tool.util.atomic import write_set_atomically
from xlsx_tool.util.cells import INJECTION_PREFIXES, safe
from xlsx_tool.util.names import readable, shown_name, shown_path
from xlsx_tool.util.styles import FILL_HEADER, FONT, PERCENT

SUMMARY_BOOK = "集計結果.xlsx"
COMPLETION_MARK = "collect.json"  # written last: its presence says the set beside it is whole


@dataclass
class Table:
    name: str  # sheet and CSV name
    header: list[str]
    rows: list[list[object]]
    widths: list[int] | None = None


def _score_columns(catalog: Catalog) -> list[tuple[str, str]]:
    cols = []
    for grant, goal, group in catalog.groups():
        cols.append((f"{goal.id}.{group.kind.value}", f"{grant.short}{goal.number} {GROUP_LABELS[group.kind]}"))
    cols += [(g.id, f"{g.short}交付金 合計") for g in catalog.grants]
    return cols


def _ranks(results: list[FileResult]) -> dict[str, int]:
    """Rank by total: 1 + the number of strictly higher totals (ties share a rank)."""
    totals = sorted(r.total for r in results if r.total is not None)
    return {code_key(r.code): 1 + len(totals) - bisect_right(totals, r.total) for r in results if r.total is not None}


def overview_table(col: Collection) -> Table:
    cat = col.catalog
    score_cols = _score_columns(cat)
    kept = {code_key(r.code): r for r in col.kept}
    ranks = _ranks(col.kept)
    header = ["団体コード", "団体名", "都道府県", "第1号被保険者数", *[label for _, label in score_cols],
              "合計", "得点率", "順位", "状態", "ファイル"]
    rows = []
    entities = [(e.entity.code, e.entity.name, e.entity.prefecture, e.entity.insured) for e in col.roster]
    known = {code_key(e[0]) for e in entities}
    entities += [(r.code, r.name, "", None) for r in col.kept if code_key(r.code) not in known]  # no roster
    for code, name, pref, insured in entities:
        r = kept.get(code_key(code))
        if r is None:
            rows.append([code, name, pref, insured, *[None] * len(score_cols), None, None, None, "未提出", None])
            continue
        rows.append([code, name or r.name, pref, insured, *[r.groups.get(k) for k, _ in score_cols], r.total,
                     rate(r.total, cat.total), ranks[code_key(code)], STATUS_LABELS[r.status], shown_name(r.file)])
    return Table("一覧", header, rows)


def answers_table(col: Collection) -> Table:
    cat = col.catalog
    labels = answer_labels(cat)
    ids = cat.answer_ids()
    header = ["団体コード", "団体名", *[labels[a] for a in ids]]
    rows = [[r.code, r.name, *[r.answers.get(a) for a in ids]] for r in sorted(col.kept, key=lambda r: r.code)]
    return Table("回答一覧", header, rows)


def _rate_items(catalog: Catalog):
    """(id, indicator, sub-item or None): every sub-item, and every indicator without sub-items."""
    for *_, ind in catalog.indicators():
        if ind.subitems:
            for sub in ind.subitems:
                if sub.same_as is None:  # a repeated sub-item has no answer of its own
                    yield sub.id, ind, sub
        else:
            yield ind.id, ind, None


def _item_value(ind, sub, answers) -> float:
    """1/0 for a sub-item met or not (a ladder: at least its first level reached); the points for an
    indicator scored as a whole (direct, figures)."""
    if sub is None:
        return score_indicator(ind, answers)
    if sub.bands:
        return int(level_reached(sub, answers.get(sub.id)) > 0)
    return int(is_met(answers.get(sub.id)))


def implementation_rates(catalog: Catalog, answer_sets: list[dict[str, object]]) -> dict[str, float]:
    """Per item: share of books meeting a sub-item, or mean points / max of an indicator without sub-items."""
    if not answer_sets:
        return {}
    return {aid: rate for aid, (_, rate) in _item_totals(catalog, answer_sets).items()}


def _item_totals(catalog: Catalog, answer_sets: list[dict[str, object]]) -> dict[str, tuple[float, float | None]]:
    """Per item: (books meeting it, or the sum of points; the rate as implementation_rates gives it)."""
    n = len(answer_sets)
    out = {}
    for aid, ind, sub in _rate_items(catalog):
        total = sum(_item_value(ind, sub, a) for a in answer_sets)
        out[aid] = (total, total / n / (1 if sub else ind.points or 1) if n else None)
    return out


def rates_table(col: Collection) -> Table:
    cat = col.catalog
    labels = answer_labels(cat)
    answers = [r.answers for r in col.kept]
    totals = _item_totals(cat, answers)
    texts = _answer_texts(cat)
    header = ["項目", "内容", "該当数（小項目のない指標は平均点）", "提出数", "実施率", "前年度実施率", "増減"]
    rows = []
    for aid, ind, sub in _rate_items(cat):
        total, now = totals[aid]
        count = total if sub is not None else (round(total / len(answers), 2) if answers else None)
        prev = col.previous_rates.get(aid)
        rows.append([labels[aid], texts[aid], count, len(answers), now, prev,
                     None if prev is None or now is None else now - prev])
    return Table("実施率", header, rows)


def _answer_texts(cat: Catalog) -> dict[str, str]:
    out = {}
    for *_, ind in cat.indicators():
        if ind.subitems:
            out.update({s.id: s.text for s in ind.subitems})
        else:
            out[ind.id] = ind.text
    return out


def review_table(col: Collection) -> Table:
    header = ["区分", "ファイル", "団体コード", "団体名", "理由"]
    rows = [[STATUS_LABELS[r.status], shown_path(r.file), r.code, r.name, r.reason]
            for r in col.files if r.status in (REJECTED, WARNING)]
    rows += [["未提出", None, e.entity.code, e.entity.name, col.missing_reason(e.entity.code)]
             for e in col.missing_entities()]
    return Table("要確認", header, rows)


def results_table(col: Collection) -> Table:
    """Accepted books in the national-results format (input of `report --compare` and `estimate`)."""
    cat = col.catalog
    keys = [g.id for g in cat.grants] + [goal.id for g in cat.grants for goal in g.goals] + \
        [k for k, _ in _score_columns(cat) if "." in k]
    roster = {code_key(e.entity.code): e.entity for e in col.roster}
    rows = []
    for r in sorted(col.kept, key=lambda r: r.code):
        ent = roster.get(code_key(r.code))
        rows.append([r.code, ent.name if ent else r.name, ent.prefecture if ent else "",
                     ent.insured if ent else None, r.total, *[r.groups.get(k) for k in keys]])
    return Table("結果", ["code", "name", "prefecture", "insured", "total", *keys], rows)


def tables(col: Collection) -> list[Table]:
    return [overview_table(col), answers_table(col), rates_table(col), review_table(col), results_table(col)]


PERCENT_COLUMNS = ("得点率", "実施率", "前年度実施率", "増減")
CM = 37.8  # pixels per centimetre at 96 dpi (XlsxWriter sizes charts in pixels)


class _SummaryWriter:
    """集計結果.xlsx: XlsxWriter writes the book (styles, header rows, frozen panes, filters, print
    setup, the chart: the XML Excel itself writes); the data rows of the tables, hundreds of thousands
    of cells for a nation's books, are then put into each sheet's XML directly (`_rows_xml`), some
    ten times faster than through either library. Values are written by type: text is always an
    inline string, never a formula or a link; text that would start a formula carries Excel's
    quotePrefix (what typing an apostrophe gives)."""

    def __init__(self, path: Path):
        self.path = path
        self.wb = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_urls": False,
                                                  "nan_inf_to_errors": True})
        header = {"bold": True, "font_name": FONT, "font_size": 10, "pattern": 1,
                  "bg_color": "#" + FILL_HEADER.fgColor.rgb[-6:]}
        self.header = self.wb.add_format(header)
        self.header_prefix = self.wb.add_format({**header, "quote_prefix": True})
        self.prefix = self.wb.add_format({"quote_prefix": True})
        self.percent = self.wb.add_format({"num_format": PERCENT})
        self.tables: list[Table] = []

    def _row(self, ws, r: int, values, text_format=None) -> None:
        for c, v in enumerate(values):
            if v is None:
                continue
            if isinstance(v, (int, float)):
                ws.write_number(r, c, v)
            else:
                text = str(v)
                prefixed = text.startswith(INJECTION_PREFIXES)
                ws.write_string(r, c, text, (self.header_prefix if text_format is self.header else self.prefix)
                                if prefixed else text_format)

    def table(self, t: Table) -> None:
        """The sheet with its header; its rows are put in by `close`."""
        ws = self.wb.add_worksheet(t.name)
        for i, h in enumerate(t.header):
            ws.set_column(i, i, max(8, min(40, len(str(h)) * 2)), self.percent if h in PERCENT_COLUMNS else None)
        self._row(ws, 0, _holdable(t.header), self.header)
        # the row-2 cells only make XlsxWriter keep the two cell styles the rows use; close() replaces them
        ws.write_blank(1, 0, None, self.prefix)
        ws.write_blank(1, 1, None, self.percent)
        ws.freeze_panes(1, 2)
        ws.autofilter(0, 0, len(t.rows), len(t.header) - 1)
        # printed by the prefecture: A4 landscape, all columns on the page width, the header on every page
        ws.set_paper(9)
        ws.set_landscape()
        ws.fit_to_pages(1, 0)
        ws.repeat_rows(0)
        ws.set_footer("&C&A  &P / &N")
        self.tables.append(t)

    def totals_chart(self, col: Collection) -> None:
        kept = sorted(col.kept, key=lambda r: -(r.total or 0))
        if not kept:
            return
        ws = self.wb.add_worksheet("グラフ")
        mean = sum(r.total for r in kept) / len(kept)
        self._row(ws, 0, ["団体", "合計", "平均"])
        for r, book in enumerate(kept, start=1):
            self._row(ws, r, _holdable([book.name or book.code, book.total, mean]))
        n = len(kept)
        bar = self.wb.add_chart({"type": "column"})
        bar.add_series({"name": ["グラフ", 0, 1], "categories": ["グラフ", 1, 0, n, 0], "values": ["グラフ", 1, 1, n, 1]})
        line = self.wb.add_chart({"type": "line"})
        line.add_series({"name": ["グラフ", 0, 2], "categories": ["グラフ", 1, 0, n, 0], "values": ["グラフ", 1, 2, n, 2]})
        bar.combine(line)
        bar.set_title({"name": "団体別の合計得点と平均"})
        bar.set_y_axis({"name": "得点"})
        bar.set_size({"width": max(16, n * 0.6) * CM, "height": 10 * CM})
        ws.insert_chart("E2", bar)

    def close(self) -> None:
        try:
            self.wb.close()
        except FileCreateError as exc:  # as the OSError it wraps, which the set writer words
            cause = exc.args[0] if exc.args else None
            raise cause if isinstance(cause, OSError) else OSError(str(exc)) from exc
        with zipfile.ZipFile(self.path) as zin:
            parts = [(info, zin.read(info)) for info in zin.infolist()]
        styles = (self.prefix.xf_index, self.percent.xf_index)
        sheets = {f"xl/worksheets/sheet{k}.xml": t for k, t in enumerate(self.tables, start=1)}
        with zipfile.ZipFile(self.path, "w", zipfile.ZIP_DEFLATED) as zout:
            for info, data in parts:
                if info.filename in sheets:
                    data = _with_rows(data, sheets[info.filename], *styles)
                elif info.filename.startswith("xl/charts/chart"):
                    data = _AXIS_SHOWN.sub(rb'\1<c:delete val="0"/>', data)
                zout.writestr(info, data, zipfile.ZIP_DEFLATED)


_SHEET_DATA = re.compile(rb"(<sheetData>.*?</row>).*?(</sheetData>)", re.S)
# Excel writes whether an axis is deleted right after its scaling, also when it is not (XlsxWriter
# leaves that out; tests/test_excel_reference.py compares with Excel's chart_column04.xlsx)
_AXIS_SHOWN = re.compile(rb"(</c:scaling>)(?!<c:delete )")
_DIMENSION = re.compile(rb'<dimension ref="[^"]*"/>')
_EXCEL_ESCAPE = re.compile(r"_(x[0-9A-Fa-f]{4}_)")  # Excel reads _xHHHH_ as a character: keep it literal
MAX_TEXT = 32767  # characters Excel holds in a cell


def _with_rows(xml: bytes, t: Table, prefix_style: int, percent_style: int) -> bytes:
    """The sheet XML with the header row XlsxWriter wrote and `t`'s rows after it."""
    last = f"{xl_col_to_name(len(t.header) - 1)}{len(t.rows) + 1}"
    xml = _DIMENSION.sub(f'<dimension ref="A1:{last}"/>'.encode(), xml, count=1)
    rows = _rows_xml(t, prefix_style, percent_style).encode("utf-8")
    return _SHEET_DATA.sub(lambda m: m.group(1) + rows + m.group(2), xml, count=1)


def _rows_xml(t: Table, prefix_style: int, percent_style: int) -> str:
    letters = [xl_col_to_name(i) for i in range(len(t.header))]
    percent = {i for i, h in enumerate(t.header) if h in PERCENT_COLUMNS}
    texts: dict[str, str] = {}  # answers repeat: each text escaped once
    out = []
    for r, row in enumerate(t.rows, start=2):
        cells = []
        for i, v in enumerate(_holdable(row)):
            if v is None:
                continue
            if isinstance(v, bool):
                cells.append(f'<c r="{letters[i]}{r}" t="b"><v>{int(v)}</v></c>')
            elif isinstance(v, (int, float)):
                if math.isfinite(v):
                    style = f' s="{percent_style}"' if i in percent else ""
                    cells.append(f'<c r="{letters[i]}{r}"{style}><v>{v!r}</v></c>')
            else:
                tail = texts.get(v)
                if tail is None:
                    tail = texts[v] = _text_cell_tail(str(v), prefix_style)
                cells.append(f'<c r="{letters[i]}{r}"{tail}')
        out.append(f'<row r="{r}">{"".join(cells)}</row>')
    return "".join(out)


def _text_cell_tail(text: str, prefix_style: int) -> str:
    text = _EXCEL_ESCAPE.sub(r"_x005F_\1", text[:MAX_TEXT])
    style = f' s="{prefix_style}"' if text.startswith(INJECTION_PREFIXES) else ""
    space = ' xml:space="preserve"' if text != text.strip() else ""
    return f'{style} t="inlineStr"><is><t{space}>{xml_escape(text)}</t></is></c>'


def write_summary_book(col: Collection, path: Path, made: list[Table] | None = None) -> None:
    book = _SummaryWriter(path)
    for t in made or tables(col):
        book.table(t)
    book.totals_chart(col)
    book.close()


def _holdable(row: list[object]) -> list[object]:
    """Text copied from files and books as any output can hold it (util.names.readable)."""
    return [readable(v, keep_lines=True) if isinstance(v, str) else v for v in row]


def csv_text(t: Table) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow([safe(h) for h in t.header])
    for row in t.rows:
        w.writerow(["" if v is None else safe(v) for v in _holdable(row)])
    return buf.getvalue()


def unencodable(text: str, encoding: str) -> list[str]:
    """Characters of `text` that `encoding` cannot hold, each once, in order."""
    out: list[str] = []
    for ch in text:
        if ch not in out:
            try:
                ch.encode(encoding)
            except UnicodeEncodeError:
                out.append(ch)
    return out


def write_outputs(col: Collection, out_dir: Path, encoding: str = "utf-8-sig") -> dict[str, list[str]]:
    """Write 集計結果.xlsx, one CSV per table and collect.json into `out_dir` as one set (util.atomic:
    all or nothing; collect.json, the completion mark, last). Returns, per CSV, the characters
    replaced by '?' (cp932 only). Raises util.atomic.OutputError when the set cannot be written."""
    made = tables(col)
    writers: dict[str, object] = {SUMMARY_BOOK: lambda tmp: write_summary_book(col, tmp, made)}
    lost: dict[str, list[str]] = {}
    for t in made:
        text = csv_text(t)
        if bad := unencodable(text, encoding):
            lost[f"{t.name}.csv"] = bad
        writers[f"{t.name}.csv"] = lambda tmp, d=text.encode(encoding, errors="replace"): tmp.write_bytes(d)
    data = json.dumps([r.to_json() for r in col.files], ensure_ascii=False, indent=2)
    writers[COMPLETION_MARK] = lambda tmp: tmp.write_text(data, encoding="utf-8")
    write_set_atomically(out_dir, writers, COMPLETION_MARK)
    return lost
