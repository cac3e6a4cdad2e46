"""A catalog as an editable workbook, and back.

`write_catalog_xlsx` lays a catalog out on one sheet per level (カタログ, 交付金, 目標・指標群, 指標,
小項目, 採点区分) with dropdowns for the enumerations and a 説明 sheet explaining every column.
`read_catalog_xlsx` reads such a workbook back, validates it with the catalog validator and reports
every problem at once, each at its sheet, row and column with how to fix it. Export then import gives
the same catalog (same content hash).

Layout, row order = catalog order:
- カタログ: one row per header field (項目 | 値 | 説明);
- 交付金: one row per grant; 目標・指標群: one row per goal × group (the goal's columns repeated);
- 指標: one row per indicator with its rule type and the rule's single parameters (上限, 刻み, 単位);
- 小項目: one row per sub-item; 採点区分: one row per tier (該当数) or threshold (下限値).
"""

from __future__ import annotations

import io
import math
import re
import unicodedata
from dataclasses import dataclass, field, replace
from zipfile import BadZipFile
from datetime import date, datetime, time
from pathlib import Path

import yaml
from openpyxl import Workbook, load_workbook
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from .atomic import write_atomically
from .catalog import (GROUP_LABELS, KIND_LABELS, PROVENANCE_LABELS, Catalog, CatalogError, Provenance,
                      parse_catalog)
from .workbook_writer import BOLD, BOX, FILL_HEADER, TITLE, WRAP_TOP, _put, _row_height

MAX_CELL_CHARS = 32767  # Excel's limit for one cell
SPARE_ROWS = 500  # rows below the data that keep the dropdowns and formats, for additions
MAX_ROW_HEIGHT = 150.0  # long notes stay readable without making the sheet unusable

README_SHEET = "説明"

CHOICES: dict[str, dict[str, str]] = {  # enumeration: code -> Japanese meaning
    "grant": {"promotion": "保険者機能強化推進交付金", "support": "介護保険保険者努力支援交付金"},
    "kind": {k.value: v for k, v in KIND_LABELS.items()},
    "group": {k.value: v for k, v in GROUP_LABELS.items()},
    "rule": {"sum": "該当する小項目の点数を合計（上限あり）", "tiers": "該当する小項目の数に応じて配点",
             "thresholds": "数値を区分に当てはめて配点", "direct": "得点を直接入力"},
    "status": {k.value: v for k, v in PROVENANCE_LABELS.items()},
}
RATIO_KEYS = {"ratio_numerator": "numerator", "ratio_denominator": "denominator", "ratio_per": "per"}
RULE_PARAMETERS = {"sum": {"cap"}, "tiers": set(), "thresholds": {"unit", *RATIO_KEYS}, "direct": {"step"}}
STEP_KEY = {"tiers": "met", "thresholds": "min"}  # which 採点区分 column each rule uses


# -- layout -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Column:
    key: str
    header: str
    width: int
    help: str
    kind: str = "text"  # text | id | int | number | choice | sources
    required: bool = False
    choice: str = ""  # key of CHOICES for kind "choice"
    minimum: int = 0


@dataclass(frozen=True)
class SheetSpec:
    name: str
    code: str  # ascii, for placeholder ids of blank cells
    help: str
    columns: tuple[Column, ...]

    def letter(self, key: str) -> str:
        return get_column_letter(next(i for i, c in enumerate(self.columns, 1) if c.key == key))


_STATUS = Column("status", "出典区分", 14, "この情報の出典の区分（published=資料に記載 / assumed=資料に記載なし・仮定 / "
                 "not_in_sources=資料に記載なし）", kind="choice", required=True, choice="status")
_SOURCES = Column("sources", "出典資料", 12, "出典資料の番号。複数はカンマ区切り（例: 002, 000）", kind="sources")
_NOTE = Column("note", "出典メモ", 50, "出典の補足（どの資料のどこに記載か、何を仮定したか）")
_OPTIONAL_STATUS = replace(_STATUS, required=False,
                           help="小項目ごとの出典の区分（任意）。出典資料・出典メモを書く場合は必須")

HEADER = SheetSpec("カタログ", "cat", "カタログ全体の情報。1 行に 1 項目、B 列（値）を編集します。", (
    Column("schema_version", "スキーマ版", 14, "カタログ形式の版。1 のままにしてください", kind="int", required=True),
    Column("id", "カタログid", 14, "カタログの識別子（例: R8-municipality）。独自版は R8-municipality-kanagawa のように変えても構いません",
           kind="id", required=True),
    Column("year", "年度", 14, "令和の年度（例: R8）", kind="id", required=True),
    Column("kind", "区分", 14, "municipality=市町村 / prefecture=都道府県", kind="choice", required=True, choice="kind"),
    Column("title", "表題", 14, "カタログの表題（ブックの表紙に出ます）"),
    Column("period", "時点", 14, "既定の評価時点（指標に時点がない場合に使います）"),
    Column("total", "満点", 14, "全体の満点。交付金の配点の合計と一致させます", kind="int", required=True),
    _STATUS, _SOURCES, _NOTE,
))

GRANTS = SheetSpec("交付金", "grant", "交付金ごとに 1 行。", (
    Column("id", "交付金id", 14, "promotion=保険者機能強化推進交付金 / support=介護保険保険者努力支援交付金",
           kind="choice", required=True, choice="grant"),
    Column("name", "名称", 34, "交付金の名称"),
    Column("short", "略称", 8, "表やシート名に使う略称（例: 推進）"),
    Column("points", "配点", 8, "交付金の満点。目標配点の合計と一致させます", kind="int", required=True),
))

GOALS = SheetSpec("目標・指標群", "goal", "目標 × 指標群ごとに 1 行。同じ目標の行では目標の列（交付金id～目標配点）を"
                  "すべて同じ値にします。行の順がカタログ内の順になります。", (
    Column("grant", "交付金id", 12, "この目標が属する交付金（「交付金」シートの交付金id）", kind="choice",
           required=True, choice="grant"),
    Column("goal", "目標id", 10, "目標の識別子（例: P1）。英字で始まる英数字・-・_", kind="id", required=True),
    Column("number", "目標番号", 10, "目標の番号（例: Ⅰ）"),
    Column("name", "目標名", 44, "目標の名称（必須）", required=True),
    Column("points", "目標配点", 10, "目標の配点。指標群配点の合計と一致させます", kind="int", required=True),
    Column("group", "指標群", 12, "process=体制・取組指標群 / activity=活動指標群 / outcome=成果指標群 / "
           "combined=区分なし（令和5年度以前）", kind="choice", required=True, choice="group"),
    Column("group_points", "指標群配点", 10, "指標群の配点。指標の配点の合計と一致させます", kind="int", required=True),
))

