"""xlwings bridge: score, report and compare a workbook that is open in Excel.

Works on an xlwings ``Book`` of any engine: desktop Excel (the add-in's ribbon), the remote engine
of xlwings Server and xlwings Lite (``xw.Book(json=...)``), and calamine for reading files.
The answers are read through xlwings exactly as read.openpyxl_engine reads them with openpyxl (rows found
by the hidden id column, identification from the hidden _meta sheet, same Japanese refusals); the
points come from the pure scorer and the gap report from scoring/gap.py, so every path scores identically.

Results go into report sheets after 集計 (採点結果, ギャップ報告, 前年度回答), refreshed on every run.
Input sheets and their cells are only read, never written. A refusal (not one of our books, unknown
year or catalog version, rows deleted, invalid answers) is written into the message cell (A3) of the
report sheet, returned, and shown in a message box in desktop Excel.

Cell values are read with ``raw_value``: the remote engine's ``value`` conversion fails on ISO
timestamps with a UTC offset (such as _meta's generated_at), and the raw values are what openpyxl sees.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from xlsx_tool.bridge.sheets import (
    BAD,
    GAP_SHEET,
    GOOD,
    PERCENT,
    PREVIOUS_SHEET,
    SCORE_SHEET,
    TITLE,
    Line,
    Outcome,
    Refused,
    finish,
    show_alert,
)
from xlsx_tool.catalog.answers import AnswerProblem, answer_slots, is_blank, validate_answers
from xlsx_tool.catalog.model import Catalog
from xlsx_tool.catalog.reference import group_key
from xlsx_tool.read.core import BookContents, BookError
from xlsx_tool.read.openpyxl_engine import read_book as read_book_file
from xlsx_tool.read.xlwings_engine import THRESHOLDS_ENV, read_contents
from xlsx_tool.report.layout import LayoutRow, gap_layout, shown, who
from xlsx_tool.scoring.gap import GapReport, answer_labels, build_report, score_rows
from xlsx_tool.scoring.scorer import ScoreResult, rate, score
from xlsx_tool.util.numbers import percent
from xlsx_tool.util.problems import message as text_of
from xlsx_tool.util.version import __version__

CATALOG_ENV = "XLSX_TOOL_CATALOG"  # desktop add-in: the catalog YAML of books made from a custom catalog

# -- labels ---------------------------------------------------------------------------------


def answer_texts(catalog: Catalog) -> dict[str, tuple[str, str]]:
    """(label, text) of every answer cell, in sheet order."""
    labels = answer_labels(catalog)
    out: dict[str, tuple[str, str]] = {}
    for aid, ind, _ in answer_slots(catalog):
        subs = {s.id: s for s in ind.subitems}
        if aid in subs:
            out[aid] = (labels.get(aid, aid), subs[aid].text)
            continue
        text = ind.text
        ratio = getattr(ind.rule, "ratio", None)
        if aid != ind.id and ratio is not None:  # numerator / denominator of a ratio indicator
            part = ratio.numerator if aid.endswith("num") else ratio.denominator
            text = f"{ind.text}（{part}）"
        out[aid] = (labels.get(aid) or f"{labels.get(ind.id, ind.id)}（{aid}）", text)
    return out


def _stamp(now: datetime, catalog: Catalog | None) -> str:
    cat = f"、カタログ {catalog.id}" if catalog is not None else ""
    return f"実行 {now:%Y-%m-%d %H:%M}（xlsx_tool {__version__}{cat}）"


def _head(title: str, now: datetime, catalog: Catalog | None, message: str, refused: bool = False) -> list[Line]:
    return [Line([title], style="title"), Line([_stamp(now, catalog)]),
            Line([message], key="message", style="refusal" if refused else "message"), Line([])]


# -- checks ---------------------------------------------------------------------------------


def _load(book, catalog_path) -> tuple[Catalog, BookContents]:
    try:
        catalog, contents = read_contents(book, catalog_path)
    except BookError as err:
        problem = err.problem.message
        if "--catalog" in problem:
            problem += f"（Excel から実行するときは環境変数 {CATALOG_ENV} にカタログのパスを設定します）"
        if "--thresholds" in problem:
            problem += f"（Excel から実行するときは環境変数 {THRESHOLDS_ENV} に採点基準ファイルのパスを設定します）"
        raise Refused(problem) from None
    if contents.missing:
        texts = answer_texts(catalog)
        raise Refused(text_of("bridge.rows_missing", count=len(contents.missing)),
                      [Line([texts[a][0], texts[a][1]], key=f"missing:{a}") for a in contents.missing])
    return catalog, contents


def _problem_lines(catalog: Catalog, problems: Sequence[AnswerProblem]) -> list[Line]:
    texts = answer_texts(catalog)
    lines = [Line(["回答欄", "回答", "直し方"], key="header:problems", style="header")]
    lines += [Line([texts.get(p.answer_id, (p.answer_id, ""))[0], p.value, p.message], key=f"problem:{p.answer_id}")
              for p in problems]
    return lines


def _check_answers(catalog: Catalog, contents: BookContents) -> None:
    problems = validate_answers(catalog, contents.answers)
    if problems:
        raise Refused(text_of("bridge.invalid_answers", count=len(problems)), _problem_lines(catalog, problems))


def refuse(book, action: str, message: str, *, now: datetime | None = None, alert: bool | None = None) -> Outcome:
    """Write a refusal for `action` (score / gap / import_previous) into its report sheet and return it."""
    name = ALIASES[action]
    sheet = {"score": SCORE_SHEET, "gap": GAP_SHEET, "import_previous": PREVIOUS_SHEET}[name]
    return _refusal(book, name, sheet, Refused(message), now or datetime.now(), None, alert)


def _refusal(book, action: str, name: str, ref: Refused, now: datetime, catalog: Catalog | None,
             alert) -> Outcome:
    label = ACTION_LABELS[action]
    lines = _head(f"{label}: 実行できませんでした", now, catalog, ref.message, refused=True) + ref.details
    return finish(book, action, name, lines, [28, 12, 60], wrap=(1, 3), ok=False, message=ref.message,
                   details=ref.details, alert=alert)


def _act(book, action: str, sheet: str, catalog_path, now: datetime | None, alert, body,
         check_answers: bool = True) -> Outcome:
    """What every action does first: load the book and (unless told not to) check its answers, then
    `body(catalog, contents, now)`. A refusal on the way, from the checks or from the body, is written
    to the action's sheet, with the catalog in its head once it is known."""
    now = now or datetime.now()
    catalog = None
    try:
        catalog, contents = _load(book, catalog_path)
        if check_answers:
            _check_answers(catalog, contents)
        return body(catalog, contents, now)
    except Refused as ref:
        return _refusal(book, action, sheet, ref, now, catalog, alert)


