"""openpyxl adapter: write a self-assessment workbook from a catalog.

Sheets: 表紙 (cover), one input sheet per grant, 集計 (summary), 留意点 (notes), and two hidden
sheets: _lists (dropdown sources) and _meta (identification of the book).
Every formula comes from catalog/rules.py; this module only places cells and styles them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path

from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.formatting.rule import FormulaRule
from openpyxl.styles import Alignment

from xlsx_tool.catalog.entity import Entity
from xlsx_tool.catalog.model import (
    GROUP_LABELS,
    KIND_LABELS,
    PROVENANCE_LABELS,
    Catalog,
    Indicator,
    SHORT_TITLE_MARK,
    Kind,
    LevelsRule,
    SumRule,
    ladder_top,
    national_text,
    ratio_ids,
)
from xlsx_tool.catalog.rules import (
    figure_formula,
    indicator_formula,
    missed_yen_formula,
    money_rows,
    rule_summary,
    subitem_formula,
)
from xlsx_tool.util.atomic import write_atomically
from xlsx_tool.util.cells import put, row_height
from xlsx_tool.util.styles import (
    BASE,
    BOLD,
    CENTER,
    FILL_GOAL,
    FILL_GROUP,
    FILL_HEADER,
    FILL_INPUT,
    FILL_UNANSWERED,
    MUTED,
    POINTS_FMT,
    SMALL,
    TITLE,
    UNLOCKED,
    use_default_font,
    use_default_row_height,
)
from xlsx_tool.workbook.cached import formula_value, set_values
from xlsx_tool.workbook.common import INPUT_COLUMNS, SheetLayout, Validations, print_setup
from xlsx_tool.workbook.ignored_errors import mark_code_cells
from xlsx_tool.workbook.meta import (
    COL_ANSWER,
    COL_DONE,
    COL_ID,
    COL_NUMBER,
    COL_POINTS,
    COL_PREVIOUS,
    COL_REMARKS,
    COL_SCORE,
    COL_SOURCE,
    COL_TEXT,
    COL_YEN,
    FIRST_DATA_ROW,
    HEADER_ROW,
    LISTS_SHEET,
    input_sheet_name,
    quote_sheet,
    yen_name,
)
from xlsx_tool.workbook.protection import protect
from xlsx_tool.workbook.sheets import (
    YEN_COLUMN_NOTE,
    write_cover,
    write_eligibility,
    write_meta,
    write_notes,
    write_summary,
)


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


def _yen_comment() -> Comment:
    comment = Comment(YEN_COLUMN_NOTE, "xlsx_tool")
    comment.width, comment.height = 360, 120
    return comment


def _source_label(ind: Indicator) -> str:
    src = "".join(f"[{s}]" for s in ind.provenance.sources)
    return f"{PROVENANCE_LABELS[ind.provenance.status]} {src}".strip()


def _write_answer_cells(ws, row, answer_id, ind, is_subitem, validations, previous, prefill):
    ref = f"{COL_ANSWER}{row}"
    if previous is not None:
        put(ws, f"{COL_PREVIOUS}{row}", previous.get(answer_id), align=CENTER)
    put(ws, ref, prefill.get(answer_id), fill=FILL_INPUT, align=CENTER).protection = UNLOCKED
    put(ws, f"{COL_REMARKS}{row}", None).protection = UNLOCKED
    ws[f"{COL_DONE}{row}"] = f"=IF(LEN({ref})>0,1,0)"
    formula_value(ws, f"{COL_DONE}{row}", ("done", answer_id))
    validations.add(ws, ref, ind, answer_id, is_subitem)
    return ref


def _write_repeated_answer(ws, row, sub, answered) -> str:
    """A sub-item asked on another sheet (same_as): its answer shown here by a formula, not asked again."""
    ref = f"{COL_ANSWER}{row}"
    sheet, cell = answered[sub.same_as]
    put(ws, ref, f"={quote_sheet(sheet)}!{cell}", align=CENTER, formula=True)
    formula_value(ws, ref, ("answer", sub.same_as))
    put(ws, f"{COL_REMARKS}{row}", f"{sheet}シートの回答を表示（同じ項目）", font=SMALL)
    return ref


def _write_indicator(ws, row, ind, validations, previous, prefill, answered, yen) -> tuple[int, str]:
    """Write an indicator (and its sub-items) from `row`; return next row and its score cell.
    `answered` (answer id -> (sheet, cell)) grows with every answer cell written; `yen`: the name of the
    grant's yen per point (集計), which the 見込額 column multiplies."""
    ind_row = row
    put(ws, f"{COL_NUMBER}{row}", ind.number, font=BOLD, align=CENTER)
    text = f"{ind.text}{SHORT_TITLE_MARK}（設問文は資料に記載なし）" if ind.short_title else \
        f"{ind.text}（{ind.title}）" if ind.title else ind.text
    text_cell = put(ws, f"{COL_TEXT}{row}", text, font=BOLD)
    text_cell.comment = _indicator_comment(ind)
    put(ws, f"{COL_POINTS}{row}", ind.points, align=CENTER)
    put(ws, f"{COL_SOURCE}{row}", _source_label(ind), font=SMALL)
    ws[f"{COL_ID}{row}"] = ind.id
    ws.row_dimensions[row].height = max(row_height(text, INPUT_COLUMNS[COL_TEXT][1]),
                                        row_height(_source_label(ind), INPUT_COLUMNS[COL_SOURCE][1] + 8))
    refs: dict[str, str] = {}
    sub_cells: dict[str, str] = {}
    ratio = getattr(ind.rule, "ratio", None)
    if ratio is not None:
        row = _write_ratio_rows(ws, row, ind, ratio, refs, validations, previous, prefill)
    elif not ind.subitems:
        refs[ind.id] = _write_answer_cells(ws, row, ind.id, ind, False, validations, previous, prefill)
    for sub in ind.subitems:
        row += 1
        if sub.same_as is not None:
            refs[sub.id] = _write_repeated_answer(ws, row, sub, answered)
            continue
        refs[sub.id] = _write_answer_cells(ws, row, sub.id, ind, True, validations, previous, prefill)
        answered[sub.id] = (ws.title, refs[sub.id])
    last_row, row = row, ind_row
    levels = isinstance(ind.rule, LevelsRule)
    rows = {ind.id: ind_row}
    for sub in ind.subitems:
        row += 1
        rows[sub.id] = row
        put(ws, f"{COL_NUMBER}{row}", sub.label, align=CENTER)
        text = f"{SHORT_TITLE_MARK}{sub.text}" if sub.short_title else sub.text
        put(ws, f"{COL_TEXT}{row}", text, font=MUTED if sub.short_title else BASE)
        points = sub.points if isinstance(ind.rule, SumRule) else ladder_top(sub) if levels else None
        put(ws, f"{COL_POINTS}{row}", points, align=CENTER)
        fmt = POINTS_FMT if isinstance(ind.rule, (SumRule, LevelsRule)) else '"○";;"－"'  # tiers: counted or not
        sub_cells[sub.id] = f"{COL_SCORE}{row}"
        put(ws, sub_cells[sub.id], subitem_formula(ind, sub, refs), align=CENTER, fmt=fmt, formula=True)
        formula_value(ws, sub_cells[sub.id], ("sub", sub.id))
        national = national_text(sub)
        put(ws, f"{COL_SOURCE}{row}", national or None, font=SMALL)
        ws[f"{COL_ID}{row}"] = sub.id
        ws.row_dimensions[row].height = max(row_height(text, INPUT_COLUMNS[COL_TEXT][1]),
                                            row_height(national, INPUT_COLUMNS[COL_SOURCE][1] + 8))
    score_cell = f"{COL_SCORE}{ind_row}"
    put(ws, score_cell, indicator_formula(ind, refs, sub_cells), font=BOLD, align=CENTER, fmt=POINTS_FMT, formula=True)
    formula_value(ws, score_cell, ("ind", ind.id))
    score_cells = {**sub_cells, ind.id: score_cell}
    for money in money_rows(ind):
        r = rows[money.id]
        put(ws, f"{COL_YEN}{r}", missed_yen_formula(money, f"{COL_POINTS}{r}", score_cells, refs, yen),
            align=Alignment(horizontal="right", vertical="top"), fmt="#,##0", formula=True)
        formula_value(ws, f"{COL_YEN}{r}", ("yen", money.id))
    return last_row + 1, score_cell


