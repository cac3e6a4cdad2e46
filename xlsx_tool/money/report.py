"""Presenting an allocation estimate: terminal table, CSV, and one entity's marginal yen."""

from __future__ import annotations

import csv
import io
from fractions import Fraction
from pathlib import Path

from rich.table import Table

from xlsx_tool.money.calibrate import ASSUMPTION, GRANT_NAMES, FromLastYear
from xlsx_tool.catalog.entity import code_key
from xlsx_tool.catalog.model import GroupKind
from xlsx_tool.money.estimate import (
    CUSHION,
    CUSHION_LABEL,
    FRAME_LABELS,
    FRAMES,
    Estimate,
    allocate,
    marginal_yen,
    outcome_column,
    with_scores,
)
from xlsx_tool.read.core import BookError
from xlsx_tool.read.openpyxl_engine import read_book
from xlsx_tool.util.atomic import write_atomically
from xlsx_tool.util.cells import safe


def entity_detail(est: Estimate, code: str, book: str | None) -> dict:
    """Marginal yen per point per grant and, with the entity's book, the yen of each missed item."""
    detail = {"marginal_yen_per_point": {g: marginal_yen(est.entities, est.params, code, g) for g in est.grants}}
    if not book:
        return detail
    from xlsx_tool.scoring.gap import Comparison, build_report
    from xlsx_tool.scoring.scorer import score

    try:
        catalog, contents = read_book(book)
    except BookError as err:
        detail["missed_error"] = str(err)
        return detail
    res = score(catalog, contents.answers)
    report = build_report(catalog, contents.answers, res, contents.meta, Comparison())
    rows, now = [], est.for_code(code)
    outcome_items = {aid for _, _, group, ind in catalog.indicators() if group.kind == GroupKind.outcome
                     for aid in ([s.id for s in ind.subitems] or [ind.id])}
    entity = next(e for e in est.entities if code_key(e.code) == code_key(code))
    for m in report.missed:
        gains = {g: lost for g, lost in m.by_grant.items() if lost > 0 and g in est.grants}  # 目標Ⅳ: both grants
        if not gains:
            continue
        changes = {**gains, "total": sum(gains.values())}
        # a 目標Ⅳ item also raises the outcome points the アウトカム指標配分枠 is shared by
        for g, lost in gains.items() if m.answer_id in outcome_items else ():
            if column := outcome_column(entity, g):
                changes[column] = lost
        after = allocate(with_scores(est.entities, code, **changes), est.params)
        rows.append({"id": m.answer_id, "label": m.label, "text": m.text, "points": m.lost,
                     "grant": "+".join(gains), "yen": sum(after.for_code(code)[g].allocation - now[g].allocation
                                                          for g in gains)})
    detail["missed_items"] = rows
    return detail


def _reiwa(year: str) -> str:
    return f"令和{year[1:]}年度"


def _num(x) -> str:
    """An exact figure as published: 10,000,000,000 or 205.6 (never 1e+10)."""
    x = Fraction(x)
    return f"{x.numerator:,}" if x.denominator == 1 else f"{float(x):,.4f}".rstrip("0").rstrip(".")


def print_from_last_year(console, est: FromLastYear) -> None:
    """The estimate with its arithmetic and its assumption on the same line, then where each figure is from."""
    f = est.figures
    console.print(f"{GRANT_NAMES[est.grant]} {_reiwa(est.year)}の見込額（概算）: 約 {est.amount:,} 円"
                  f" ＝ {_reiwa(est.last_year)}の交付額 {_num(est.last_amount)} 円"
                  f" × 得点 {_num(est.score)}/{_num(est.last_score)}"
                  f" × 全国予算 {_num(f['budget'].value)}/{_num(f['last_budget'].value)}"
                  f" × 全国平均点 {_num(f['last_mean'].value)}/{_num(f['mean'].value)}（{ASSUMPTION}）")
    if est.yen_per_point is not None:
        console.print(f"1 点あたり（概算）: 約 {est.yen_per_point:,} 円 ＝ 見込額 ÷ {_num(est.score)} 点"
                      "（同じ仮定。1 点増えると交付額がおよそこれだけ増える）")
    labels = {"last_budget": (est.last_year, "全国予算", "円"), "budget": (est.year, "全国予算", "円"),
              "last_mean": (est.last_year, "全国平均点", "点"), "mean": (est.year, "全国平均点", "点")}
    for key, (year, what, unit) in labels.items():
        console.print(f"  {_reiwa(year)} {what} {_num(f[key].value)} {unit}: {f[key].source}")