# -- 採点 -----------------------------------------------------------------------------------


def _score_lines(catalog: Catalog, contents: BookContents, res: ScoreResult, now: datetime,
                 message: str) -> list[Line]:
    names: dict[str, str] = {}
    for grant in catalog.grants:
        for goal in grant.goals:
            names[goal.id] = goal.name
            names.update({group_key(goal.id, g.kind.value): goal.name for g in goal.groups})
    lines = _head(f"{catalog.year_label} 採点結果 {who(contents.meta)}".rstrip(), now, catalog, message)
    lines.append(Line(["交付金", "目標", "指標群", "配点", "得点", "得点率"], key="header:score", style="header"))
    for r in score_rows(catalog, res):  # the rows only: no missed-item analysis for 採点
        goal = f"{r.goal} {names[r.key]}" if r.key in names else r.goal
        style = {"goal": "goal", "grant": "grant", "total": "total"}.get(r.level)
        lines.append(Line([r.grant, goal, r.group, r.max, r.own, r.rate], key=f"{r.level}:{r.key}", style=style,
                          formats={5: PERCENT}))
    n = len(catalog.answer_ids())
    lines += [Line([]), Line(["回答状況"], style="section"),
              Line(["回答済み", f"{res.answered} / {n} 項目"], key="answered")]
    if res.unanswered:
        texts = answer_texts(catalog)
        lines.append(Line(["未回答の項目", "内容"], key="header:unanswered", style="header"))
        lines += [Line(list(texts[a]), key=f"unanswered:{a}") for a in res.unanswered]
    return lines


def score_book(book, *, catalog_path: str | Path | None = None, now: datetime | None = None,
               alert: bool | None = None) -> Outcome:
    """採点: score the open book and write 採点結果 (per goal × group, grants, total, unanswered items)."""

    def body(catalog: Catalog, contents: BookContents, now: datetime) -> Outcome:
        res = score(catalog, contents.answers)
        message = (f"採点しました。総合計 {res.total:g} / {catalog.total} 点（得点率 {percent(rate(res.total, catalog.total))}）、"
                   f"回答済み {res.answered} / {len(catalog.answer_ids())} 項目。入力シートは変更していません。")
        lines = _score_lines(catalog, contents, res, now, message)
        return finish(book, "score", SCORE_SHEET, lines, [10, 44, 18, 8, 8, 9], wrap=(2,), message=message,
                       alert=alert, result=res)

    return _act(book, "score", SCORE_SHEET, catalog_path, now, alert, body)


# -- ギャップ報告 ------------------------------------------------------------------------------


