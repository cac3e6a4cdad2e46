"""Commands on one book: xlsx-tool generate | score | report | demo."""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from xlsx_tool.catalog.answers import problem_lines
from xlsx_tool.catalog.entity import Entity, code_key
from xlsx_tool.catalog.loading import CatalogError, load_shipped_catalog
from xlsx_tool.catalog.model import GROUP_LABELS, Catalog
from xlsx_tool.cli.common import THRESHOLDS_HELP, catalog_and_tag, code_option, console, err_console, fail
from xlsx_tool.cli.money import yen_per_point_option
from xlsx_tool.read.core import BookError
from xlsx_tool.read.openpyxl_engine import read_book
from xlsx_tool.scoring.gap import answer_labels
from xlsx_tool.scoring.scorer import ScoreResult, rate, score
from xlsx_tool.util.atomic import write_atomically
from xlsx_tool.util.numbers import percent
from xlsx_tool.util.problems import message
from xlsx_tool.workbook.writer import write_workbook


@click.command()
@click.option("--year", help="年度（例: R8）")
@click.option("--kind", type=click.Choice(["municipality", "prefecture"]), default="municipality",
              show_default=True, help="市町村 / 都道府県")
@click.option("--catalog", "catalog_path", type=click.Path(exists=True, dir_okay=False),
              help="独自のカタログ (YAML)")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default="out", show_default=True)
@click.option("--name", default="", help="団体名")
@click.option("--code", default="", callback=code_option,
              help="団体コード（6 桁の全国地方公共団体コード。検査数字を除いた 5 桁も可）")
@click.option("--prefecture", default="", help="都道府県名")
@click.option("--insured", type=click.IntRange(min=0), default=None, help="第1号被保険者数")
@click.option("--password", default=None, help="シート保護のパスワード（既定: なし）")
@click.option("--roster", type=click.Path(dir_okay=False), help="名簿 (CSV/xlsx): 1 行につき 1 冊作成")
@click.option("--thresholds", default=None, help=THRESHOLDS_HELP)
@click.option("--previous", type=click.Path(exists=True, dir_okay=False),
              help="前年度の回答済みブック（前年度回答欄に表示。名簿では previous 列）")
@click.option("--carry", is_flag=True, help="前年度の回答を回答欄に転記する（引き継げる項目のみ）")
@click.option("--mapping", type=click.Path(exists=True, dir_okay=False),
              help="項目 id の対応表（previous_id,current_id）: 番号の変わった項目を引き継ぐ")
@click.option("--results", type=click.Path(exists=True, dir_okay=False),
              help="公表された結果（集計表の形式 団体コード,年度,列番号,得点 の CSV/xlsx）を回答欄に入れる")
def generate(year, kind, catalog_path, out_dir, name, code, prefecture, insured, password, roster, thresholds,
             previous, carry, mapping, results) -> None:
    """自己評価ワークブック (.xlsx) を作成します。"""
    from xlsx_tool.collect.distribute import generate_one
    from xlsx_tool.read.tables import read_mapping, read_official_results

    catalog, tag = catalog_and_tag(year, kind, catalog_path, thresholds)
    if results and carry:
        fail(message("official.with_carry"))
    if results and not roster and not code:
        fail(message("official.needs_code"))
    try:
        options = dict(password=password, thresholds=tag, prefill=carry,
                       mapping=read_mapping(mapping) if mapping else None)
        official = read_official_results(results) if results else None
    except CatalogError as err:
        fail(str(err))
    if roster:
        _generate_roster(catalog, roster, Path(out_dir), options, official)
        return
    entity = Entity(name=name, code=code, prefecture=prefecture, insured=insured)
    rows = None
    if official is not None:
        rows = official.get(code_key(code))
        if rows is None:
            fail(f"{results}: " + message("official.no_rows", code=code))
    done = generate_one(catalog, entity, Path(out_dir), previous=Path(previous) if previous else None,
                        results=rows, **options)
    _report_generated([done])
    if done.skipped:
        sys.exit(2)
    console.print(f"作成しました: {done.path}（{catalog.year_label} {catalog.id}、回答欄 {len(catalog.answer_ids())} 項目）")


def _report_generated(done) -> None:
    for g in done:
        if g.note:
            err_console.print(f"[{'red' if g.skipped else 'yellow'}]{'未作成' if g.skipped else '注意'}[/] "
                              f"{g.entity.label}: {g.note}")
        if g.carry.carried or g.carry.not_carried:
            console.print(f"{g.entity.label}: 前年度の回答 {len(g.carry.carried)} 項目を引き継ぎ、"
                          f"{len(g.carry.not_carried)} 項目は引き継げませんでした")
            for prev_id, reason in g.carry.not_carried:
                console.print(f"  引き継げない項目 {prev_id}: {reason}")


