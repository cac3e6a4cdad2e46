"""The house style of every sheet we write (self-assessment book, reports, catalog sheets, summaries)."""

from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side

FONT = "游ゴシック"
BASE = Font(name=FONT, size=10)
BOLD = Font(name=FONT, size=10, bold=True)
TITLE = Font(name=FONT, size=14, bold=True)
WRAP_TOP = Alignment(wrap_text=True, vertical="top")
CENTER = Alignment(horizontal="center", vertical="top", wrap_text=True)
FILL_GOAL = PatternFill("solid", fgColor="DDEBF7")
FILL_GROUP = PatternFill("solid", fgColor="F2F2F2")
FILL_HEADER = PatternFill("solid", fgColor="BDD7EE")
FILL_INPUT = PatternFill("solid", fgColor="FFFFFF")
FILL_UNANSWERED = PatternFill("solid", fgColor="FFF2CC")
THIN = Side(style="thin", color="A6A6A6")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
UNLOCKED = Protection(locked=False)
PERCENT = "0.0%"
POINTS_FMT = "General"
