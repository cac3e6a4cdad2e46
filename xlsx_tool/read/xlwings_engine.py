"""Reading an open book through xlwings (desktop Excel, the remote engine of xlwings Server and Lite,
and calamine for files): the cells only, with the same checks and messages as the openpyxl engine.

Cell values are read with ``raw_value``: the remote engine's ``value`` conversion fails on ISO
timestamps with a UTC offset (such as _meta's generated_at), and the raw values are what openpyxl sees.
"""

from __future__ import annotations

import os
from pathlib import Path

from xlsx_tool.catalog.model import Catalog
from xlsx_tool.read import core
from xlsx_tool.read.core import BookContents
from xlsx_tool.util.problems import message
from xlsx_tool.workbook.meta import FIRST_DATA_ROW, META_SHEET, yen_name

THRESHOLDS_ENV = "XLSX_TOOL_THRESHOLDS"  # … and the thresholds file of books generated with one
LICENSE_HELP = ("xlwings の remote / calamine エンジン（xlwings Server・xlwings Lite・ファイルの読み取り）には"
                "ライセンスキーが必要です。非営利の利用（自治体など公的機関の利用を含む）では環境変数 "
                "XLWINGS_LICENSE_KEY=noncommercial を設定してください（PolyForm Noncommercial License 1.0.0）。")


class EngineUnavailable(RuntimeError):
    """An xlwings engine is not registered (usually: no license key when xlwings was imported)."""


# -- engines --------------------------------------------------------------------------------


def ensure_engine(name: str):
    """The xlwings engine `name`, registering remote/calamine when xlwings was imported before the key was set."""
    import xlwings as xw

    if name in [e.name for e in xw.engines]:
        return xw.engines[name]
    if name not in ("remote", "calamine"):
        raise EngineUnavailable(message("engine.unknown", name=name))
    try:
        if name == "remote":
            from xlwings.pro import _xlremote as impl
        else:
            from xlwings.pro import _xlcalamine as impl
    except xw.LicenseError as err:
        raise EngineUnavailable(LICENSE_HELP) from err
    except ImportError as err:
        raise EngineUnavailable(message("engine.cannot_load", name=name, detail=err)) from err
    if name not in [e.name for e in xw.engines]:
        xw.engines.add(xw.Engine(impl=impl.engine))
    return xw.engines[name]


def engine_name(book) -> str:
    try:
        return book.app.engine.name
    except Exception:  # an engine without app/engine (never raise while reporting)
        return ""


# -- reading (any engine) -------------------------------------------------------------------


def clean(value: object) -> object:
    """Raw cell value as openpyxl reads it: empty text is empty, whole floats are ints."""
    if isinstance(value, str) and value == "":
        return None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def grid(rng) -> list[list[object]]:
    raw = rng.raw_value
    if not isinstance(raw, (list, tuple)):
        return [[clean(raw)]]
    if raw and not isinstance(raw[0], (list, tuple)):
        raw = [raw]
    return [[clean(v) for v in row] for row in raw]


def last_row(sheet) -> int:
    return sheet.used_range.last_cell.row


def sheet_names(book) -> list[str]:
    return [s.name for s in book.sheets]


def book_path(book) -> Path:
    try:
        return Path(book.fullname or book.name)
    except Exception:
        return Path(str(book.name))


def _meta_rows(book):
    if META_SHEET not in sheet_names(book):
        return None
    sheet = book.sheets[META_SHEET]
    return grid(sheet.range((1, 1), (max(last_row(sheet), 1), 2)))


def _sheet_rows(book):
    names = sheet_names(book)

    def rows(name: str):
        if name not in names:
            return None
        sheet = book.sheets[name]
        last = last_row(sheet)
        if last < FIRST_DATA_ROW:
            return []
        return grid(sheet.range((FIRST_DATA_ROW, core.FIRST_COLUMN), (last, core.LAST_COLUMN)))

    return rows


def read_meta(book, path: Path | None = None) -> dict[str, object]:
    """The _meta identification of an open book (the reader core's checks and messages)."""
    return core.read_meta(path or book_path(book), _meta_rows(book))


def read_answers(book, catalog: Catalog, contents: BookContents) -> None:
    """Fill contents.answers/remarks/missing through xlwings (the reader core's checks and messages)."""
    core.read_answers(catalog, contents, _sheet_rows(book))


def read_contents(book, catalog_path: str | Path | None = None,
                  path: str | Path | None = None) -> tuple[Catalog, BookContents]:
    """(catalog, contents) of an open book, with the checks and messages of read.openpyxl_engine.read_book."""
    path = Path(path) if path is not None else book_path(book)
    catalog, contents = core.read_contents(path, _meta_rows(book), _sheet_rows(book), catalog_path,
                                           os.environ.get(THRESHOLDS_ENV) or None)
    contents.yen = _yen(book, catalog)
    return catalog, contents


def _yen(book, catalog: Catalog) -> dict[str, object]:
    """The yen per point on 集計 (the cells named yen_per_point_<grant>) as Excel shows them (a formula's
    result, as read.openpyxl_engine gives it too); a name the book lacks (an older book) or one that no
    longer names a range (#REF!) is left out: the engines raise different errors for those."""
    out = {}
    for grant in catalog.grants:
        try:
            out[grant.id] = book.names[yen_name(grant.id)].refers_to_range.value
        except Exception:  # no such name, or a name that is not one range: the engines differ in what they raise
            continue
    return out