def print_estimate(console, est: Estimate, code: str | None, detail: dict | None, scope: str = "") -> None:
    """The allocation; with `scope` (a share among the given entities only) every table is preceded by it
    and every line of yen ends with it."""
    tag = "".join(f"（{p}）" for p in (scope, "例示のパラメータ" if est.params.illustrative else "") if p)

    def table(t: Table) -> None:  # the scope on its own line: a table title would wrap
        if scope:
            console.print(f"[yellow]注意: 次の表は{scope}[/]")
        console.print(t)

    if est.params.illustrative:
        console.print("[yellow]注意: 例示のパラメータによる試算です（国の実際の配分額ではありません）。[/]")
    if est.params.note:
        console.print(est.params.note)
    for note in est.notes:
        console.print(f"[yellow]注意: {note}[/]")
    mark = "（例示）" if est.params.illustrative else ""  # on every line that shows an example value
    budgets = Table(title=f"予算と配分枠（円）{mark}")
    for col in ("交付金", "配分枠", "予算", "未配分"):
        budgets.add_column(col, justify="right" if col in ("予算", "未配分") else "left", overflow="fold")
    for g, frames in est.budgets.items():
        for f, yen in frames.items():
            budgets.add_row(GRANT_NAMES[g], FRAME_LABELS[f] + mark, f"{yen:,}", "")
        budgets.add_row(GRANT_NAMES[g], "合計", f"{sum(frames.values()):,}", f"{est.unallocated[g]:,}",
                        end_section=True)
    table(budgets)
    data = est.to_json(code)["entities"]
    rows = sorted(data, key=lambda r: -r["payment"])[: (None if code else 20)]
    rows_table = Table(title=("団体の試算" if code else f"交付見込額の上位 {len(rows)} 団体（全 {len(data)} 団体）") + mark)
    for col in ("団体コード", "団体名", "推進 配分", "推進 交付", "支援 配分", "支援 交付", "交付合計"):
        rows_table.add_column(col, justify="left" if col in ("団体コード", "団体名") else "right",
                              overflow="fold")  # a narrow terminal wraps an amount, never cuts its digits
    for r in rows:
        p, s = r["grants"].get("promotion", {}), r["grants"].get("support", {})
        rows_table.add_row(r["code"], r["name"], f"{p.get('allocation', 0):,}", f"{p.get('payment', 0):,}",
                           f"{s.get('allocation', 0):,}", f"{s.get('payment', 0):,}", f"{r['payment']:,}")
    table(rows_table)
    for r in rows if code else ():  # the one entity: what 激変緩和 added to or took from its allocation
        for g, grant in r["grants"].items():
            if CUSHION in grant:
                console.print(f"{GRANT_NAMES[g]}: {CUSHION_LABEL} {grant[CUSHION]:+,} 円（配分に含む）{tag}")
    if detail:
        for g, yen in detail["marginal_yen_per_point"].items():
            console.print(f"{GRANT_NAMES[g]}: 1 点あたり約 {yen:,} 円{tag}")
        for m in detail.get("missed_items", [])[:30]:
            console.print(f"  {m['label']}（{m['points']:g} 点）→ 約 {m['yen']:,} 円{tag}")


def write_estimate_csv(est: Estimate, path: Path) -> Path:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    header = ["code", "name", "prefecture", "insured"]
    columns = {g: [*FRAMES, *([CUSHION] if est.params.grants[g].cushion else [])] for g in est.grants}
    for g in est.grants:
        header += [f"{g}_{f}" for f in columns[g]] + [f"{g}_allocation", f"{g}_requested", f"{g}_payment"]
    w.writerow(header)
    for r in est.to_json()["entities"]:
        row = [safe(r["code"]), safe(r["name"]), safe(r["prefecture"]), r["insured"]]
        for g in est.grants:
            a = r["grants"][g]
            row += [a.get(f, 0) for f in columns[g]] + [a["allocation"], a["requested"], a["payment"]]
        w.writerow(["" if v is None else v for v in row])
    data = buf.getvalue().encode("utf-8-sig")
    return write_atomically(path, lambda tmp: tmp.write_bytes(data))