INDICATORS = SheetSpec("指標", "ind", "指標ごとに 1 行。目標id と 指標群 で「目標・指標群」シートの行を指します。"
                       "同じ指標群の中では行の順がカタログ内の順になります。", (
    Column("id", "指標id", 10, "指標の識別子（例: P1-p1）。カタログ全体で一意", kind="id", required=True),
    Column("goal", "目標id", 8, "この指標が属する目標（「目標・指標群」シートの目標id）", kind="id", required=True),
    Column("group", "指標群", 10, "この指標が属する指標群", kind="choice", required=True, choice="group"),
    Column("number", "番号", 6, "指標の番号（例: 1、ii-3）"),
    Column("text", "評価指標", 50, "設問文（必須）", required=True),
    Column("points", "配点", 7, "指標の配点（満点）", kind="int", required=True),
    Column("rule", "採点方法", 11, "sum=小項目の点数を合計 / tiers=該当数に応じて配点 / thresholds=数値の区分で配点 / "
           "direct=得点を直接入力", kind="choice", required=True, choice="rule"),
    Column("cap", "上限", 7, "sum のみ: 合計の上限（空欄なら配点）", kind="int"),
    Column("step", "刻み", 7, "direct のみ: 入力できる得点の刻み（空欄なら 1）", kind="int", minimum=1),
    Column("unit", "単位", 7, "thresholds のみ: 数値の単位（例: %）"),
    Column("ratio_numerator", "比率の分子", 16, "thresholds のみ（任意）: 数値を 分子 ÷ 分母 × 倍率 で求めるとき、"
           "担当者が入力する分子の名称（例: 認知症サポーター数（人））"),
    Column("ratio_denominator", "比率の分母", 16, "thresholds のみ（任意）: 分母の名称（例: 高齢者人口（人））"),
    Column("ratio_per", "比率の倍率", 8, "thresholds のみ（任意）: 倍率（例: 1000 で千人当たり。空欄なら 1）",
           kind="number"),
    Column("period", "時点", 16, "評価の時点（空欄ならカタログの時点）"),
    Column("notes", "留意点", 60, "評価の視点・留意点。改行もそのまま保存されます"),
    _STATUS, _SOURCES, _NOTE,
))

SUBITEMS = SheetSpec("小項目", "sub", "小項目ごとに 1 行。指標id で「指標」シートの行を指します。"
                     "同じ指標の中では行の順がカタログ内の順になります。", (
    Column("id", "小項目id", 12, "小項目の識別子（例: P1-p1-a）。カタログ全体で一意", kind="id", required=True),
    Column("indicator", "指標id", 10, "この小項目が属する指標（「指標」シートの指標id）", kind="id", required=True),
    Column("label", "記号", 6, "小項目の記号（例: ア、ウ①）"),
    Column("text", "小項目", 60, "小項目の文（必須）", required=True),
    Column("points", "点数", 7, "sum の指標では必須: 該当したときの点数。tiers の指標では空欄", kind="int"),
    Column("requires", "前提の小項目id", 14, "この小項目が該当したときだけ数える前提の小項目（同じ指標内）", kind="id"),
    _OPTIONAL_STATUS, _SOURCES, _NOTE,
))

STEPS = SheetSpec("採点区分", "step", "採点方法が tiers または thresholds の指標の区分。1 区分 1 行、昇順に並べます。", (
    Column("indicator", "指標id", 10, "区分を持つ指標（採点方法が tiers / thresholds）", kind="id", required=True),
    Column("met", "該当数", 8, "tiers のみ: 該当した小項目がこの数以上なら…（1 以上の整数）", kind="int", minimum=1),
    Column("min", "下限値", 8, "thresholds のみ: 数値がこの値以上なら…", kind="number"),
    Column("points", "点数", 8, "…この点数", kind="int", required=True),
))

TABLES = (GRANTS, GOALS, INDICATORS, SUBITEMS, STEPS)
SHEET_ORDER = [HEADER.name, *(t.name for t in TABLES)]


# -- export -------------------------------------------------------------------------------

def write_catalog_xlsx(catalog: Catalog, path: str | Path) -> Path:
    """Write the catalog as an editable workbook (atomically); refuse what would not read back the same."""
    problems = unrepresentable_texts(catalog)
    if problems:
        raise CatalogError(catalog.id, problems)
    wb = catalog_workbook(catalog)
    problems = round_trip_problems(catalog, wb)
    if problems:
        raise CatalogError(catalog.id, problems)
    return write_atomically(path, lambda tmp: wb.save(tmp))


def round_trip_problems(catalog: Catalog, wb: Workbook) -> list[str]:
    """Read the workbook back in memory: the same catalog, or where it differs (a field this layout lacks)."""
    buffer = io.BytesIO()
    wb.save(buffer)
    try:
        back = read_catalog_xlsx(buffer)
    except CatalogError as err:
        return [f"書き出したブックを読み戻せません / the workbook does not read back: {p}" for p in err.problems]
    if back.content_hash() == catalog.content_hash():
        return []
    differing = list(_differences(catalog.model_dump(mode="json"), back.model_dump(mode="json"), ""))
    return [f"{where}: ブックの様式に入らない内容です / not representable in the workbook → "
            "YAML のまま編集してください" for where in differing[:10]]


def _differences(a, b, where: str):
    if isinstance(a, dict) and isinstance(b, dict):
        for key in dict.fromkeys([*a, *b]):
            yield from _differences(a.get(key), b.get(key), f"{where}.{key}".lstrip("."))
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            yield from _differences(x, y, f"{where}[{i}]")
    elif a != b:
        yield where or "(top)"


def unrepresentable_texts(catalog: Catalog) -> list[str]:
    """Texts a cell cannot hold unchanged (too long, carriage returns, control characters)."""
    out = []
    for where, text in _texts(catalog.model_dump(mode="json"), ""):
        if len(text) > MAX_CELL_CHARS:
            out.append(f"{where}: {len(text)} 文字あり、セルの上限 {MAX_CELL_CHARS} 文字を超えます → 文を分けてください")
        if re.search(r"[\x00-\x08\x0b-\x1f]", text):
            out.append(f"{where}: セルに保存できない制御文字（復帰 \\r など）があります → 削除してください")
    return out


def _texts(node, where: str):
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _texts(value, f"{where}.{key}".lstrip("."))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _texts(value, f"{where}[{i}]")
    elif isinstance(node, str):
        yield where, node