def _write_ratio_rows(ws, row, ind, ratio, refs, validations, previous, prefill) -> int:
    """Numerator and denominator inputs, then the live figure the thresholds apply to."""
    for aid, label in zip(ratio_ids(ind), (ratio.numerator, ratio.denominator)):
        row += 1
        put(ws, f"{COL_NUMBER}{row}", "数値", align=CENTER)
        put(ws, f"{COL_TEXT}{row}", label)
        put(ws, f"{COL_POINTS}{row}", None)
        put(ws, f"{COL_SCORE}{row}", None)
        put(ws, f"{COL_SOURCE}{row}", None)
        ws[f"{COL_ID}{row}"] = aid
        refs[aid] = _write_answer_cells(ws, row, aid, ind, False, validations, previous, prefill)
    row += 1
    refs[ind.id] = f"{COL_ANSWER}{row}"
    put(ws, f"{COL_NUMBER}{row}", "算出", align=CENTER)
    text = f"{ratio.numerator} ÷ {ratio.denominator} × {ratio.per:g}（{ind.rule.unit}）"
    put(ws, f"{COL_TEXT}{row}", text)
    ws.row_dimensions[row].height = row_height(text, INPUT_COLUMNS[COL_TEXT][1])
    put(ws, f"{COL_POINTS}{row}", None)
    put(ws, refs[ind.id], figure_formula(ind, refs), align=CENTER, fmt="0.00", formula=True)
    formula_value(ws, refs[ind.id], ("figure", ind.id))
    for col in (COL_SCORE, COL_REMARKS, COL_SOURCE):
        put(ws, f"{col}{row}", None)
    return row


