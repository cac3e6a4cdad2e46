"""The house style of every sheet we write (self-assessment book, reports, catalog sheets, summaries)."""

from openpyxl.styles import Alignment, Border, Color, Font, PatternFill, Protection, Side
from openpyxl.utils.indexed_list import IndexedList

FONT = "游ゴシック"
FAMILY, CHARSET = 2, 128  # what Excel writes with a Japanese font: family 2, charset 128 (Shift_JIS)
DEFAULT_SIZE = 11  # points: Excel's Japanese default


def font(size: float = 10, **kwargs) -> Font:
    """游ゴシック with the attributes Excel writes for it: charset 128 (Japanese, Shift_JIS) and family 2;
    no scheme="minor", which would make Excel take the theme's font (Calibri) instead of the name."""
    return Font(name=FONT, size=size, family=FAMILY, charset=CHARSET, **kwargs)


DEFAULT_FONT = font(DEFAULT_SIZE, color=Color(theme=1))  # Excel's Japanese default, the theme's text colour
DEFAULT_ROW_HEIGHT = 18.75  # points: the row Excel gives 游ゴシック 11 pt (25 px at 96 dpi), not Calibri's 15
BASE = font(10)
BOLD = font(10, bold=True)
TITLE = font(14, bold=True)
SMALL = font(8)
MUTED = font(10, color="595959")  # texts that are not the official wording
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


def use_default_row_height(*sheets) -> None:
    """<sheetFormatPr defaultRowHeight="18.75"/>: a sheet's empty rows as tall as Excel makes them for
    DEFAULT_FONT, in the form Excel writes for a default font of its own (default_format02-06.xlsx: the
    height alone; openpyxl's baseColWidth="8" is the spec's default and Excel leaves it out)."""
    for ws in sheets:
        ws.sheet_format.defaultRowHeight = DEFAULT_ROW_HEIGHT
        ws.sheet_format.baseColWidth = None


def use_default_font(wb) -> None:
    """DEFAULT_FONT as the book's default: styles.xml's first font, which the Normal style and every cell
    without a font of its own use (openpyxl starts a book with Calibri). Call before any cell is styled."""
    wb._fonts = IndexedList([DEFAULT_FONT])
    wb._named_styles["Normal"].font = DEFAULT_FONT
