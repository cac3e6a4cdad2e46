"""Command line: xlsx-tool generate | score | catalog | demo."""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from . import __version__
from .catalog import (GROUP_LABELS, Catalog, CatalogError, load_catalog_file, load_shipped_catalog,
                      shipped_catalog_names)
from .entity import Entity, code_key
from .gap import answer_labels
from .scorer import ScoreResult, rate, score
from .workbook_reader import BookError, read_book
from .atomic import write_atomically
from .workbook_writer import write_workbook

console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


def _fail(message: str, code: int = 2) -> None:
    err_console.print(f"[bold red]エラー:[/] {message}")
    sys.exit(code)


def _catalog(year: str | None, kind: str, catalog_path: str | None, thresholds: str | None = None) -> Catalog:
    return _catalog_and_tag(year, kind, catalog_path, thresholds)[0]


def _catalog_and_tag(year, kind, catalog_path, thresholds) -> tuple[Catalog, str | None]:
    """The catalog to generate or check against, with the thresholds file applied (and its tag)."""
    from .thresholds import EXAMPLE, apply_thresholds, load_thresholds, shipped_example

    try:
        if catalog_path:
            catalog = load_catalog_file(catalog_path)
        elif not year:
            _fail("--year（例: R8）または --catalog PATH を指定してください")
        else:
            catalog = load_shipped_catalog(year, kind)
        if not thresholds:
            return catalog, None
        tf, tag = shipped_example(catalog.id) if thresholds == EXAMPLE else load_thresholds(thresholds)
        return apply_thresholds(catalog, tf, tag), tag
    except CatalogError as err:
        _fail(str(err))
        raise  # unreachable

THRESHOLDS_HELP = "活動指標の採点基準ファイル（example で同梱の例示。例示は国の実際の基準ではありません）"


@click.group()
@click.version_option(__version__, prog_name="xlsx-tool")
def main() -> None:
    """介護保険 インセンティブ交付金 自己評価ワークブックの作成・採点ツール"""


@main.command()
@click.option("--year", help="年度（例: R8）")
@click.option("--kind", type=click.Choice(["municipality", "prefecture"]), default="municipality",
              show_default=True, help="市町村 / 都道府県")
@click.option("--catalog", "catalog_path", type=click.Path(exists=True, dir_okay=False),
              help="独自のカタログ (YAML)")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default="out", show_default=True)
@click.option("--name", default="", help="団体名")
@click.option("--code", default="", help="団体コード")
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
def generate(year, kind, catalog_path, out_dir, name, code, prefecture, insured, password, roster, thresholds,
             previous, carry, mapping) -> None:
    """自己評価ワークブック (.xlsx) を作成します。"""
    from .comparison_io import read_mapping
    from .distribute import generate_one

    catalog, tag = _catalog_and_tag(year, kind, catalog_path, thresholds)
    try:
        options = dict(password=password, thresholds=tag, prefill=carry,
                       mapping=read_mapping(mapping) if mapping else None)
    except CatalogError as err:
        _fail(str(err))
    if roster:
        _generate_roster(catalog, roster, Path(out_dir), options)
        return
    entity = Entity(name=name, code=code, prefecture=prefecture, insured=insured)
    done = generate_one(catalog, entity, Path(out_dir), previous=Path(previous) if previous else None, **options)
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


def _generate_roster(catalog: Catalog, roster: str, out_dir: Path, options: dict) -> None:
    from rich.progress import Progress

    from .distribute import generate_for_roster
    from .roster import RosterError, read_roster

    try:
        entries = read_roster(roster)
    except RosterError as err:
        _fail(str(err))
    with Progress(console=err_console, transient=True) as progress:
        task = progress.add_task("ブックを作成中", total=len(entries))
        done = generate_for_roster(catalog, entries, out_dir, advance=lambda: progress.advance(task), **options)
    _report_generated(done)
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
                              str(group.points), _fmt(pts), f"{rate(pts, group.points):.1%}")
        g = result.grants[grant.id]
        table.add_row(f"[bold]{grant.short}[/]", "[bold]合計[/]", "", str(grant.points), f"[bold]{_fmt(g)}[/]",
                      f"{rate(g, grant.points):.1%}", end_section=True)
    table.add_row("[bold]総合計[/]", "", "", str(cat.total), f"[bold]{_fmt(result.total)}[/]",
                  f"[bold]{rate(result.total, cat.total):.1%}[/]")
    return table