def _band(ws, row, label_a, label_b, points, formula, key, fill, font=BOLD):
    for col in INPUT_COLUMNS:
        if col not in (COL_ID, COL_DONE):
            put(ws, f"{col}{row}", None, fill=fill, font=font)
    put(ws, f"{COL_NUMBER}{row}", label_a, fill=fill, font=font, align=CENTER)
    put(ws, f"{COL_TEXT}{row}", label_b, fill=fill, font=font)
    put(ws, f"{COL_POINTS}{row}", points, fill=fill, font=font, align=CENTER)
    put(ws, f"{COL_SCORE}{row}", formula, fill=fill, font=font, align=CENTER, fmt=POINTS_FMT, formula=True)
    formula_value(ws, f"{COL_SCORE}{row}", key)


def _write_input_sheet(wb, catalog: Catalog, grant, entity: Entity, validations, previous, prefill,
                       answered) -> SheetLayout:
    ws = wb.create_sheet(input_sheet_name(grant))
    layout = SheetLayout(name=ws.title)
    put(ws, "A1", f"{catalog.year_label} {grant.name} 自己評価（{KIND_LABELS[catalog.kind]}分） {entity.label}",
         font=TITLE, align=Alignment(vertical="center"), border=False)
    put(ws, "B2", f"{grant.short}交付金 合計", font=BOLD, align=Alignment(horizontal="right"), border=False)
    put(ws, f"{COL_POINTS}2", grant.points, font=BOLD, align=CENTER)
    columns = dict(INPUT_COLUMNS)
    if previous is not None:
        columns[COL_PREVIOUS] = ("前年度回答", 10)
    for col, (header, width) in columns.items():
        put(ws, f"{col}{HEADER_ROW}", header, font=BOLD, fill=FILL_HEADER, align=CENTER)
        ws.column_dimensions[col].width = width
    ws[f"{COL_YEN}{HEADER_ROW}"].comment = _yen_comment()
    row = FIRST_DATA_ROW
    goal_cells = []
    for goal in grant.goals:
        goal_row, row = row, row + 1
        group_cells = []
        for group in goal.groups:
            group_row, row = row, row + 1
            ind_cells = []
            for ind in group.indicators:
                row, cell = _write_indicator(ws, row, ind, validations, previous, prefill, answered,
                                             yen_name(grant.id))
                ind_cells.append(cell)
            cell = f"{COL_SCORE}{group_row}"
            _band(ws, group_row, "", GROUP_LABELS[group.kind], group.points, f"=SUM({','.join(ind_cells)})",
                  ("group", goal.id, group.kind.value), FILL_GROUP)
            layout.group_cells[(goal.id, group.kind.value)] = cell
            group_cells.append(cell)
        cell = f"{COL_SCORE}{goal_row}"
        _band(ws, goal_row, f"目標{goal.number}", goal.name, goal.points, f"=SUM({','.join(group_cells)})",
              ("goal", goal.id), FILL_GOAL)
        layout.goal_cells[goal.id] = cell
        goal_cells.append(cell)
    layout.total_cell = f"{COL_SCORE}2"
    put(ws, layout.total_cell, f"=SUM({','.join(goal_cells)})", font=BOLD, align=CENTER, fmt=POINTS_FMT, formula=True)
    formula_value(ws, layout.total_cell, ("grant", grant.id))
    layout.last_row = row - 1
    answer_range = f"{COL_ANSWER}{FIRST_DATA_ROW}:{COL_ANSWER}{layout.last_row}"
    ws.conditional_formatting.add(answer_range, FormulaRule(
        formula=[f"AND(ISNUMBER(${COL_DONE}{FIRST_DATA_ROW}),${COL_DONE}{FIRST_DATA_ROW}=0)"],
        fill=FILL_UNANSWERED, stopIfTrue=False))
    ws.column_dimensions[COL_ID].hidden = True
    ws.column_dimensions[COL_DONE].hidden = True
    ws.column_dimensions[COL_PREVIOUS].hidden = previous is None
    ws.freeze_panes = f"A{FIRST_DATA_ROW}"
    print_setup(ws, entity, f"A1:{COL_YEN}{layout.last_row}", landscape=True)  # hidden columns do not print
    ws.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW}"
    return layout


