"""Names shared by the workbook writer and readers: sheets, columns, metadata keys."""

from __future__ import annotations

import re

from xlsx_tool.catalog.model import Catalog, Grant

TOOL_ID = "xlsx_tool"
COVER_SHEET = "表紙"
SUMMARY_SHEET = "集計"
LISTS_SHEET = "_lists"
META_SHEET = "_meta"
COVER_CODE_LABEL = "団体コード"  # its value beside it on the cover: text, a leading zero kept

# input sheet columns
COL_NUMBER, COL_TEXT, COL_POINTS, COL_ANSWER, COL_SCORE, COL_REMARKS, COL_SOURCE, COL_ID, COL_DONE = "ABCDEFGHI"
COL_PREVIOUS = "J"  # last year's answer, shown when the generator is given last year's book
COL_YEN = "K"  # 見込額: what meeting the row adds to its indicator × the yen per point typed on 集計
HEADER_ROW = 3
FIRST_DATA_ROW = 4

META_KEYS = ("tool", "generator_version", "catalog_id", "catalog_hash", "year", "kind",
             "entity_code", "entity_name", "prefecture", "insured", "generated_at", "thresholds",
             "catalog_title")  # added last: books made before it lack only this row


ELIGIBILITY_SHEET = "交付要件"
ELIGIBILITY_FIRST_ROW = 4


def eligibility_cells() -> dict[str, str]:
    """Input cell of every field of the 交付要件 sheet (column C, one row each)."""
    from xlsx_tool.catalog.eligibility import INPUT_ROWS

    return {field: f"C{ELIGIBILITY_FIRST_ROW + i}" for i, (field, *_) in enumerate(INPUT_ROWS)}


def input_sheet_name(grant: Grant) -> str:
    return f"{grant.short}交付金"  # 推進交付金 / 支援交付金


def input_sheet_names(catalog: Catalog) -> dict[str, str]:
    return {g.id: input_sheet_name(g) for g in catalog.grants}


def quote_sheet(name: str) -> str:
    return "'" + name.replace("'", "''") + "'"


def _name_part(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]", "_", text)  # a defined name holds letters, digits and _ only


def defined_name_for(*parts: str) -> str:
    """Workbook-level name such as score_P1_process."""
    return "score_" + "_".join(map(_name_part, parts))


def yen_name(grant_id: str) -> str:
    """Workbook-level name of the 集計 cell where staff type a grant's yen per point (yen_per_point_P)."""
    return "yen_per_point_" + _name_part(grant_id)