def catalog_workbook(catalog: Catalog) -> Workbook:
    wb = Workbook()
    _write_readme(wb.active)
    _write_header_sheet(wb.create_sheet(HEADER.name), catalog)
    for spec, rows in ((GRANTS, grant_rows(catalog)), (GOALS, goal_rows(catalog)),
                       (INDICATORS, indicator_rows(catalog)), (SUBITEMS, subitem_rows(catalog)),
                       (STEPS, step_rows(catalog))):
        _write_table(wb.create_sheet(spec.name), spec, rows)
    return wb


def _provenance_cells(prov: Provenance | None) -> dict:
    if prov is None:
        return {}
    return {"status": prov.status.value, "sources": ", ".join(prov.sources), "note": prov.note}


def grant_rows(cat: Catalog) -> list[dict]:
    return [{"id": g.id, "name": g.name, "short": g.short, "points": g.points} for g in cat.grants]


def goal_rows(cat: Catalog) -> list[dict]:
    return [{"grant": grant.id, "goal": goal.id, "number": goal.number, "name": goal.name, "points": goal.points,
             "group": group.kind.value, "group_points": group.points} for grant, goal, group in cat.groups()]


def indicator_rows(cat: Catalog) -> list[dict]:
    rows = []
    for _, goal, group, ind in cat.indicators():
        rule = ind.rule
        rows.append({"id": ind.id, "goal": goal.id, "group": group.kind.value, "number": ind.number,
                     "text": ind.text, "points": ind.points, "rule": rule.type, "cap": getattr(rule, "cap", None),
                     "step": getattr(rule, "step", None), "unit": getattr(rule, "unit", None),
                     **_ratio_cells(getattr(rule, "ratio", None)),
                     "period": ind.period, "notes": ind.notes, **_provenance_cells(ind.provenance)})
    return rows


def _ratio_cells(ratio) -> dict:
    if ratio is None:
        return {}
    return {key: getattr(ratio, name) for key, name in RATIO_KEYS.items()}


def subitem_rows(cat: Catalog) -> list[dict]:
    return [{"id": s.id, "indicator": ind.id, "label": s.label, "text": s.text, "points": s.points,
             "requires": s.requires, **_provenance_cells(s.provenance)}
            for *_, ind in cat.indicators() for s in ind.subitems]


def step_rows(cat: Catalog) -> list[dict]:
    rows = []
    for *_, ind in cat.indicators():
        for tier in getattr(ind.rule, "tiers", []):
            rows.append({"indicator": ind.id, "met": tier.met, "points": tier.points})
        for threshold in getattr(ind.rule, "thresholds", []):
            rows.append({"indicator": ind.id, "min": threshold.min, "points": threshold.points})
    return rows


def _set_value(cell, value, col: Column) -> None:
    if isinstance(value, str) and value == "":
        value = None
    cell.value = value
    if isinstance(value, str) and value.startswith("="):
        cell.data_type = "s"  # text, not a formula
    cell.alignment = WRAP_TOP
    cell.border = BOX
    if col.kind in ("text", "id", "sources"):
        cell.number_format = "@"


def _style_header(cell) -> None:
    cell.font, cell.fill, cell.border, cell.alignment = BOLD, FILL_HEADER, BOX, WRAP_TOP


def _write_table(ws: Worksheet, spec: SheetSpec, rows: list[dict]) -> None:
    for ci, col in enumerate(spec.columns, 1):
        letter = get_column_letter(ci)
        ws.cell(1, ci, col.header)
        _style_header(ws.cell(1, ci))
        ws.column_dimensions[letter].width = col.width
        if col.kind in ("text", "id", "sources"):
            ws.column_dimensions[letter].number_format = "@"  # so Excel keeps "002" and "1-2" as typed
    for ri, row in enumerate(rows, 2):
        for ci, col in enumerate(spec.columns, 1):
            _set_value(ws.cell(ri, ci), row.get(col.key), col)
        ws.row_dimensions[ri].height = _height(row, spec)
    ws.freeze_panes = "B2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(spec.columns))}{len(rows) + 1}"
    last = len(rows) + 1 + SPARE_ROWS
    for ci, col in enumerate(spec.columns, 1):
        letter = get_column_letter(ci)
        _add_validation(ws, col, f"{letter}2:{letter}{last}")


def _height(row: dict, spec: SheetSpec) -> float:
    heights = [_row_height(row[c.key], c.width) for c in spec.columns if isinstance(row.get(c.key), str)]
    return min(MAX_ROW_HEIGHT, max(heights, default=15.0))


def _choice_prompt(choice: str) -> str:
    return "、".join(f"{code}={label}" for code, label in CHOICES[choice].items())[:250]


def _validation_for(col: Column) -> DataValidation | None:
    if col.kind == "choice":
        dv = DataValidation(type="list", formula1='"' + ",".join(CHOICES[col.choice]) + '"',
                            error=f"リストから選んでください: {_choice_prompt(col.choice)}"[:250],
                            prompt=_choice_prompt(col.choice))
    elif col.kind == "int":
        dv = DataValidation(type="whole", operator="greaterThanOrEqual", formula1=str(col.minimum),
                            error=f"{col.minimum} 以上の整数を入力してください。", prompt=col.help[:250])
    elif col.kind == "number":
        dv = DataValidation(type="decimal", operator="greaterThanOrEqual", formula1="-1E+15",
                            error="数値を入力してください。", prompt=col.help[:250])
    else:
        return None
    dv.errorTitle, dv.promptTitle = "入力エラー", col.header
    dv.showErrorMessage, dv.showInputMessage, dv.errorStyle = True, True, "stop"
    dv.allow_blank = True  # a blank required cell is reported by import, with where and how to fix
    return dv


def _add_validation(ws: Worksheet, col: Column, ref: str) -> None:
    dv = _validation_for(col)
    if dv is not None:
        ws.add_data_validation(dv)
        dv.add(ref)


def header_values(cat: Catalog) -> dict:
    return {"schema_version": cat.schema_version, "id": cat.id, "year": cat.year, "kind": cat.kind.value,
            "title": cat.title, "period": cat.period, "total": cat.total, **_provenance_cells(cat.provenance)}


def _write_header_sheet(ws: Worksheet, cat: Catalog) -> None:
    for ci, (title, width) in enumerate((("項目", 16), ("値", 70), ("説明", 60)), 1):
        ws.cell(1, ci, title)
        _style_header(ws.cell(1, ci))
        ws.column_dimensions[get_column_letter(ci)].width = width
    values = header_values(cat)
    for ri, col in enumerate(HEADER.columns, 2):
        _put(ws, f"A{ri}", col.header, font=BOLD)
        _set_value(ws.cell(ri, 2), values.get(col.key), col)
        _put(ws, f"C{ri}", col.help)
        _add_validation(ws, col, f"B{ri}")
        ws.row_dimensions[ri].height = min(MAX_ROW_HEIGHT, _row_height(str(values.get(col.key) or ""), 70))
    ws.freeze_panes = "A2"