@main.command("score")
@click.argument("book", type=click.Path(dir_okay=False))
@click.option("--catalog", "catalog_path", type=click.Path(exists=True, dir_okay=False),
              help="ブック作成時に使った独自カタログ")
@click.option("--thresholds", type=click.Path(exists=True, dir_okay=False), help="ブック作成時の採点基準ファイル")
@click.option("--json", "as_json", is_flag=True, help="結果を JSON で出力")
def score_cmd(book, catalog_path, thresholds, as_json) -> None:
    """記入済みのブックを採点します（ブックは変更しません）。"""
    try:
        catalog, contents = read_book(book, catalog_path, thresholds)
    except BookError as err:
        _fail(str(err))
    result = score(catalog, contents.answers)
    labels = answer_labels(catalog)
    if as_json:
        data = result.to_json()
        data["file"] = str(book)
        data["entity"] = {k: contents.meta.get(k) for k in ("entity_code", "entity_name", "prefecture")}
        data["missing_rows"] = contents.missing
        data["unanswered_detail"] = [{"id": a, "label": labels[a]} for a in result.unanswered]
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
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
    for p in result.problems:
        console.print(f"[red]不正な回答:[/] {labels[p.answer_id]}: {p.message}")


@main.group()
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


@main.command()
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default="samples", show_default=True)
@click.option("--year", default="R8", show_default=True)
@click.option("--seed", default=2026, show_default=True, help="記入例の乱数の種")
def demo(out_dir, year, seed) -> None:
    """同梱の既定値で一連の処理を実行: 様式の作成 → 記入例の作成 → 採点結果の出力"""
    from .workbook_filler import fill_workbook, random_answers

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
    from .report_builder import report_for_book
    from .report_render import render_html

    html = render_html(report_for_book(filled))
    report = write_atomically(out / f"{year}_municipality_sample_report.html",
                              lambda tmp: tmp.write_text(html, encoding="utf-8"))
    console.print(score_table(result))
    console.print(f"作成しました: {template}, {filled}, {out}/{year}_municipality_sample_score.(txt|json), {report}")