def build_workbook(catalog: Catalog, entity: Entity = Entity(), *, password: str | None = None,
                   generated_at: str | None = None, previous_answers: Mapping[str, object] | None = None,
                   thresholds: str | None = None, prefill: Mapping[str, object] | None = None) -> Workbook:
    """The workbook for one entity; previous_answers (id -> last year's answer) adds a 前年度回答 column;
    thresholds is the tag of the thresholds file applied to the catalog (recorded to find it again);
    prefill (id -> value) pre-fills answer cells, e.g. with last year's answers that carry over."""
    wb = Workbook()
    use_default_font(wb)
    cover = wb.active
    lists_ws = wb.create_sheet(LISTS_SHEET)
    validations = Validations(lists_ws)
    answered: dict[str, tuple[str, str]] = {}
    layouts = {g.id: _write_input_sheet(wb, catalog, g, entity, validations, previous_answers, prefill or {},
                                        answered) for g in catalog.grants}
    write_summary(wb, catalog, layouts, entity, validations)
    write_cover(cover, catalog, entity, layouts)
    mark_code_cells(wb)
    write_notes(wb, catalog, entity)
    if catalog.kind == Kind.municipality:  # 支援交付金 交付要件 concern insurers (municipalities)
        write_eligibility(wb, entity, validations)
    write_meta(wb, catalog, entity, generated_at or datetime.now(timezone.utc).isoformat(timespec="seconds"),
                thresholds)
    wb.move_sheet(lists_ws, offset=len(wb.sheetnames))
    lists_ws.sheet_state = "hidden"
    use_default_row_height(*wb.worksheets)
    protect(wb, password)
    set_values(wb, catalog, prefill or {})  # what the formulas show before Excel calculates (Protected View)
    wb.active = 0
    return wb


# characters Windows forbids in file names are dropped; those that break Excel links ([ ]) or the command
# line and macros that pass the path on (& % ^ !) become their full-width forms, which read the same
_FORBIDDEN = '\\/:*?"<>|'
_FULL_WIDTH = str.maketrans({"&": "＆", "%": "％", "^": "＾", "!": "！", "[": "［", "]": "］"})


def default_filename(catalog: Catalog, entity: Entity) -> str:
    who = "_".join(p for p in (entity.code, entity.name) if p) or "template"
    kept = "".join(ch for ch in who if ch not in _FORBIDDEN and ch.isprintable()).translate(_FULL_WIDTH)
    return f"{catalog.year}_{catalog.kind.value}_{kept.strip() or 'template'}.xlsx"


def write_workbook(catalog: Catalog, entity: Entity, path: str | Path, **kwargs) -> Path:
    wb = build_workbook(catalog, entity, **kwargs)
    return write_atomically(path, lambda tmp: wb.save(tmp))
