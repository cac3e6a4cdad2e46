"""The xlwings bridge (the Excel room): the actions run on a book open in Excel (actions), the report
sheets they write (sheets), the add-in build (addin; vba adds the ribbon's procedure to its VBA project)
and the xlwings Server/Lite scripts (scripts).

May import read, scoring, report, catalog, workbook and util; only cli imports it. Add-ins in the field
call ``xlsx_tool.bridge.main``: this package keeps that name and the bridge's public API.
"""

from xlsx_tool.bridge.actions import (
                                      ACTION_LABELS,
                                      ALIASES,
                                      CATALOG_ENV,
                                      answer_texts,
                                      gap_report,
                                      import_previous,
                                      main,
                                      refuse,
                                      run,
                                      score_book,
)
from xlsx_tool.bridge.sheets import GAP_SHEET, KEY_COLUMN, MARKER, PREVIOUS_SHEET, SCORE_SHEET, Outcome
from xlsx_tool.read.xlwings_engine import LICENSE_HELP, THRESHOLDS_ENV, EngineUnavailable, ensure_engine

__all__ = ["ACTION_LABELS", "ALIASES", "CATALOG_ENV", "GAP_SHEET", "KEY_COLUMN", "MARKER", "PREVIOUS_SHEET", "SCORE_SHEET",
           "Outcome", "answer_texts", "gap_report", "import_previous", "main", "refuse", "run", "score_book",
           "LICENSE_HELP", "THRESHOLDS_ENV", "EngineUnavailable", "ensure_engine"]