@main.command()
@click.argument("book", type=click.Path(dir_okay=False))
@click.option("--previous", type=click.Path(exists=True, dir_okay=False), help="前年度の回答済みブック")
@click.option("--previous-catalog", type=click.Path(exists=True, dir_okay=False), help="前年度ブックの独自カタログ")
@click.option("--compare", "compare_files", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="比較データ（全国結果の一覧、都道府県平均など。複数可）")
@click.option("--mapping", type=click.Path(exists=True, dir_okay=False), help="前年度と今年度の項目 id の対応表")
@click.option("--catalog", "catalog_path", type=click.Path(exists=True, dir_okay=False))
@click.option("--thresholds", type=click.Path(exists=True, dir_okay=False), help="ブック作成時の採点基準ファイル")
@click.option("--format", "fmt", type=click.Choice(["html", "xlsx", "md"]), default="html", show_default=True)
@click.option("--out", "out_path", type=click.Path(dir_okay=False), help="出力ファイル（既定: 入力と同じフォルダ）")
def report(book, previous, previous_catalog, compare_files, mapping, catalog_path, thresholds, fmt, out_path) -> None:
    """ギャップ報告: どこで失点したかを全国・都道府県平均・前年度と比較して出力します。"""
    from .report_builder import report_for_book
    from .report_render import render_html, render_markdown
    from .report_xlsx import write_report_sheet

    try:
        rep = report_for_book(book, catalog_path, thresholds, compare_files=compare_files, previous=previous,
                              previous_catalog=previous_catalog, mapping_file=mapping)
    except (BookError, CatalogError) as err:
        _fail(str(err))
    suffix = {"html": ".html", "xlsx": ".xlsx", "md": ".md"}[fmt]
    out = Path(out_path) if out_path else Path(book).with_name(f"{Path(book).stem}_ギャップ報告{suffix}")
    if fmt == "xlsx":
        try:
            write_report_sheet(rep, book, out)
        except ValueError as err:
            _fail(str(err))
    else:
        text = render_html(rep) if fmt == "html" else render_markdown(rep)
        write_atomically(out, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    total = rep.total_row
    console.print(f"作成しました: {out}（総合計 {total.own:g} / {total.max:g} 点、失点項目 {len(rep.missed)} 件）")


@main.command("collect")
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

    from .collect import collect
    from .collect_outputs import SUMMARY_BOOK, write_csvs, write_json, write_summary_book
    from .roster import RosterError, read_roster

    catalog = _catalog(year, kind, catalog_path, thresholds)
    try:
        entries = read_roster(roster) if roster else []
    except RosterError as err:
        _fail(str(err))
    with Progress(console=err_console, transient=True) as progress:
        task = progress.add_task("ブックを検査中", total=None)
        col = collect(paths, catalog, entries, workers=workers, advance=lambda: progress.advance(task),
                      on_total=lambda n: progress.update(task, total=n), reader=reader)
        col.previous_rates = _previous_rates(catalog, entries)
    out = Path(out_dir)
    write_summary_book(col, out / SUMMARY_BOOK)
    lost = write_csvs(col, out, encoding)
    write_json(col, out)
    if col.fallbacks:
        first = col.fallbacks[0]
        err_console.print(f"[yellow]注意[/] 高速読み取りで扱えない {len(col.fallbacks)} 件は openpyxl で読み込みました"
                          f"（例: {first.file}: {first.fallback}）")
    for name, chars in lost.items():
        err_console.print(f"[yellow]注意[/] {name}: {encoding} で表せない文字を「?」に置き換えました: {' '.join(chars)}")
    c = col.counts()
    for r in col.files:
        if r.status != "accepted":
            style = "red" if r.status == "rejected" else "yellow"
            console.print(f"[{style}]{'不受理' if r.status == 'rejected' else '注意'}[/] {r.file}: {r.reason}")
    for e in col.missing_entities():
        console.print(f"[yellow]未提出[/] {e.entity.code} {e.entity.name}: {col.missing_reason(e.entity.code)}")
    console.print(f"受理 {c['accepted']} ／ 注意あり {c['warning']} ／ 不受理 {c['rejected']} ／ "
                  f"見つかったファイル {len(col.files)}（合計 {sum(c.values())}）")
    console.print(f"出力: {out / SUMMARY_BOOK}、CSV 5 件（結果.csv は report --compare と estimate の入力形式）、"
                  f"{out / 'collect.json'}")
    if strict and c["rejected"]:
        sys.exit(1)


def _previous_rates(catalog: Catalog, entries) -> dict[str, float]:
    """Implementation rates over the previous-year books named in the roster."""
    from .collect_outputs import implementation_rates

    answers = []
    for e in entries:
        if e.previous is not None:
            try:
                answers.append(read_book(e.previous)[1].answers)
            except BookError as err:
                err_console.print(f"[yellow]注意[/] 前年度ブックを読めません（実施率の比較から除外）: {err}")
    return implementation_rates(catalog, answers) if answers else {}


@main.command()
@click.argument("book", required=False, type=click.Path(dir_okay=False))
@click.option("--budget", "budget_this_year", type=float, help="① 当該年度当初予算：地域支援事業の事業費全額（円）")
@click.option("--transfer", "transfer_to_multilayer", type=float, default=0, help="① 重層的支援体制整備事業への移行分（円）")
@click.option("--settlement", "settlement_last_year", type=float, help="② 前年度決算額（見込み）（円）")
@click.option("--amended", "amended_application", type=float, help="② 変更交付申請後額（円）")
@click.option("--last-budget", "budget_last_year", type=float, help="② 前年度当初予算：地域支援事業の事業費全額（円）")
@click.option("--at-cap", is_flag=True, help="（2）地域支援事業の上限に係っている")
@click.option("--extra", "extra_this_year", type=float, default=0, help="（2）保健福祉事業・一般会計事業 当該年度（円）")
@click.option("--last-extra", "extra_last_year", type=float, default=0, help="（2）同 前年度（円）")
@click.option("--insured", "insured_last_year_end", type=float, help="（3）前年度末の第1号被保険者数")
@click.option("--insured-before", "insured_year_before_end", type=float, help="（3）一昨年度末の第1号被保険者数")
@click.option("--new-or-expanded", is_flag=True, help="（4）新規事業の実施・既存事業の拡充がある")
@click.option("--json", "as_json", is_flag=True)
def eligibility(book, as_json, **fields) -> None:
    """介護保険保険者努力支援交付金の交付要件（1）～（4）を判定します（BOOK を指定するとその「交付要件」シートから）。"""
    from .eligibility import EligibilityInputs, check
    from .workbook_reader import read_eligibility_inputs

    try:
        inputs = read_eligibility_inputs(book) if book else EligibilityInputs(**fields)
    except BookError as err:
        _fail(str(err))
    result = check(inputs)
    if as_json:
        click.echo(json.dumps(result.to_json(), ensure_ascii=False, indent=2))
        return
    verdict = {True: "交付対象", False: "交付対象外", None: "入力不足"}[result.eligible]
    console.print(f"判定: [bold]{verdict}[/] {result.decided_by}")
    if result.current is not None:
        console.print(f"① 当該年度 {result.current:,.0f} 円 ／ ② 前年度決算見込み等 {result.baseline:,.0f} 円")
    console.print(result.message)


@main.command()
@click.option("--results", "results_path", required=True, type=click.Path(exists=True, dir_okay=False),
              help="全国結果の一覧（1 団体 1 行）または collect の 結果.csv")
@click.option("--params", "params_path", required=True,
              help="配分パラメータ (YAML)。example で同梱の例示（国の実際の値ではありません）")
@click.option("--entity", "code", help="この団体コードの詳細（1 点あたりの金額、失点項目ごとの金額）")
@click.option("--book", type=click.Path(exists=True, dir_okay=False), help="--entity の団体の回答済みブック（失点項目の金額）")
@click.option("--out", "out_path", type=click.Path(dir_okay=False), help="全団体の配分を CSV に出力")
@click.option("--json", "as_json", is_flag=True)
def estimate(results_path, params_path, code, book, out_path, as_json) -> None:
    """交付金の配分を試算します（パラメータはすべてファイルから。例示の値は公式のものではありません）。"""
    from .comparison_io import read_results
    from .estimate import allocate, load_params
    from .estimate_report import entity_detail, print_estimate, write_estimate_csv

    try:
        params = load_params(params_path)
        entities = read_results(results_path)
    except CatalogError as err:
        _fail(str(err))
    if code and code_key(code) not in {code_key(e.code) for e in entities}:
        _fail(f"団体コード {code} は {results_path} にありません")
    est = allocate(entities, params)
    if out_path:
        write_estimate_csv(est, Path(out_path))
    detail = entity_detail(est, code, book) if code else None
    if as_json:
        data = est.to_json(code)
        if detail:
            data["detail"] = detail
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    print_estimate(console, est, code, detail)


# Sub-commands kept in their own modules register themselves on the groups above.
from . import cli_catalog_tools  # noqa: E402,F401
from . import cli_bridge_tools  # noqa: E402,F401
from . import cli_bench  # noqa: E402,F401
