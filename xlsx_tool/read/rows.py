"""Worksheet cells for the fast reader: one decoder of <row> elements.

`raw_cells` decodes one <row> element as openpyxl's WorkSheetParser.parse_row/parse_cell do, up to
what depends on the book (shared strings, date formats, the number of cell formats): those are
resolved by fast_engine for each book.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from openpyxl.formula.translate import Translator
from openpyxl.utils.cell import coordinate_to_tuple
from openpyxl.utils.datetime import from_ISO8601
from openpyxl.worksheet._reader import _cast_number

from xlsx_tool.read.checked_zip import FastPathUnsupported
from xlsx_tool.util.memo import remember

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
M = "{%s}" % MAIN
ROW, VALUE, FORMULA, INLINE = M + "row", M + "v", M + "f", M + "is"
T, RUN, RPH, PHONETIC_PR, RUN_PR = M + "t", M + "r", M + "rPh", M + "phoneticPr", M + "rPr"
# What a cell holds before the book's own parts are consulted: its value as it stands, a number whose
# cell format may make it a date, or an index into the shared strings.
VALUE_KIND, NUMBER_KIND, SHARED_KIND = 0, 1, 2
COORDS: dict[str, tuple[int, int]] = {}  # "B12" -> (12, 2), shared by every book a process reads
MAX_COORDS = 100_000


class NotRowLocal(Exception):
    """A row whose cells depend on other rows (a shared formula): read the whole sheet instead."""


def text_content(node: ET.Element) -> str:
    """Text.from_tree(node).content for the shapes Excel and LibreOffice write: a plain <t>, rich
    text runs <r><rPr/><t/></r>, phonetic runs <rPh> and <phoneticPr> (which openpyxl leaves out)."""
    plain, runs = None, []
    for child in node:
        tag = child.tag
        if tag == T:
            if len(child):
                raise FastPathUnsupported("element inside <t>")
            plain = child.text
        elif tag == RUN:
            run_text = None
            for part in child:
                if part.tag == T:
                    if run_text is not None or len(part):
                        raise FastPathUnsupported("unusual rich text run")
                    run_text = part.text
                elif part.tag != RUN_PR:
                    raise FastPathUnsupported(f"unknown element in a rich text run: {part.tag}")
            if run_text is None:
                raise FastPathUnsupported("rich text run without text")  # openpyxl raises TypeError
            runs.append(run_text)
        elif tag not in (RPH, PHONETIC_PR) and tag.rsplit("}", 1)[-1] in ("t", "r", "rPh", "phoneticPr"):
            raise FastPathUnsupported(f"string element in another namespace: {tag}")
    if plain is None and not runs:
        return ""
    return (plain or "") + "".join(runs)


def row_number(row: ET.Element, previous: int) -> int:
    """openpyxl's row counter: the r attribute (an integer, or a float with no fraction), else the next."""
    r = row.get("r")
    if r is None:
        return previous + 1
    try:
        return int(r)
    except ValueError:
        as_float = float(r)
        if not as_float.is_integer():
            raise
        return int(as_float)


def raw_cells(row: ET.Element, number: int, shared_formulae: dict[str, Translator] | None) -> list[tuple]:
    """(row, col), style index, kind, value of every child of a <row>, as openpyxl reads them.
    `shared_formulae` is the sheet's table of shared formulas; None when the row is read on its own
    (a shared formula then raises NotRowLocal)."""
    cells = []
    coords = COORDS
    col_counter = 0
    for el in row:
        get = el.get
        data_type, coordinate, style_id = get("t", "n"), get("r"), get("s", 0)
        if style_id:
            style_id = int(style_id)
        value = None if data_type == "inlineStr" else (el.findtext(VALUE) or None)
        if coordinate:
            rc = coords.get(coordinate) or remember(coords, coordinate, coordinate_to_tuple(coordinate), MAX_COORDS)
            col_counter = rc[1]
        else:
            col_counter += 1
            rc = (number, col_counter)
        kind = VALUE_KIND
        formula = el.find(FORMULA)
        if formula is not None:
            value = _formula(formula, coordinate, shared_formulae)
        elif value is not None:
            if data_type == "n":
                value, kind = _cast_number(value), NUMBER_KIND
            elif data_type == "s":
                value, kind = int(value), SHARED_KIND
            elif data_type == "b":
                value = bool(int(value))
            elif data_type == "d":
                value = from_ISO8601(value)
        elif data_type == "inlineStr":
            child = el.find(INLINE)
            if child is not None:
                value = text_content(child)
        cells.append((rc, style_id, kind, value))
    return cells


def _formula(formula: ET.Element, coordinate, shared: dict[str, Translator] | None) -> str:
    kind = formula.get("t")
    value = "=" if formula.text is None else "=" + formula.text
    if kind == "shared":
        if shared is None:
            raise NotRowLocal
        idx = formula.get("si")
        if idx in shared:
            return shared[idx].translate_formula(coordinate)
        if value != "=":
            shared[idx] = Translator(value, coordinate)
    elif kind in ("array", "dataTable"):
        raise FastPathUnsupported(f"{kind} formula")
    return value
