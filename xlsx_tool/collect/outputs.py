"""Outputs of a collection: the tables (one per sheet of 集計結果.xlsx and per CSV) and collect.json,
written as one set (util.atomic) by util.sheets' table writer.

Text copied from returned books (names, answers, remarks) may start with =, +, -, @, tab or CR: in
the CSVs such text is prefixed with an apostrophe, in the workbook it is stored with Excel's
quotePrefix, so that no output cell can act as a formula.
"""

from __future__ import annotations

import json
from bisect import bisect_right
from pathlib import Path

from xlsx_tool.catalog.entity import code_key
from xlsx_tool.catalog.model import GROUP_LABELS, Catalog
from xlsx_tool.catalog.rules import is_met, level_reached, score_indicator
from xlsx_tool.collect.batch import Collection
from xlsx_tool.collect.results import REJECTED, STATUS_LABELS, WARNING, FileResult
from xlsx_tool.scoring.gap import answer_labels
from xlsx_tool.scoring.scorer import rate
from xlsx_tool.util.atomic import write_set_atomically
from xlsx_tool.util.names import shown_name, shown_path
from xlsx_tool.util.sheets import CM, Table, TableBook, csv_text, holdable, unencodable

SUMMARY_BOOK = "集計結果.xlsx"
COMPLETION_MARK = "collect.json"  # written last: its presence says the set beside it is whole


def _score_columns(catalog: Catalog) -> list[tuple[str, str]]:
    cols = []
    for grant, goal, group in catalog.groups():
        cols.append((f"{goal.id}.{group.kind.value}", f"{grant.short}{goal.number} {GROUP_LABELS[group.kind]}"))
    cols += [(g.id, f"{g.short}交付金 合計") for g in catalog.grants]
    return cols


def _ranks(results: list[FileResult]) -> dict[str, int]:
    """Rank by total: 1 + the number of strictly higher totals (ties share a rank)."""
    totals = sorted(r.total for r in results if r.total is not None)
    return {code_key(r.code): 1 + len(totals) - bisect_right(totals, r.total) for r in results if r.total is not None}


def overview_table(col: Collection) -> Table:
    cat = col.catalog
    score_cols = _score_columns(cat)
    kept = {code_key(r.code): r for r in col.kept}
    ranks = _ranks(col.kept)
    header = ["団体コード", "団体名", "都道府県", "第1号被保険者数", *[label for _, label in score_cols],
              "合計", "得点率", "順位", "状態", "ファイル"]
    rows = []
    entities = [(e.entity.code, e.entity.name, e.entity.prefecture, e.entity.insured) for e in col.roster]
    known = {code_key(e[0]) for e in entities}
    entities += [(r.code, r.name, "", None) for r in col.kept if code_key(r.code) not in known]  # no roster
    for code, name, pref, insured in entities:
        r = kept.get(code_key(code))
        if r is None:
            rows.append([code, name, pref, insured, *[None] * len(score_cols), None, None, None, "未提出", None])
            continue
        rows.append([code, name or r.name, pref, insured, *[r.groups.get(k) for k, _ in score_cols], r.total,
                     rate(r.total, cat.total), ranks[code_key(code)], STATUS_LABELS[r.status], shown_name(r.file)])
    return Table("一覧", header, rows)


def answers_table(col: Collection) -> Table:
    cat = col.catalog
    labels = answer_labels(cat)
    ids = cat.answer_ids()
    header = ["団体コード", "団体名", *[labels[a] for a in ids]]
    rows = [[r.code, r.name, *[r.answers.get(a) for a in ids]] for r in sorted(col.kept, key=lambda r: r.code)]
    return Table("回答一覧", header, rows)


def _rate_items(catalog: Catalog):
    """(id, indicator, sub-item or None): every sub-item, and every indicator without sub-items."""
    for *_, ind in catalog.indicators():
        if ind.subitems:
            for sub in ind.subitems:
                if sub.same_as is None:  # a repeated sub-item has no answer of its own
                    yield sub.id, ind, sub
        else:
            yield ind.id, ind, None


def _item_value(ind, sub, answers) -> float:
    """1/0 for a sub-item met or not (a ladder: at least its first level reached); the points for an
    indicator scored as a whole (direct, figures)."""
    if sub is None:
        return score_indicator(ind, answers)
    if sub.bands:
        return int(level_reached(sub, answers.get(sub.id)) > 0)
    return int(is_met(answers.get(sub.id)))


def implementation_rates(catalog: Catalog, answer_sets: list[dict[str, object]]) -> dict[str, float]:
    """Per item: share of books meeting a sub-item, or mean points / max of an indicator without sub-items."""
    if not answer_sets:
        return {}
    return {aid: rate for aid, (_, rate) in _item_totals(catalog, answer_sets).items()}


def _item_totals(catalog: Catalog, answer_sets: list[dict[str, object]]) -> dict[str, tuple[float, float | None]]:
    """Per item: (books meeting it, or the sum of points; the rate as implementation_rates gives it)."""
    n = len(answer_sets)
    out = {}
    for aid, ind, sub in _rate_items(catalog):
        total = sum(_item_value(ind, sub, a) for a in answer_sets)
        out[aid] = (total, total / n / (1 if sub else ind.points or 1) if n else None)
    return out