README_INTRO = (
    "このブックは評価指標カタログ（YAML）を Excel で編集するためのものです。",
    "編集後、xlsx-tool catalog import このファイル.xlsx --out カタログ.yaml で YAML に戻します。"
    "誤りがあれば、シート・行・列と直し方をすべて一度に表示します。",
    "作成した YAML は xlsx-tool catalog validate で確認し、xlsx-tool generate --catalog カタログ.yaml で"
    "自己評価ワークブックを作成できます。",
    "",
    "編集のきまり",
    "・シート名と 1 行目の見出しは変えないでください（列の順は変えても構いません。見出しのない列は無視します）。",
    "・行の順がカタログ内の順になります。行を追加・削除して構いません。空行は無視します。",
    "・id は英字で始まる英数字・-・_ で、カタログ全体で一意にします。",
    "・配点は各段階で合計が一致する必要があります（交付金 = 目標の合計、目標 = 指標群の合計、指標群 = 指標の合計）。",
    "・採点方法が sum の指標は小項目の点数で配点に到達でき、tiers の指標は小項目の数と採点区分で配点を決めます。",
    "・数式は使えません。値を直接入力してください。",
)


def _write_readme(ws: Worksheet) -> None:
    ws.title = README_SHEET
    for letter, width in zip("ABCD", (16, 18, 80, 44)):
        ws.column_dimensions[letter].width = width
    ws["A1"] = "評価指標カタログ 編集用ブック"
    ws["A1"].font = TITLE
    row = 3
    for line in README_INTRO:
        ws.cell(row, 1, line)
        if line == "編集のきまり":
            ws.cell(row, 1).font = BOLD
        row += 1
    row = _write_column_help(ws, row + 1)
    _write_choice_help(ws, row + 1)


def _write_column_help(ws: Worksheet, row: int) -> int:
    for ci, title in enumerate(("シート", "列（項目）", "説明", "入力できる値"), 1):
        ws.cell(row, ci, title)
        _style_header(ws.cell(row, ci))
    for spec in (HEADER, *TABLES):
        row += 1
        _put(ws, f"A{row}", spec.name, font=BOLD)
        _put(ws, f"C{row}", spec.help, font=BOLD)
        for col in spec.columns:
            row += 1
            for letter, value in zip("ABCD", (spec.name, col.header, col.help, _accepted(col))):
                _put(ws, f"{letter}{row}", value)
    return row + 1


def _accepted(col: Column) -> str:
    need = "必須" if col.required else "任意"
    what = {"text": "文字", "id": "id（英字で始まる英数字・-・_）", "int": f"{col.minimum} 以上の整数",
            "number": "数値", "choice": "リストから選択: " + " / ".join(CHOICES.get(col.choice, {})),
            "sources": "資料番号（カンマ区切り）"}[col.kind]
    return f"{need}。{what}"


def _write_choice_help(ws: Worksheet, row: int) -> None:
    for ci, title in enumerate(("リスト", "値", "意味"), 1):
        ws.cell(row, ci, title)
        _style_header(ws.cell(row, ci))
    names = {"grant": "交付金id", "kind": "区分", "group": "指標群", "rule": "採点方法", "status": "出典区分"}
    for choice, labels in CHOICES.items():
        for code, label in labels.items():
            row += 1
            for letter, value in zip("ABC", (names[choice], code, label)):
                _put(ws, f"{letter}{row}", value)


# -- import: where each value came from ---------------------------------------------------

@dataclass(frozen=True)
class Loc:
    """A cell (or a row, or a sheet) of the workbook."""

    sheet: str
    row: int | None = None
    column: str | None = None  # letter
    header: str = ""

    def sort_key(self):
        order = SHEET_ORDER.index(self.sheet) if self.sheet in SHEET_ORDER else len(SHEET_ORDER)
        return order, self.row or 0, len(self.column or ""), self.column or ""


@dataclass(frozen=True)
class CellProblem:
    loc: Loc
    message: str
    fix: str = ""

    def __str__(self) -> str:
        where = f"シート「{self.loc.sheet}」" if self.loc.sheet else "場所不明"
        if self.loc.row:
            where += f" {self.loc.row} 行目"
        if self.loc.column:
            where += f" {self.loc.column} 列（{self.loc.header}）"
        return f"{where}: {self.message}" + (f" → {self.fix}" if self.fix else "")


class CatalogSheetError(CatalogError):
    """Problems of a catalog workbook; ``cells`` locates each one (sheet, row, column)."""

    def __init__(self, source: str, cells: list[CellProblem], deferred: int = 0):
        self.cells = cells
        self.deferred = deferred  # checks skipped because they depend on a cell reported above
        super().__init__(source, [str(c) for c in cells])


class _Bad:
    """A cell whose value could not be used (already reported)."""

    def __repr__(self) -> str:
        return "BAD"


BAD = _Bad()


@dataclass
class _Row:
    spec: SheetSpec
    number: int
    values: dict[str, object]
    locs: dict[str, Loc]

    def ok(self, key: str) -> bool:
        return self.values.get(key) is not BAD


@dataclass
class _IndicatorSlot:
    data: dict
    path: str
    row: _Row
    rule: str | None  # None when the rule type cell is not usable


@dataclass
class _Importer:
    source: str
    problems: list[CellProblem] = field(default_factory=list)
    where: dict[str, Loc] = field(default_factory=dict)  # catalog path -> cell
    flags: list[tuple[str, str]] = field(default_factory=list)  # (catalog path, "sums" | "rule" | "published")
    seen_ids: dict[str, Loc] = field(default_factory=dict)

    # -- recording
    def report(self, loc: Loc, message: str, fix: str = "") -> None:
        self.problems.append(CellProblem(loc, message, fix))

    def bad(self, loc: Loc, message: str, fix: str) -> _Bad:
        self.report(loc, message, fix)
        return BAD

    def flag(self, path: str, affects: str) -> None:
        self.flags.append((path, affects))

    def take(self, row: _Row, key: str, path: str, placeholder=None, affects: str = ""):
        """The row's value for key, registered at path; the placeholder (flagged) if unusable."""
        self.where[path] = row.locs[key]
        value = row.values.get(key)
        if value is BAD:
            if affects:
                self.flag(path, affects)
            return placeholder
        return value

    def unique_id(self, row: _Row, key: str, ident: str) -> None:
        loc = row.locs[key]
        first = self.seen_ids.setdefault(ident, loc)
        if first is not loc:
            self.report(loc, f"id '{ident}' が重複しています（シート「{first.sheet}」 {first.row} 行目と同じ）",
                        "一意な id にしてください")


