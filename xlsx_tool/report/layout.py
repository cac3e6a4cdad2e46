"""The gap report laid out as a sheet, once: the headline, the tables (goal and group scores, the chart
data, items not scored, indicators below average, changes since last year) and the notes, each row with
its key, level, number formats and good/bad marks. Two renderers draw it: report/sheet.py with openpyxl
(`report --format xlsx`) and the bridge with xlwings (ギャップ報告 in the open book).
HTML and Markdown render the GapReport itself (templates/report.*.j2).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from xlsx_tool.scoring.gap import GapReport

PERCENT = "0.0%"
YEN = "#,##0"
UNANSWERED = "未回答"


@dataclass
class LayoutRow:
    values: list
    key: str | None = None  # stable row key (hidden column): what programs and tests read back
    level: str | None = None  # total / grant / goal: emphasis and fill
    formats: dict[int, str] = field(default_factory=dict)  # 0-based column -> number format
    marks: dict[int, str] = field(default_factory=dict)  # 0-based column -> "good" | "bad"


@dataclass
class LayoutTable:
    key: str  # groups, chart, missed, below, changes (the header row's key is "header:<key>")
    title: str
    headers: list[tuple[str, float]]  # text, column width in characters
    rows: list[LayoutRow]
    memo_column: int | None = None  # 0-based column the officer writes in (kept when the report is refreshed)


@dataclass
class GapLayout:
    title: str
    headline: list[LayoutRow]
    labels: list[str]  # what the figures were compared with
    tables: list[LayoutTable]
    notes: list[str]


def who(entity) -> str:
    return " ".join(str(entity.get(k) or "") for k in ("prefecture", "entity_name")).strip()


def shown(value: object) -> object:
    """An answer as the report shows it: blank answers read 未回答."""
    return UNANSWERED if value is None or value == "" else value


def _mark(good: bool) -> str:
    return "good" if good else "bad"


def _headline(report: GapReport) -> list[LayoutRow]:
    total = report.total_row
    heads = [("総合計", total)] + [(f"{r.grant}交付金", r) for r in report.rows if r.level == "grant"]
    rows = [LayoutRow([label, None, r.own, f"/ {r.max:g} 点", r.rate], key=f"headline:{r.key}", level="grant",
                      formats={4: PERCENT}) for label, r in heads]
    if total.national_mean is not None:
        rows.append(LayoutRow([f"{report.national_scope}平均・中央値", None, total.national_mean, total.national_median,
                               total.diff(total.national_mean)], key="headline:national", level="goal",
                              marks={4: _mark(total.status == "good")}))
    rows += [LayoutRow([f"順位（{rk.scope}）", None, rk.rank, f"/ {rk.of}"], key=f"rank:{rk.scope}", level="goal")
             for rk in report.ranks]
    return rows


def group_headers(scope: str = "全国") -> list[tuple[str, float]]:
    """The goal and group table's columns; `scope` names the national figures (全国 or 比較対象 N 団体)."""
    return [("交付金", 8), ("目標", 9), ("指標群", 16), ("得点", 7), ("配点", 7), ("得点率", 8),
            (f"{scope}平均", 9), (f"{scope}中央値", 9), ("都道府県平均", 10), ("前年度", 8), (f"{scope}差", 8),
            ("前年差", 8)]


def chart_title(scope: str) -> str:
    return f"目標別の得点率（{scope}平均との比較）"


def _groups(report: GapReport) -> LayoutTable:
    rows = []
    for r in report.rows:
        marks = {} if r.status == "none" else {3: _mark(r.status == "good"), 10: _mark(r.status == "good")}
        rows.append(LayoutRow([r.grant, r.goal, r.group, r.own, r.max, r.rate, r.national_mean, r.national_median,
                               r.prefecture_mean, r.previous, r.diff(r.national_mean), r.diff(r.previous)],
                              key=f"group:{r.key}", level=r.level if r.level in ("goal", "grant", "total") else None,
                              formats={5: PERCENT}, marks=marks))
    return LayoutTable("groups", "目標・指標群別の得点", group_headers(report.national_scope), rows)


