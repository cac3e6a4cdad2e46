"""openpyxl adapter: read a returned workbook's identification and answers (never writes it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from openpyxl import load_workbook

from xlsx_tool.catalog.answers import answer_id_set, answer_slots
from xlsx_tool.catalog.loading import CatalogError, load_catalog_file, load_shipped_catalog
from xlsx_tool.catalog.model import Catalog
from xlsx_tool.read.file_checks import FileRejected, check_container
from xlsx_tool.workbook.meta import (
    COL_ANSWER,
    COL_ID,
    COL_REMARKS,
    FIRST_DATA_ROW,
    META_SHEET,
    TOOL_ID,
    input_sheet_names,
)


class BookError(Exception):
    """A workbook that cannot be read as one of ours; the message names the file and the problem."""

    def __init__(self, path: str | Path, problem: str):
        self.path, self.problem = str(path), problem
        super().__init__(f"{path}: {problem}")


@dataclass
class BookContents:
    path: Path
    meta: dict[str, object]
    answers: dict[str, object] = field(default_factory=dict)
    remarks: dict[str, object] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)  # answer ids without a row in the book


def check_book_file(path: Path) -> None:
    if not path.is_file():
        raise BookError(path, "ファイルが見つかりません")
    try:
        check_container(path)
    except FileRejected as rej:
        raise BookError(path, rej.reason) from None


def read_meta(wb, path: Path) -> dict[str, object]:
    if META_SHEET not in wb.sheetnames:
        raise BookError(path, "このツールで作成した自己評価シートではありません（識別情報シートがありません）")
    meta = {}
    for key, value, *_ in wb[META_SHEET].iter_rows(min_col=1, max_col=2, values_only=True):
        if isinstance(key, str):
            meta[key] = value
    if meta.get("tool") != TOOL_ID:
        raise BookError(path, "このツールで作成した自己評価シートではありません（識別情報が一致しません）")
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
        raise BookError(path, f"対応するカタログを読み込めません: {err}") from None
    if catalog.id != meta.get("catalog_id"):
        raise BookError(path, f"ブックのカタログ ({meta.get('catalog_id')}) と指定のカタログ ({catalog.id}) が"
                              "異なります。年度・区分を確認してください")
    if catalog.content_hash() != meta.get("catalog_hash"):
        raise BookError(path, f"ブックはカタログ {catalog.id} の別の版から作成されています（内容ハッシュ不一致）。"
                              "作成時のカタログを --catalog で指定してください")
    return catalog


def _with_thresholds(catalog: Catalog, tag: object, path: Path, thresholds_path) -> Catalog:
    from xlsx_tool.catalog.thresholds import EXAMPLE, apply_thresholds, load_thresholds, shipped_example

    if not tag:
        return catalog
    if str(tag).startswith(f"{EXAMPLE}:"):
        tf, got = shipped_example(catalog.id)
    elif thresholds_path:
        tf, got = load_thresholds(thresholds_path)
    else:
        raise BookError(path, "このブックは採点基準ファイルを使って作成されています。--thresholds でそのファイルを指定してください")
    if got != tag:
        raise BookError(path, f"指定の採点基準ファイル（{got}）はブック作成時のもの（{tag}）と異なります")
    return apply_thresholds(catalog, tf, got)


def read_book(path: str | Path, catalog_path: str | Path | None = None,
              thresholds_path: str | Path | None = None) -> tuple[Catalog, BookContents]:
    path = Path(path)
    check_book_file(path)
    try:
        wb = load_workbook(path, read_only=True, data_only=False)
    except Exception as exc:  # openpyxl raises many types for damaged files
        raise BookError(path, f"ブックを開けません（ファイルが壊れている可能性があります）: {exc}") from None
    try:
        meta = read_meta(wb, path)
        catalog = resolve_catalog(meta, path, catalog_path, thresholds_path)
        contents = BookContents(path=path, meta=meta)
        read_answers(wb, catalog, contents)
        return catalog, contents
    finally:
        wb.close()


def read_answers(wb, catalog: Catalog, contents: BookContents) -> None:
    """Fill contents.answers/remarks/missing from an open workbook (found by the hidden id column)."""
    wanted = answer_id_set(catalog)
    for sheet in input_sheet_names(catalog).values():
        if sheet not in wb.sheetnames:
            raise BookError(contents.path, f"入力シート「{sheet}」がありません（シート名が変更された可能性があります）")
        _read_sheet(wb[sheet], wanted, contents)
    contents.missing = [aid for aid, _, _ in answer_slots(catalog) if aid not in contents.answers]


def _read_sheet(ws, wanted: frozenset[str], contents: BookContents) -> None:
    cols = [ord(c) - ord("A") + 1 for c in (COL_ANSWER, COL_REMARKS, COL_ID)]
    first = min(cols)
    answer, remarks, ident = (c - first for c in cols)
    for row in ws.iter_rows(min_row=FIRST_DATA_ROW, min_col=first, max_col=max(cols), values_only=True):
        if row[ident] in wanted:
            contents.answers[row[ident]] = row[answer]
            contents.remarks[row[ident]] = row[remarks]


def read_eligibility_inputs(path: str | Path) -> "EligibilityInputs":
    """The 交付要件 sheet's inputs of a workbook (blank optional amounts count as 0)."""
    from xlsx_tool.catalog.eligibility import INPUT_ROWS, YES, EligibilityInputs
    from xlsx_tool.workbook.meta import ELIGIBILITY_SHEET, eligibility_cells

    path = Path(path)
    check_book_file(path)
    wb = load_workbook(path, read_only=False, data_only=False)
    if ELIGIBILITY_SHEET not in wb.sheetnames:
        raise BookError(path, f"「{ELIGIBILITY_SHEET}」シートがありません（市町村の様式にのみあります）")
    ws = wb[ELIGIBILITY_SHEET]
    values = {}
    for (field, _, kind), ref in zip(INPUT_ROWS, eligibility_cells().values()):
        v = ws[ref].value
        if kind == "yesno":
            values[field] = isinstance(v, str) and v.strip() == YES
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            values[field] = v
        elif v not in (None, ""):
            raise BookError(path, f"{ELIGIBILITY_SHEET}!{ref}: 「{v}」は数値ではありません")
    optional = {"transfer_to_multilayer", "extra_this_year", "extra_last_year"}
    values.update({f: 0 for f in optional if values.get(f) is None})
    return EligibilityInputs(**values)
