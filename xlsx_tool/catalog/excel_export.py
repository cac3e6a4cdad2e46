"""Writing a catalog out: `write_catalog_xlsx` lays it out on the sheets of excel_layout with dropdowns
for the enumerations and a 説明 sheet explaining every column (export then import gives the same catalog,
same content hash); `write_catalog_yaml` writes the YAML form.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import yaml
from openpyxl import Workbook
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from xlsx_tool.catalog.excel_import import read_catalog_xlsx
from xlsx_tool.catalog.excel_layout import (
    BANDS,
    CHOICES,
    GOALS,
    GRANTS,
    HEADER,
    INDICATORS,
    MAX_CELL_CHARS,
    MAX_ROW_HEIGHT,
    RATIO_KEYS,
    README_SHEET,
    SPARE_ROWS,
    STEPS,
    SUBITEMS,
    TABLES,
    Column,
    SheetSpec,
)
from xlsx_tool.catalog.loading import CatalogError
from xlsx_tool.catalog.model import Catalog, Provenance
from xlsx_tool.util.atomic import write_atomically
from xlsx_tool.util.cells import put, row_height
from xlsx_tool.util.problems import located
from xlsx_tool.util.styles import BOLD, BOX, FILL_HEADER, TITLE, WRAP_TOP, use_default_font, use_default_row_height

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
            out.append(located("xlsx.too_long", where, length=len(text), limit=MAX_CELL_CHARS))
        if re.search(r"[\x00-\x08\x0b-\x1f]", text):
            out.append(located("xlsx.control_characters", where))
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
    use_default_font(wb)  # the generated books' 游ゴシック, not openpyxl's Calibri
    _write_readme(wb.active)
    _write_header_sheet(wb.create_sheet(HEADER.name), catalog)
    for spec, rows in ((GRANTS, grant_rows(catalog)), (GOALS, goal_rows(catalog)),
                       (INDICATORS, indicator_rows(catalog)), (SUBITEMS, subitem_rows(catalog)),
                       (STEPS, step_rows(catalog)), (BANDS, band_rows(catalog))):
        _write_table(wb.create_sheet(spec.name), spec, rows)
    use_default_row_height(*wb.worksheets)
    return wb


def _provenance_cells(prov: Provenance | None) -> dict:
    if prov is None:
        return {}
    return {"status": prov.status.value, "sources": ", ".join(prov.sources), "note": prov.note,
            "tally_year": prov.tally_year, "tally_column": prov.tally_column}


def _national_cells(national) -> dict:
    return {} if national is None else {"national_met": national.met, "national_of": national.of}


def _short(flag: bool) -> str | None:
    return "short" if flag else None


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
                     "text": ind.text, "title": ind.title, "short_title": _short(ind.short_title),
                     "points": ind.points, "rule": rule.type, "cap": getattr(rule, "cap", None),
                     "combine": getattr(rule, "combine", None),
                     "step": getattr(rule, "step", None), "unit": getattr(rule, "unit", None),
                     **_ratio_cells(getattr(rule, "ratio", None)),
                     "period": ind.period, "notes": ind.notes, **_provenance_cells(ind.provenance)})
    return rows


def _ratio_cells(ratio) -> dict:
    if ratio is None:
        return {}
    return {key: getattr(ratio, name) for key, name in RATIO_KEYS.items()}


def subitem_rows(cat: Catalog) -> list[dict]:
    return [{"id": s.id, "indicator": ind.id, "label": s.label, "text": s.text, "short_title": _short(s.short_title),
             "points": s.points, "requires": s.requires, "same_as": s.same_as, **_national_cells(s.national),
             **_provenance_cells(s.provenance)}
            for *_, ind in cat.indicators() for s in ind.subitems]


def band_rows(cat: Catalog) -> list[dict]:
    return [{"subitem": s.id, "label": b.label, "points": b.points, **_national_cells(b.national),
             **_provenance_cells(b.provenance)}
            for *_, ind in cat.indicators() for s in ind.subitems for b in s.bands]


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
    heights = [row_height(row[c.key], c.width) for c in spec.columns if isinstance(row.get(c.key), str)]
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
        put(ws, f"A{ri}", col.header, font=BOLD)
        _set_value(ws.cell(ri, 2), values.get(col.key), col)
        put(ws, f"C{ri}", col.help)
        _add_validation(ws, col, f"B{ri}")
        ws.row_dimensions[ri].height = min(MAX_ROW_HEIGHT, row_height(str(values.get(col.key) or ""), 70))
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
        put(ws, f"A{row}", spec.name, font=BOLD)
        put(ws, f"C{row}", spec.help, font=BOLD)
        for col in spec.columns:
            row += 1
            for letter, value in zip("ABCD", (spec.name, col.header, col.help, _accepted(col))):
                put(ws, f"{letter}{row}", value)
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
    names = {"grant": "交付金id", "kind": "区分", "group": "指標群", "rule": "採点方法", "status": "出典区分",
             "combine": "系列の扱い", "short": "項目名のみ"}
    for choice, labels in CHOICES.items():
        for code, label in labels.items():
            row += 1
            for letter, value in zip("ABC", (names[choice], code, label)):
                put(ws, f"{letter}{row}", value)


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
