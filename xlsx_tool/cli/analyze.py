"""Command: xlsx-tool analyze (the prefecture analysis of returned books or published results).

The two sources become one analysis.model.Dataset here: a folder of books through collect (every file
accounted for as collect accounts for it), a results file in the tally's layout through
read.tables.read_official_results and catalog.official.answers_from_results (one account per
municipality's rows). Roster members without data are accounted for and not counted.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.markup import escape

from xlsx_tool.analysis.model import MISSING, Account, Dataset, Member
from xlsx_tool.catalog.entity import code_key
from xlsx_tool.catalog.loading import CatalogError, load_shipped_catalog
from xlsx_tool.catalog.model import Catalog
from xlsx_tool.cli.common import KIND_CHOICE, catalog_for, console, err_console, fail
from xlsx_tool.collect.results import ACCEPTED, REJECTED, STATUS_LABELS
from xlsx_tool.util.atomic import OutputError
from xlsx_tool.util.names import readable, shown_path
from xlsx_tool.util.problems import message

BOOK_SUFFIXES = (".xlsx", ".xlsm")
RESULTS_SUFFIXES = (".csv",)


@click.command("analyze")
@click.argument("source", type=click.Path())
@click.option("--roster", type=click.Path(dir_okay=False), required=True, help="名簿 (CSV/xlsx): 管内の市町村")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), required=True, help="出力フォルダ")
@click.option("--previous", type=click.Path(), help="前年度の入力（ブックのフォルダ、または集計表の形式の CSV）")
@click.option("--year", default="R8", show_default=True, help="分析する年度")
@click.option("--previous-year", default=None, help="前年度の年度（既定: --year の前年度）")
@click.option("--kind", type=click.Choice(KIND_CHOICE), default="municipality", show_default=True)
@click.option("--catalog", "catalog_path", type=click.Path(exists=True, dir_okay=False), help="様式の独自カタログ")
@click.option("--workers", type=click.IntRange(min=1), default=None, help="ブックを読む並列数（既定: CPU コア数）")
def analyze_cmd(source, roster, out_dir, previous, year, previous_year, kind, catalog_path, workers) -> None:
    """管内市町村の小項目別実施率・全国との差・前年度との比較・団体別の未実施項目を出力します。"""
    from xlsx_tool.analysis.model import analyse
    from xlsx_tool.analysis.outputs import BOOK, MARK, PAGE, RATES_CSV, write_analysis
    from xlsx_tool.collect.roster import RosterError, read_roster

    catalog = catalog_for(year, kind, catalog_path)
    try:
        entries = read_roster(roster)
    except RosterError as err:
        fail(str(err))
    current = _dataset(source, catalog, entries, workers, "")
    before = None
    if previous:
        before = _dataset(previous, _previous_catalog(catalog, previous_year), entries, workers, "前年度 ")
    _print_accounts([*current.accounts, *(before.accounts if before else [])])
    if not current.members:
        fail(message("analyze.no_members"), 1)
    analysis = analyse(current, before, _national(catalog))
    out = Path(out_dir)
    try:
        write_analysis(analysis, out)
    except OutputError as err:
        fail(f"{err}（{message('output.kept_previous', folder=out)}）", 1)
    missing = len(analysis.missing)
    console.print(f"分析した団体 {len(current.members)}（名簿 {len(entries)}、データなし {missing}）"
                  + (f"、前年度 {len(before.members)} 団体" if before else ""))
    console.print(f"出力: {out / BOOK}、{out / PAGE}、{out / RATES_CSV}、{out / MARK}")


def _previous_catalog(catalog: Catalog, year: str | None) -> Catalog:
    year = year or f"R{catalog.reiwa - 1}"
    try:
        return load_shipped_catalog(year, catalog.kind.value)
    except CatalogError as err:
        fail(message("analyze.previous_catalog", year=year, detail=err))
        raise  # unreachable


def _national(catalog: Catalog):
    """The nation's published results of the catalog's own year, when shipped (means the tally cannot give)."""
    from xlsx_tool.catalog.reference import shipped_references

    return next((r for r in shipped_references() if r.scope == "全国" and r.kind == catalog.kind
                 and r.year == catalog.year), None)


def _dataset(source: str, catalog: Catalog, entries, workers, tag: str) -> Dataset:
    path = Path(source)
    if not path.exists() and not path.is_symlink():
        fail(message("collect.path_missing", path=source))
    if path.is_file() and path.suffix.lower() in RESULTS_SUFFIXES:
        return _from_results(path, catalog, entries, tag)
    if path.is_dir() or path.suffix.lower() in BOOK_SUFFIXES:
        return _from_books(path, catalog, entries, workers, tag)
    fail(message("analyze.unknown_source", path=source))
    raise AssertionError  # unreachable


def _from_books(path: Path, catalog: Catalog, entries, workers, tag: str) -> Dataset:
    from rich.progress import Progress

    from xlsx_tool.collect.batch import collect

    with Progress(console=err_console, transient=True) as progress:
        task = progress.add_task(f"{tag}ブックを検査中", total=None)
        col = collect([path], catalog, entries, workers=workers, advance=lambda: progress.advance(task),
                      on_total=lambda n: progress.update(task, total=n))
    names = {code_key(e.entity.code): e.entity.name for e in entries}
    members = [Member(r.code, names.get(code_key(r.code)) or r.name, r.answers)
               for r in sorted(col.kept, key=lambda r: r.code)]
    accounts = [Account(shown_path(r.file), tag + STATUS_LABELS[r.status], r.code, r.name, readable(r.reason))
                for r in col.files]
    accounts += [Account("", tag + MISSING, e.entity.code, e.entity.name, col.missing_reason(e.entity.code))
                 for e in col.missing_entities()]
    return Dataset(catalog, members, accounts, f"{tag}提出ブック {shown_path(str(path))}（{catalog.year_label}）")


def _from_results(path: Path, catalog: Catalog, entries, tag: str) -> Dataset:
    from xlsx_tool.catalog.official import answers_from_results
    from xlsx_tool.read.tables import ComparisonError, read_official_results

    try:
        by_code = read_official_results(path)
    except ComparisonError as err:
        fail(str(err))
    roster = {code_key(e.entity.code): e.entity for e in entries}
    members, accounts = [], []
    for key, rows in by_code.items():
        source = f"{rows[0].where} ほか 計 {len(rows)} 行" if len(rows) > 1 else rows[0].where
        entity = roster.get(key)
        if entity is None:
            accounts.append(Account(source, tag + STATUS_LABELS[REJECTED], rows[0].code, "",
                                    message("collect.not_in_roster", code=rows[0].code)))
            continue
        answers, problems = answers_from_results(catalog, rows)
        if problems:
            accounts.append(Account(source, tag + STATUS_LABELS[REJECTED], entity.code, entity.name,
                                    message("analyze.rows_refused", problems="／".join(problems))))
            continue
        members.append(Member(entity.code, entity.name, answers))
        accounts.append(Account(source, tag + STATUS_LABELS[ACCEPTED], entity.code, entity.name))
    accounts += [Account("", tag + MISSING, e.entity.code, e.entity.name, message("analyze.no_rows", file=path.name))
                 for e in entries if code_key(e.entity.code) not in by_code]
    members.sort(key=lambda m: m.code)
    return Dataset(catalog, members, accounts, f"{tag}公表結果 {path.name}（{catalog.year_label}）")


def _print_accounts(accounts: list[Account]) -> None:
    for x in accounts:
        if x.status.endswith(STATUS_LABELS[ACCEPTED]) and not x.status.endswith(STATUS_LABELS[REJECTED]):
            continue
        style = "red" if STATUS_LABELS[REJECTED] in x.status else "yellow"
        who = " ".join(p for p in (x.code, x.name) if p)
        console.print(f"[{style}]{escape(x.status)}[/] {escape(x.source or who)}: {escape(x.reason)}")
    counts: dict[str, int] = {}
    for x in accounts:
        counts[x.status] = counts.get(x.status, 0) + 1
    console.print(" ／ ".join(f"{k} {v}" for k, v in counts.items()))
    sys.stdout.flush()
