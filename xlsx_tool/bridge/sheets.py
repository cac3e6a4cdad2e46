"""The report sheets the bridge writes after 集計 (採点結果, ギャップ報告, 前年度回答), on any xlwings engine:
rows as `Line`s with a key in the hidden column M, styles, the structure protection lifted only while a
sheet is added, a sheet cleared only when it carries our marker, and the message box in desktop Excel.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from xlsx_tool.read.xlwings_engine import engine_name, grid, last_row, sheet_names
from xlsx_tool.scoring.gap import GapReport
from xlsx_tool.scoring.scorer import ScoreResult
from xlsx_tool.util.cells import safe
from xlsx_tool.util.problems import message
from xlsx_tool.workbook.meta import SUMMARY_SHEET

SCORE_SHEET = "採点結果"
GAP_SHEET = "ギャップ報告"
PREVIOUS_SHEET = "前年度回答"
REPORT_SHEETS = (SCORE_SHEET, GAP_SHEET, PREVIOUS_SHEET)  # in this order after 集計
NCOLS = 12  # A..L carry the report
KEY_COLUMN = NCOLS + 1  # M (hidden): row keys for programs and tests reading the report back
MARKER = "xlsx_tool:report"  # M1 of every report sheet: only such a sheet is ever cleared
MESSAGE_CELL = "A3"
TITLE = "交付金自己評価"

COLORS = {"header": "#BDD7EE", "goal": "#F2F2F2", "grant": "#DDEBF7", "total": "#DDEBF7"}
GOOD, BAD, NAVY = "#1A7F37", "#C62828", "#1F4E79"
PERCENT = "0.0%"
# report sheets this process wrote per book: the remote engine's snapshot does not see its own writes
_WRITTEN: "weakref.WeakKeyDictionary[object, set[str]]" = weakref.WeakKeyDictionary()

class Refused(Exception):
    """The book cannot be processed; message and details are Japanese and say what to do."""

    def __init__(self, message: str, details: Sequence["Line"] = ()):
        super().__init__(message)
        self.message, self.details = message, list(details)


@dataclass
class Outcome:
    """What a bridge call did: ok, the report sheet written (None if none) and the message shown."""

    ok: bool
    action: str
    sheet: str | None
    message: str
    details: list[str] = field(default_factory=list)
    result: ScoreResult | None = None
    report: GapReport | None = None

    def __str__(self) -> str:
        return "\n".join([self.message, *self.details])


@dataclass
class Line:
    """One row of a report sheet: values in A.., a key in the hidden column M, styles."""

    values: list
    key: str | None = None
    style: str | None = None  # title, section, message, refusal, header, goal, grant, total
    formats: dict[int, str] = field(default_factory=dict)  # 0-based column -> number format
    colors: dict[int, str] = field(default_factory=dict)  # 0-based column -> font colour


# -- writing (desktop Excel, xlwings Server/Lite) --------------------------------------------


def _read_only(book) -> bool:
    return engine_name(book) == "calamine"


@contextmanager
def _structure_unlocked(book, name: str):
    """Desktop Excel on Windows: lift the workbook structure protection (no password) to add a sheet, then
    restore it. Elsewhere (Excel for Mac: no COM call to lift it) a failing add is refused with what to do."""
    api = None
    if engine_name(book) == "excel":
        try:
            api = book.api if bool(book.api.ProtectStructure) else None
        except Exception:  # not Windows COM: let Excel say it, below
            api = None
    if api is not None:
        try:
            api.Unprotect()
        except Exception:
            raise Refused(message("bridge.structure_locked")) from None
    try:
        yield
    except Exception as exc:  # Excel's own error (appscript's on a Mac), as xlwings passes it on
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise Refused(message("bridge.cannot_add_sheet", sheet=name, detail=first)) from None
    finally:
        if api is not None:
            try:
                api.Protect(Structure=True, Windows=False)
            except Exception:
                pass


def _prepare_sheet(book, name: str) -> tuple[object, dict[str, object]]:
    """The report sheet `name`, emptied (or added after 集計), and the memos typed into the old one."""
    assert name in REPORT_SHEETS  # never an input sheet
    names = sheet_names(book)
    if name in names:
        sheet = book.sheets[name]
        old = grid(sheet.range((1, 1), (max(last_row(sheet), 1), KEY_COLUMN)))
        marker = old[0][KEY_COLUMN - 1] if old and len(old[0]) >= KEY_COLUMN else None
        if marker != MARKER and name not in _WRITTEN.get(book.impl, set()):
            raise Refused(message("bridge.foreign_sheet", sheet=name))
        memos = {row[KEY_COLUMN - 1]: row[6] for row in old
                 if len(row) >= KEY_COLUMN and isinstance(row[KEY_COLUMN - 1], str)
                 and row[KEY_COLUMN - 1].startswith("below:") and row[6] is not None}
        sheet.clear()
        return sheet, memos
    order = [SUMMARY_SHEET, *REPORT_SHEETS]
    anchor = next((n for n in reversed(order[:order.index(name)]) if n in names), names[-1])
    with _structure_unlocked(book, name):
        sheet = book.sheets.add(name=name, after=book.sheets[anchor])
    return sheet, {}


def _runs(items: Sequence[tuple[int, object]]):
    """(value, first row, last row) for runs of consecutive rows with the same non-empty value."""
    out: list[list] = []
    for row, value in items:
        if value is None:
            continue
        if out and out[-1][0] == value and out[-1][2] == row - 1:
            out[-1][2] = row
        else:
            out.append([value, row, row])
    return out


def _style(rng, style: str) -> None:
    if style in ("title", "section"):
        rng.font.bold = True
        rng.font.size = 14 if style == "title" else 12
    elif style in ("message", "refusal"):
        rng.font.bold = True
        rng.font.color = BAD if style == "refusal" else NAVY
    elif style in COLORS:
        rng.color = COLORS[style]
        if style != "goal":
            rng.font.bold = True


def _write_lines(book, sheet, lines: list[Line], widths: Sequence[float], wrap: Sequence[int] = ()) -> None:
    rows = []
    for line in lines:
        values = [safe(v) for v in line.values[:NCOLS]]
        rows.append(values + [None] * (NCOLS - len(values)) + [line.key])
    rows[0][KEY_COLUMN - 1] = MARKER
    sheet.range((1, 1)).value = rows
    for style, r1, r2 in _runs([(i, line.style) for i, line in enumerate(lines, start=1)]):
        _style(sheet.range((r1, 1), (r2, NCOLS)), style)
    for col in range(NCOLS):
        for fmt, r1, r2 in _runs([(i, line.formats.get(col)) for i, line in enumerate(lines, start=1)]):
            sheet.range((r1, col + 1), (r2, col + 1)).number_format = fmt
        for color, r1, r2 in _runs([(i, line.colors.get(col)) for i, line in enumerate(lines, start=1)]):
            sheet.range((r1, col + 1), (r2, col + 1)).font.color = color
    remote = engine_name(book) != "excel"
    for col, width in enumerate(widths, start=1):
        # desktop Excel takes characters, Office.js points (about 5.25 pt per character plus padding)
        sheet.range((1, col)).column_width = round(width * 5.25 + 3.75, 1) if remote else width
    for col in wrap if len(lines) >= 5 else ():
        sheet.range((5, col), (len(lines), col)).wrap_text = True
    sheet.range((1, KEY_COLUMN)).columns.hidden = True


def finish(book, action: str, name: str, lines: list[Line], widths, wrap=(), ok=True, message="",
           details=(), alert=None, **extra) -> Outcome:
    shown = [" ".join(str(v) for v in d.values if v is not None) for d in details if d.style != "header"]
    if _read_only(book):
        return Outcome(ok, action, None, message, shown, **extra)
    try:
        sheet, memos = _prepare_sheet(book, name)
    except Refused as ref:
        show_alert(book, ref.message, alert if alert is not None else True)
        return Outcome(False, action, None, ref.message, shown, **extra)
    for line in lines:
        if line.key in memos and len(line.values) >= 7 and line.values[6] is None:
            line.values[6] = memos[line.key]  # keep what the officer wrote under 課題と対応
    _write_lines(book, sheet, lines, widths, wrap)
    _WRITTEN.setdefault(book.impl, set()).add(name)
    try:
        sheet.activate()
    except Exception:
        pass
    if not ok:
        show_alert(book, message, alert if alert is not None else True)
    return Outcome(ok, action, name, message, shown, **extra)


def show_alert(book, message: str, wanted: bool) -> None:
    """A message box in desktop Excel; other engines show the message cell only."""
    if not wanted or engine_name(book) != "excel":
        return
    try:
        book.app.alert(message, title=TITLE, mode="critical")
    except Exception:
        pass
