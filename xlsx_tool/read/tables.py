"""Read the comparison data users supply: results tables, prefecture averages, id mappings.

Formats (CSV in UTF-8 with or without BOM, or cp932; or the first sheet of an .xlsx):
- national results, one row per entity: code, name, prefecture, insured, total, and any of
  promotion, support, P1 … S4, P1.process …, indicator ids (Japanese headers 団体コード, 団体名,
  都道府県, 第1号被保険者数, 合計 are accepted); members 構成市町村 (a 広域連合's member codes, 、 or ;);
- averages (e.g. a prefecture's): key, mean[, median][, scope] — key is total, a grant id,
  goal id, group key (P1.process) or indicator id;
- id mapping across years: previous_id, current_id;
- official results in the tally's layout: 団体コード, 年度, 列番号, 得点 (one row per scored sub-item).
"""

from __future__ import annotations

import csv
import io
import math
import unicodedata
from pathlib import Path

from openpyxl import load_workbook

from xlsx_tool.catalog.entity import code_key, members_column
from xlsx_tool.catalog.model import Catalog
from xlsx_tool.catalog.official import ResultRow, normalise_year
from xlsx_tool.catalog.reference import Reference, ReferenceDataError, Stat, load_reference_file
from xlsx_tool.read.file_checks import FileRejected, check_container
from xlsx_tool.scoring.gap import EntityResult
from xlsx_tool.util.problems import located, message

ALIASES = {"団体コード": "code", "保険者番号": "code", "団体名": "name", "市町村名": "name", "市区町村": "name",
           "都道府県": "prefecture", "第1号被保険者数": "insured", "合計": "total", "総合計": "total",
           "得点": "total", "区分キー": "key", "平均点": "mean", "平均": "mean", "中央値": "median",
           "範囲": "scope", "前年度id": "previous_id", "今年度id": "current_id",
           "構成市町村": "members", "構成団体": "members"}


class ComparisonError(ReferenceDataError):
    """A comparison file that cannot be used (file, row, column, what to do)."""


def read_table(path: Path) -> list[dict[str, object]]:
    values = table_values(path)
    header = [ALIASES.get(str(h).strip(), str(h).strip()) if h is not None else "" for h in values[0]]
    return [dict(zip(header, row)) for row in values[1:] if any(v not in (None, "") for v in row)]


def table_values(path: Path) -> list[list[object]]:
    """Every row of the first sheet (xlsx) or of the CSV (UTF-8 with or without BOM, or cp932), header first."""
    if not path.is_file():
        raise ComparisonError(str(path), [message("table.missing")])
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        try:
            check_container(path)
            wb = load_workbook(path, read_only=True, data_only=True)
            try:
                values = list(wb.worksheets[0].iter_rows(values_only=True))
            finally:
                wb.close()
        except FileRejected as rej:
            raise ComparisonError(str(path), [rej.reason]) from None
        except Exception as exc:  # openpyxl raises many types for damaged files
            raise ComparisonError(str(path), [message("table.unreadable_book", detail=exc)]) from None
    else:
        raw = path.read_bytes()
        for enc in ("utf-8-sig", "cp932"):
            try:
                text = raw.decode(enc)
                break
            except UnicodeDecodeError:
                continue
        else:
            raise ComparisonError(str(path), [message("table.encoding")])
        values = list(csv.reader(io.StringIO(text)))
    if not values:
        raise ComparisonError(str(path), [message("table.empty")])
    return [list(v) for v in values]


OFFICIAL_COLUMNS = ("団体コード", "年度", "列番号", "得点")


def read_official_results(path: str | Path) -> dict[str, list[ResultRow]]:
    """An official results file in the tally's layout, one row per scored sub-item (団体コード, 年度,
    列番号, 得点): rows by 団体コード (code_key). Every unreadable value is reported with its row."""
    path = Path(path)
    values = table_values(path)
    header = [unicodedata.normalize("NFKC", str(h or "")).strip() for h in values[0]]
    missing = [c for c in OFFICIAL_COLUMNS if c not in header]
    if missing:
        raise ComparisonError(str(path), [located("official.header", f"{path.name} 1 行目", missing="・".join(missing))])
    at = {c: header.index(c) for c in OFFICIAL_COLUMNS}
    out: dict[str, list[ResultRow]] = {}
    problems = []
    for number, row in enumerate(values[1:], start=2):
        cells = {c: row[i] if i < len(row) else None for c, i in at.items()}
        if all(v in (None, "") for v in cells.values()):
            continue
        where = f"{path.name} {number} 行目"
        year = normalise_year(cells["年度"])
        column, points = _as_number(cells["列番号"]), _as_number(cells["得点"])
        bad = [(c, v, what) for c, v, what, ok in (
            ("団体コード", cells["団体コード"], "団体コード", cells["団体コード"] not in (None, "")),
            ("年度", cells["年度"], "R7 や 令和7年度 のような年度", year is not None),
            ("列番号", cells["列番号"], "整数の列番号", column is not None and float(column).is_integer()),
            ("得点", cells["得点"], "数値の得点", points is not None)) if not ok]
        for c, v, what in bad:
            problems.append(located("official.value", where, column=c, value="" if v is None else v, expected=what))
        if not bad:
            out.setdefault(code_key(cells["団体コード"]), []).append(
                ResultRow(where, str(cells["団体コード"]), year, int(column), float(points)))
    if problems:
        raise ComparisonError(str(path), problems)
    return out