def rates_table(col: Collection) -> Table:
    cat = col.catalog
    labels = answer_labels(cat)
    answers = [r.answers for r in col.kept]
    totals = _item_totals(cat, answers)
    texts = _answer_texts(cat)
    header = ["項目", "内容", "該当数（小項目のない指標は平均点）", "提出数", "実施率", "前年度実施率", "増減"]
    rows = []
    for aid, ind, sub in _rate_items(cat):
        total, now = totals[aid]
        count = total if sub is not None else (round(total / len(answers), 2) if answers else None)
        prev = col.previous_rates.get(aid)
        rows.append([labels[aid], texts[aid], count, len(answers), now, prev,
                     None if prev is None or now is None else now - prev])
    return Table("実施率", header, rows)


def _answer_texts(cat: Catalog) -> dict[str, str]:
    out = {}
    for *_, ind in cat.indicators():
        if ind.subitems:
            out.update({s.id: s.text for s in ind.subitems})
        else:
            out[ind.id] = ind.text
    return out


def review_table(col: Collection) -> Table:
    header = ["区分", "ファイル", "団体コード", "団体名", "理由"]
    rows = [[STATUS_LABELS[r.status], shown_path(r.file), r.code, r.name, r.reason]
            for r in col.files if r.status in (REJECTED, WARNING)]
    rows += [["未提出", None, e.entity.code, e.entity.name, col.missing_reason(e.entity.code)]
             for e in col.missing_entities()]
    return Table("要確認", header, rows)


def results_table(col: Collection) -> Table:
    """Accepted books in the national-results format (input of `report --compare` and `estimate`)."""
    cat = col.catalog
    keys = [g.id for g in cat.grants] + [goal.id for g in cat.grants for goal in g.goals] + \
        [k for k, _ in _score_columns(cat) if "." in k]
    roster = {code_key(e.entity.code): e.entity for e in col.roster}
    members = any(e.entity.members for e in col.roster)  # a 広域連合 in the roster: its members listed
    rows = []
    for r in sorted(col.kept, key=lambda r: r.code):
        ent = roster.get(code_key(r.code))
        rows.append([r.code, ent.name if ent else r.name, ent.prefecture if ent else "",
                     ent.insured if ent else None, r.total, *[r.groups.get(k) for k in keys]]
                    + (["、".join(ent.members) if ent else ""] if members else []))
    return Table("結果", ["code", "name", "prefecture", "insured", "total", *keys, *(["members"] if members else [])],
                 rows)


def tables(col: Collection) -> list[Table]:
    return [overview_table(col), answers_table(col), rates_table(col), review_table(col), results_table(col)]


def totals_chart(book: TableBook, col: Collection) -> None:
    """The グラフ sheet: every kept book's total, highest first, against the mean."""
    kept = sorted(col.kept, key=lambda r: -(r.total or 0))
    if not kept:
        return
    ws = book.sheet("グラフ")
    mean = sum(r.total for r in kept) / len(kept)
    book.row(ws, 0, ["団体", "合計", "平均"])
    for r, one in enumerate(kept, start=1):
        book.row(ws, r, holdable([one.name or one.code, one.total, mean]))
    n = len(kept)
    bar = book.wb.add_chart({"type": "column"})
    bar.add_series({"name": ["グラフ", 0, 1], "categories": ["グラフ", 1, 0, n, 0], "values": ["グラフ", 1, 1, n, 1]})
    line = book.wb.add_chart({"type": "line"})
    line.add_series({"name": ["グラフ", 0, 2], "categories": ["グラフ", 1, 0, n, 0], "values": ["グラフ", 1, 2, n, 2]})
    bar.combine(line)
    bar.set_title({"name": "団体別の合計得点と平均"})
    bar.set_y_axis({"name": "得点"})
    bar.set_size({"width": max(16, n * 0.6) * CM, "height": 10 * CM})
    ws.insert_chart("E2", bar)


def write_summary_book(col: Collection, path: Path, made: list[Table] | None = None) -> None:
    book = TableBook(path)
    for t in made or tables(col):
        book.table(t)
    totals_chart(book, col)
    book.close()


def write_outputs(col: Collection, out_dir: Path, encoding: str = "utf-8-sig") -> dict[str, list[str]]:
    """Write 集計結果.xlsx, one CSV per table and collect.json into `out_dir` as one set (util.atomic:
    all or nothing; collect.json, the completion mark, last). Returns, per CSV, the characters
    replaced by '?' (cp932 only). Raises util.atomic.OutputError when the set cannot be written."""
    made = tables(col)
    writers: dict[str, object] = {SUMMARY_BOOK: lambda tmp: write_summary_book(col, tmp, made)}
    lost: dict[str, list[str]] = {}
    for t in made:
        text = csv_text(t)
        if bad := unencodable(text, encoding):
            lost[f"{t.name}.csv"] = bad
        writers[f"{t.name}.csv"] = lambda tmp, d=text.encode(encoding, errors="replace"): tmp.write_bytes(d)
    data = json.dumps([r.to_json() for r in col.files], ensure_ascii=False, indent=2)
    writers[COMPLETION_MARK] = lambda tmp: tmp.write_text(data, encoding="utf-8")
    write_set_atomically(out_dir, writers, COMPLETION_MARK)
    return lost
