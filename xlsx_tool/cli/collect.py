"""Command: xlsx-tool collect (a folder of returned books → checked, totalled, written as a set)."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.markup import escape

from xlsx_tool.catalog.model import Catalog
from xlsx_tool.cli.common import THRESHOLDS_HELP, catalog_for, console, err_console, fail
from xlsx_tool.read.core import BookError
from xlsx_tool.read.openpyxl_engine import read_book
from xlsx_tool.util.atomic import OutputError
from xlsx_tool.util.names import readable, shown_path
from xlsx_tool.util.problems import message


@click.command("collect")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--roster", type=click.Path(dir_okay=False), help="名簿 (CSV/xlsx)")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), required=True, help="出力フォルダ")
@click.option("--year", default="R8", show_default=True, help="回収する様式の年度")
@click.option("--kind", type=click.Choice(["municipality", "prefecture"]), default="municipality", show_default=True)
@click.option("--catalog", "catalog_path", type=click.Path(exists=True, dir_okay=False), help="様式の独自カタログ")
@click.option("--encoding", type=click.Choice(["utf-8-sig", "cp932"]), default="utf-8-sig", show_default=True,
              help="CSV の文字コード")
@click.option("--strict", is_flag=True, help="不受理が 1 件でもあれば終了コード 1")
@click.option("--workers", type=click.IntRange(min=1), default=None, help="並列数（既定: CPU コア数）")
@click.option("--thresholds", default=None, help=THRESHOLDS_HELP)
@click.option("--reader", type=click.Choice(["fast", "openpyxl"]), default="fast", show_default=True,
              help="ブックの読み取り方式（fast で扱えないブックは自動的に openpyxl で読み直します）")
def collect_cmd(paths, roster, out_dir, year, kind, catalog_path, encoding, strict, workers, thresholds,
                reader) -> None:
    """提出されたブックを検査・集計します（元のファイルは変更しません）。"""
    from rich.progress import Progress

    from xlsx_tool.collect.batch import collect
    from xlsx_tool.collect.outputs import COMPLETION_MARK, SUMMARY_BOOK, write_outputs
    from xlsx_tool.collect.roster import RosterError, read_roster

    missing = [p for p in paths if not Path(p).exists() and not Path(p).is_symlink()]
    if missing:  # nothing to collect there: an empty result would read as "nobody submitted"
        fail(" / ".join(message("collect.path_missing", path=p) for p in missing))
    catalog = catalog_for(year, kind, catalog_path, thresholds)
    try:
        entries = read_roster(roster) if roster else []
    except RosterError as err:
        fail(str(err))
    with Progress(console=err_console, transient=True) as progress:
        task = progress.add_task("ブックを検査中", total=None)
        col = collect(paths, catalog, entries, workers=workers, advance=lambda: progress.advance(task),
                      on_total=lambda n: progress.update(task, total=n), reader=reader)
        col.previous_rates = _previous_rates(catalog, entries)
    out = Path(out_dir)
    try:
        lost = write_outputs(col, out, encoding)
    except OutputError as err:
        kept = message("output.kept_previous", folder=out)
        fail(f"{err}（{kept}）", 1)
    if col.fallbacks:
        first = col.fallbacks[0]
        err_console.print(f"[yellow]注意[/] 高速読み取りで扱えない {len(col.fallbacks)} 件は openpyxl で読み込みました"
                          f"（例: {escape(shown_path(first.file))}: {escape(readable(first.fallback))}）")
    for name, chars in lost.items():
        err_console.print(f"[yellow]注意[/] {name}: {encoding} で表せない文字を「?」に置き換えました: {' '.join(chars)}")
    c = col.counts()
    for r in col.files:
        if r.status != "accepted":
            style = "red" if r.status == "rejected" else "yellow"
            console.print(f"[{style}]{'不受理' if r.status == 'rejected' else '注意'}[/] "
                          f"{escape(shown_path(r.file))}: {escape(readable(r.reason))}")
    for e in col.missing_entities():
        console.print(f"[yellow]未提出[/] {e.entity.code} {e.entity.name}: {col.missing_reason(e.entity.code)}")
    console.print(f"受理 {c['accepted']} ／ 注意あり {c['warning']} ／ 不受理 {c['rejected']} ／ "
                  f"見つかったファイル {len(col.files)}（合計 {sum(c.values())}）")
    console.print(f"出力: {out / SUMMARY_BOOK}、CSV 5 件（結果.csv は report --compare と estimate の入力形式）、"
                  f"{out / COMPLETION_MARK}")
    if strict and c["rejected"]:
        sys.exit(1)


def _previous_rates(catalog: Catalog, entries) -> dict[str, float]:
    """Implementation rates over the previous-year books named in the roster."""
    from xlsx_tool.collect.outputs import implementation_rates

    answers = []
    for e in entries:
        if e.previous is not None:
            try:
                answers.append(read_book(e.previous)[1].answers)
            except BookError as err:
                err_console.print(f"[yellow]注意[/] 前年度ブックを読めません（実施率の比較から除外）: {err}")
    return implementation_rates(catalog, answers) if answers else {}