def _chart(report: GapReport) -> LayoutTable:
    rows = [LayoutRow([label, own, nat], key=f"chart:{label}", formats={1: PERCENT, 2: PERCENT})
            for label, own, nat in report.chart()]
    headers = [("目標", 9), ("自団体", 8), (f"{report.national_scope}平均", 9)]
    return LayoutTable("chart", chart_title(report.national_scope), headers, rows)


def _missed(report: GapReport) -> LayoutTable:
    money = bool(report.missed_yen)  # the 概算 yen column only when the user gave the money inputs
    national = report.national_scope == "全国"
    rows = [LayoutRow([i, m.label, m.text, m.lost, *([report.missed_yen.get(m.answer_id)] if money else []),
                       shown(m.answer), m.national_rate,
                       " ".join(t for t in (m.peers or ("多くの団体が得点" if m.high else ""), m.note,
                                            _rate_source(m, report.national_scope)) if t)],
                      key=f"missed:{m.answer_id}",
                      formats={5 + money: PERCENT, **({4: YEN} if money else {})})
            for i, m in enumerate(report.missed, 1)]
    # a sub-item's rate is the nation's (the tally) whatever file is compared; an indicator's comes from
    # the comparison file, which is not the nation when it covers fewer entities (issue 18, item 3)
    headers = [("順", 5), ("項目", 30), ("内容", 40), ("失点", 6), *([("概算（円）", 12)] if money else []),
               ("回答", 8), ("全国得点率" if national else "得点率（全国・比較対象）", 10), ("備考", 16)]
    return LayoutTable("missed", "得点できなかった項目（失った点数の大きい順）", headers, rows)


def _rate_source(m, scope: str) -> str:
    """Where a missed item's rate comes from, said when it is not the nation's."""
    if scope == "全国" or m.national_rate is None:
        return ""
    return "得点率は全国集計表" if m.peers_known else f"得点率は{scope}の平均"


def _below(report: GapReport) -> LayoutTable:
    rows = [LayoutRow([b.label, b.text, b.own, b.max, b.average, b.scope, None], key=f"below:{b.key}")
            for b in report.below]
    return LayoutTable("below", "平均を下回った指標（課題と対応）",
                       [("項目", 20), ("評価指標", 30), ("得点", 6), ("配点", 6), ("平均", 8), ("比較", 10),
                        ("課題と対応", 40)], rows, memo_column=6)


def _changes(report: GapReport) -> LayoutTable:
    changes = ([("新たに該当", c) for c in report.newly_met] + [("該当しなくなった", c) for c in report.newly_lost]
               + [("得点の変化", c) for c in report.changed_points]
               + [("対応付け（得点率）", c) for c in report.mapped])
    rows = [LayoutRow([k, c.label, c.text, shown(c.before), shown(c.after)], key=f"change:{c.answer_id}")
            for k, c in changes]
    return LayoutTable("changes", "前年度からの変化",
                       [("区分", 14), ("項目", 30), ("内容", 40), ("前年度", 8), ("今年度", 8)], rows)


def gap_layout(report: GapReport) -> GapLayout:
    versus = "全国比較" if report.national_scope == "全国" else "比較対象"
    labels = [text for text in (report.national_label and f"{versus}: {report.national_label}",
                                report.prefecture_label and f"都道府県比較: {report.prefecture_label}",
                                report.previous_label and f"前年度: {report.previous_label}") if text]
    tables = [_groups(report), _chart(report), _missed(report), _below(report)]
    if report.previous_label:
        tables.append(_changes(report))
    title = f"{report.catalog.year_label} 評価結果 ギャップ報告 {who(report.entity)}".rstrip()
    notes = list(report.notes) + ([report.money_note] if report.money_note else [])
    return GapLayout(title, _headline(report), labels, tables, notes)
