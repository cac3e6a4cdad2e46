"""What the sheet writers share: the input columns, the layout an input sheet records for the summary
and the cover, the dropdown validations (one per list, added to as cells are written) and print setup.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from xlsx_tool.catalog.eligibility import NO, YES
from xlsx_tool.catalog.entity import Entity
from xlsx_tool.catalog.answers import answer_choices
from xlsx_tool.catalog.model import ANSWER_CHOICES, DirectRule, Indicator, ThresholdsRule
from xlsx_tool.catalog.rules import allowed_points
from xlsx_tool.workbook.meta import (
    COL_ANSWER,
    COL_DONE,
    COL_ID,
    COL_NUMBER,
    COL_POINTS,
    COL_REMARKS,
    COL_SCORE,
    COL_SOURCE,
    COL_TEXT,
    COL_YEN,
    FIRST_DATA_ROW,
    LISTS_SHEET,
    quote_sheet,
)

NOTES_SHEET = "留意点"
YES_NO = (YES, NO)
INPUT_COLUMNS = {  # column: (header, width)
    COL_NUMBER: ("番号", 7), COL_TEXT: ("評価指標・評価項目", 62), COL_POINTS: ("配点", 7),
    COL_ANSWER: ("回答", 10), COL_SCORE: ("得点", 7), COL_REMARKS: ("根拠・備考", 30),
    COL_SOURCE: ("出典・全国該当率", 22), COL_ID: ("id", 12), COL_DONE: ("回答済", 6),
    COL_YEN: ("見込額（円）", 14),  # after the hidden columns and 前年度回答 (J): the letters before it stay
}


@dataclass
class SheetLayout:
    """Where the writer put things on one input sheet (used for subtotals and the summary)."""

    name: str
    total_cell: str = ""
    goal_cells: dict[str, str] = field(default_factory=dict)
    group_cells: dict[tuple[str, str], str] = field(default_factory=dict)
    last_row: int = FIRST_DATA_ROW


class Validations:
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

    def add(self, ws: Worksheet, cell: str, ind: Indicator, answer_id: str, is_subitem: bool) -> None:
        choices = answer_choices(ind, answer_id) if is_subitem else None
        if choices is not None and choices != ANSWER_CHOICES:  # a ladder: its levels
            key = (ws.title, "levels", choices)
            shown = "・".join(choices)
            make = lambda: DataValidation(  # noqa: E731
                type="list", formula1=self.list_range(choices),
                promptTitle="到達した段階", prompt=f"到達した最も高い段階を選んでください（{shown}）。",
                errorTitle="入力エラー", error=f"リストから選んでください（{shown}）。")
        elif is_subitem:
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


def print_setup(ws: Worksheet, entity: Entity, area: str, landscape: bool = False) -> None:
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
