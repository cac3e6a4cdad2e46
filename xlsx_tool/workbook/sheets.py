"""The sheets around the input sheets: 集計 (summary with the workbook names), 表紙 (cover with live
progress and totals), 留意点 (notes), 交付要件 (eligibility inputs with live formulas) and _meta.
"""

from __future__ import annotations

from openpyxl.formatting.rule import FormulaRule
from openpyxl.styles import Alignment
from openpyxl.utils import get_column_letter
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation

from xlsx_tool.catalog.eligibility import GUIDANCE, INPUT_ROWS, SOURCE, sheet_formulas
from xlsx_tool.catalog.entity import Entity, size_class
from xlsx_tool.catalog.model import GROUP_LABELS, KIND_LABELS, PROVENANCE_LABELS, Catalog, GroupKind
from xlsx_tool.catalog.rules import rule_summary
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
    PERCENT,
    POINTS_FMT,
    TITLE,
    UNLOCKED,
)
from xlsx_tool.util.templates import render
from xlsx_tool.util.version import __version__
from xlsx_tool.workbook.cached import formula_value
from xlsx_tool.workbook.common import NOTES_SHEET, YES_NO, SheetLayout, Validations, print_setup
from xlsx_tool.workbook.meta import (
    COL_DONE,
    COVER_CODE_LABEL,
    COVER_SHEET,
    ELIGIBILITY_FIRST_ROW,
    ELIGIBILITY_SHEET,
    FIRST_DATA_ROW,
    META_SHEET,
    SUMMARY_SHEET,
    TOOL_ID,
    defined_name_for,
    eligibility_cells,
    quote_sheet,
    yen_name,
)

YEN_LABEL = "1点あたりの金額（円・見込み）"
YEN_NOTE = ("空欄のままでも構いません。入力すると、各交付金シートの「見込額（円）」列に、その行を満たしたときに増える点数 × "
            "この金額が表示され、取り組む項目の優先順位を金額で比べられます。金額は見込みです（例: xlsx-tool estimate "
            "--from-last-year が示す「1 点あたり」の額）。実際の交付額は全国の得点と予算で決まります。")
YEN_COLUMN_NOTE = ("見込額（円）＝ その行を満たした（段階は最上位まで達した）ときに指標の得点が増える点数 × 集計シートに入力した「"
                   + YEN_LABEL + "」。合計の上限や「最も高い段階のみ」の指標では、増える分だけを数えます。"
                   "金額が空欄の間、増える点数がない行は表示しません。")


def write_summary(wb, catalog: Catalog, layouts: dict[str, SheetLayout], entity: Entity,
                  validations: Validations) -> str:
    ws = wb.create_sheet(SUMMARY_SHEET)
    put(ws, "A1", f"{catalog.year_label} 評価結果 集計 {entity.label}", font=TITLE, border=False,
         align=Alignment(vertical="center"))
    headers = [("交付金", 10), ("目標", 58), ("指標群", 18), ("配点", 8), ("得点", 8), ("得点率", 9)]
    for i, (h, w) in enumerate(headers, start=1):
        col = get_column_letter(i)
        put(ws, f"{col}3", h, font=BOLD, fill=FILL_HEADER, align=CENTER)
        ws.column_dimensions[col].width = w
    names: dict[str, str] = {}
    row = 4

    def line(grant_label, goal_label, group_label, points, formula, name, key, fill=None, font=BASE):
        nonlocal row
        for col, v in zip("ABCD", (grant_label, goal_label, group_label, points)):
            put(ws, f"{col}{row}", v, fill=fill, font=font)
        put(ws, f"E{row}", formula, fill=fill, font=font, fmt=POINTS_FMT, formula=True)
        put(ws, f"F{row}", f"=IF(D{row}=0,0,E{row}/D{row})", fill=fill, font=font, fmt=PERCENT, formula=True)
        formula_value(ws, f"E{row}", key)
        formula_value(ws, f"F{row}", ("rate", key, points))
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
                     defined_name_for(goal.id, group.kind.value), ("group", goal.id, group.kind.value))
            if len(goal.groups) > 1:
                line(grant.short, f"目標{goal.number} 小計", "", goal.points,
                     f"={sheet}!{layouts[grant.id].goal_cells[goal.id]}", defined_name_for(goal.id), ("goal", goal.id),
                     FILL_GROUP)
            else:
                names[defined_name_for(goal.id)] = names[defined_name_for(goal.id, goal.groups[0].kind.value)]
        grant_cells.append(f"E{row}")
        line(grant.short, f"{grant.name} 合計", "", grant.points, f"={sheet}!{layouts[grant.id].total_cell}",
             defined_name_for(grant.id), ("grant", grant.id), FILL_GOAL, BOLD)
    if set(kind_cells) - {GroupKind.combined.value}:
        for kind in GroupKind:
            if kind.value in kind_cells:
                pts = catalog.group_kind_points()[kind]
                line("合計", "指標群別", GROUP_LABELS[kind], pts, f"=SUM({','.join(kind_cells[kind.value])})",
                     defined_name_for("group", kind.value), ("kind", kind.value), FILL_GROUP)
    line("総合計", "", "", catalog.total, f"=SUM({','.join(grant_cells)})", "score_total", ("total",), FILL_GOAL, BOLD)
    last = _write_yen_inputs(wb, ws, catalog, row + 1, validations)
    ws.freeze_panes = "A4"
    print_setup(ws, entity, f"A1:F{last}")
    ws.print_title_rows = "3:3"
    for name, target in names.items():
        wb.defined_names[name] = DefinedName(name, attr_text=target)
    return names["score_total"]