def _gap_lines(report: GapReport, now: datetime, message: str) -> list[Line]:
    """report/layout.py's gap layout as report-sheet lines (the same rows and keys as report --format xlsx)."""
    layout = gap_layout(report)
    lines = _head(layout.title, now, report.catalog, message)
    lines += [_line(row) for row in layout.headline]
    lines += [Line([label]) for label in layout.labels]
    for table in layout.tables:
        lines += [Line([]), Line([table.title], style="section"),
                  Line([h for h, _ in table.headers], key=f"header:{table.key}", style="header")]
        lines += [_line(row) for row in table.rows]
    lines.append(Line([]))
    lines += [Line([f"※ {note}"], key="note") for note in layout.notes]
    return lines


def _line(row: LayoutRow) -> Line:
    return Line(row.values, key=row.key, style=row.level, formats=row.formats,
                colors={col: GOOD if mark == "good" else BAD for col, mark in row.marks.items()})


def gap_report(book, *, previous: str | Path | None = None, compare_files: Sequence[str | Path] = (),
               catalog_path: str | Path | None = None, previous_catalog: str | Path | None = None,
               mapping_file: str | Path | None = None, now: datetime | None = None,
               alert: bool | None = None) -> Outcome:
    """ギャップ報告: where the points were lost, against the shipped national/prefecture results (and last year)."""
    from xlsx_tool.report.builder import comparison_for, with_typed_yen

    def body(catalog: Catalog, contents: BookContents, now: datetime) -> Outcome:
        try:
            cmp = comparison_for(catalog, contents.meta, compare_files=tuple(compare_files), previous=previous,
                                 previous_catalog=previous_catalog, mapping_file=mapping_file)
        except BookError as err:
            raise Refused(text_of("bridge.previous_unreadable", detail=err.problem.message)) from None
        res = score(catalog, contents.answers)
        report = build_report(catalog, contents.answers, res, contents.meta, cmp)
        report = with_typed_yen(report, contents)  # the yen per point typed on 集計: the missed items in money
        message = (f"ギャップ報告を作成しました。総合計 {res.total:g} / {catalog.total} 点、得点できなかった項目 "
                   f"{len(report.missed)} 件。入力シートは変更していません。")
        return finish(book, "gap", GAP_SHEET, _gap_lines(report, now, message),
                       [14, 30, 40, 8, 8, 9, 9, 9, 10, 8, 8, 8], wrap=(2, 3, 7), message=message, alert=alert,
                       result=res, report=report)

    return _act(book, "gap", GAP_SHEET, catalog_path, now, alert, body)


# -- 前年度回答の取込 ------------------------------------------------------------------------------


def import_previous(book, path: str | Path, *, catalog_path: str | Path | None = None,
                    previous_catalog: str | Path | None = None, now: datetime | None = None,
                    alert: bool | None = None) -> Outcome:
    """前年度回答の取込: show last year's answers (read from `path`) beside this year's, on 前年度回答.

    Last year's answers are never copied into the answer cells; the officer decides and types them.
    """

    def body(catalog: Catalog, contents: BookContents, now: datetime) -> Outcome:
        try:
            prev_catalog, prev = read_book_file(path, previous_catalog)
        except BookError as err:
            raise Refused(text_of("bridge.previous_unreadable", detail=err.problem.message)) from None
        if prev_catalog.kind != catalog.kind:
            raise Refused(text_of("bridge.previous_other_kind", catalog=prev_catalog.id))
        mine, theirs = str(contents.meta.get("entity_code") or ""), str(prev.meta.get("entity_code") or "")
        if mine and theirs and mine != theirs:  # on a shared server, never show another entity's answers
            raise Refused(text_of("bridge.previous_other_entity", code=theirs))
        return _show_previous(book, catalog, contents, prev_catalog, prev, path, now, alert)

    return _act(book, "import_previous", PREVIOUS_SHEET, catalog_path, now, alert, body, check_answers=False)