# -- import: cells to values ----------------------------------------------------------------

def _loc(spec: SheetSpec, row: int, col: Column, letter: str) -> Loc:
    return Loc(spec.name, row, letter, col.header)


def _number_text(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _parse_cell(imp: _Importer, cell, col: Column, loc: Loc):
    value = cell.value
    if cell.data_type == "f":
        return imp.bad(loc, f"数式は使えません（{value}）", "値を直接入力してください")
    if isinstance(value, (datetime, date, time)):
        return imp.bad(loc, f"日付・時刻として入力されています（{value}）",
                       "セルの表示形式を「文字列」にして入力し直してください")
    if isinstance(value, str) and not value.strip() and (col.kind != "text" or col.required):
        value = None
    if value is None:
        if col.required:
            return imp.bad(loc, "空欄です", f"{col.header}を入力してください")
        return None
    return _PARSERS[col.kind](imp, value, col, loc)


def _parse_text(imp, value, col, loc):
    return value if isinstance(value, str) else _number_text(value)


def _parse_id(imp, value, col, loc):
    return _number_text(value).strip()


def _parse_int(imp, value, col, loc):
    text = unicodedata.normalize("NFKC", _number_text(value)).strip()
    if isinstance(value, bool) or not re.fullmatch(r"[+-]?\d+", text):
        return imp.bad(loc, f"整数ではありません（{value!r}）", f"{col.minimum} 以上の整数を入力してください")
    number = int(text)
    if number < col.minimum:
        return imp.bad(loc, f"{number} は {col.minimum} 未満です", f"{col.minimum} 以上の整数を入力してください")
    return number


def _parse_number(imp, value, col, loc):
    try:
        number = float(unicodedata.normalize("NFKC", str(value)).strip())
    except ValueError:
        number = math.nan
    if isinstance(value, bool) or not math.isfinite(number):
        return imp.bad(loc, f"数値ではありません（{value!r}）", "数値を入力してください")
    return number


def _parse_choice(imp, value, col, loc):
    text = str(value).strip()
    labels = CHOICES[col.choice]
    if text in labels:
        return text
    by_label = {label: code for code, label in labels.items()}
    if text in by_label:
        return by_label[text]
    allowed = " / ".join(f"{code}（{label}）" for code, label in labels.items())
    return imp.bad(loc, f"「{text}」は{col.header}として使えません", f"次のいずれかにしてください: {allowed}")


def _parse_sources(imp, value, col, loc):
    return [part.strip() for part in re.split(r"[,，、\n]", _number_text(value)) if part.strip()]


_PARSERS = {"text": _parse_text, "id": _parse_id, "int": _parse_int, "number": _parse_number,
            "choice": _parse_choice, "sources": _parse_sources}


def _header_columns(ws: Worksheet, spec: SheetSpec, imp: _Importer) -> dict[str, int] | None:
    found = {str(c.value).strip(): c.column for c in ws[1] if c.value is not None}
    missing = [col for col in spec.columns if col.header not in found]
    for col in missing:
        imp.report(Loc(spec.name, 1), f"見出し「{col.header}」の列がありません",
                   f"1 行目に「{col.header}」列を戻してください（書き出したブックを参照）")
    return None if missing else {col.key: found[col.header] for col in spec.columns}


def _read_rows(ws: Worksheet, spec: SheetSpec, columns: dict[str, int], imp: _Importer) -> list[_Row]:
    rows = []
    for number in range(2, ws.max_row + 1):
        cells = {key: ws.cell(number, ci) for key, ci in columns.items()}
        if all(c.value is None or (isinstance(c.value, str) and not c.value.strip()) for c in cells.values()):
            continue
        locs = {col.key: _loc(spec, number, col, get_column_letter(columns[col.key])) for col in spec.columns}
        values = {col.key: _parse_cell(imp, cells[col.key], col, locs[col.key]) for col in spec.columns}
        rows.append(_Row(spec, number, values, locs))
    return rows


def _header_row(ws: Worksheet, imp: _Importer) -> _Row | None:
    """The カタログ sheet read as one row: each field's value is in column B of the row labelled with it."""
    labels = {str(ws.cell(r, 1).value).strip(): r for r in range(1, ws.max_row + 1) if ws.cell(r, 1).value}
    missing = [col for col in HEADER.columns if col.header not in labels]
    for col in missing:
        imp.report(Loc(HEADER.name, None, "A", "項目"), f"項目「{col.header}」の行がありません",
                   f"A 列が「{col.header}」の行を戻してください（書き出したブックを参照）")
    if missing:
        return None
    locs = {col.key: Loc(HEADER.name, labels[col.header], "B", col.header) for col in HEADER.columns}
    values = {col.key: _parse_cell(imp, ws.cell(labels[col.header], 2), col, locs[col.key]) for col in HEADER.columns}
    return _Row(HEADER, 0, values, locs)


# -- import: rows to the catalog dict ----------------------------------------------------

BLANK_TEXT = "（空欄）"  # stands in for a reported blank text so the remaining checks can run


def read_catalog_xlsx(path: str | Path | io.BytesIO) -> Catalog:
    """Read a catalog workbook; CatalogSheetError lists every problem with its cell."""
    source = "（メモリ上のブック）" if isinstance(path, io.BytesIO) else str(path)
    try:
        wb = load_workbook(path)
    except (OSError, BadZipFile, InvalidFileException, KeyError, ValueError) as exc:
        raise CatalogError(source, [f"ブックを開けません / cannot open: {exc} → 書き出した .xlsx ファイルを指定してください"]) \
            from None
    imp = _Importer(source)
    data = _catalog_data(wb, imp)
    catalog, deferred = _validate(imp, data) if data is not None else (None, 0)
    if imp.problems or catalog is None:
        cells = sorted(imp.problems, key=lambda p: p.loc.sort_key())
        raise CatalogSheetError(source, cells, deferred)
    return catalog


def _catalog_data(wb: Workbook, imp: _Importer) -> dict | None:
    missing = [name for name in SHEET_ORDER if name not in wb.sheetnames]
    for name in missing:
        imp.report(Loc(name), "シートがありません", f"シート「{name}」を戻してください（書き出したブックを参照）")
    if missing:
        return None
    header = _header_row(wb[HEADER.name], imp)
    columns = {spec.name: _header_columns(wb[spec.name], spec, imp) for spec in TABLES}
    if header is None or None in columns.values():
        return None
    rows = {spec.name: _read_rows(wb[spec.name], spec, columns[spec.name], imp) for spec in TABLES}
    data = _top(header, imp)
    grants = _grants(rows[GRANTS.name], imp)
    data["grants"] = [g for g, _ in grants.values()]
    groups = _goals(rows[GOALS.name], grants, imp)
    indicators = _indicators(rows[INDICATORS.name], groups, imp)
    _subitems(rows[SUBITEMS.name], indicators, imp)
    _steps(rows[STEPS.name], indicators, imp)
    _empty_containers(grants, groups, indicators, imp)
    return data


def _provenance(row: _Row, path: str, imp: _Importer) -> dict | None:
    status = imp.take(row, "status", f"{path}.status", placeholder="not_in_sources")
    sources = imp.take(row, "sources", f"{path}.sources") or []
    note = imp.take(row, "note", f"{path}.note") or ""
    imp.where[path] = row.locs["status"]
    if status is None:  # only a sub-item's provenance may be blank (its 出典区分 is not required)
        if not sources and not note:
            return None
        imp.report(row.locs["status"], "出典資料・出典メモがあるのに出典区分が空欄です", "出典区分をリストから選んでください")
        status = "not_in_sources"
    return {"status": status, "sources": sources, "note": note}


def _top(row: _Row, imp: _Importer) -> dict:
    year = imp.take(row, "year", "year", placeholder="R0", affects="published")
    if year != "R0" and not re.fullmatch(r"R\d{1,2}", year):
        imp.report(row.locs["year"], f"年度「{year}」の形式が違います", "R8 のように R と令和の年数で書いてください")
        imp.flag("year", "published")
        year = "R0"
    return {
        "schema_version": imp.take(row, "schema_version", "schema_version", placeholder=1),
        "id": imp.take(row, "id", "id", placeholder="blank-catalog"),
        "year": year,
        "kind": imp.take(row, "kind", "kind", placeholder="municipality", affects="published"),
        "title": imp.take(row, "title", "title") or "",
        "period": imp.take(row, "period", "period") or "",
        "total": imp.take(row, "total", "total", placeholder=0, affects="sums"),
        "provenance": _provenance(row, "provenance", imp),
    }


def _grants(rows: list[_Row], imp: _Importer) -> dict[str, tuple[dict, str]]:
    grants: dict[str, tuple[dict, str]] = {}
    for row in rows:
        gid = row.values["id"]
        if gid is BAD:
            imp.flag("", "sums")
            continue
        if gid in grants:
            imp.report(row.locs["id"], f"交付金 {gid} の行が 2 つあります", "交付金ごとに 1 行にしてください")
            imp.flag("", "sums")
            continue
        path = f"grants[{len(grants)}]"
        imp.where[path] = imp.where[f"{path}.goals"] = row.locs["id"]
        imp.where[f"grants({gid})"] = row.locs["points"]
        grant = {"id": imp.take(row, "id", f"{path}.id"), "name": imp.take(row, "name", f"{path}.name") or "",
                 "short": imp.take(row, "short", f"{path}.short") or "",
                 "points": imp.take(row, "points", f"{path}.points", placeholder=0, affects="sums"), "goals": []}
        grants[gid] = (grant, path)
    return grants


GOAL_KEYS = ("grant", "number", "name", "points")


def _goals(rows: list[_Row], grants, imp: _Importer) -> dict[tuple[str, str], tuple[dict, str]]:
    goals: dict[str, tuple[dict, str, _Row]] = {}
    groups: dict[tuple[str, str], tuple[dict, str]] = {}
    for row in rows:
        grant_id, goal_id, kind = row.values["grant"], row.values["goal"], row.values["group"]
        if BAD in (grant_id, goal_id, kind):
            imp.flag("", "sums")
            continue
        if goal_id in goals:
            _same_goal(row, goals[goal_id][2], imp)
        elif grant_id not in grants:
            imp.report(row.locs["grant"], f"交付金id '{grant_id}' が「{GRANTS.name}」シートにありません",
                       f"「{GRANTS.name}」シートにある交付金idにしてください")
            imp.flag("", "sums")
            continue
        else:
            goals[goal_id] = (*_new_goal(row, *grants[grant_id], imp), row)
        goal, goal_path, _ = goals[goal_id]
        if (goal_id, kind) in groups:
            imp.report(row.locs["group"], f"目標 {goal_id} に指標群 {kind} の行が 2 つあります",
                       "指標群ごとに 1 行にしてください")
            imp.flag("", "sums")
            continue
        groups[(goal_id, kind)] = _new_group(row, goal, goal_path, imp)
    return groups


def _new_group(row: _Row, goal: dict, goal_path: str, imp: _Importer) -> tuple[dict, str]:
    path = f"{goal_path}.groups[{len(goal['groups'])}]"
    imp.where[path] = imp.where[f"{path}.indicators"] = row.locs["group"]
    group = {"kind": imp.take(row, "group", f"{path}.kind"),
             "points": imp.take(row, "group_points", f"{path}.points", placeholder=0, affects="sums"),
             "indicators": []}
    goal["groups"].append(group)
    return group, path


def _new_goal(row: _Row, grant: dict, grant_path: str, imp: _Importer) -> tuple[dict, str]:
    path = f"{grant_path}.goals[{len(grant['goals'])}]"
    imp.where[path] = imp.where[f"{path}.groups"] = row.locs["goal"]
    imp.unique_id(row, "goal", row.values["goal"])
    goal = {"id": imp.take(row, "goal", f"{path}.id"), "number": imp.take(row, "number", f"{path}.number") or "",
            "name": imp.take(row, "name", f"{path}.name", placeholder=BLANK_TEXT),
            "points": imp.take(row, "points", f"{path}.points", placeholder=0, affects="sums"), "groups": []}
    imp.where[f"grants({grant['id']}).goals(目標{goal['number']})"] = row.locs["group_points"]
    grant["goals"].append(goal)
    return goal, path


def _same_goal(row: _Row, first: _Row, imp: _Importer) -> None:
    for key in GOAL_KEYS:
        if row.ok(key) and first.ok(key) and row.values[key] != first.values[key]:
            imp.report(row.locs[key], f"目標 {row.values['goal']} の{first.locs[key].header}が {first.number} 行目"
                       f"（{first.values[key]}）と異なります", "同じ目標の行はすべて同じ値にしてください")


def _indicators(rows: list[_Row], groups, imp: _Importer) -> dict[str, _IndicatorSlot]:
    slots: dict[str, _IndicatorSlot] = {}
    for row in rows:
        group = _parent_group(row, groups, imp)
        if group is None:
            imp.flag("", "sums")
            continue
        group_dict, group_path = group
        path = f"{group_path}.indicators[{len(group_dict['indicators'])}]"
        slot = _indicator(row, path, imp)
        group_dict["indicators"].append(slot.data)
        slots.setdefault(slot.data["id"], slot)
    return slots


def _parent_group(row: _Row, groups, imp: _Importer):
    goal_id, kind = row.values["goal"], row.values["group"]
    if BAD in (goal_id, kind):
        return None
    if (goal_id, kind) in groups:
        return groups[(goal_id, kind)]
    if any(g == goal_id for g, _ in groups):
        imp.report(row.locs["group"], f"目標 {goal_id} に指標群 {kind} の行が「{GOALS.name}」シートにありません",
                   f"「{GOALS.name}」シートに行を追加するか、指標群を直してください")
    else:
        imp.report(row.locs["goal"], f"目標id '{goal_id}' が「{GOALS.name}」シートにありません",
                   f"「{GOALS.name}」シートにある目標idにしてください")
    return None


def _indicator(row: _Row, path: str, imp: _Importer) -> _IndicatorSlot:
    imp.where[path] = row.locs["id"]
    ident = imp.take(row, "id", f"{path}.id", placeholder=f"blank-{INDICATORS.code}-{row.number}")
    if row.ok("id"):
        imp.unique_id(row, "id", ident)
    points = imp.take(row, "points", f"{path}.points", placeholder=0, affects="sums")
    rule, rule_type = _rule(row, path, imp)
    data = {"id": ident, "number": imp.take(row, "number", f"{path}.number") or "",
            "text": imp.take(row, "text", f"{path}.text", placeholder=BLANK_TEXT), "points": points,
            "rule": rule, "subitems": [], "notes": imp.take(row, "notes", f"{path}.notes") or "",
            "period": imp.take(row, "period", f"{path}.period") or "",
            "provenance": _provenance(row, f"{path}.provenance", imp)}
    imp.where[f"{path}.subitems"] = row.locs["id"]
    return _IndicatorSlot(data, path, row, rule_type)


def _rule(row: _Row, path: str, imp: _Importer) -> tuple[dict, str | None]:
    rule_type = imp.take(row, "rule", f"{path}.rule", placeholder=None, affects="rule")
    imp.where[f"{path}.rule.type"] = row.locs["rule"]
    params = {}
    for key in ("cap", "step", "unit", *RATIO_KEYS):
        field = f"ratio.{RATIO_KEYS[key]}" if key in RATIO_KEYS else key
        for tag in CHOICES["rule"]:
            imp.where[f"{path}.rule.{tag}.{field}"] = row.locs[key]
        value = imp.take(row, key, f"{path}.rule.{field}", affects="rule")
        if value is None or value == "":
            continue
        if rule_type is not None and key not in RULE_PARAMETERS[rule_type]:
            imp.report(row.locs[key], f"採点方法 {rule_type} では{row.locs[key].header}を使いません", "空欄にしてください")
            imp.flag(f"{path}.rule", "rule")
            continue
        params[key] = value
    if rule_type is None:
        return {"type": "direct"}, None  # placeholder; the rule checks of this indicator are skipped
    ratio = {RATIO_KEYS[key]: params.pop(key) for key in list(params) if key in RATIO_KEYS}
    if ratio:
        params["ratio"] = _ratio(row, ratio, path, imp)
    if rule_type in STEP_KEY:
        params[rule_type] = []  # filled from the 採点区分 sheet
    return {"type": rule_type, **params}, rule_type


def _ratio(row: _Row, ratio: dict, path: str, imp: _Importer) -> dict:
    """分子 and 分母 go together; 倍率 alone is not a ratio."""
    imp.where[f"{path}.rule.ratio"] = imp.where[f"{path}.rule.thresholds.ratio"] = row.locs["ratio_numerator"]
    for key, name in RATIO_KEYS.items():
        if name != "per" and name not in ratio:
            imp.report(row.locs[key], f"比率には分子と分母の両方が必要です（{row.locs[key].header}が空欄）",
                       f"{row.locs[key].header}を入力するか、比率の列をすべて空欄にしてください")
            imp.flag(f"{path}.rule", "rule")
            ratio[name] = BLANK_TEXT
    return ratio


def _subitems(rows: list[_Row], indicators: dict[str, _IndicatorSlot], imp: _Importer) -> None:
    for row in rows:
        slot = _parent_indicator(row, indicators, imp)
        if slot is None:
            continue
        subs = slot.data["subitems"]
        path = f"{slot.path}.subitems[{len(subs)}]"
        imp.where[path] = row.locs["id"]
        ident = imp.take(row, "id", f"{path}.id", placeholder=f"blank-{SUBITEMS.code}-{row.number}")
        if row.ok("id"):
            imp.unique_id(row, "id", ident)
        sub = {"id": ident, "label": imp.take(row, "label", f"{path}.label") or "",
               "text": imp.take(row, "text", f"{path}.text", placeholder=BLANK_TEXT)}
        optional = {"points": imp.take(row, "points", f"{path}.points", affects="rule"),
                    "requires": imp.take(row, "requires", f"{path}.requires"),
                    "provenance": _provenance(row, f"{path}.provenance", imp)}
        subs.append({**sub, **{k: v for k, v in optional.items() if v is not None}})


def _parent_indicator(row: _Row, indicators: dict[str, _IndicatorSlot], imp: _Importer) -> _IndicatorSlot | None:
    ident = row.values["indicator"]
    if ident is BAD:
        return None
    if ident not in indicators:
        imp.report(row.locs["indicator"], f"指標id '{ident}' が「{INDICATORS.name}」シートにありません",
                   f"「{INDICATORS.name}」シートにある指標idにしてください")
        return None
    return indicators[ident]


def _steps(rows: list[_Row], indicators: dict[str, _IndicatorSlot], imp: _Importer) -> None:
    for row in rows:
        slot = _parent_indicator(row, indicators, imp)
        if slot is None or slot.rule is None:
            continue
        if slot.rule not in STEP_KEY:
            imp.report(row.locs["indicator"], f"指標 {slot.data['id']} の採点方法は {slot.rule} のため、採点区分は使いません",
                       f"この行を削除するか、「{INDICATORS.name}」シートで採点方法を tiers / thresholds にしてください")
            continue
        _step(row, slot, imp)


def _step(row: _Row, slot: _IndicatorSlot, imp: _Importer) -> None:
    rule = slot.data["rule"]
    steps = rule[slot.rule]
    key, unused = STEP_KEY[slot.rule], "min" if slot.rule == "tiers" else "met"
    path = f"{slot.path}.rule.{slot.rule}[{len(steps)}]"
    for alias in (path, f"{slot.path}.rule.{slot.rule}.{slot.rule}[{len(steps)}]"):
        imp.where[alias] = row.locs[key]
        imp.where[f"{alias}.{key}"], imp.where[f"{alias}.points"] = row.locs[key], row.locs["points"]
    if row.values[unused] is not None and row.ok(unused):
        imp.report(row.locs[unused], f"採点方法 {slot.rule} では{row.locs[unused].header}を使いません", "空欄にしてください")
        imp.flag(slot.path + ".rule", "rule")
    value = row.values[key]
    if value is None:
        imp.report(row.locs[key], f"採点方法 {slot.rule} の区分には{row.locs[key].header}が必要です",
                   f"{row.locs[key].header}を入力してください")
    if value is None or value is BAD or not row.ok("points"):
        imp.flag(slot.path + ".rule", "rule")
    steps.append({key: value if value not in (None, BAD) else (1 if key == "met" else 0.0),
                  "points": row.values["points"] if row.ok("points") else 0})


def _empty_containers(grants, groups, indicators: dict[str, _IndicatorSlot], imp: _Importer) -> None:
    for grant, path in grants.values():
        if not grant["goals"]:
            imp.report(imp.where[path], f"交付金 {grant['id']} に目標がありません",
                       f"「{GOALS.name}」シートに目標を追加するか、この行を削除してください")
    for group, path in groups.values():
        if not group["indicators"]:
            imp.report(imp.where[path], "この指標群に指標がありません",
                       f"「{INDICATORS.name}」シートに指標を追加するか、この行を削除してください")
    for slot in indicators.values():
        if slot.rule in STEP_KEY and not slot.data["rule"][slot.rule]:
            imp.report(slot.row.locs["rule"], f"採点方法 {slot.rule} の区分が「{STEPS.name}」シートにありません",
                       f"「{STEPS.name}」シートに区分の行を追加してください")
            imp.flag(slot.path + ".rule", "rule")
            slot.data["rule"][slot.rule].append({STEP_KEY[slot.rule]: 1, "points": 0})


# -- import: the validator's messages back to cells ---------------------------------------

_REST = re.compile(r"^(?P<sub>[.\[][^:\s]*)?(?: \((?P<context>[^)]*)\))?: (?P<body>.*)$", re.S)
_INDICATOR_PATH = re.compile(r"\.indicators\[\d+\]$")


def _validate(imp: _Importer, data: dict) -> tuple[Catalog | None, int]:
    try:
        return parse_catalog(data, imp.source), 0
    except CatalogError as err:
        return None, _map_validator_problems(imp, err.problems)


def _map_validator_problems(imp: _Importer, messages: list[str]) -> int:
    """Add the validator's messages at their cells; return how many were deferred."""
    own_cells = {p.loc for p in imp.problems if p.loc.column}  # already reported by the per-cell checks
    deferred = 0
    for message in dict.fromkeys(messages):
        path = _longest_path(imp.where, message)
        loc, body = _locate(imp, path, message)
        if _depends_on_reported(imp, path):
            deferred += 1
        elif loc not in own_cells:
            text, _, fix = body.rpartition(" → ")
            imp.report(loc, text or fix, fix if text else "")
    return deferred


def _longest_path(where: dict[str, Loc], message: str) -> str | None:
    best = None
    for path in where:
        if message.startswith(path) and (len(message) == len(path) or message[len(path)] in ":.[ "):
            if best is None or len(path) > len(best):
                best = path
    return best


def _locate(imp: _Importer, path: str | None, message: str) -> tuple[Loc, str]:
    if path is None:
        return Loc(""), message
    match = _REST.match(message[len(path):])
    if not match:
        return imp.where[path], message
    body = match["body"]
    if match["sub"]:
        body = f"{match['sub'].lstrip('.')}: {body}"
    return _refine(imp, path, body)


def _refine(imp: _Importer, path: str, body: str) -> tuple[Loc, str]:
    """A rule problem of an indicator: the cell it names (a sub-item, 上限, 刻み) or 採点方法."""
    if not _INDICATOR_PATH.search(path):
        return imp.where[path], body
    sub = re.match(r"(subitems\[\d+\]\.\w+): ", body)
    if sub and f"{path}.{sub[1]}" in imp.where:
        return imp.where[f"{path}.{sub[1]}"], body[sub.end():]
    for key in ("cap", "step"):
        if f"rule.{key}" in body or f" {key} " in body:
            return imp.where[f"{path}.rule.{key}"], body
    step = _step_cell(imp, path, body)
    return step or imp.where.get(f"{path}.rule", imp.where[path]), body


def _step_cell(imp: _Importer, path: str, body: str) -> Loc | None:
    """The 採点区分 row a tiers/thresholds message is about: the top one, or the first when about order."""
    if body.startswith("rule '"):  # about the rule and the sub-items as a whole
        return None
    for kind, key in STEP_KEY.items():
        count = 0
        while f"{path}.rule.{kind}[{count}]" in imp.where:
            count += 1
        if not count or kind.rstrip("s") not in body:
            continue
        top = f"{path}.rule.{kind}[{count - 1}]"
        if "最上位" in body:
            return imp.where[f"{top}.points"]
        return imp.where[f"{path}.rule.{kind}[0].{key}" if "昇順" in body else f"{top}.{key}"]
    return None


def _depends_on_reported(imp: _Importer, path: str | None) -> bool:
    """True when the message follows from a cell already reported (e.g. a sum with an unusable 配点)."""
    if path is None:
        return False
    if path.startswith("grants("):  # published points of a goal
        return any(affects in ("sums", "published") for _, affects in imp.flags)
    if path == "total" or (path.endswith(".points") and ".rule" not in path and ".subitems" not in path):
        container = "" if path == "total" else path[: -len(".points")]
        return any(affects == "sums" and (flagged == "" or flagged.startswith(container))  # "": a row left out
                   for flagged, affects in imp.flags)
    if _INDICATOR_PATH.search(path):
        return any(flagged.startswith(path + ".") for flagged, _ in imp.flags)
    return False


# -- YAML ------------------------------------------------------------------------------------

class _BlockDumper(yaml.SafeDumper):
    """Multi-line texts as literal blocks, keys in schema order."""


def _represent_str(dumper: yaml.SafeDumper, text: str):
    style = "|" if "\n" in text else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_BlockDumper.add_representer(str, _represent_str)


def catalog_yaml(catalog: Catalog, origin: str = "") -> str:
    data = catalog.model_dump(mode="json", exclude_defaults=True)
    body = yaml.dump(data, Dumper=_BlockDumper, allow_unicode=True, sort_keys=False, default_flow_style=False,
                     width=1000)
    head = f"# {catalog.title}\n" + (f"# {origin} から xlsx-tool catalog import で作成\n" if origin else "")
    return head + body


def write_catalog_yaml(catalog: Catalog, path: str | Path, origin: str = "") -> Path:
    text = catalog_yaml(catalog, origin)
    return write_atomically(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