def _generate_roster(catalog: Catalog, roster: str, out_dir: Path, options: dict, official=None) -> None:
    from rich.progress import Progress

    from xlsx_tool.collect.distribute import generate_for_roster
    from xlsx_tool.collect.roster import RosterError, read_roster

    try:
        entries = read_roster(roster)
    except RosterError as err:
        fail(str(err))
    with Progress(console=err_console, transient=True) as progress:
        task = progress.add_task("ブックを作成中", total=len(entries))
        done = generate_for_roster(catalog, entries, out_dir, advance=lambda: progress.advance(task),
                                   results=official, **options)
    _report_generated(done)
    if official is not None:
        listed = {code_key(e.entity.code) for e in entries}
        for key, rows in official.items():
            if key not in listed:
                err_console.print(f"[yellow]注意[/] {rows[0].where}: " + message("official.not_in_roster", code=rows[0].code))
    made = [g for g in done if not g.skipped]
    console.print(f"{len(made)} 冊作成しました: {out_dir}（{catalog.year_label} {catalog.id}）"
                  + (f"、{len(done) - len(made)} 冊は作成していません（上記）" if len(made) < len(done) else ""))
    if len(made) < len(done):
        sys.exit(1)


def _fmt(x: float) -> str:
    return f"{x:g}"


def score_table(result: ScoreResult) -> Table:
    cat = result.catalog
    table = Table(title=f"{cat.year_label} 採点結果（{cat.id}）", show_lines=False)
    for col, justify in (("交付金", "left"), ("目標", "left"), ("指標群", "left"), ("配点", "right"),
                         ("得点", "right"), ("得点率", "right")):
        table.add_column(col, justify=justify)
    for grant in cat.grants:
        for goal in grant.goals:
            for group in goal.groups:
                pts = result.groups[(goal.id, group.kind.value)]
                table.add_row(grant.short, f"目標{goal.number} {goal.name}", GROUP_LABELS[group.kind],
                              str(group.points), _fmt(pts), percent(rate(pts, group.points)))
        g = result.grants[grant.id]
        table.add_row(f"[bold]{grant.short}[/]", "[bold]合計[/]", "", str(grant.points), f"[bold]{_fmt(g)}[/]",
                      percent(rate(g, grant.points)), end_section=True)
    table.add_row("[bold]総合計[/]", "", "", str(cat.total), f"[bold]{_fmt(result.total)}[/]",
                  f"[bold]{percent(rate(result.total, cat.total))}[/]")
    return table


@click.command("score")
@click.argument("book", type=click.Path(dir_okay=False))
@click.option("--catalog", "catalog_path", type=click.Path(exists=True, dir_okay=False),
              help="ブック作成時に使った独自カタログ")
@click.option("--thresholds", default=None, help="ブック作成時の採点基準ファイル（example で同梱の例示）")
@click.option("--json", "as_json", is_flag=True, help="結果を JSON で出力")
def score_cmd(book, catalog_path, thresholds, as_json) -> None:
    """記入済みのブックを採点します（ブックは変更しません）。様式が変更されていれば警告し、終了コード 1。"""
    refuse_text_file(book, "score")
    try:
        catalog, contents = read_book(book, catalog_path, thresholds)
    except (BookError, CatalogError) as err:
        fail(str(err))
    result = score(catalog, contents.answers)
    labels = answer_labels(catalog)
    problems = problem_lines(result.problems, labels, contents.cells)  # the wording collect uses
    tampering = tamper_reasons(book, catalog)
    if as_json:
        data = result.to_json()
        for entry, line in zip(data["problems"], problems):
            entry["text"] = line
        data["file"] = str(book)
        data["entity"] = {k: contents.meta.get(k) for k in ("entity_code", "entity_name", "prefecture")}
        data["missing_rows"] = contents.missing
        data["unanswered_detail"] = [{"id": a, "label": labels[a]} for a in result.unanswered]
        data["tampering"] = tampering
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        sys.exit(1 if tampering else 0)
    who = " ".join(str(contents.meta.get(k) or "") for k in ("prefecture", "entity_name")).strip()
    console.print(f"ファイル: {book}  団体: {who or '（未記入）'}")
    console.print(score_table(result))
    console.print(f"回答済み {result.answered} / {len(catalog.answer_ids())} 項目")
    if result.unanswered:
        console.print(f"[yellow]未回答 {len(result.unanswered)} 項目:[/] "
                      + "、".join(labels[a] for a in result.unanswered[:30])
                      + (" ほか" if len(result.unanswered) > 30 else ""))
    for aid in contents.missing:
        console.print(f"[red]回答欄が見つかりません（行が削除された可能性）:[/] {labels[aid]}")
    for line in problems:
        console.print(f"[red]不正な回答:[/] {escape(line)}")
    if tampering:
        err_console.print("[bold red]警告:[/] " + message("cli.tampered", reasons=" ".join(tampering)))
        sys.exit(1)


def tamper_reasons(book: str, catalog: Catalog) -> list[str]:
    """What collect would reject the book for (cells or rows changed outside the answer cells)."""
    from openpyxl import load_workbook

    from xlsx_tool.collect.tamper import check_tampering

    findings = check_tampering(load_workbook(book, data_only=False), catalog)
    return findings.reasons() if findings.tampered else []


