"""Commands on money: xlsx-tool eligibility | estimate."""

from __future__ import annotations

import json
import math
import sys
import unicodedata
from pathlib import Path

import click

from xlsx_tool.catalog.entity import code_key
from xlsx_tool.catalog.loading import CatalogError
from xlsx_tool.catalog.model import KIND_LABELS, Kind
from xlsx_tool.catalog.official import normalise_year
from xlsx_tool.cli.common import console, fail
from xlsx_tool.money.calibrate import GRANT_ALIASES, GRANT_NAMES
from xlsx_tool.read.core import BookError
from xlsx_tool.util.problems import message
from xlsx_tool.workbook.meta import ELIGIBILITY_SHEET


@click.command()
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
    """介護保険保険者努力支援交付金の交付要件（1）～（4）を判定します（BOOK を指定するとその「交付要件」シートから）。
    判定に必要な入力が足りなければ、足りない項目を示して終了コード 1。"""
    from xlsx_tool.catalog.eligibility import EligibilityInputs, check
    from xlsx_tool.read.openpyxl_engine import read_eligibility_inputs

    try:
        inputs = read_eligibility_inputs(book) if book else EligibilityInputs(**fields)
    except BookError as err:
        fail(str(err))
    result = check(inputs)
    missing = _missing_inputs(inputs, book) if result.eligible is None else []
    if as_json:
        click.echo(json.dumps({**result.to_json(), "missing": missing}, ensure_ascii=False, indent=2))
        sys.exit(1 if missing else 0)
    verdict = {True: "交付対象", False: "交付対象外", None: "入力不足"}[result.eligible]
    console.print(f"判定: [bold]{verdict}[/] {result.decided_by}")
    if result.current is not None:
        console.print(f"① 当該年度 {result.current:,.0f} 円 ／ ② 前年度決算見込み等 {result.baseline:,.0f} 円")
    if missing:
        fix = f"ブックの「{ELIGIBILITY_SHEET}」シートに入力してください" if book else "金額（円）をオプションで指定してください"
        fail(message("cli.eligibility_missing", missing="、".join(missing), fix=fix), code=1)
    console.print(result.message)


NEEDED = ("budget_this_year", "settlement_last_year", "amended_application", "budget_last_year")  # check() needs ① and ②


def _missing_inputs(inputs, book: str | None) -> list[str]:
    """Each input the check needs and lacks: its label with the book's cell or the option to give it."""
    from xlsx_tool.catalog.eligibility import INPUT_ROWS
    from xlsx_tool.workbook.meta import eligibility_cells

    labels = {name: label for name, label, _ in INPUT_ROWS}
    if book:
        where = {name: f"{ELIGIBILITY_SHEET}!{ref}" for name, ref in eligibility_cells().items()}
    else:
        where = {p.name: p.opts[0] for p in eligibility.params}
    return [f"{where[name]} {labels[name]}" for name in NEEDED if getattr(inputs, name) is None]


def _number(value: str) -> float | None:
    """A yen amount or a score as staff type it: full-width digits, thousands commas, a trailing 円/点."""
    text = unicodedata.normalize("NFKC", str(value)).replace(",", "").strip().removesuffix("円").removesuffix("点")
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _amount(ctx, param, value):
    if value is None:
        return None
    number = _number(value)
    if number is None:
        raise click.BadParameter(message("money.not_a_number", value=value), ctx, param)
    return number


def yen_per_point_option(ctx, param, values) -> dict[str, float]:
    """report --yen-per-point 推進=80453 (repeatable): grant id -> yen of one point."""
    out = {}
    for value in values:
        grant, _, yen = unicodedata.normalize("NFKC", value).partition("=")
        number = _number(yen)
        if grant.strip() not in GRANT_ALIASES or number is None or number < 0:
            raise click.BadParameter(message("money.yen_per_point", value=value), ctx, param)
        out[GRANT_ALIASES[grant.strip()]] = number
    return out


def _year(ctx, param, value):
    if value is None:
        return None
    year = normalise_year(value)
    if year is None:
        raise click.BadParameter(message("money.not_a_year", value=value), ctx, param)
    return year


FIGURE_OPTIONS = {"last_budget": ("--last-national-budget", "前年度の全国の当初予算（円）"),
                  "budget": ("--national-budget", "今年度の全国の当初予算（円）"),
                  "last_mean": ("--last-national-mean", "前年度の全国平均点（市町村）"),
                  "mean": ("--national-mean", "今年度の全国平均点（市町村）")}


@click.command()
@click.option("--from-last-year", "from_last_year", is_flag=True,
              help="前年度の自団体の交付額と得点から今年度の交付額を見込む（他団体のデータ不要）")
@click.option("--grant", type=click.Choice(sorted(GRANT_ALIASES)), help="--from-last-year: 推進 または 支援")
@click.option("--last-year", callback=_year, help="--from-last-year: 前年度（例: R5）")
@click.option("--last-amount", callback=_amount, help="--from-last-year: 前年度の交付額（円）")
@click.option("--last-score", callback=_amount, help="--from-last-year: 前年度のその交付金の得点")
@click.option("--year", callback=_year, help="--from-last-year: 今年度（例: R6）")
@click.option("--score", callback=_amount, help="--from-last-year: 今年度のその交付金の得点（見込み）")
@click.option(FIGURE_OPTIONS["last_budget"][0], "last_budget", callback=_amount,
              help="前年度の全国の当初予算（円）。同梱の資料にない年度のみ必要")
