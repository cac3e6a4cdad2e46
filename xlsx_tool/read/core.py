"""The reader core: from the cells an engine produces to a book's identification, catalog and answers,
with one set of checks and messages for every engine (openpyxl, the fast reader, xlwings, calamine).

An engine supplies only cells: the (key, value) rows of the _meta sheet, and for each input sheet the
rows of (answer, remarks, id) cells from the first data row on (None when the sheet is missing). What
counts as an answer and what is wrong with one is decided by catalog/answers.py; the messages come from
util/problems.py.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from xml.etree import ElementTree as ET

from xlsx_tool.catalog.answers import answer_id_set, answer_slots
from xlsx_tool.catalog.loading import CatalogError, load_catalog_file, load_shipped_catalog
from xlsx_tool.catalog.model import Catalog
from xlsx_tool.read.file_checks import FileRejected, check_container
from xlsx_tool.util.problems import ToolError
from xlsx_tool.workbook.meta import COL_ANSWER, COL_ID, COL_REMARKS, FIRST_DATA_ROW, TOOL_ID, input_sheet_names

# the answer cells of a row, in the order an engine gives them: columns COL_ANSWER..COL_ID
ROW_COLUMNS = sorted((COL_ANSWER, COL_REMARKS, COL_ID))
FIRST_COLUMN = ord(ROW_COLUMNS[0]) - ord("A") + 1  # 1-based
LAST_COLUMN = ord(ROW_COLUMNS[-1]) - ord("A") + 1
_AT = {c: ord(c) - ord(ROW_COLUMNS[0]) for c in ROW_COLUMNS}


class BookError(ToolError):
    """A workbook that cannot be read as one of ours; the message names the file and the problem."""

    def __init__(self, path: str | Path, code: str, /, **fields):
        self.path = str(path)
        super().__init__(code, file=self.path, **fields)

    def __str__(self) -> str:
        return f"{self.path}: {self.problem.message}"


@dataclass
class BookContents:
    path: Path
    meta: dict[str, object]
    answers: dict[str, object] = field(default_factory=dict)
    remarks: dict[str, object] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)  # answer ids without a row in the book
    cells: dict[str, tuple[str, str]] = field(default_factory=dict)  # answer id -> (sheet, cell) it was read from
    yen: dict[str, object] = field(default_factory=dict)  # grant id -> the yen per point typed on 集計 (as typed)


def check_book_file(path: Path) -> None:
    """The file exists and passes the container checks (read/file_checks.py), as a BookError."""
    if not path.is_file():
        raise BookError(path, "file.missing")
    try:
        check_container(path)
    except FileRejected as rej:
        raise BookError(path, rej.code, **rej.problem.fields) from None


_CORE_XML = "docProps/core.xml"
_CORE_XML_LIMIT = 1 << 16  # a core.xml is well under 2 KB


def saved_time(path: str | Path) -> datetime | None:
    """The book's own last-saved time (dcterms:modified of docProps/core.xml) as an aware time, its UTC
    offset kept (openpyxl drops it: 10:00+09:00 would read as 10:00); a time without an offset is UTC,
    as Excel writes it. None when the book has none or it cannot be read."""
    try:
        with zipfile.ZipFile(path) as zf, zf.open(_CORE_XML) as part:
            data = part.read(_CORE_XML_LIMIT)
        root = ET.fromstring(data)
    except (OSError, KeyError, zipfile.BadZipFile, ET.ParseError, RuntimeError, ValueError):
        return None
    text = next((el.text for el in root if el.tag.rsplit("}", 1)[-1] == "modified" and el.text), None)
    try:
        when = datetime.fromisoformat(text.strip()) if text else None
    except ValueError:
        return None
    return when if when is None or when.tzinfo else when.replace(tzinfo=timezone.utc)


def meta_pairs(rows: Iterable[Sequence[object]]) -> dict[str, object]:
    """The _meta sheet's key/value pairs (rows of at least two cells; other rows are ignored)."""
    meta: dict[str, object] = {}
    for row in rows:
        if len(row) >= 2 and isinstance(row[0], str):
            meta[row[0]] = row[1]
    return meta


def cover_identity(rows: Iterable[Sequence[object]]) -> dict[str, object]:
    """Who and which year a cover (表紙: label in A, value in B, as the generator writes them) names;
    year and kind are None when it does not name them as ours do."""
    fields = {r[0]: r[1] for r in rows if len(r) >= 2 and isinstance(r[0], str)}
    year = re.search(r"令和(\d+)年度", str(fields.get("年度") or ""))
    kind = {"市町村分": "municipality", "都道府県分": "prefecture"}.get(str(fields.get("区分") or ""))
    return {"entity_code": fields.get("団体コード"), "entity_name": fields.get("団体名"),
            "year": f"R{year.group(1)}" if year else None, "kind": kind}


