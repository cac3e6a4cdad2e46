"""Commands on catalogs: xlsx-tool catalog list | validate | export | import | diff."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import click
from rich.table import Table

from xlsx_tool.catalog.diff import diff_catalogs, diff_tables, summary_line, write_diff_xlsx
from xlsx_tool.catalog.excel_export import write_catalog_xlsx, write_catalog_yaml
from xlsx_tool.catalog.excel_import import CatalogSheetError, read_catalog_xlsx
from xlsx_tool.catalog.loading import CatalogError, load_catalog_file, load_shipped_catalog, shipped_catalog_names
from xlsx_tool.catalog.model import GROUP_LABELS, Catalog
from xlsx_tool.cli.common import catalog_for, console, err_console, fail
from xlsx_tool.util.problems import message


@click.group()
def catalog() -> None:
    """評価指標カタログの一覧・検証"""


@catalog.command("list")
def catalog_list() -> None:
    """同梱カタログの一覧"""
    table = Table(title="同梱カタログ")
    for col in ("id", "年度", "区分", "満点", "回答欄"):
        table.add_column(col)
    for name in shipped_catalog_names():
        year, kind = name.split("-", 1)
        cat = load_shipped_catalog(year, kind)
        table.add_row(cat.id, cat.year_label, cat.kind.value, str(cat.total), str(len(cat.answer_ids())))
    console.print(table)


@catalog.command("validate")
@click.argument("paths", nargs=-1, required=True, type=click.Path(dir_okay=False))
def catalog_validate(paths) -> None:
    """カタログ (YAML) を検証します。誤りはすべて、場所と直し方を添えて表示します。"""
    bad = 0
    for path in paths:
        try:
            cat = load_catalog_file(path)
        except CatalogError as err:
            bad += 1
            err_console.print(str(err))
            continue
        detail = " + ".join(f"{GROUP_LABELS[k]} {v}" for k, v in cat.group_kind_points().items())
        console.print(f"OK: {path}（{cat.id}、満点 {cat.total} = {detail}）")
    sys.exit(1 if bad else 0)



KIND_OPTION = click.option("--kind", type=click.Choice(["municipality", "prefecture"]), default="municipality",
                           show_default=True, help="市町村 / 都道府県（年度で指定したとき）")
XLSX_SUFFIXES = (".xlsx", ".xlsm")


def _counts(cat: Catalog) -> str:
    indicators = [ind for *_, ind in cat.indicators()]
    return f"指標 {len(indicators)}・小項目 {sum(len(i.subitems) for i in indicators)}"


@catalog.command("export")
@click.option("--year", help="同梱カタログの年度（例: R8）")
@KIND_OPTION
@click.option("--catalog", "catalog_path", type=click.Path(exists=True, dir_okay=False), help="カタログ (YAML)")
@click.option("--out", "out_path", type=click.Path(dir_okay=False), help="出力する .xlsx（既定: <カタログid>.xlsx）")
def catalog_export(year, kind, catalog_path, out_path) -> None:
    """カタログを Excel で編集できるブック (.xlsx) に書き出します。"""
    cat = catalog_for(year, kind, catalog_path)
    out = Path(out_path or f"{cat.id}.xlsx")
    if out.suffix.lower() not in XLSX_SUFFIXES:
        fail(f"--out は .xlsx のファイル名にしてください: {out}")
    try:
        path = write_catalog_xlsx(cat, out)
    except CatalogError as err:
        fail(str(err), code=1)
    console.print(f"作成しました: {path}（{cat.year_label} {cat.id}、{_counts(cat)}）")
    console.print(f"編集後に xlsx-tool catalog import {path} --out {out.with_suffix('.yaml').name} で YAML に戻せます。")


@catalog.command("import")
@click.argument("book", type=click.Path(dir_okay=False))
@click.option("--out", "out_path", type=click.Path(dir_okay=False), help="出力する YAML（既定: ブックと同名の .yaml）")
def catalog_import(book, out_path) -> None:
    """Excel で編集したカタログ (.xlsx) を検証し、YAML に書き出します。誤りはすべて場所と直し方を添えて表示します。"""
    out = Path(out_path) if out_path else Path(book).with_suffix(".yaml")
    if out.resolve() == Path(book).resolve():
        fail("--out に読み込むブック自身は指定できません")
    if not Path(book).is_file():
        fail(f"ファイルがありません: {book}", code=1)
    try:
        cat = read_catalog_xlsx(book)
    except CatalogError as err:
        err_console.print(str(err))
        if isinstance(err, CatalogSheetError) and err.deferred:
            err_console.print(f"（ほかに {err.deferred} 件の検査は、上の誤りを直してから行います）")
        sys.exit(1)
    write_catalog_yaml(cat, out, origin=Path(book).name)
    console.print(f"作成しました: {out}（{cat.id}、満点 {cat.total}、{_counts(cat)}）")


def load_any_catalog(spec: str, kind: str) -> Catalog:
    """A shipped catalog (R7, or R7-prefecture), or a catalog file (.yaml, or a workbook from export)."""
    if re.fullmatch(r"[Rr]\d{1,2}", spec):
        return load_shipped_catalog(spec, kind)
    if spec in shipped_catalog_names():
        return load_shipped_catalog(*spec.split("-", 1))
    path = Path(spec)
    if not path.is_file():
        raise CatalogError(spec, [message("cli.not_a_catalog", names=", ".join(shipped_catalog_names()))])
    if path.suffix.lower() in XLSX_SUFFIXES:
        return read_catalog_xlsx(path)
    return load_catalog_file(path)


@catalog.command("diff")
@click.argument("old")
@click.argument("new")
@KIND_OPTION
@click.option("--out", "out_path", type=click.Path(dir_okay=False), help="差分を .xlsx にも書き出す")
def catalog_diff(old, new, kind, out_path) -> None:
    """2 つのカタログの差分（年度 R7 など、または YAML / .xlsx のパス）。指標・小項目は id で対応づけます。"""
    try:
        before, after = load_any_catalog(old, kind), load_any_catalog(new, kind)
    except CatalogError as err:
        fail(str(err), code=1)
    diff = diff_catalogs(before, after)
    console.print(f"カタログの差分: {before.id}（{before.year_label}） → {after.id}（{after.year_label}）")
    if diff.is_empty:
        console.print("差分はありません。")
    else:
        for table in diff_tables(diff):
            console.print(table, soft_wrap=False)  # wrap long texts inside the cells
    console.print(summary_line(diff))
    if out_path:
        console.print(f"作成しました: {write_diff_xlsx(diff, out_path)}")