@click.option(FIGURE_OPTIONS["budget"][0], "budget", callback=_amount,
              help="今年度の全国の当初予算（円）。同梱の資料にない年度のみ必要")
@click.option(FIGURE_OPTIONS["last_mean"][0], "last_mean", callback=_amount,
              help="前年度の全国平均点（市町村）。同梱の資料にない年度のみ必要")
@click.option(FIGURE_OPTIONS["mean"][0], "mean", callback=_amount,
              help="今年度の全国平均点（市町村）。同梱の資料にない年度のみ必要")
@click.option("--results", "results_path", type=click.Path(exists=True, dir_okay=False),
              help="全国結果の一覧（1 団体 1 行）または collect の 結果.csv")
@click.option("--params", "params_path",
              help="配分パラメータ (YAML)。example で同梱の例示（国の実際の値ではありません）")
@click.option("--share-among-given", is_flag=True,
              help="--results が全国の一部の団体のとき、その団体の間での按分として試算する（全国の配分ではない）")
@click.option("--entity", "code", help="この団体コードの詳細（1 点あたりの金額、失点項目ごとの金額）")
@click.option("--book", type=click.Path(exists=True, dir_okay=False), help="--entity の団体の回答済みブック（失点項目の金額）")
@click.option("--out", "out_path", type=click.Path(dir_okay=False), help="全団体の配分を CSV に出力")
@click.option("--json", "as_json", is_flag=True)
def estimate(from_last_year, results_path, params_path, share_among_given, code, book, out_path, as_json,
             **last_year) -> None:
    """交付金の額を試算します。--from-last-year: 前年度の自団体の交付額と得点から今年度を見込む（概算）。
    --results と --params: 全団体の結果から配分を試算（パラメータはすべてファイルから。例示の値は公式のものではありません）。"""
    allocation_only = (results_path, params_path, share_among_given, code, book, out_path)
    if from_last_year and any(allocation_only) or not from_last_year and (
            not (results_path and params_path) or any(v is not None for v in last_year.values())):
        fail(message("money.mode"))  # one way at a time: no option is silently ignored
    if from_last_year:
        _from_last_year(as_json, **last_year)
        return
    _allocation(results_path, params_path, share_among_given, code, book, out_path, as_json)


def _from_last_year(as_json, grant, last_year, last_amount, last_score, year, score, **given) -> None:
    from xlsx_tool.money.calibrate import FromLastYear, exact, figures_for
    from xlsx_tool.money.report import print_from_last_year

    needed = {"--grant": grant, "--last-year": last_year, "--last-amount": last_amount,
              "--last-score": last_score, "--year": year, "--score": score}
    missing = [opt for opt, v in needed.items() if v is None]
    if missing:
        fail(message("money.needs", missing="、".join(missing)))
    for opt, value in [("--last-amount", last_amount), ("--last-score", last_score), ("--score", score),
                       *((FIGURE_OPTIONS[k][0], v) for k, v in given.items())]:
        if value is not None and value <= 0:
            fail(message("money.not_positive", option=opt, value=f"{value:g}"))
    grant = GRANT_ALIASES[grant]
    figures, absent = figures_for(grant, last_year, year, given)
    if absent:
        fail("\n".join(message("money.missing_figure", grant=GRANT_NAMES[grant], what=FIGURE_OPTIONS[k][1],
                                year=last_year if k.startswith("last_") else year, option=FIGURE_OPTIONS[k][0])
                        for k in absent))
    est = FromLastYear(grant, last_year, year, exact(last_amount), exact(last_score), exact(score), figures)
    if as_json:
        click.echo(json.dumps(est.to_json(), ensure_ascii=False, indent=2))
        return
    print_from_last_year(console, est)


def _allocation(results_path, params_path, share_among_given, code, book, out_path, as_json) -> None:
    from xlsx_tool.money.estimate import allocate, input_problems, load_params
    from xlsx_tool.money.report import entity_detail, print_estimate, write_estimate_csv
    from xlsx_tool.read.tables import read_results

    try:
        params = load_params(params_path)
        entities = read_results(results_path)
    except CatalogError as err:
        fail(str(err))
    problems = input_problems(entities, params)
    if problems:
        fail("\n".join([f"{results_path}:", *problems]))
    nation = params.nation
    partial = len(entities) < nation
    if partial and not share_among_given:
        fail(message("money.partial_set", file=results_path, count=len(entities), nation=f"{nation:,}",
                     kind=KIND_LABELS[Kind(params.kind)]))
    if code and code_key(code) not in {code_key(e.code) for e in entities}:
        fail(message("money.no_entity", code=code, file=results_path))
    est = allocate(entities, params)
    if out_path:
        write_estimate_csv(est, Path(out_path))
    detail = entity_detail(est, code, book) if code else None
    scope = message("money.share_among_given", count=len(entities), nation=f"{nation:,}") if partial else ""
    if as_json:
        data = est.to_json(code)
        data["scope"] = {"entities": len(entities), "nation": nation, "share_among_given": partial, "note": scope}
        if detail:
            data["detail"] = detail
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    print_estimate(console, est, code, detail, scope)