def _as_number(value: object) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    try:
        return float(unicodedata.normalize("NFKC", str(value)).strip())
    except (TypeError, ValueError):
        return None


def _number(value, path, row_no, column, problems, integer=False):
    if value in (None, ""):
        return None
    try:
        number = float(str(value).replace(",", ""))
        if not math.isfinite(number):
            raise ValueError
    except ValueError:
        problems.append(located("table.not_a_number", f"{row_no} 行目 列「{column}」", value=repr(value)))
        return None
    return int(number) if integer else number


def read_results(path: str | Path) -> list[EntityResult]:
    path = Path(path)
    rows, problems, out = read_table(path), [], []
    for i, row in enumerate(rows, start=2):
        for col in ("code", "total"):
            if row.get(col) in (None, ""):
                problems.append(located("table.blank", f"{i} 行目 列「{col}」"))
        scores = {}
        for key, value in row.items():
            if key not in ("code", "name", "prefecture", "insured", "members") and key:
                number = _number(value, path, i, key, problems)
                if number is not None:
                    scores[key] = number
        members, wrong = members_column(row.get("members"), f"{i} 行目 列「members」")
        problems += wrong
        out.append(EntityResult(code=str(row.get("code") or ""), name=str(row.get("name") or ""),
                                prefecture=str(row.get("prefecture") or ""),
                                insured=_number(row.get("insured"), path, i, "insured", problems, integer=True),
                                scores=scores, members=members))
    if problems:
        raise ComparisonError(str(path), problems)
    return out


def read_averages(path: str | Path, catalog: Catalog) -> Reference:
    path = Path(path)
    rows, problems = read_table(path), []
    sections: dict[str, dict[str, Stat]] = {"grants": {}, "goals": {}, "groups": {}, "indicators": {}}
    total = None
    scope = ""
    goal_ids = {goal.id for g in catalog.grants for goal in g.goals}
    ind_ids = {i.id for *_, i in catalog.indicators()}
    for i, row in enumerate(rows, start=2):
        key = str(row.get("key") or "").strip()
        stat = Stat(mean=_number(row.get("mean"), path, i, "mean", problems),
                    median=_number(row.get("median"), path, i, "median", problems))
        scope = str(row.get("scope") or scope)
        if key == "total":
            total = stat
        elif key in ("promotion", "support"):
            sections["grants"][key] = stat
        elif key in goal_ids:
            sections["goals"][key] = stat
        elif "." in key and key.split(".")[0] in goal_ids:
            sections["groups"][key] = stat
        elif key in ind_ids:
            sections["indicators"][key] = stat
        else:
            problems.append(located("table.unknown_key", f"{i} 行目 列「key」", key=key, catalog=catalog.id))
    if problems:
        raise ComparisonError(str(path), problems)
    return Reference(year=catalog.year, kind=catalog.kind, scope=scope or path.stem, sources=[path.name],
                     note=f"{path.name} から読み込み", total=total, **sections)


def read_mapping(path: str | Path) -> dict[str, str]:
    path = Path(path)
    out, problems = {}, []
    for i, row in enumerate(read_table(path), start=2):
        old, new = str(row.get("previous_id") or "").strip(), str(row.get("current_id") or "").strip()
        if not old or not new:
            problems.append(located("table.mapping_pair", f"{i} 行目"))
        out[old] = new
    if problems:
        raise ComparisonError(str(path), problems)
    return out


def load_compare_file(path: str | Path, catalog: Catalog):
    """A results table (list of EntityResult) or an averages Reference, by what the file holds."""
    path = Path(path)
    if path.suffix.lower() in (".yaml", ".yml"):
        return [r for r in load_reference_file(path)]
    rows = read_table(path)
    header = set().union(*(r.keys() for r in rows)) if rows else set()
    if {"code", "total"} <= header:
        return read_results(path)
    if {"key", "mean"} <= header:
        return read_averages(path, catalog)
    raise ComparisonError(str(path), [message("table.unknown_layout")])