def _write_yen_inputs(wb, ws, catalog: Catalog, row: int, validations: Validations) -> int:
    """The yen per point of each grant, typed by staff (empty by default), named yen_per_point_<grant>: the
    input sheets' 見込額 column multiplies the points not reached by it. Returns the last row written."""
    for col, text in zip("ABC", ("交付金", YEN_LABEL, "金額（円）")):
        put(ws, f"{col}{row}", text, font=BOLD, fill=FILL_HEADER, align=CENTER)
    for grant in catalog.grants:
        row += 1
        put(ws, f"A{row}", grant.short)
        put(ws, f"B{row}", grant.name)
        put(ws, f"C{row}", None, fill=FILL_INPUT, fmt="#,##0").protection = UNLOCKED
        validations.add_number(ws, f"C{row}")
        wb.defined_names[yen_name(grant.id)] = DefinedName(
            yen_name(grant.id), attr_text=f"{quote_sheet(SUMMARY_SHEET)}!$C${row}")
    row += 1
    put(ws, f"B{row}", YEN_NOTE, border=False)
    ws.row_dimensions[row].height = row_height(YEN_NOTE, 58)
    return row


def write_cover(ws, catalog: Catalog, entity: Entity, layouts: dict[str, SheetLayout]) -> None:
    ws.title = COVER_SHEET
    for col, width in zip("ABC", (22, 14, 56)):
        ws.column_dimensions[col].width = width
    put(ws, "A1", catalog.title, font=TITLE, border=False, align=Alignment(vertical="center", wrap_text=True))
    ws.merge_cells("A1:C1")
    ws.row_dimensions[1].height = 36
    rows = [
        ("年度", catalog.year_label, False),
        ("区分", f"{KIND_LABELS[catalog.kind]}分", False),
        ("団体名", entity.name or None, True),
        (COVER_CODE_LABEL, entity.code or None, True),
        ("都道府県", entity.prefecture or None, True),
        ("第1号被保険者数", entity.insured, True),
        ("被保険者規模", size_class(entity.insured), False),
    ]
    r = 3
    for label, value, editable in rows:
        put(ws, f"A{r}", label, font=BOLD, fill=FILL_GROUP)
        c = put(ws, f"B{r}", value, align=Alignment(horizontal="left", vertical="top"), border=False,
                 fmt="@" if label == COVER_CODE_LABEL else None)  # text: a typed 011002 keeps its leading zero
        if editable:
            c.protection = UNLOCKED
        r += 1
    done_ranges = ",".join(f"{quote_sheet(l.name)}!{COL_DONE}{FIRST_DATA_ROW}:{COL_DONE}{l.last_row}"
                           for l in layouts.values())
    r += 1
    live = [("回答済み", f"=SUM({done_ranges})", f"/ {len(catalog.answer_ids())} 項目", ("answered",)),
            ("合計得点", "=score_total", f"/ {catalog.total} 点", ("total",))]
    live += [(f"{g.short}交付金", f"={defined_name_for(g.id)}", f"/ {g.points} 点", ("grant", g.id))
             for g in catalog.grants]
    for i, (label, formula, suffix, key) in enumerate(live):
        font = BOLD if i < 2 else BASE
        put(ws, f"A{r + i}", label, font=BOLD, fill=FILL_GOAL if i < 2 else FILL_GROUP)
        put(ws, f"B{r + i}", formula, font=font, align=Alignment(horizontal="right"), fmt=POINTS_FMT, formula=True)
        formula_value(ws, f"B{r + i}", key)
        put(ws, f"C{r + i}", suffix, font=font, border=False, align=Alignment(horizontal="left", indent=1))
    r += len(catalog.grants) + 3
    put(ws, f"A{r}", "記入方法", font=BOLD, fill=FILL_HEADER)
    text = render("cover_instructions.txt.j2", catalog=catalog, sheets=[l.name for l in layouts.values()])
    put(ws, f"B{r}", text)
    ws.merge_cells(f"B{r}:C{r}")
    ws.row_dimensions[r].height = row_height(text, 70)
    put(ws, f"A{r + 1}", "作成", font=BOLD, fill=FILL_GROUP)
    put(ws, f"B{r + 1}", f"xlsx_tool {__version__}（カタログ {catalog.id}）", border=False,
         align=Alignment(horizontal="left"))
    print_setup(ws, entity, f"A1:C{r + 1}")