TEXT_SUFFIXES = (".csv", ".tsv", ".txt")


def refuse_text_file(book: str, command: str) -> None:
    """A CSV or text file given where a workbook belongs: say so before the reader calls it a renamed file."""
    if Path(book).suffix.lower() in TEXT_SUFFIXES and Path(book).is_file():
        fail(message("cli.text_not_book", file=book, command=command))


@click.command()
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default="samples", show_default=True)
@click.option("--year", default="R8", show_default=True)
@click.option("--seed", default=2026, show_default=True, help="記入例の乱数の種")
def demo(out_dir, year, seed) -> None:
    """同梱の既定値で一連の処理を実行: 様式の作成 → 記入例の作成 → 採点結果の出力"""
    from xlsx_tool.workbook.filler import fill_workbook, random_answers

    out = Path(out_dir)
    catalog = load_shipped_catalog(year, "municipality")
    entity = Entity(name="サンプル町", code="999999", prefecture="サンプル県", insured=4321)
    template = write_workbook(catalog, entity, out / f"{year}_municipality_template.xlsx")
    filled = fill_workbook(template, random_answers(catalog, random.Random(seed)),
                           out / f"{year}_municipality_sample_filled.xlsx", catalog)
    _, contents = read_book(filled)
    result = score(catalog, contents.answers)
    data = json.dumps(result.to_json(), ensure_ascii=False, indent=2)
    write_atomically(out / f"{year}_municipality_sample_score.json", lambda tmp: tmp.write_text(data, encoding="utf-8"))
    text = Console(file=None, width=120, no_color=True, highlight=False, record=True)
    with text.capture() as capture:
        text.print(score_table(result))
    write_atomically(out / f"{year}_municipality_sample_score.txt",
                     lambda tmp: tmp.write_text(capture.get(), encoding="utf-8"))
    from xlsx_tool.report.builder import report_for_book
    from xlsx_tool.report.html import render_html

    html = render_html(report_for_book(filled))
    report = write_atomically(out / f"{year}_municipality_sample_report.html",
                              lambda tmp: tmp.write_text(html, encoding="utf-8"))
    console.print(score_table(result))
    console.print(f"作成しました: {template}, {filled}, {out}/{year}_municipality_sample_score.(txt|json), {report}")


@click.command()
@click.argument("book", type=click.Path(dir_okay=False))
@click.option("--previous", type=click.Path(exists=True, dir_okay=False), help="前年度の回答済みブック")
@click.option("--previous-catalog", type=click.Path(exists=True, dir_okay=False), help="前年度ブックの独自カタログ")
@click.option("--compare", "compare_files", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="比較データ（全国結果の一覧、都道府県平均など。複数可）")
@click.option("--mapping", type=click.Path(exists=True, dir_okay=False), help="前年度と今年度の項目 id の対応表")
@click.option("--catalog", "catalog_path", type=click.Path(exists=True, dir_okay=False))
@click.option("--thresholds", default=None, help="ブック作成時の採点基準ファイル（example で同梱の例示）")
@click.option("--format", "fmt", type=click.Choice(["html", "xlsx", "md"]), default="html", show_default=True)
@click.option("--out", "out_path", type=click.Path(dir_okay=False), help="出力ファイル（既定: 入力と同じフォルダ）")
@click.option("--yen-per-point", "yen_per_point", multiple=True, callback=yen_per_point_option,
              help="失点項目ごとの概算金額: 交付金=1 点あたりの円（例: 推進=80453。estimate --from-last-year の結果など）")
def report(book, previous, previous_catalog, compare_files, mapping, catalog_path, thresholds, fmt, out_path,
           yen_per_point) -> None:
    """ギャップ報告: どこで失点したかを全国・都道府県平均・前年度と比較して出力します。"""
    from xlsx_tool.report.builder import report_for_book
    from xlsx_tool.report.html import render_html, render_markdown
    from xlsx_tool.report.sheet import write_report_sheet

    refuse_text_file(book, "report")
    try:
        rep = report_for_book(book, catalog_path, thresholds, compare_files=compare_files, previous=previous,
                              previous_catalog=previous_catalog, mapping_file=mapping, yen_per_point=yen_per_point)
    except (BookError, CatalogError) as err:
        fail(str(err))
    suffix = {"html": ".html", "xlsx": ".xlsx", "md": ".md"}[fmt]
    out = Path(out_path) if out_path else Path(book).with_name(f"{Path(book).stem}_ギャップ報告{suffix}")
    if fmt == "xlsx":
        try:
            write_report_sheet(rep, book, out)
        except ValueError as err:
            fail(str(err))
    else:
        text = render_html(rep) if fmt == "html" else render_markdown(rep)
        write_atomically(out, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    total = rep.total_row
    console.print(f"作成しました: {out}（総合計 {total.own:g} / {total.max:g} 点、失点項目 {len(rep.missed)} 件）")