def read_meta(path: Path, rows: Iterable[Sequence[object]] | None) -> dict[str, object]:
    """The identification of one of our books (rows: its _meta sheet, None if it has none)."""
    if rows is None:
        raise BookError(path, "book.no_meta")
    meta = meta_pairs(rows)
    if meta.get("tool") != TOOL_ID:
        raise BookError(path, "book.not_ours")
    return meta


def resolve_catalog(meta: dict[str, object], path: Path, catalog_path: str | Path | None = None,
                    thresholds_path: str | Path | None = None) -> Catalog:
    """The catalog a book was generated from: the given file, or the shipped one for its year/kind,
    with the thresholds file it was generated with (the shipped example, or the given file)."""
    try:
        catalog = (load_catalog_file(catalog_path) if catalog_path
                   else load_shipped_catalog(str(meta.get("year")), str(meta.get("kind"))))
        catalog = _with_thresholds(catalog, meta.get("thresholds"), path, thresholds_path)
    except CatalogError as err:
        raise BookError(path, "book.no_catalog", detail=err) from None
    if catalog.id != meta.get("catalog_id"):
        raise BookError(path, "book.other_catalog", book=meta.get("catalog_id"), given=catalog.id)
    if catalog.content_hash() != meta.get("catalog_hash"):
        raise BookError(path, "book.other_version", catalog=catalog.id)
    return catalog


def _with_thresholds(catalog: Catalog, tag: object, path: Path, thresholds_path) -> Catalog:
    from xlsx_tool.catalog.thresholds import EXAMPLE, apply_thresholds, shipped_example, thresholds_file

    if not tag:
        return catalog
    if thresholds_path:  # a file given is checked against the book's, the shipped example's book too
        tf, got = thresholds_file(thresholds_path, catalog.id)
    elif str(tag).startswith(f"{EXAMPLE}:"):  # the book names the shipped example: no file needed
        tf, got = shipped_example(catalog.id)
    else:
        raise BookError(path, "book.thresholds_needed")
    if got != tag:
        raise BookError(path, "book.other_thresholds", given=got, book=tag)
    return apply_thresholds(catalog, tf, got)


def read_answers(catalog: Catalog, contents: BookContents,
                 sheet_rows: Callable[[str], Iterable[Sequence[object]] | None]) -> None:
    """Fill contents.answers/remarks/missing; `sheet_rows(name)` gives an input sheet's rows of
    (COL_ANSWER..COL_ID) cells from the first data row on, one per sheet row, or None when the book has no such sheet.
    Rows are found by the hidden id column, wherever they are; contents.cells records where."""
    wanted = answer_id_set(catalog)
    answer, remarks, ident = _AT[COL_ANSWER], _AT[COL_REMARKS], _AT[COL_ID]
    for sheet in input_sheet_names(catalog).values():
        rows = sheet_rows(sheet)
        if rows is None:
            raise BookError(contents.path, "book.no_input_sheet", sheet=sheet)
        for number, row in enumerate(rows, start=FIRST_DATA_ROW):
            key = row[ident] if len(row) > ident else None
            if isinstance(key, str) and key in wanted:
                contents.answers[key] = row[answer]
                contents.remarks[key] = row[remarks]
                contents.cells[key] = (sheet, f"{COL_ANSWER}{number}")
    contents.missing = [aid for aid, _, _ in answer_slots(catalog) if aid not in contents.answers]


def read_contents(path: Path, meta_rows: Iterable[Sequence[object]] | None,
                  sheet_rows: Callable[[str], Iterable[Sequence[object]] | None],
                  catalog_path: str | Path | None = None,
                  thresholds_path: str | Path | None = None,
                  cover_rows: Iterable[Sequence[object]] | None = None) -> tuple[Catalog, BookContents]:
    """(catalog, contents) of a book from the cells an engine gives: identification, the catalog it was
    made from, its answers; every engine's read_book is this with its own cells. A book without the
    hidden identification sheet whose cover (`cover_rows`, columns A:B) names its year and kind as ours
    do is one cleaned by Excel's ドキュメント検査: said so."""
    if meta_rows is None and cover_rows is not None:
        cover = cover_identity(cover_rows)
        if cover["year"] and cover["kind"]:
            raise BookError(path, "book.meta_removed")
    meta = read_meta(path, meta_rows)
    catalog = resolve_catalog(meta, path, catalog_path, thresholds_path)
    contents = BookContents(path=path, meta=meta)
    read_answers(catalog, contents, sheet_rows)
    return catalog, contents