def write_notes(wb, catalog: Catalog, entity: Entity) -> None:
    ws = wb.create_sheet(NOTES_SHEET)
    widths = [("交付金", 8), ("目標", 8), ("番号", 6), ("評価指標", 40), ("採点方法", 30), ("時点", 18),
              ("留意点", 80), ("出典", 24)]
    for i, (h, w) in enumerate(widths, start=1):
        col = get_column_letter(i)
        put(ws, f"{col}1", h, font=BOLD, fill=FILL_HEADER, align=CENTER)
        ws.column_dimensions[col].width = w
    r = 2
    for grant, goal, group, ind in catalog.indicators():
        prov = ind.provenance
        values = [grant.short, f"目標{goal.number}", ind.number, ind.text, rule_summary(ind),
                  ind.period or catalog.period, ind.notes,
                  f"{PROVENANCE_LABELS[prov.status]} {''.join(f'[{s}]' for s in prov.sources)} {prov.note}".strip()]
        for i, v in enumerate(values, start=1):
            put(ws, f"{get_column_letter(i)}{r}", v or None)
        ws.row_dimensions[r].height = min(409, max(row_height(ind.notes, 80), row_height(ind.text, 40)))
        r += 1
    ws.freeze_panes = "A2"
    print_setup(ws, entity, f"A1:H{r - 1}", landscape=True)
    ws.print_title_rows = "1:1"


def write_eligibility(wb, entity: Entity, validations: Validations) -> None:
    ws = wb.create_sheet(ELIGIBILITY_SHEET)
    widths = dict(zip("ABCD", (4, 56, 18, 64)))
    for col, width in widths.items():
        ws.column_dimensions[col].width = width
    put(ws, "A1", f"介護保険保険者努力支援交付金 交付要件の確認 {entity.label}", font=TITLE, border=False,
         align=Alignment(vertical="center"))
    put(ws, "A2", f"（1）～（4）を順に確認し、最初に該当したもので判定します{SOURCE}。"
                   "額は円、人数は人で入力してください。", border=False, align=Alignment(vertical="center"))
    for col, text in zip("BCD", ("項目", "入力", f"留意点{SOURCE}")):
        put(ws, f"{col}{ELIGIBILITY_FIRST_ROW - 1}", text, font=BOLD, fill=FILL_HEADER, align=CENTER)
    cells = eligibility_cells()
    for field, label, kind in INPUT_ROWS:
        ref = cells[field]
        row = ref[1:]
        put(ws, f"B{row}", label)
        note = GUIDANCE.get(field)
        put(ws, f"D{row}", note)
        ws.row_dimensions[int(row)].height = max(row_height(label, widths["B"]), row_height(note or "", widths["D"]))
        c = put(ws, ref, None, fill=FILL_INPUT, fmt="#,##0")
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
        put(ws, f"B{r + j}", label, font=BOLD, fill=FILL_GROUP)
        put(ws, f"C{r + j}", formulas[key], font=BOLD, fmt="#,##0", formula=True)
        formula_value(ws, f"C{r + j}", ("eligibility", key))
        wb.defined_names[f"eligibility_{key}"] = DefinedName(
            f"eligibility_{key}", attr_text=f"{quote_sheet(ELIGIBILITY_SHEET)}!$C${r + j}")
    ws.conditional_formatting.add(f"C{ELIGIBILITY_FIRST_ROW}:C{ELIGIBILITY_FIRST_ROW + len(INPUT_ROWS) - 1}",
                                  FormulaRule(formula=[f"LEN(C{ELIGIBILITY_FIRST_ROW})=0"], fill=FILL_UNANSWERED))
    print_setup(ws, entity, f"A1:D{r + 3}", landscape=True)


def write_meta(wb, catalog: Catalog, entity: Entity, generated_at: str, thresholds: str | None) -> None:
    ws = wb.create_sheet(META_SHEET)
    values = {
        "tool": TOOL_ID, "generator_version": __version__, "catalog_id": catalog.id,
        "catalog_hash": catalog.content_hash(), "year": catalog.year, "kind": catalog.kind.value,
        "entity_code": entity.code, "entity_name": entity.name, "prefecture": entity.prefecture,
        "insured": entity.insured, "generated_at": generated_at, "thresholds": thresholds,
        "catalog_title": catalog.title,  # the name staff know the catalog by (collect names it)
    }
    for r, (k, v) in enumerate(values.items(), start=1):
        ws[f"A{r}"] = k
        put(ws, f"B{r}", v if v not in ("", None) else None, border=False)
    ws.sheet_state = "veryHidden"
