"""Reader through xlwings' calamine engine (``xw.Book(path, mode="r")``): no Excel, no openpyxl.

Returns the same (catalog, BookContents) as read.openpyxl_engine.read_book, with the same checks and
Japanese messages: the container checks of read.file_checks first, then the bridge's engine-independent
reading (identification from _meta, answers found by the hidden id column). calamine reads the
values Excel last saved; formulas are not evaluated. The engine needs XLWINGS_LICENSE_KEY
(``noncommercial`` for non-commercial use, see README).

The collector can use it in place of the openpyxl functions: ``read_book`` for a path, or
``open_book`` with ``read_meta`` / ``read_answers`` (same names and arguments as read.openpyxl_engine's,
on an xlwings book instead of an openpyxl workbook).
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

from xlsx_tool.catalog.model import Catalog
from xlsx_tool.read.core import BookContents, BookError, check_book_file
from xlsx_tool.read.xlwings_engine import EngineUnavailable, ensure_engine, read_answers, read_contents, read_meta

__all__ = ["read_book", "open_book", "read_meta", "read_answers", "BookContents", "BookError", "EngineUnavailable"]


@contextmanager
def open_book(path: str | Path):
    """An xlwings book read by calamine, closed afterwards; BookError when it cannot be opened."""
    path = Path(path)
    check_book_file(path)
    ensure_engine("calamine")
    import xlwings as xw

    try:
        book = xw.Book(str(path), mode="r", engine="calamine")
    except Exception as exc:  # calamine raises its own error types for damaged files
        raise BookError(path, "book.cannot_open", detail=exc) from None
    try:
        yield book
    finally:
        book.close()


def read_book(path: str | Path, catalog_path: str | Path | None = None) -> tuple[Catalog, BookContents]:
    """Same result as read.openpyxl_engine.read_book, read through the calamine engine."""
    path = Path(path)
    with open_book(path) as book:
        try:
            return read_contents(book, catalog_path, path=path)
        except BookError:
            raise
        except Exception as exc:  # a damaged sheet surfaces while reading cells
            raise BookError(path, "book.cannot_load", detail=exc) from None
