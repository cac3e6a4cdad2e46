"""The house style of every sheet we write (self-assessment book, reports, catalog sheets, summaries)."""

from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side

FONT = "游ゴシック"
BASE = Font(name=FONT, size=10)
BOLD = Font(name=FONT, size=10, bold=True)
TITLE = Font(name=FONT, size=14, bold=True)
SMALL = Font(name=FONT, size=8)
MUTED = Font(name=FONT, size=10, color="595959")  # texts that are not the official wording
WRAP_TOP = Alignment(wrap_text=True, vertical="top")
CENTER = Alignment(horizontal="center", vertical="top", wrap_text=True)
FILL_GOAL = PatternFill("solid", fgColor="DDEBF7")
FILL_GROUP = PatternFill("solid", fgColor="F2F2F2")
FILL_HEADER = PatternFill("solid", fgColor="BDD7EE")
FILL_INPUT = PatternFill("solid", fgColor="FFFFFF")
# A conditional format's fill is a differential style: Excel paints it from bgColor (patternFill without a
# pattern type), as in the files Excel saves (tests/test_excel_reference.py); fgColor alone paints nothing.
FILL_UNANSWERED = PatternFill(bgColor="FFFFF2CC")
THIN = Side(style="thin", color="A6A6A6")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
UNLOCKED = Protection(locked=False)
PERCENT = "0.0%"
POINTS_FMT = "General"


def show_axes(*charts) -> None:
    """Write <c:delete val="0"/> on every axis: openpyxl 3.1 leaves it out and Excel then draws no axes
    (LibreOffice does); tests/test_excel_reference.py checks it where Excel's own files put it."""
    for chart in charts:
        for axis in (chart.x_axis, chart.y_axis):
            axis.delete = False
