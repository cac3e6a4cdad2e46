"""xlwings bridge: score, report and compare a workbook that is open in Excel.

Works on an xlwings ``Book`` of any engine: desktop Excel (the add-in's ribbon), the remote engine
of xlwings Server and xlwings Lite (``xw.Book(json=...)``), and calamine for reading files.
The answers are read through xlwings exactly as workbook_reader reads them with openpyxl (rows found
by the hidden id column, identification from the hidden _meta sheet, same Japanese refusals); the
points come from the pure scorer and the gap report from gap.py, so every path scores identically.

Results go into report sheets after 集計 (採点結果, ギャップ報告, 前年度回答), refreshed on every run.
Input sheets and their cells are only read, never written. A refusal (not one of our books, unknown
year or catalog version, rows deleted, invalid answers) is written into the message cell (A3) of the
report sheet, returned, and shown in a message box in desktop Excel.

Cell values are read with ``raw_value``: the remote engine's ``value`` conversion fails on ISO
timestamps with a UTC offset (such as _meta's generated_at), and the raw values are what openpyxl sees.
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from . import __version__
from .answers import AnswerProblem, answer_slots, is_blank, validate_answers
from .catalog import Catalog
from .collect_outputs import safe
from .gap import GapReport, answer_labels, build_report, score_rows
from .reference import group_key
from .scorer import ScoreResult, rate, score
from .workbook_meta import (COL_ANSWER, COL_ID, COL_REMARKS, FIRST_DATA_ROW, META_SHEET, SUMMARY_SHEET, TOOL_ID,
                            input_sheet_names)
from .workbook_reader import BookContents, BookError, resolve_catalog
from .workbook_reader import read_book as read_book_file

SCORE_SHEET = "採点結果"
GAP_SHEET = "ギャップ報告"
PREVIOUS_SHEET = "前年度回答"
REPORT_SHEETS = (SCORE_SHEET, GAP_SHEET, PREVIOUS_SHEET)  # in this order after 集計
NCOLS = 12  # A..L carry the report
KEY_COLUMN = NCOLS + 1  # M (hidden): row keys for programs and tests reading the report back
MARKER = "xlsx_tool:report"  # M1 of every report sheet: only such a sheet is ever cleared
MESSAGE_CELL = "A3"
TITLE = "交付金自己評価"
CATALOG_ENV = "XLSX_TOOL_CATALOG"  # desktop add-in: the catalog YAML of books made from a custom catalog
THRESHOLDS_ENV = "XLSX_TOOL_THRESHOLDS"  # … and the thresholds file of books generated with one
LICENSE_HELP = ("xlwings の remote / calamine エンジン（xlwings Server・xlwings Lite・ファイルの読み取り）には"
                "ライセンスキーが必要です。非営利の利用（自治体など公的機関の利用を含む）では環境変数 "
                "XLWINGS_LICENSE_KEY=noncommercial を設定してください（PolyForm Noncommercial License 1.0.0）。")

COLORS = {"header": "#BDD7EE", "goal": "#F2F2F2", "grant": "#DDEBF7", "total": "#DDEBF7"}
GOOD, BAD, NAVY = "#1A7F37", "#C62828", "#1F4E79"
PERCENT = "0.0%"
# report sheets this process wrote per book: the remote engine's snapshot does not see its own writes
_WRITTEN: "weakref.WeakKeyDictionary[object, set[str]]" = weakref.WeakKeyDictionary()


class EngineUnavailable(RuntimeError):
    """An xlwings engine is not registered (usually: no license key when xlwings was imported)."""


class Refused(Exception):
    """The book cannot be processed; message and details are Japanese and say what to do."""

    def __init__(self, message: str, details: Sequence["Line"] = ()):
        super().__init__(message)
        self.message, self.details = message, list(details)


@dataclass
class Outcome:
    """What a bridge call did: ok, the report sheet written (None if none) and the message shown."""

    ok: bool
    action: str
    sheet: str | None
    message: str
    details: list[str] = field(default_factory=list)
    result: ScoreResult | None = None
    report: GapReport | None = None

    def __str__(self) -> str:
        return "\n".join([self.message, *self.details])


@dataclass
class Line:
    """One row of a report sheet: values in A.., a key in the hidden column M, styles."""

    values: list
    key: str | None = None
    style: str | None = None  # title, section, message, refusal, header, goal, grant, total
    formats: dict[int, str] = field(default_factory=dict)  # 0-based column -> number format
    colors: dict[int, str] = field(default_factory=dict)  # 0-based column -> font colour


# -- engines --------------------------------------------------------------------------------


def ensure_engine(name: str):
    """The xlwings engine `name`, registering remote/calamine when xlwings was imported before the key was set."""
    import xlwings as xw

    if name in [e.name for e in xw.engines]:
        return xw.engines[name]
    if name not in ("remote", "calamine"):
        raise EngineUnavailable(f"xlwings のエンジン「{name}」は使えません")
    try:
        if name == "remote":
            from xlwings.pro import _xlremote as impl
        else:
            from xlwings.pro import _xlcalamine as impl
    except xw.LicenseError as err:
        raise EngineUnavailable(LICENSE_HELP) from err
    except ImportError as err:
        raise EngineUnavailable(f"xlwings の {name} エンジンを読み込めません: {err}") from err
    if name not in [e.name for e in xw.engines]:
        xw.engines.add(xw.Engine(impl=impl.engine))
    return xw.engines[name]


def engine_name(book) -> str:
    try:
        return book.app.engine.name
    except Exception:  # an engine without app/engine (never raise while reporting)
        return ""


# -- reading (any engine) -------------------------------------------------------------------


def _clean(value: object) -> object:
    """Raw cell value as openpyxl reads it: empty text is empty, whole floats are ints."""
    if isinstance(value, str) and value == "":
        return None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _grid(rng) -> list[list[object]]:
    raw = rng.raw_value
    if not isinstance(raw, (list, tuple)):
        return [[_clean(raw)]]
    if raw and not isinstance(raw[0], (list, tuple)):
        raw = [raw]
    return [[_clean(v) for v in row] for row in raw]


def _last_row(sheet) -> int:
    return sheet.used_range.last_cell.row


def sheet_names(book) -> list[str]:
    return [s.name for s in book.sheets]


def book_path(book) -> Path:
    try:
        return Path(book.fullname or book.name)
    except Exception:
        return Path(str(book.name))


def read_meta(book, path: Path | None = None) -> dict[str, object]:
    """The _meta key/value pairs; BookError (as workbook_reader.read_meta) when the book is not ours."""
    path = path or book_path(book)
    if META_SHEET not in sheet_names(book):
        raise BookError(path, "このツールで作成した自己評価シートではありません（識別情報シートがありません）")
    sheet = book.sheets[META_SHEET]
    meta: dict[str, object] = {}
    for row in _grid(sheet.range((1, 1), (max(_last_row(sheet), 1), 2))):
        key, value = (list(row) + [None, None])[:2]
        if isinstance(key, str):
            meta[key] = value
    if meta.get("tool") != TOOL_ID:
        raise BookError(path, "このツールで作成した自己評価シートではありません（識別情報が一致しません）")
    return meta


def read_answers(book, catalog: Catalog, contents: BookContents) -> None:
    """Fill contents.answers/remarks/missing (as workbook_reader.read_answers) through xlwings."""
    wanted = set(catalog.answer_ids())
    names = sheet_names(book)
    cols = [COL_ANSWER, COL_REMARKS, COL_ID]
    first = min(ord(c) for c in cols) - ord("A") + 1
    last_col = max(ord(c) for c in cols) - ord("A") + 1
    at = {c: ord(c) - ord("A") + 1 - first for c in cols}
    for name in input_sheet_names(catalog).values():
        if name not in names:
            raise BookError(contents.path, f"入力シート「{name}」がありません（シート名が変更された可能性があります）")
        sheet = book.sheets[name]
        last = _last_row(sheet)
        if last < FIRST_DATA_ROW:
            continue
        for row in _grid(sheet.range((FIRST_DATA_ROW, first), (last, last_col))):
            ident = row[at[COL_ID]] if len(row) > at[COL_ID] else None
            if isinstance(ident, str) and ident in wanted:
                contents.answers[ident] = row[at[COL_ANSWER]]
                contents.remarks[ident] = row[at[COL_REMARKS]]
    contents.missing = [aid for aid in catalog.answer_ids() if aid not in contents.answers]


def read_contents(book, catalog_path: str | Path | None = None,
                  path: str | Path | None = None) -> tuple[Catalog, BookContents]:
    """(catalog, contents) of an open book, with the checks and messages of workbook_reader.read_book."""
    path = Path(path) if path is not None else book_path(book)
    meta = read_meta(book, path)
    catalog = resolve_catalog(meta, path, catalog_path, os.environ.get(THRESHOLDS_ENV) or None)
    contents = BookContents(path=path, meta=meta)
    read_answers(book, catalog, contents)
    return catalog, contents


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


def _who(meta: dict[str, object]) -> str:
    return " ".join(str(meta.get(k) or "") for k in ("prefecture", "entity_name")).strip()


def _stamp(now: datetime, catalog: Catalog | None) -> str:
    cat = f"、カタログ {catalog.id}" if catalog is not None else ""
    return f"実行 {now:%Y-%m-%d %H:%M}（xlsx_tool {__version__}{cat}）"


def _head(title: str, now: datetime, catalog: Catalog | None, message: str, refused: bool = False) -> list[Line]:
    return [Line([title], style="title"), Line([_stamp(now, catalog)]),
            Line([message], key="message", style="refusal" if refused else "message"), Line([])]


def _show(value: object) -> object:
    return "未回答" if is_blank(value) else value


# -- checks ---------------------------------------------------------------------------------


def _load(book, catalog_path) -> tuple[Catalog, BookContents]:
    try:
        catalog, contents = read_contents(book, catalog_path)
    except BookError as err:
        problem = err.problem
        if "--catalog" in problem:
            problem += f"（Excel から実行するときは環境変数 {CATALOG_ENV} にカタログのパスを設定します）"
        if "--thresholds" in problem:
            problem += f"（Excel から実行するときは環境変数 {THRESHOLDS_ENV} に採点基準ファイルのパスを設定します）"
        raise Refused(problem) from None
    if contents.missing:
        texts = answer_texts(catalog)
        raise Refused(f"回答欄が {len(contents.missing)} か所見つかりません（行が削除または移動された可能性があります）。"
                      "配布された様式に回答を入力し直してください。",
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
        raise Refused(f"入力できない回答が {len(problems)} 件あるため実行しません。下の一覧の回答欄を直してから、"
                      "もう一度実行してください（入力シートは変更していません）。", _problem_lines(catalog, problems))


# -- writing (desktop Excel, xlwings Server/Lite) --------------------------------------------


def _read_only(book) -> bool:
    return engine_name(book) == "calamine"


@contextmanager
def _structure_unlocked(book):
    """Desktop Excel: lift the workbook structure protection (no password) to add a sheet, then restore it."""
    api = None
    if engine_name(book) == "excel":
        try:
            api = book.api if bool(book.api.ProtectStructure) else None
        except Exception:  # not Windows COM: let Excel say it, the caller turns it into a message
            api = None
    if api is not None:
        try:
            api.Unprotect()
        except Exception:
            raise Refused("ブックの構成がパスワードで保護されているため、結果のシートを追加できません。"
                          "パスワードを外すか、xlsx-tool report --format xlsx を使ってください。") from None
    try:
        yield
    finally:
        if api is not None:
            try:
                api.Protect(Structure=True, Windows=False)
            except Exception:
                pass


def _prepare_sheet(book, name: str) -> tuple[object, dict[str, object]]:
    """The report sheet `name`, emptied (or added after 集計), and the memos typed into the old one."""
    assert name in REPORT_SHEETS  # never an input sheet
    names = sheet_names(book)
    if name in names:
        sheet = book.sheets[name]
        old = _grid(sheet.range((1, 1), (max(_last_row(sheet), 1), KEY_COLUMN)))
        marker = old[0][KEY_COLUMN - 1] if old and len(old[0]) >= KEY_COLUMN else None
        if marker != MARKER and name not in _WRITTEN.get(book.impl, set()):
            raise Refused(f"シート「{name}」はこのツールが作成したものではないため、書き換えません。"
                          "シート名を変えてから、もう一度実行してください。")
        memos = {row[KEY_COLUMN - 1]: row[6] for row in old
                 if len(row) >= KEY_COLUMN and isinstance(row[KEY_COLUMN - 1], str)
                 and row[KEY_COLUMN - 1].startswith("below:") and row[6] is not None}
        sheet.clear()
        return sheet, memos
    order = [SUMMARY_SHEET, *REPORT_SHEETS]
    anchor = next((n for n in reversed(order[:order.index(name)]) if n in names), names[-1])
    with _structure_unlocked(book):
        sheet = book.sheets.add(name=name, after=book.sheets[anchor])
    return sheet, {}


def _runs(items: Sequence[tuple[int, object]]):
    """(value, first row, last row) for runs of consecutive rows with the same non-empty value."""
    out: list[list] = []
    for row, value in items:
        if value is None:
            continue
        if out and out[-1][0] == value and out[-1][2] == row - 1:
            out[-1][2] = row
        else:
            out.append([value, row, row])
    return out


def _style(rng, style: str) -> None:
    if style in ("title", "section"):
        rng.font.bold = True
        rng.font.size = 14 if style == "title" else 12
    elif style in ("message", "refusal"):
        rng.font.bold = True
        rng.font.color = BAD if style == "refusal" else NAVY
    elif style in COLORS:
        rng.color = COLORS[style]
        if style != "goal":
            rng.font.bold = True


def _write_lines(book, sheet, lines: list[Line], widths: Sequence[float], wrap: Sequence[int] = ()) -> None:
    rows = []
    for line in lines:
        values = [safe(v) for v in line.values[:NCOLS]]
        rows.append(values + [None] * (NCOLS - len(values)) + [line.key])
    rows[0][KEY_COLUMN - 1] = MARKER
    sheet.range((1, 1)).value = rows
    for style, r1, r2 in _runs([(i, line.style) for i, line in enumerate(lines, start=1)]):
        _style(sheet.range((r1, 1), (r2, NCOLS)), style)
    for col in range(NCOLS):
        for fmt, r1, r2 in _runs([(i, line.formats.get(col)) for i, line in enumerate(lines, start=1)]):
            sheet.range((r1, col + 1), (r2, col + 1)).number_format = fmt
        for color, r1, r2 in _runs([(i, line.colors.get(col)) for i, line in enumerate(lines, start=1)]):
            sheet.range((r1, col + 1), (r2, col + 1)).font.color = color
    remote = engine_name(book) != "excel"
    for col, width in enumerate(widths, start=1):
        # desktop Excel takes characters, Office.js points (about 5.25 pt per character plus padding)
        sheet.range((1, col)).column_width = round(width * 5.25 + 3.75, 1) if remote else width
    for col in wrap if len(lines) >= 5 else ():
        sheet.range((5, col), (len(lines), col)).wrap_text = True
    sheet.range((1, KEY_COLUMN)).columns.hidden = True


def _finish(book, action: str, name: str, lines: list[Line], widths, wrap=(), ok=True, message="",
            details=(), alert=None, **extra) -> Outcome:
    shown = [" ".join(str(v) for v in d.values if v is not None) for d in details if d.style != "header"]
    if _read_only(book):
        return Outcome(ok, action, None, message, shown, **extra)
    try:
        sheet, memos = _prepare_sheet(book, name)
    except Refused as ref:
        _alert(book, ref.message, alert if alert is not None else True)
        return Outcome(False, action, None, ref.message, shown, **extra)
    for line in lines:
        if line.key in memos and len(line.values) >= 7 and line.values[6] is None:
            line.values[6] = memos[line.key]  # keep what the officer wrote under 課題と対応
    _write_lines(book, sheet, lines, widths, wrap)
    _WRITTEN.setdefault(book.impl, set()).add(name)
    try:
        sheet.activate()
    except Exception:
        pass
    if not ok:
        _alert(book, message, alert if alert is not None else True)
    return Outcome(ok, action, name, message, shown, **extra)


def _alert(book, message: str, wanted: bool) -> None:
    """A message box in desktop Excel; other engines show the message cell only."""
    if not wanted or engine_name(book) != "excel":
        return
    try:
        book.app.alert(message, title=TITLE, mode="critical")
    except Exception:
        pass


def refuse(book, action: str, message: str, *, now: datetime | None = None, alert: bool | None = None) -> Outcome:
    """Write a refusal for `action` (score / gap / import_previous) into its report sheet and return it."""
    name = ALIASES[action]
    sheet = {"score": SCORE_SHEET, "gap": GAP_SHEET, "import_previous": PREVIOUS_SHEET}[name]
    return _refusal(book, name, sheet, Refused(message), now or datetime.now(), None, alert)


def _refusal(book, action: str, name: str, ref: Refused, now: datetime, catalog: Catalog | None,
             alert) -> Outcome:
    label = ACTION_LABELS[action]
    lines = _head(f"{label}: 実行できませんでした", now, catalog, ref.message, refused=True) + ref.details
    return _finish(book, action, name, lines, [28, 12, 60], wrap=(1, 3), ok=False, message=ref.message,
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
    lines = _head(f"{catalog.year_label} 採点結果 {_who(contents.meta)}".rstrip(), now, catalog, message)
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
        message = (f"採点しました。総合計 {res.total:g} / {catalog.total} 点（得点率 {rate(res.total, catalog.total):.1%}）、"
                   f"回答済み {res.answered} / {len(catalog.answer_ids())} 項目。入力シートは変更していません。")
        lines = _score_lines(catalog, contents, res, now, message)
        return _finish(book, "score", SCORE_SHEET, lines, [10, 44, 18, 8, 8, 9], wrap=(2,), message=message,
                       alert=alert, result=res)

    return _act(book, "score", SCORE_SHEET, catalog_path, now, alert, body)


# -- ギャップ報告 ------------------------------------------------------------------------------


GROUP_HEADERS = ["交付金", "目標", "指標群", "得点", "配点", "得点率", "全国平均", "全国中央値", "都道府県平均", "前年度",
                 "全国差", "前年差"]


def _gap_lines(report: GapReport, now: datetime, message: str) -> list[Line]:
    lines = _head(f"{report.catalog.year_label} 評価結果 ギャップ報告 {_who(report.entity)}".rstrip(), now,
                  report.catalog, message)
    total = report.total_row
    heads = [("総合計", total)] + [(f"{r.grant}交付金", r) for r in report.rows if r.level == "grant"]
    for label, r in heads:
        lines.append(Line([label, None, r.own, f"/ {r.max:g} 点", r.rate], key=f"headline:{r.key}", style="grant",
                          formats={4: PERCENT}))
    if total.national_mean is not None:
        lines.append(Line(["全国平均・中央値", None, total.national_mean, total.national_median,
                           total.diff(total.national_mean)], key="headline:national", style="goal",
                          colors={4: GOOD if total.status == "good" else BAD}))
    for rk in report.ranks:
        lines.append(Line([f"順位（{rk.scope}）", None, rk.rank, f"/ {rk.of}"], key=f"rank:{rk.scope}", style="goal"))
    for label in filter(None, [report.national_label and f"全国比較: {report.national_label}",
                               report.prefecture_label and f"都道府県比較: {report.prefecture_label}",
                               report.previous_label and f"前年度: {report.previous_label}"]):
        lines.append(Line([label]))
    lines += [Line([]), Line(["目標・指標群別の得点"], style="section"),
              Line(GROUP_HEADERS, key="header:groups", style="header")]
    for r in report.rows:
        colors = {}
        if r.status != "none":
            colors = {3: GOOD if r.status == "good" else BAD, 10: GOOD if r.status == "good" else BAD}
        lines.append(Line([r.grant, r.goal, r.group, r.own, r.max, r.rate, r.national_mean, r.national_median,
                           r.prefecture_mean, r.previous, r.diff(r.national_mean), r.diff(r.previous)],
                          key=f"group:{r.key}", style={"goal": "goal", "grant": "grant", "total": "total"}.get(r.level),
                          formats={5: PERCENT}, colors=colors))
    lines += [Line([]), Line(["目標別の得点率（全国平均との比較）"], style="section"),
              Line(["目標", "自団体", "全国平均"], key="header:chart", style="header")]
    lines += [Line([label, own, nat], key=f"chart:{label}", formats={1: PERCENT, 2: PERCENT})
              for label, own, nat in report.chart()]
    lines += [Line([]), Line(["得点できなかった項目（失った点数の大きい順）"], style="section"),
              Line(["順", "項目", "内容", "失点", "回答", "全国得点率", "備考"], key="header:missed", style="header")]
    lines += [Line([i, m.label, m.text, m.lost, _show(m.answer), m.national_rate,
                    ("多くの団体が得点 " if m.high else "") + m.note], key=f"missed:{m.answer_id}",
                   formats={5: PERCENT}) for i, m in enumerate(report.missed, 1)]
    lines += [Line([]), Line(["平均を下回った指標（課題と対応）"], style="section"),
              Line(["項目", "評価指標", "得点", "配点", "平均", "比較", "課題と対応"], key="header:below", style="header")]
    lines += [Line([b.label, b.text, b.own, b.max, b.average, b.scope, None], key=f"below:{b.key}")
              for b in report.below]
    if report.previous_label:
        changes = ([("新たに該当", c) for c in report.newly_met] + [("該当しなくなった", c) for c in report.newly_lost]
                   + [("得点の変化", c) for c in report.changed_points]
                   + [("対応付け（得点率）", c) for c in report.mapped])
        lines += [Line([]), Line(["前年度からの変化"], style="section"),
                  Line(["区分", "項目", "内容", "前年度", "今年度"], key="header:changes", style="header")]
        lines += [Line([k, c.label, c.text, _show(c.before), _show(c.after)], key=f"change:{c.answer_id}")
                  for k, c in changes]
    lines.append(Line([]))
    lines += [Line([f"※ {note}"], key="note") for note in report.notes]
    return lines


def gap_report(book, *, previous: str | Path | None = None, compare_files: Sequence[str | Path] = (),
               catalog_path: str | Path | None = None, previous_catalog: str | Path | None = None,
               mapping_file: str | Path | None = None, now: datetime | None = None,
               alert: bool | None = None) -> Outcome:
    """ギャップ報告: where the points were lost, against the shipped national/prefecture results (and last year)."""
    from .report_builder import comparison_for

    def body(catalog: Catalog, contents: BookContents, now: datetime) -> Outcome:
        try:
            cmp = comparison_for(catalog, contents.meta, compare_files=tuple(compare_files), previous=previous,
                                 previous_catalog=previous_catalog, mapping_file=mapping_file)
        except BookError as err:
            raise Refused(f"前年度のブックを読み込めません: {err.problem}") from None
        res = score(catalog, contents.answers)
        report = build_report(catalog, contents.answers, res, contents.meta, cmp)
        message = (f"ギャップ報告を作成しました。総合計 {res.total:g} / {catalog.total} 点、得点できなかった項目 "
                   f"{len(report.missed)} 件。入力シートは変更していません。")
        return _finish(book, "gap", GAP_SHEET, _gap_lines(report, now, message),
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
            raise Refused(f"前年度のブックを読み込めません: {err.problem}") from None
        if prev_catalog.kind != catalog.kind:
            raise Refused(f"前年度のブックは区分が異なります（{prev_catalog.id}）。同じ団体区分のブックを選んでください。")
        mine, theirs = str(contents.meta.get("entity_code") or ""), str(prev.meta.get("entity_code") or "")
        if mine and theirs and mine != theirs:  # on a shared server, never show another entity's answers
            raise Refused(f"前年度のブックは別の団体（団体コード {theirs}）のものです。自団体のブックを選んでください。")
        return _show_previous(book, catalog, contents, prev_catalog, prev, path, now, alert)

    return _act(book, "import_previous", PREVIOUS_SHEET, catalog_path, now, alert, body, check_answers=False)


def _show_previous(book, catalog: Catalog, contents: BookContents, prev_catalog: Catalog, prev,
                            path: str | Path, now: datetime, alert) -> Outcome:
    """前年度回答: last year's answers beside this year's (nothing written into the answer cells)."""
    cur, last = score(catalog, contents.answers), score(prev_catalog, prev.answers)
    name = Path(path).name
    notes = []
    if prev_catalog.reiwa != catalog.reiwa - 1:
        notes.append(f"選ばれたブックは{prev_catalog.year_label}のものです（今年度は{catalog.year_label}）。")
    if cur.problems:
        notes.append(f"今年度の回答に入力できない値が {len(cur.problems)} 件あります（採点では 0 点または上限で集計）。")
    prev_ids = set(prev_catalog.answer_ids())
    message = (f"前年度のブック「{name}」（{prev_catalog.year_label}）の回答を表示しています。"
               "回答欄には書き込んでいません。必要な回答は入力シートに入力してください。")
    lines = _head(f"{catalog.year_label} 前年度回答の取込 {_who(contents.meta)}".rstrip(), now, catalog, message)
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
        lines.append(Line([label, text, _show(now_v), _show(before), change], key=f"previous:{aid}"))
    return _finish(book, "import_previous", PREVIOUS_SHEET, lines, [28, 60, 12, 14, 12], wrap=(2,),
                   message=message, alert=alert, result=cur)


# -- dispatcher (ribbon, VBA, scripts) --------------------------------------------------------


ACTION_LABELS = {"score": "採点", "gap": "ギャップ報告", "import_previous": "前年度回答の取込"}
ALIASES = {**{v: k for k, v in ACTION_LABELS.items()}, **{k: k for k in ACTION_LABELS},
           "gap_report": "gap", "previous": "import_previous"}


def run(book, action: str, path: str | Path | None = None, **kwargs) -> Outcome:
    """Run one action (score / gap / import_previous, or its Japanese label) on `book`."""
    name = ALIASES.get(str(action).strip())
    if name is None:
        raise ValueError(f"不明な処理です: {action}（{'、'.join(ACTION_LABELS.values())} のいずれか）")
    if name == "score":
        return score_book(book, **kwargs)
    if name == "gap":
        return gap_report(book, **kwargs)
    if not path:
        raise ValueError("前年度回答の取込には前年度ブックのパスが必要です")
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
        _alert(book, "ファイルを選ぶ画面を開けません。前年度ブックのパスを指定して実行してください"
                     "（xlsx_tool.bridge.main('import_previous', 'パス')）。", True)
        return None
    return None if chosen in (False, None, "") else str(chosen)


def main(action: str | None = None, path: str | None = None, *, book=None, **kwargs) -> Outcome | None:
    """Entry point of the Excel add-in and the VBA module: run `action` on the calling workbook.

    The add-in's shipped xlwings callback (RibbonMyAddin.RunMain) calls main() without an action: it
    then asks which one. macros/XlsxTool.bas passes the button's tag (score, gap, import_previous).
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