def _show_previous(book, catalog: Catalog, contents: BookContents, prev_catalog: Catalog, prev,
                            path: str | Path, now: datetime, alert) -> Outcome:
    """前年度回答: last year's answers beside this year's (nothing written into the answer cells)."""
    cur, last = score(catalog, contents.answers), score(prev_catalog, prev.answers)
    name = Path(path).name
    notes = []
    if prev_catalog.reiwa != catalog.reiwa - 1:
        notes.append(text_of("bridge.previous_other_year", previous=prev_catalog.year_label, current=catalog.year_label))
    if cur.problems:
        notes.append(text_of("bridge.current_invalid", count=len(cur.problems)))
    prev_ids = set(prev_catalog.answer_ids())
    message = (f"前年度のブック「{name}」（{prev_catalog.year_label}）の回答を表示しています。"
               "回答欄には書き込んでいません。必要な回答は入力シートに入力してください。")
    lines = _head(f"{catalog.year_label} 前年度回答の取込 {who(contents.meta)}".rstrip(), now, catalog, message)
    lines += [Line(["前年度のブック", name, prev_catalog.id], key="previous:file"),
              Line(["前年度 総合計", f"{last.total:g} / {prev_catalog.total} 点", last.answered], key="previous:total"),
              Line(["今年度 総合計（現在の回答）", f"{cur.total:g} / {catalog.total} 点", cur.answered], key="current:total")]
    lines += [Line([f"※ {n}"], key="note") for n in notes]
    lines += [Line([]), Line(["項目", "内容", "今年度の回答", "前年度の回答", "比較"], key="header:previous",
                             style="header")]
    for aid, (label, text) in answer_texts(catalog).items():
        now_v, before = contents.answers.get(aid), prev.answers.get(aid)
        if aid not in prev_ids:
            before, change = "（前年度に該当項目なし）", ""
        elif is_blank(before) and is_blank(now_v):
            change = ""
        elif is_blank(now_v):
            change = "今年度未回答"
        else:
            change = "同じ" if now_v == before else "異なる"
        lines.append(Line([label, text, shown(now_v), shown(before), change], key=f"previous:{aid}"))
    return finish(book, "import_previous", PREVIOUS_SHEET, lines, [28, 60, 12, 14, 12], wrap=(2,),
                   message=message, alert=alert, result=cur)


# -- dispatcher (ribbon, VBA, scripts) --------------------------------------------------------


ACTION_LABELS = {"score": "採点", "gap": "ギャップ報告", "import_previous": "前年度回答の取込"}
ALIASES = {**{v: k for k, v in ACTION_LABELS.items()}, **{k: k for k in ACTION_LABELS},
           "gap_report": "gap", "previous": "import_previous"}


def run(book, action: str, path: str | Path | None = None, **kwargs) -> Outcome:
    """Run one action (score / gap / import_previous, or its Japanese label) on `book`."""
    name = ALIASES.get(str(action).strip())
    if name is None:
        raise ValueError(text_of("bridge.unknown_action", action=action, known="、".join(ACTION_LABELS.values())))
    if name == "score":
        return score_book(book, **kwargs)
    if name == "gap":
        return gap_report(book, **kwargs)
    if not path:
        raise ValueError(text_of("bridge.previous_path"))
    return import_previous(book, path, **kwargs)


def _ask_action(book) -> str | None:
    """Which button? The shipped xlwings ribbon callback calls main() without telling."""
    prompt = ("実行する処理の番号を入力してください。\n\n1: 採点\n2: ギャップ報告\n3: 前年度回答の取込")
    try:  # Windows: Application.InputBox (Type:=1 accepts numbers only)
        answer = book.app.api.InputBox(prompt, TITLE, "1", Type=1)
    except Exception:
        answer = None
        try:  # other platforms: a yes/no/cancel box
            button = book.app.alert("はい: 採点　いいえ: ギャップ報告　キャンセル: 中止", title=TITLE,
                                    buttons="yes_no_cancel")
            return {"yes": "score", "no": "gap"}.get(str(button))
        except Exception:
            return "score"
    if answer is False or answer is None:
        return None
    return {1: "score", 2: "gap", 3: "import_previous"}.get(int(answer))


def _ask_path(book) -> str | None:
    try:  # Windows: the file-open dialog, returns False on cancel
        chosen = book.app.api.GetOpenFilename("Excel ブック (*.xlsx;*.xlsm),*.xlsx;*.xlsm", 1,
                                              "前年度の回答済みブックを選択")
    except Exception:
        show_alert(book, "ファイルを選ぶ画面を開けません。前年度ブックのパスを指定して実行してください"
                     "（xlsx_tool.bridge.main('import_previous', 'パス')）。", True)
        return None
    return None if chosen in (False, None, "") else str(chosen)


def main(action: str | None = None, path: str | None = None, *, book=None, **kwargs) -> Outcome | None:
    """Entry point of the Excel add-in and the VBA module: run `action` on the calling workbook.

    The add-in's ribbon callback RunAction (bridge/addin.py) and macros/XlsxTool.bas pass the button's
    tag (score, gap, import_previous); xlwings' shipped callback (RibbonMyAddin.RunMain, `addin build
    --callback shipped`) calls main() without an action: it then asks which one.
    """
    if book is None:
        import xlwings as xw

        book = xw.Book.caller()
    if action is None:
        action = _ask_action(book)
        if action is None:
            return None
    if ALIASES.get(str(action).strip()) == "import_previous" and not path:
        path = _ask_path(book)
        if path is None:
            return None
    if "catalog_path" not in kwargs and os.environ.get(CATALOG_ENV):
        kwargs["catalog_path"] = os.environ[CATALOG_ENV]
    return run(book, action, path, **kwargs)
