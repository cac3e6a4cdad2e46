"""Helpers every command module shares: the consoles, the one way to fail, and loading the catalog
a command works on. Command modules import from here, never from the entry point (cli/app.py)."""

from __future__ import annotations

import sys

import click
from rich.console import Console

from xlsx_tool.catalog.entity import entity_code
from xlsx_tool.catalog.loading import CatalogError, load_catalog_file, load_shipped_catalog
from xlsx_tool.catalog.model import Catalog
from xlsx_tool.util.problems import ToolError, message

console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)

THRESHOLDS_HELP = "活動指標の採点基準ファイル（example で同梱の例示。例示は国の実際の基準ではありません）"
KIND_CHOICE = ["municipality", "prefecture"]


def fail(message: str, code: int = 2) -> None:
    err_console.print(f"[bold red]エラー:[/] {message}")
    sys.exit(code)


def code_option(ctx, param, value: str) -> str:
    """--code: the 6-digit 全国地方公共団体コード (5 digits get their check digit, with a note)."""
    if not value:
        return value
    try:
        code = entity_code(value)
    except ToolError as err:
        raise click.BadParameter(err.problem.message, ctx, param) from None
    if len(value.strip()) == 5:
        err_console.print("[yellow]注意[/] " + message("code.completed", value=value.strip(), code=code))
    return code


def catalog_for(year: str | None, kind: str, catalog_path: str | None, thresholds: str | None = None) -> Catalog:
    return catalog_and_tag(year, kind, catalog_path, thresholds)[0]


def catalog_and_tag(year, kind, catalog_path, thresholds) -> tuple[Catalog, str | None]:
    """The catalog to generate or check against, with the thresholds file applied (and its tag)."""
    from xlsx_tool.catalog.thresholds import apply_thresholds, thresholds_file

    try:
        if catalog_path:
            catalog = load_catalog_file(catalog_path)
        elif not year:
            fail("--year（例: R8）または --catalog PATH を指定してください")
        else:
            catalog = load_shipped_catalog(year, kind)
        if not thresholds:
            return catalog, None
        tf, tag = thresholds_file(thresholds, catalog.id)
        return apply_thresholds(catalog, tf, tag), tag
    except CatalogError as err:
        fail(str(err))
        raise  # unreachable
