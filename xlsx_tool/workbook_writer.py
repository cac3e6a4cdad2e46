"""openpyxl adapter: write a self-assessment workbook from a catalog.

Sheets: 表紙 (cover), one input sheet per grant, 集計 (summary), 留意点 (notes), and two hidden
sheets: _lists (dropdown sources) and _meta (identification of the book).
Every formula comes from rules.py; this module only places cells and styles them.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Mapping
from copy import copy
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.formatting.rule import FormulaRule
from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side
from openpyxl.utils import get_column_letter
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.workbook.protection import WorkbookProtection
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from . import __version__
from .atomic import write_atomically
from .catalog import (ANSWER_CHOICES, GROUP_LABELS, KIND_LABELS, PROVENANCE_LABELS, Catalog, DirectRule,
                      GroupKind, Indicator, Kind, SumRule, ThresholdsRule)
from .eligibility import INPUT_ROWS, YES, NO, sheet_formulas
from .entity import Entity, size_class
from .catalog import ratio_ids
from .rules import allowed_points, figure_formula, indicator_formula, rule_summary, subitem_formula
from .templates_env import render
from .workbook_meta import (COL_ANSWER, COL_DONE, COL_ID, COL_NUMBER, COL_POINTS, COL_PREVIOUS, COL_REMARKS,
                            COL_SCORE, COL_SOURCE, COL_TEXT, COVER_SHEET, FIRST_DATA_ROW, HEADER_ROW, LISTS_SHEET,
                            META_SHEET, SUMMARY_SHEET, TOOL_ID, ELIGIBILITY_FIRST_ROW, ELIGIBILITY_SHEET,
                            defined_name_for, eligibility_cells, input_sheet_name, quote_sheet)

NOTES_SHEET = "留意点"
YES_NO = (YES, NO)
FONT = "游ゴシック"
BASE = Font(name=FONT, size=10)
BOLD = Font(name=FONT, size=10, bold=True)
TITLE = Font(name=FONT, size=14, bold=True)
WRAP_TOP = Alignment(wrap_text=True, vertical="top")
CENTER = Alignment(horizontal="center", vertical="top", wrap_text=True)
FILL_GOAL = PatternFill("solid", fgColor="DDEBF7")
FILL_GROUP = PatternFill("solid", fgColor="F2F2F2")
FILL_HEADER = PatternFill("solid", fgColor="BDD7EE")
FILL_INPUT = PatternFill("solid", fgColor="FFFFFF")
FILL_UNANSWERED = PatternFill("solid", fgColor="FFF2CC")
THIN = Side(style="thin", color="A6A6A6")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
UNLOCKED = Protection(locked=False)
PERCENT = "0.0%"
POINTS_FMT = "General"

INPUT_COLUMNS = {  # column: (header, width)
    COL_NUMBER: ("番号", 7), COL_TEXT: ("評価指標・評価項目", 62), COL_POINTS: ("配点", 7),
    COL_ANSWER: ("回答", 10), COL_SCORE: ("得点", 7), COL_REMARKS: ("根拠・備考", 30),
    COL_SOURCE: ("出典", 22), COL_ID: ("id", 12), COL_DONE: ("回答済", 6),
}


@dataclass
class SheetLayout:
    """Where the writer put things on one input sheet (used for subtotals and the summary)."""

    name: str
    total_cell: str = ""
    goal_cells: dict[str, str] = field(default_factory=dict)
    group_cells: dict[tuple[str, str], str] = field(default_factory=dict)
    last_row: int = FIRST_DATA_ROW


class _Validations:
    """One DataValidation per distinct list, so a sheet carries few validation records."""

    def __init__(self, lists_ws: Worksheet):
        self.lists_ws = lists_ws
        self.by_key: dict[tuple, DataValidation] = {}
        self.list_columns: dict[tuple, str] = {}

    def list_range(self, values: tuple) -> str:
        if values not in self.list_columns:
            col = get_column_letter(len(self.list_columns) + 1)
            for i, v in enumerate(values, start=1):
                self.lists_ws[f"{col}{i}"] = v
            self.list_columns[values] = f"{quote_sheet(LISTS_SHEET)}!${col}$1:${col}${len(values)}"
        return self.list_columns[values]

    def add_number(self, ws: Worksheet, cell: str) -> None:
        self.add_custom(ws, cell, (ws.title, "number"), lambda: DataValidation(
            type="decimal", operator="greaterThanOrEqual", formula1="0",
            promptTitle="数値", prompt="0 以上の数値を入力してください。",
            errorTitle="入力エラー", error="0 以上の数値を入力してください。"))

    def add_custom(self, ws: Worksheet, cell: str, key: tuple, make) -> None:
        if key not in self.by_key:
            dv = make()
            dv.showErrorMessage = True
            dv.showInputMessage = True
            dv.errorStyle = "stop"
            dv.allow_blank = True
            ws.add_data_validation(dv)
            self.by_key[key] = dv
        self.by_key[key].add(cell)

    def add(self, ws: Worksheet, cell: str, ind: Indicator, is_subitem: bool) -> None:
        if is_subitem:
            key = (ws.title, "choice")
            make = lambda: DataValidation(  # noqa: E731
                type="list", formula1=self.list_range(ANSWER_CHOICES),
                promptTitle="回答", prompt="「該当」または「非該当」をリストから選んでください。",
                errorTitle="入力エラー", error="リストから「該当」または「非該当」を選んでください。")
        elif isinstance(ind.rule, DirectRule):
            values = tuple(allowed_points(ind))
            key = (ws.title, "points", values)
            make = lambda: DataValidation(  # noqa: E731
                type="list", formula1=self.list_range(values),
                promptTitle="得点", prompt=f"得点（0～{values[-1]} 点）をリストから選んでください。",
                errorTitle="入力エラー", error=f"0～{values[-1]} 点の範囲でリストから選んでください。")
        else:
            assert isinstance(ind.rule, ThresholdsRule)
            self.add_number(ws, cell)
            return
        self.add_custom(ws, cell, key, make)


def _row_height(text: str, width_chars: int) -> float:
    # CJK characters take about two width units; 13.5pt per line at 10pt type.
    units = sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)
    lines = sum(max(1, math.ceil(sum(2 if ord(c) > 0x2E80 else 1 for c in part) / width_chars))
                for part in text.split("\n")) if text else 1
    return max(15.0, 13.5 * max(lines, math.ceil(units / width_chars)) + 3)


def _put(ws: Worksheet, ref: str, value, font=BASE, fill=None, align=WRAP_TOP, fmt=None, border=True,
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


def _indicator_comment(ind: Indicator) -> Comment | None:
    parts = [f"【採点方法】{rule_summary(ind)}"]
    if ind.period:
        parts.append(f"【時点】{ind.period}")
    if ind.notes:
        parts.append(ind.notes)
    prov = ind.provenance
    src = "・".join(f"[{s}]" for s in prov.sources)
    parts.append(f"【出典】{PROVENANCE_LABELS[prov.status]} {src} {prov.note}".rstrip())
    comment = Comment("\n".join(parts), "xlsx_tool")
    comment.width, comment.height = 480, min(800, 60 + 14 * len("\n".join(parts)) // 30)
    return comment


def _source_label(ind: Indicator) -> str:
    src = "".join(f"[{s}]" for s in ind.provenance.sources)
    return f"{PROVENANCE_LABELS[ind.provenance.status]} {src}".strip()


def _write_answer_cells(ws, row, answer_id, ind, is_subitem, validations, previous, prefill):
    ref = f"{COL_ANSWER}{row}"
    if previous is not None:
        _put(ws, f"{COL_PREVIOUS}{row}", previous.get(answer_id), align=CENTER)
    _put(ws, ref, prefill.get(answer_id), fill=FILL_INPUT, align=CENTER).protection = UNLOCKED
    _put(ws, f"{COL_REMARKS}{row}", None).protection = UNLOCKED
    ws[f"{COL_DONE}{row}"] = f"=IF(LEN({ref})>0,1,0)"
    validations.add(ws, ref, ind, is_subitem)
    return ref


def _write_indicator(ws, row, ind, validations, previous, prefill) -> tuple[int, str]:
    """Write an indicator (and its sub-items) from `row`; return next row and its score cell."""
    ind_row = row
    _put(ws, f"{COL_NUMBER}{row}", ind.number, font=BOLD, align=CENTER)
    text_cell = _put(ws, f"{COL_TEXT}{row}", ind.text, font=BOLD)
    text_cell.comment = _indicator_comment(ind)
    _put(ws, f"{COL_POINTS}{row}", ind.points, align=CENTER)
    _put(ws, f"{COL_SOURCE}{row}", _source_label(ind), font=Font(name=FONT, size=8))
    ws[f"{COL_ID}{row}"] = ind.id
    ws.row_dimensions[row].height = max(_row_height(ind.text, INPUT_COLUMNS[COL_TEXT][1]),
                                        _row_height(_source_label(ind), INPUT_COLUMNS[COL_SOURCE][1] + 8))
    refs: dict[str, str] = {}
    sub_cells: dict[str, str] = {}
    ratio = getattr(ind.rule, "ratio", None)
    if ratio is not None:
        row = _write_ratio_rows(ws, row, ind, ratio, refs, validations, previous, prefill)
    elif not ind.subitems:
        refs[ind.id] = _write_answer_cells(ws, row, ind.id, ind, False, validations, previous, prefill)
    for sub in ind.subitems:
        row += 1
        refs[sub.id] = _write_answer_cells(ws, row, sub.id, ind, True, validations, previous, prefill)
    last_row, row = row, ind_row
    for sub in ind.subitems:
        row += 1
        _put(ws, f"{COL_NUMBER}{row}", sub.label, align=CENTER)
        _put(ws, f"{COL_TEXT}{row}", sub.text)
        _put(ws, f"{COL_POINTS}{row}", sub.points if isinstance(ind.rule, SumRule) else None, align=CENTER)
        fmt = POINTS_FMT if isinstance(ind.rule, SumRule) else '"○";;"－"'  # tiers: counted or not
        sub_cells[sub.id] = f"{COL_SCORE}{row}"
        _put(ws, sub_cells[sub.id], subitem_formula(ind, sub, refs), align=CENTER, fmt=fmt, formula=True)
        _put(ws, f"{COL_SOURCE}{row}", None)
        ws[f"{COL_ID}{row}"] = sub.id
        ws.row_dimensions[row].height = _row_height(sub.text, INPUT_COLUMNS[COL_TEXT][1])
    score_cell = f"{COL_SCORE}{ind_row}"
    _put(ws, score_cell, indicator_formula(ind, refs, sub_cells), font=BOLD, align=CENTER, fmt=POINTS_FMT, formula=True)
    return last_row + 1, score_cell


def _write_ratio_rows(ws, row, ind, ratio, refs, validations, previous, prefill) -> int:
    """Numerator and denominator inputs, then the live figure the thresholds apply to."""
    for aid, label in zip(ratio_ids(ind), (ratio.numerator, ratio.denominator)):
        row += 1
        _put(ws, f"{COL_NUMBER}{row}", "数値", align=CENTER)
        _put(ws, f"{COL_TEXT}{row}", label)
        _put(ws, f"{COL_POINTS}{row}", None)
        _put(ws, f"{COL_SCORE}{row}", None)
        _put(ws, f"{COL_SOURCE}{row}", None)
        ws[f"{COL_ID}{row}"] = aid
        refs[aid] = _write_answer_cells(ws, row, aid, ind, False, validations, previous, prefill)
    row += 1
    refs[ind.id] = f"{COL_ANSWER}{row}"
    _put(ws, f"{COL_NUMBER}{row}", "算出", align=CENTER)
    text = f"{ratio.numerator} ÷ {ratio.denominator} × {ratio.per:g}（{ind.rule.unit}）"
    _put(ws, f"{COL_TEXT}{row}", text)
    ws.row_dimensions[row].height = _row_height(text, INPUT_COLUMNS[COL_TEXT][1])
    _put(ws, f"{COL_POINTS}{row}", None)
    _put(ws, refs[ind.id], figure_formula(ind, refs), align=CENTER, fmt="0.00", formula=True)
    for col in (COL_SCORE, COL_REMARKS, COL_SOURCE):
        _put(ws, f"{col}{row}", None)
    return row


def _band(ws, row, label_a, label_b, points, formula, fill, font=BOLD):
    for col in INPUT_COLUMNS:
        if col not in (COL_ID, COL_DONE):
            _put(ws, f"{col}{row}", None, fill=fill, font=font)
    _put(ws, f"{COL_NUMBER}{row}", label_a, fill=fill, font=font, align=CENTER)
    _put(ws, f"{COL_TEXT}{row}", label_b, fill=fill, font=font)
    _put(ws, f"{COL_POINTS}{row}", points, fill=fill, font=font, align=CENTER)
    _put(ws, f"{COL_SCORE}{row}", formula, fill=fill, font=font, align=CENTER, fmt=POINTS_FMT, formula=True)


def _write_input_sheet(wb, catalog: Catalog, grant, entity: Entity, validations, previous, prefill) -> SheetLayout:
    ws = wb.create_sheet(input_sheet_name(grant))
    layout = SheetLayout(name=ws.title)
    _put(ws, "A1", f"{catalog.year_label} {grant.name} 自己評価（{KIND_LABELS[catalog.kind]}分） {entity.label}",
         font=TITLE, align=Alignment(vertical="center"), border=False)
    _put(ws, "B2", f"{grant.short}交付金 合計", font=BOLD, align=Alignment(horizontal="right"), border=False)
    _put(ws, f"{COL_POINTS}2", grant.points, font=BOLD, align=CENTER)
    columns = dict(INPUT_COLUMNS)
    if previous is not None:
        columns[COL_PREVIOUS] = ("前年度回答", 10)
    for col, (header, width) in columns.items():
        _put(ws, f"{col}{HEADER_ROW}", header, font=BOLD, fill=FILL_HEADER, align=CENTER)
        ws.column_dimensions[col].width = width
    row = FIRST_DATA_ROW
    goal_cells = []
    for goal in grant.goals:
        goal_row, row = row, row + 1
        group_cells = []
        for group in goal.groups:
            group_row, row = row, row + 1
            ind_cells = []
            for ind in group.indicators:
                row, cell = _write_indicator(ws, row, ind, validations, previous, prefill)
                ind_cells.append(cell)
            cell = f"{COL_SCORE}{group_row}"
            _band(ws, group_row, "", GROUP_LABELS[group.kind], group.points, f"=SUM({','.join(ind_cells)})",
                  FILL_GROUP)
            layout.group_cells[(goal.id, group.kind.value)] = cell
            group_cells.append(cell)
        cell = f"{COL_SCORE}{goal_row}"
        _band(ws, goal_row, f"目標{goal.number}", goal.name, goal.points, f"=SUM({','.join(group_cells)})",
              FILL_GOAL)
        layout.goal_cells[goal.id] = cell
        goal_cells.append(cell)
    layout.total_cell = f"{COL_SCORE}2"
    _put(ws, layout.total_cell, f"=SUM({','.join(goal_cells)})", font=BOLD, align=CENTER, fmt=POINTS_FMT, formula=True)
    layout.last_row = row - 1
    answer_range = f"{COL_ANSWER}{FIRST_DATA_ROW}:{COL_ANSWER}{layout.last_row}"
    ws.conditional_formatting.add(answer_range, FormulaRule(
        formula=[f"AND(ISNUMBER(${COL_DONE}{FIRST_DATA_ROW}),${COL_DONE}{FIRST_DATA_ROW}=0)"],
        fill=FILL_UNANSWERED, stopIfTrue=False))
    ws.column_dimensions[COL_ID].hidden = True
    ws.column_dimensions[COL_DONE].hidden = True
    ws.freeze_panes = f"A{FIRST_DATA_ROW}"
    last_col = COL_PREVIOUS if previous is not None else COL_SOURCE  # hidden columns do not print
    _print_setup(ws, entity, f"A1:{last_col}{layout.last_row}", landscape=True)
    ws.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW}"
    return layout


def _print_setup(ws: Worksheet, entity: Entity, area: str, landscape: bool = False) -> None:
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "landscape" if landscape else "portrait"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_area = area
    ws.page_margins.left = ws.page_margins.right = 0.5
    ws.oddFooter.left.text = entity.label.replace("&", "&&")  # & starts a header/footer code
    ws.oddFooter.center.text = "&P / &N"
    ws.oddFooter.right.text = "&A"


def _write_summary(wb, catalog: Catalog, layouts: dict[str, SheetLayout], entity: Entity) -> str:
    ws = wb.create_sheet(SUMMARY_SHEET)
    _put(ws, "A1", f"{catalog.year_label} 評価結果 集計 {entity.label}", font=TITLE, border=False,
         align=Alignment(vertical="center"))
    headers = [("交付金", 10), ("目標", 58), ("指標群", 18), ("配点", 8), ("得点", 8), ("得点率", 9)]
    for i, (h, w) in enumerate(headers, start=1):
        col = get_column_letter(i)
        _put(ws, f"{col}3", h, font=BOLD, fill=FILL_HEADER, align=CENTER)
        ws.column_dimensions[col].width = w
    names: dict[str, str] = {}
    row = 4

    def line(grant_label, goal_label, group_label, points, formula, name, fill=None, font=BASE):
        nonlocal row
        for col, v in zip("ABCD", (grant_label, goal_label, group_label, points)):
            _put(ws, f"{col}{row}", v, fill=fill, font=font)
        _put(ws, f"E{row}", formula, fill=fill, font=font, fmt=POINTS_FMT, formula=True)
        _put(ws, f"F{row}", f"=IF(D{row}=0,0,E{row}/D{row})", fill=fill, font=font, fmt=PERCENT, formula=True)
        names[name] = f"{quote_sheet(SUMMARY_SHEET)}!$E${row}"
        row += 1

    kind_cells: dict[str, list[str]] = {}
    grant_cells = []
    for grant in catalog.grants:
        sheet = quote_sheet(layouts[grant.id].name)
        for goal in grant.goals:
            for group in goal.groups:
                kind_cells.setdefault(group.kind.value, []).append(f"E{row}")
                line(grant.short, f"目標{goal.number} {goal.name}", GROUP_LABELS[group.kind], group.points,
                     f"={sheet}!{layouts[grant.id].group_cells[(goal.id, group.kind.value)]}",
                     defined_name_for(goal.id, group.kind.value))
            if len(goal.groups) > 1:
                line(grant.short, f"目標{goal.number} 小計", "", goal.points,
                     f"={sheet}!{layouts[grant.id].goal_cells[goal.id]}", defined_name_for(goal.id), FILL_GROUP)
            else:
                names[defined_name_for(goal.id)] = names[defined_name_for(goal.id, goal.groups[0].kind.value)]
        grant_cells.append(f"E{row}")
        line(grant.short, f"{grant.name} 合計", "", grant.points, f"={sheet}!{layouts[grant.id].total_cell}",
             defined_name_for(grant.id), FILL_GOAL, BOLD)
    if set(kind_cells) - {GroupKind.combined.value}:
        for kind in GroupKind:
            if kind.value in kind_cells:
                pts = catalog.group_kind_points()[kind]
                line("合計", "指標群別", GROUP_LABELS[kind], pts, f"=SUM({','.join(kind_cells[kind.value])})",
                     defined_name_for("group", kind.value), FILL_GROUP)
    line("総合計", "", "", catalog.total, f"=SUM({','.join(grant_cells)})", "score_total", FILL_GOAL, BOLD)
    ws.freeze_panes = "A4"
    _print_setup(ws, entity, f"A1:F{row - 1}")
    ws.print_title_rows = "3:3"
    for name, target in names.items():
        wb.defined_names[name] = DefinedName(name, attr_text=target)
    return names["score_total"]


def _write_cover(ws, catalog: Catalog, entity: Entity, layouts: dict[str, SheetLayout]) -> None:
    ws.title = COVER_SHEET
    for col, width in zip("ABC", (22, 14, 56)):
        ws.column_dimensions[col].width = width
    _put(ws, "A1", catalog.title, font=TITLE, border=False, align=Alignment(vertical="center", wrap_text=True))
    ws.merge_cells("A1:C1")
    ws.row_dimensions[1].height = 36
    rows = [
        ("年度", catalog.year_label, False),
        ("区分", f"{KIND_LABELS[catalog.kind]}分", False),
        ("団体名", entity.name or None, True),
        ("団体コード", entity.code or None, True),
        ("都道府県", entity.prefecture or None, True),
        ("第1号被保険者数", entity.insured, True),
        ("被保険者規模", size_class(entity.insured), False),
    ]
    r = 3
    for label, value, editable in rows:
        _put(ws, f"A{r}", label, font=BOLD, fill=FILL_GROUP)
        c = _put(ws, f"B{r}", value, align=Alignment(horizontal="left", vertical="top"), border=False,
                 fmt="@" if label == "団体コード" else None)  # text: a typed 011002 keeps its leading zero
        if editable:
            c.protection = UNLOCKED
        r += 1
    done_ranges = ",".join(f"{quote_sheet(l.name)}!{COL_DONE}{FIRST_DATA_ROW}:{COL_DONE}{l.last_row}"
                           for l in layouts.values())
    r += 1
    live = [("回答済み", f"=SUM({done_ranges})", f"/ {len(catalog.answer_ids())} 項目"),
            ("合計得点", "=score_total", f"/ {catalog.total} 点")]
    live += [(f"{g.short}交付金", f"={defined_name_for(g.id)}", f"/ {g.points} 点") for g in catalog.grants]
    for i, (label, formula, suffix) in enumerate(live):
        font = BOLD if i < 2 else BASE
        _put(ws, f"A{r + i}", label, font=BOLD, fill=FILL_GOAL if i < 2 else FILL_GROUP)
        _put(ws, f"B{r + i}", formula, font=font, align=Alignment(horizontal="right"), fmt=POINTS_FMT, formula=True)
        _put(ws, f"C{r + i}", suffix, font=font, border=False, align=Alignment(horizontal="left", indent=1))
    r += len(catalog.grants) + 3
    _put(ws, f"A{r}", "記入方法", font=BOLD, fill=FILL_HEADER)
    text = render("cover_instructions.txt.j2", catalog=catalog, sheets=[l.name for l in layouts.values()])
    _put(ws, f"B{r}", text)
    ws.merge_cells(f"B{r}:C{r}")
    ws.row_dimensions[r].height = _row_height(text, 70)
    _put(ws, f"A{r + 1}", "作成", font=BOLD, fill=FILL_GROUP)
    _put(ws, f"B{r + 1}", f"xlsx_tool {__version__}（カタログ {catalog.id}）", border=False,
         align=Alignment(horizontal="left"))
    _print_setup(ws, entity, f"A1:C{r + 1}")


def _write_notes(wb, catalog: Catalog, entity: Entity) -> None:
    ws = wb.create_sheet(NOTES_SHEET)
    widths = [("交付金", 8), ("目標", 8), ("番号", 6), ("評価指標", 40), ("採点方法", 30), ("時点", 18),
              ("留意点", 80), ("出典", 24)]
    for i, (h, w) in enumerate(widths, start=1):
        col = get_column_letter(i)
        _put(ws, f"{col}1", h, font=BOLD, fill=FILL_HEADER, align=CENTER)
        ws.column_dimensions[col].width = w
    r = 2
    for grant, goal, group, ind in catalog.indicators():
        prov = ind.provenance
        values = [grant.short, f"目標{goal.number}", ind.number, ind.text, rule_summary(ind),
                  ind.period or catalog.period, ind.notes,
                  f"{PROVENANCE_LABELS[prov.status]} {''.join(f'[{s}]' for s in prov.sources)} {prov.note}".strip()]
        for i, v in enumerate(values, start=1):
            _put(ws, f"{get_column_letter(i)}{r}", v or None)
        ws.row_dimensions[r].height = min(409, max(_row_height(ind.notes, 80), _row_height(ind.text, 40)))
        r += 1
    ws.freeze_panes = "A2"
    _print_setup(ws, entity, f"A1:H{r - 1}", landscape=True)
    ws.print_title_rows = "1:1"


def _write_eligibility(wb, entity: Entity, validations: _Validations) -> None:
    ws = wb.create_sheet(ELIGIBILITY_SHEET)
    for col, width in zip("ABC", (4, 66, 18)):
        ws.column_dimensions[col].width = width
    _put(ws, "A1", f"介護保険保険者努力支援交付金 交付要件の確認 {entity.label}", font=TITLE, border=False,
         align=Alignment(vertical="center"))
    _put(ws, "A2", "（1）～（4）を順に確認し、最初に該当したもので判定します（資料[002]）。"
                   "額は円、人数は人で入力してください。", border=False, align=Alignment(vertical="center"))
    cells = eligibility_cells()
    for field, label, kind in INPUT_ROWS:
        ref = cells[field]
        _put(ws, f"B{ref[1:]}", label)
        c = _put(ws, ref, None, fill=FILL_INPUT, fmt="#,##0")
        c.protection = UNLOCKED
        if kind == "yesno":
            validations.add_custom(ws, ref, (ws.title, "yesno"), lambda: DataValidation(
                type="list", formula1=validations.list_range(YES_NO),
                promptTitle="回答", prompt="「はい」または「いいえ」を選んでください。",
                errorTitle="入力エラー", error="リストから「はい」または「いいえ」を選んでください。"))
        else:
            validations.add_number(ws, ref)
    r = ELIGIBILITY_FIRST_ROW + len(INPUT_ROWS) + 1
    formulas = sheet_formulas(cells)
    for j, (key, label) in enumerate([("current", "① 当該年度の額"), ("baseline", "② 前年度決算見込み等（最も低い額）"),
                                      ("decided_by", "判定に用いた要件"), ("verdict", "判定")]):
        _put(ws, f"B{r + j}", label, font=BOLD, fill=FILL_GROUP)
        _put(ws, f"C{r + j}", formulas[key], font=BOLD, fmt="#,##0", formula=True)
        wb.defined_names[f"eligibility_{key}"] = DefinedName(
            f"eligibility_{key}", attr_text=f"{quote_sheet(ELIGIBILITY_SHEET)}!$C${r + j}")
    ws.conditional_formatting.add(f"C{ELIGIBILITY_FIRST_ROW}:C{ELIGIBILITY_FIRST_ROW + len(INPUT_ROWS) - 1}",
                                  FormulaRule(formula=[f"LEN(C{ELIGIBILITY_FIRST_ROW})=0"], fill=FILL_UNANSWERED))
    _print_setup(ws, entity, f"A1:C{r + 3}")


def _write_meta(wb, catalog: Catalog, entity: Entity, generated_at: str, thresholds: str | None) -> None:
    ws = wb.create_sheet(META_SHEET)
    values = {
        "tool": TOOL_ID, "generator_version": __version__, "catalog_id": catalog.id,
        "catalog_hash": catalog.content_hash(), "year": catalog.year, "kind": catalog.kind.value,
        "entity_code": entity.code, "entity_name": entity.name, "prefecture": entity.prefecture,
        "insured": entity.insured, "generated_at": generated_at, "thresholds": thresholds,
    }
    for r, (k, v) in enumerate(values.items(), start=1):
        ws[f"A{r}"] = k
        _put(ws, f"B{r}", v if v not in ("", None) else None, border=False)
    ws.sheet_state = "veryHidden"


def _protect(wb: Workbook, password: str | None) -> None:
    for ws in wb.worksheets:
        ws.protection.sheet = True
        ws.protection.formatColumns = False  # let staff widen columns and rows
        ws.protection.formatRows = False
        if password:
            ws.protection.password = password
    wb.security = WorkbookProtection(lockStructure=True)
    if password:
        wb.security.workbookPassword = password


def build_workbook(catalog: Catalog, entity: Entity = Entity(), *, password: str | None = None,
                   generated_at: str | None = None, previous_answers: Mapping[str, object] | None = None,
                   thresholds: str | None = None, prefill: Mapping[str, object] | None = None) -> Workbook:
    """The workbook for one entity; previous_answers (id -> last year's answer) adds a 前年度回答 column;
    thresholds is the tag of the thresholds file applied to the catalog (recorded to find it again);
    prefill (id -> value) pre-fills answer cells, e.g. with last year's answers that carry over."""
    wb = Workbook()
    cover = wb.active
    lists_ws = wb.create_sheet(LISTS_SHEET)
    validations = _Validations(lists_ws)
    layouts = {g.id: _write_input_sheet(wb, catalog, g, entity, validations, previous_answers, prefill or {})
               for g in catalog.grants}
    _write_summary(wb, catalog, layouts, entity)
    _write_cover(cover, catalog, entity, layouts)
    _write_notes(wb, catalog, entity)
    if catalog.kind == Kind.municipality:  # 支援交付金 交付要件 concern insurers (municipalities)
        _write_eligibility(wb, entity, validations)
    _write_meta(wb, catalog, entity, generated_at or datetime.now(timezone.utc).isoformat(timespec="seconds"),
                thresholds)
    wb.move_sheet(lists_ws, offset=len(wb.sheetnames))
    lists_ws.sheet_state = "hidden"
    _protect(wb, password)
    wb.active = 0
    return wb


def default_filename(catalog: Catalog, entity: Entity) -> str:
    who = "_".join(p for p in (entity.code, entity.name) if p) or "template"
    safe = "".join(ch for ch in who if ch not in '\\/:*?"<>|').strip() or "template"
    return f"{catalog.year}_{catalog.kind.value}_{safe}.xlsx"


def write_workbook(catalog: Catalog, entity: Entity, path: str | Path, **kwargs) -> Path:
    wb = build_workbook(catalog, entity, **kwargs)
    return write_atomically(path, lambda tmp: wb.save(tmp))
