"""The xlwings bridge driven through xlwings' real remote engine (xlwings Server / Lite).

Each test builds the JSON payload the Office.js client sends (client, version, book, names, sheets
with values: the cached cell values as openpyxl reads them, "" for empty cells and for formulas,
which a generated book holds without cached results), opens it with ``xw.Book(json=...)``, runs the
bridge and replays the actions of ``book.json()``: the report values must equal the scorer's,
computed here from the answers the test filled in, and no action may touch another sheet.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import json
import random

import pytest
import xlwings as xw
import yaml
from catalog_fixtures import rules_catalog
from openpyxl import Workbook, load_workbook

from xlsx_tool import bridge
from xlsx_tool.catalog.entity import Entity
from xlsx_tool.catalog.loading import load_shipped_catalog, parse_catalog
from xlsx_tool.report.builder import comparison_for
from xlsx_tool.scoring.gap import build_report
from xlsx_tool.scoring.scorer import rate, score
from xlsx_tool.workbook.filler import extreme_answers, fill_workbook, random_answers
from xlsx_tool.workbook.meta import COL_ID, META_SHEET, SUMMARY_SHEET, input_sheet_names
from xlsx_tool.workbook.writer import write_workbook

ENTITY = Entity(name="平塚市", code="142034", prefecture="神奈川県", insured=73333)
NOW = dt.datetime(2026, 1, 5, 10, 30)
STATES = {"visible": "Visible", "hidden": "Hidden", "veryHidden": "VeryHidden"}
KEY = bridge.KEY_COLUMN - 1  # 0-based index of the hidden key column in a written row


@pytest.fixture(autouse=True)
def xlwings_license(monkeypatch):
    # xlwings' remote engine is xlwings PRO: PolyForm Noncommercial, free for non-commercial use
    monkeypatch.setenv("XLWINGS_LICENSE_KEY", "noncommercial")
    bridge.ensure_engine("remote")


# -- the Office.js client's payload, and a replay of the actions ------------------------------------


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    return value


def payload(path) -> dict:
    wb = load_workbook(path, data_only=True)  # cached values; formulas of a generated book have none
    sheets = []
    for ws in wb.worksheets:
        values = [[_cell(v) for v in row] for row in ws.iter_rows(
            min_row=1, min_col=1, max_row=max(ws.max_row, 1), max_col=max(ws.max_column, 1), values_only=True)]
        sheets.append({"name": ws.title, "values": values, "visibility": STATES[ws.sheet_state],
                       "pictures": [], "tables": [], "charts": [], "shapes": [], "notes": []})
    names = []
    for name, dn in wb.defined_names.items():
        for sheet, ref in dn.destinations:
            names.append({"name": name, "sheet_index": wb.sheetnames.index(sheet), "address": ref.replace("$", ""),
                          "book_scope": True, "scope_sheet_index": None, "scope_sheet_name": None})
    return {"client": "Office.js", "version": xw.__version__,
            "book": {"name": path.name, "active_sheet_index": 0, "selection": "A1"},
            "names": names, "sheets": sheets}


def remote_book(data: dict):
    return xw.Book(json=json.loads(json.dumps(data)))  # exactly what arrives as JSON


class Replay:
    """Applies a remote book's actions to a model of its sheets: which sheet each action hits, written cells."""

    def __init__(self, data: dict, actions: list[dict]):
        self.sheets = [s["name"] for s in data["sheets"]]
        self.cells: dict[str, dict[tuple[int, int], object]] = {}
        self.touched: set[str] = set()
        for a in actions:
            if a["func"] == "addSheet":
                self.sheets.insert(a["args"][0], a["args"][1])
                continue
            if a["sheet_position"] is None:
                continue
            name = self.sheets[a["sheet_position"]]
            self.touched.add(name)
            if a["func"] in ("sheetClear", "sheetClearContents"):
                self.cells[name] = {}
            elif a["func"] == "setValues":
                grid = self.cells.setdefault(name, {})
                for i, row in enumerate(a["values"]):
                    for j, v in enumerate(row):
                        grid[(a["start_row"] + i, a["start_column"] + j)] = v

    def rows(self, sheet: str) -> list[list]:
        grid = self.cells.get(sheet, {})
        if not grid:
            return []
        n, m = max(r for r, _ in grid) + 1, max(c for _, c in grid) + 1
        return [[grid.get((r, c), "") for c in range(m)] for r in range(n)]

    def keyed(self, sheet: str) -> dict[str, list]:
        return {row[KEY]: row for row in self.rows(sheet) if len(row) > KEY and row[KEY]}


def _book(tmp_path, catalog, answers, name="filled.xlsx", entity=ENTITY):
    template = write_workbook(catalog, entity, tmp_path / f"template_{name}")
    return fill_workbook(template, answers, tmp_path / name, catalog)


def _catalogs(tmp_path):
    cat_file = tmp_path / "rules.yaml"
    cat_file.write_text(yaml.safe_dump(rules_catalog(), allow_unicode=True), encoding="utf-8")
    return [(load_shipped_catalog("R8", "municipality"), None), (load_shipped_catalog("R7", "prefecture"), None),
            (parse_catalog(rules_catalog(), "rules"), cat_file)]


def _only_report_sheet(replay: Replay, sheet: str) -> None:
    assert replay.touched == {sheet}, f"actions outside {sheet}: {replay.touched - {sheet}}"


# -- 採点 -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [1, 2])
def test_score_writes_the_scorers_values_and_touches_no_input_cell(tmp_path, seed):
    for catalog, cat_file in _catalogs(tmp_path):
        answers = random_answers(catalog, random.Random(seed), blank_rate=0.2)
        data = payload(_book(tmp_path, catalog, answers, f"{catalog.id}_{seed}.xlsx"))
        book = remote_book(data)
        outcome = bridge.score_book(book, catalog_path=cat_file, now=NOW)
        expected = score(catalog, answers)  # from the answers filled in, not from the book
        assert outcome.ok and outcome.sheet == bridge.SCORE_SHEET, outcome.message
        assert outcome.result.to_json() == expected.to_json()

        actions = book.json()["actions"]
        assert actions[0] == {**actions[0], "func": "addSheet",
                              "args": [data_index(data, SUMMARY_SHEET) + 1, bridge.SCORE_SHEET]}
        replay = Replay(data, actions)
        _only_report_sheet(replay, bridge.SCORE_SHEET)
        assert replay.sheets.index(bridge.SCORE_SHEET) == replay.sheets.index(SUMMARY_SHEET) + 1
        rows = replay.rows(bridge.SCORE_SHEET)
        assert rows[0][KEY] == bridge.MARKER and "採点結果" in rows[0][0] and "平塚市" in rows[0][0]
        assert rows[1][0].startswith("実行 2026-01-05 10:30") and catalog.id in rows[1][0]
        assert f"総合計 {expected.total:g} / {catalog.total} 点" in rows[2][0]  # the message cell A3
        keyed = replay.keyed(bridge.SCORE_SHEET)
        assert keyed["total:total"][4] == expected.total and keyed["total:total"][3] == catalog.total
        assert keyed["total:total"][5] == pytest.approx(rate(expected.total, catalog.total))
        for grant in catalog.grants:
            assert keyed[f"grant:{grant.id}"][4] == expected.grants[grant.id]
            for goal in grant.goals:
                assert keyed[f"goal:{goal.id}"][4] == expected.goals[goal.id]
                for group in goal.groups:
                    if len(goal.groups) > 1:
                        row = keyed[f"group:{goal.id}.{group.kind.value}"]
                        assert row[4] == expected.groups[(goal.id, group.kind.value)] and row[3] == group.points
        assert keyed["answered"][1] == f"{expected.answered} / {len(catalog.answer_ids())} 項目"
        assert [k.split(":", 1)[1] for k in keyed if k.startswith("unanswered:")] == expected.unanswered


def data_index(data: dict, name: str) -> int:
    return [s["name"] for s in data["sheets"]].index(name)


def test_score_refreshes_its_own_sheet_and_formats_it(tmp_path):
    catalog = load_shipped_catalog("R8", "municipality")
    answers = extreme_answers(catalog, best=True)
    book = remote_book(payload(_book(tmp_path, catalog, answers)))
    assert bridge.score_book(book, now=NOW).ok
    assert bridge.score_book(book, now=NOW).ok  # same session: its own sheet, cleared and rewritten
    actions = book.json()["actions"]
    funcs = [a["func"] for a in actions]
    assert funcs.count("addSheet") == 1 and "sheetClear" in funcs and funcs.count("setValues") == 2
    assert {"setFontProperty", "setRangeColor", "setNumberFormat", "setColumnWidth", "setColumnHidden"} <= set(funcs)
    hidden = [a for a in actions if a["func"] == "setColumnHidden"]
    assert all(a["start_column"] == KEY and a["args"] == [True] for a in hidden)
    # a sheet of the same name that the tool did not write is left alone
    data = payload(_book(tmp_path, catalog, answers, "other.xlsx"))
    data["sheets"].append({"name": bridge.SCORE_SHEET, "values": [["自分のメモ"]], "visibility": "Visible",
                           "pictures": [], "tables": []})
    book = remote_book(data)
    outcome = bridge.score_book(book, now=NOW)
    assert not outcome.ok and "このツールが作成したものではない" in outcome.message
    assert book.json()["actions"] == []


def test_an_existing_report_sheet_is_recognised_by_its_marker(tmp_path):
    catalog = load_shipped_catalog("R8", "municipality")
    data = payload(_book(tmp_path, catalog, extreme_answers(catalog, best=False)))
    first = remote_book(data)
    bridge.score_book(first, now=NOW)
    replay = Replay(data, first.json()["actions"])
    # the next request carries the sheet the first one wrote
    data2 = json.loads(json.dumps(data))
    data2["sheets"].insert(replay.sheets.index(bridge.SCORE_SHEET),
                           {"name": bridge.SCORE_SHEET, "values": replay.rows(bridge.SCORE_SHEET),
                            "visibility": "Visible", "pictures": [], "tables": []})
    second = remote_book(data2)
    assert bridge.score_book(second, now=NOW).ok
    funcs = [a["func"] for a in second.json()["actions"]]
    assert "addSheet" not in funcs and funcs[0] == "sheetClear"
    _only_report_sheet(Replay(data2, second.json()["actions"]), bridge.SCORE_SHEET)


# -- refusals ----------------------------------------------------------------------------------------


def _refused(data, needle, action=bridge.score_book, **kwargs):
    book = remote_book(data)
    outcome = action(book, now=NOW, **kwargs)
    assert not outcome.ok and needle in outcome.message, outcome.message
    replay = Replay(data, book.json()["actions"])
    _only_report_sheet(replay, outcome.sheet)
    rows = replay.rows(outcome.sheet)
    assert rows[2][0] == outcome.message and rows[2][KEY] == "message"  # the message cell A3
    return outcome, replay


MAC_ERROR = ("Command failed:\n\t\tOSERROR: -50\n\t\tMESSAGE: パラメータのエラーです。\n\t\tCOMMAND: "
             "app('/Applications/Microsoft Excel.app').make(new=k.worksheet, at=...)")


def test_a_sheet_excel_will_not_add_is_refused_with_how_to_lift_the_protection(tmp_path, monkeypatch):
    """Excel for Mac: the structure protection cannot be lifted through the Windows call, and Excel refuses the
    new sheet (appscript's CommandError, passed on by xlwings' Sheets.add). The bridge says what to do
    (校閲 → ブックの保護, no password) instead of the raw error, and nothing is written."""
    from xlwings.pro import _xlremote

    def refuse(self, before=None, after=None, name=None):
        raise RuntimeError(MAC_ERROR)

    monkeypatch.setattr(_xlremote.Sheets, "add", refuse)
    catalog = load_shipped_catalog("R8", "municipality")
    data = payload(_book(tmp_path, catalog, extreme_answers(catalog, best=True)))
    for action in (bridge.score_book, bridge.gap_report):
        book = remote_book(data)
        outcome = action(book, now=NOW)
        assert not outcome.ok and outcome.sheet is None
        assert "校閲" in outcome.message and "ブックの保護" in outcome.message and "パスワード" in outcome.message
        assert "Command failed:" in outcome.message and "OSERROR" not in outcome.message  # its first line only
        assert "Traceback" not in outcome.message
        assert book.json()["actions"] == []


def test_a_foreign_book_is_refused(tmp_path):
    wb = Workbook()
    wb.active.title = "売上"
    wb.active["A1"] = "他のブック"
    wb.save(tmp_path / "foreign.xlsx")
    outcome, replay = _refused(payload(tmp_path / "foreign.xlsx"), "このツールで作成した自己評価シートではありません")
    assert replay.sheets == ["売上", bridge.SCORE_SHEET]
    wb.create_sheet(META_SHEET)["A1"] = "tool"
    wb[META_SHEET]["B1"] = "something_else"
    wb.save(tmp_path / "foreign2.xlsx")
    _refused(payload(tmp_path / "foreign2.xlsx"), "識別情報が一致しません", bridge.gap_report)


def _meta_row(data, key):
    meta = data["sheets"][data_index(data, META_SHEET)]["values"]
    return next(row for row in meta if row[0] == key)


def test_unknown_year_and_other_catalog_version_are_refused(tmp_path):
    catalog = load_shipped_catalog("R8", "municipality")
    data = payload(_book(tmp_path, catalog, random_answers(catalog, random.Random(3))))
    unknown = json.loads(json.dumps(data))
    _meta_row(unknown, "year")[1] = "R3"
    _refused(unknown, "対応するカタログを読み込めません")
    other = json.loads(json.dumps(data))
    _meta_row(other, "catalog_hash")[1] = "0" * 64
    outcome, _ = _refused(other, "別の版", bridge.gap_report)
    assert bridge.CATALOG_ENV in outcome.message


def test_invalid_answers_are_refused_with_every_problem_listed(tmp_path):
    catalog = load_shipped_catalog("R8", "municipality")
    answers = random_answers(catalog, random.Random(4))
    sub_id = next(aid for aid in catalog.answer_ids() if answers.get(aid) in ("該当", "非該当"))
    answers[sub_id] = "はい"
    data = payload(_book(tmp_path, catalog, answers))
    outcome, replay = _refused(data, "入力できない回答が 1 件")
    keyed = replay.keyed(bridge.SCORE_SHEET)
    assert keyed[f"problem:{sub_id}"][1] == "はい" and "リストから選んでください" in keyed[f"problem:{sub_id}"][2]
    assert not any(k.startswith(("total:", "group:")) for k in keyed)  # no score next to a refusal
    assert any("はい" in d for d in outcome.details)


def test_deleted_rows_are_refused(tmp_path):
    catalog = load_shipped_catalog("R8", "municipality")
    data = payload(_book(tmp_path, catalog, random_answers(catalog, random.Random(5))))
    sheet = data["sheets"][data_index(data, input_sheet_names(catalog)[catalog.grants[0].id])]
    col = ord(COL_ID) - ord("A")
    gone = next(row for row in sheet["values"] if row[col] in set(catalog.answer_ids()))
    ident, gone[col] = gone[col], ""
    outcome, replay = _refused(data, "回答欄が 1 か所見つかりません")
    assert f"missing:{ident}" in replay.keyed(bridge.SCORE_SHEET)


# -- ギャップ報告 and 前年度回答の取込 ------------------------------------------------------------------------


def test_gap_report_writes_the_gap_reports_rows(tmp_path):
    catalog = load_shipped_catalog("R8", "municipality")
    answers = random_answers(catalog, random.Random(6), blank_rate=0.3)
    data = payload(_book(tmp_path, catalog, answers))
    book = remote_book(data)
    outcome = bridge.gap_report(book, now=NOW)
    assert outcome.ok, outcome.message
    meta = {row[0]: row[1] for row in data["sheets"][data_index(data, META_SHEET)]["values"]}
    expected = build_report(catalog, answers, score(catalog, answers), meta, comparison_for(catalog, meta))
    replay = Replay(data, book.json()["actions"])
    _only_report_sheet(replay, bridge.GAP_SHEET)
    keyed = replay.keyed(bridge.GAP_SHEET)
    for r in expected.rows:
        row = keyed[f"group:{r.key}"]
        assert row[3] == r.own and row[4] == r.max
        assert row[6] == ("" if r.national_mean is None else pytest.approx(r.national_mean))
    assert keyed["headline:total"][2] == expected.total_row.own
    assert [k.split(":", 1)[1] for k in keyed if k.startswith("missed:")] == [m.answer_id for m in expected.missed]
    assert [keyed[f"missed:{m.answer_id}"][3] for m in expected.missed] == [m.lost for m in expected.missed]
    assert [k for k in keyed if k.startswith("below:")] == [f"below:{b.key}" for b in expected.below]
    assert any(k == "note" for k in keyed) == bool(expected.notes)


def test_gap_report_keeps_what_was_typed_under_kadai_to_taio(tmp_path):
    catalog = load_shipped_catalog("R8", "municipality")
    data = payload(_book(tmp_path, catalog, extreme_answers(catalog, best=False)))
    first = remote_book(data)
    assert bridge.gap_report(first, now=NOW).ok
    replay = Replay(data, first.json()["actions"])
    rows = replay.rows(bridge.GAP_SHEET)
    below = next(i for i, row in enumerate(rows) if str(row[KEY]).startswith("below:"))
    rows[below][6] = "研修を年2回に増やす"
    data2 = json.loads(json.dumps(data))
    data2["sheets"].insert(replay.sheets.index(bridge.GAP_SHEET),
                           {"name": bridge.GAP_SHEET, "values": rows, "visibility": "Visible",
                            "pictures": [], "tables": []})
    second = remote_book(data2)
    assert bridge.gap_report(second, now=NOW).ok
    again = Replay(data2, second.json()["actions"]).keyed(bridge.GAP_SHEET)
    assert again[rows[below][KEY]][6] == "研修を年2回に増やす"


def test_import_previous_shows_last_years_answers_beside_this_years(tmp_path):
    r7, r8 = load_shipped_catalog("R7", "municipality"), load_shipped_catalog("R8", "municipality")
    before = random_answers(r7, random.Random(7))
    previous = _book(tmp_path, r7, before, "r7.xlsx")
    now_answers = random_answers(r8, random.Random(8))
    data = payload(_book(tmp_path, r8, now_answers, "r8.xlsx"))
    book = remote_book(data)
    outcome = bridge.import_previous(book, previous, now=NOW)
    assert outcome.ok, outcome.message
    replay = Replay(data, book.json()["actions"])
    _only_report_sheet(replay, bridge.PREVIOUS_SHEET)
    keyed = replay.keyed(bridge.PREVIOUS_SHEET)
    shared = [aid for aid in r8.answer_ids() if aid in set(r7.answer_ids())]
    assert shared
    for aid in r8.answer_ids():
        row = keyed[f"previous:{aid}"]
        assert row[2] == (now_answers.get(aid) if now_answers.get(aid) is not None else "未回答")
        if aid in shared:
            assert row[3] == (before[aid] if before.get(aid) is not None else "未回答")
        else:
            assert row[3] == "（前年度に該当項目なし）"
    assert keyed["previous:total"][1] == f"{score(r7, before).total:g} / {r7.total} 点"
    # another kind of book is refused
    pref = load_shipped_catalog("R7", "prefecture")
    other = _book(tmp_path, pref, random_answers(pref, random.Random(9)), "pref.xlsx")
    _refused(data, "区分が異なります", bridge.import_previous, path=other)
    _refused(data, "ファイルが見つかりません", bridge.import_previous, path=tmp_path / "none.xlsx")
    # another entity's book (e.g. on a shared xlwings Server) is refused
    stranger = _book(tmp_path, r7, before, "stranger.xlsx", entity=Entity(name="他町", code="999999"))
    _refused(data, "別の団体", bridge.import_previous, path=stranger)


# -- the dispatcher and the xlwings Server scripts ---------------------------------------------------


def test_main_dispatches_by_action_or_label(tmp_path):
    catalog = load_shipped_catalog("R8", "municipality")
    data = payload(_book(tmp_path, catalog, random_answers(catalog, random.Random(10))))
    assert bridge.main("採点", book=remote_book(data), now=NOW).sheet == bridge.SCORE_SHEET
    assert bridge.main("gap", book=remote_book(data), now=NOW).sheet == bridge.GAP_SHEET
    prev = tmp_path / "filled.xlsx"
    assert bridge.main("前年度回答の取込", str(prev), book=remote_book(data), now=NOW).sheet == bridge.PREVIOUS_SHEET
    with pytest.raises(ValueError, match="不明な処理"):
        bridge.main("delete_everything", book=remote_book(data))


def test_scripts_run_through_xlwings_servers_dispatch(tmp_path, monkeypatch):
    from xlsx_tool.bridge import scripts as xlwings_scripts

    monkeypatch.setenv(xlwings_scripts.PREVIOUS_DIR_ENV, str(tmp_path))
    assert xlwings_scripts.script_names() == ["gap_report", "import_previous", "score"]
    catalog = load_shipped_catalog("R8", "municipality")
    answers = random_answers(catalog, random.Random(11))
    data = payload(_book(tmp_path, catalog, answers))
    response = asyncio.run(xlwings_scripts.call_script(data, "score"))
    keyed = Replay(data, response["actions"]).keyed(bridge.SCORE_SHEET)
    assert keyed["total:total"][4] == score(catalog, answers).total
    data["args"] = ["filled.xlsx"]
    response = asyncio.run(xlwings_scripts.call_script(data, "import_previous"))
    assert "previous:total" in Replay(data, response["actions"]).keyed(bridge.PREVIOUS_SHEET)
    for bad in ("../filled.xlsx", str(tmp_path / "filled.xlsx"), ""):
        data["args"] = [bad]
        response = asyncio.run(xlwings_scripts.call_script(data, "import_previous"))
        rows = Replay(data, response["actions"]).rows(bridge.PREVIOUS_SHEET)
        assert "ファイル名" in rows[2][0]
    monkeypatch.delenv(xlwings_scripts.PREVIOUS_DIR_ENV)
    data["args"] = ["filled.xlsx"]
    response = asyncio.run(xlwings_scripts.call_script(data, "import_previous"))
    assert xlwings_scripts.PREVIOUS_DIR_ENV in Replay(data, response["actions"]).rows(bridge.PREVIOUS_SHEET)[2][0]
    with pytest.raises(KeyError):
        asyncio.run(xlwings_scripts.call_script(data, "bridge"))


def _wsgi(app, method, path, body=b"", origin=""):
    status, headers = {}, {}

    def start_response(s, h):
        status["s"] = s
        headers.update(h)

    env = {"REQUEST_METHOD": method, "PATH_INFO": path, "CONTENT_LENGTH": str(len(body)),
           "wsgi.input": io.BytesIO(body)}
    if origin:
        env["HTTP_ORIGIN"] = origin
    out = b"".join(app(env, start_response))
    return status["s"], headers, out


def test_minimal_server_answers_the_client_with_actions(tmp_path):
    from xlsx_tool.bridge import scripts as xlwings_scripts

    app = xlwings_scripts.make_wsgi_app(max_body=10_000_000)
    catalog = load_shipped_catalog("R8", "municipality")
    answers = random_answers(catalog, random.Random(12))
    data = payload(_book(tmp_path, catalog, answers))
    body = json.dumps(data).encode()
    status, headers, out = _wsgi(app, "POST", "/xlwings/custom-scripts-call/score", body,
                                 origin="https://x1.officescripts.microsoftusercontent.com")
    assert status == "200 OK" and headers["Access-Control-Allow-Origin"].endswith("microsoftusercontent.com")
    keyed = Replay(data, json.loads(out)["actions"]).keyed(bridge.SCORE_SHEET)
    assert keyed["total:total"][4] == score(catalog, answers).total
    status, headers, _ = _wsgi(app, "POST", "/xlwings/custom-scripts-call/score", body, origin="https://evil.example")
    assert status == "200 OK" and "Access-Control-Allow-Origin" not in headers
    assert _wsgi(app, "POST", "/xlwings/custom-scripts-call/call_script", body)[0] == "404 Not Found"
    assert _wsgi(app, "GET", "/xlwings/custom-scripts-call/score")[0] == "404 Not Found"
    small = xlwings_scripts.make_wsgi_app(max_body=100)
    assert _wsgi(small, "POST", "/xlwings/custom-scripts-call/score", body)[0] == "413 Payload Too Large"
    assert _wsgi(app, "POST", "/xlwings/custom-scripts-call/score", b"[1]")[0].startswith("500")
    status, _, out = _wsgi(app, "GET", "/xlwings/custom-scripts-meta")
    assert status == "200 OK" and {m["name"] for m in json.loads(out)} == {"採点", "ギャップ報告", "前年度回答の取込"}


def test_engines_are_registered_on_demand():
    assert bridge.ensure_engine("remote").name == "remote"
    assert bridge.ensure_engine("calamine").name == "calamine"
    with pytest.raises(bridge.EngineUnavailable):
        bridge.ensure_engine("no_such_engine")


def test_answer_labels_cover_every_answer_cell():
    for catalog in (load_shipped_catalog("R8", "municipality"), parse_catalog(rules_catalog(), "rules")):
        texts = bridge.answer_texts(catalog)
        assert list(texts) == catalog.answer_ids() and all(label and text for label, text in texts.values())


def test_the_bridge_and_the_xlsx_report_show_the_same_rows(tmp_path):
    """One layout (report/layout.py), two renderers: every keyed row of ギャップ報告 written through xlwings
    equals the same row of `report --format xlsx` (openpyxl), cell by cell, and neither has a row the other lacks."""
    from xlsx_tool.report.builder import report_for_book
    from xlsx_tool.report.sheet import KEY_COL, REPORT_SHEET, write_report_sheet

    catalog = load_shipped_catalog("R8", "municipality")
    before = random_answers(catalog, random.Random(11), blank_rate=0.2)
    previous = _book(tmp_path, catalog, before, name="previous.xlsx")
    filled = _book(tmp_path, catalog, random_answers(catalog, random.Random(12), blank_rate=0.2))
    data = payload(filled)
    book = remote_book(data)
    assert bridge.gap_report(book, previous=previous, now=NOW).ok
    bridge_rows = Replay(data, book.json()["actions"]).keyed(bridge.GAP_SHEET)

    out = write_report_sheet(report_for_book(filled, previous=previous), filled, tmp_path / "report.xlsx")
    ws = load_workbook(out)[REPORT_SHEET]
    key_at = ord(KEY_COL) - ord("A")
    xlsx_rows = {row[key_at]: [_cell(v) for v in row[:key_at]]
                 for row in ws.iter_rows(max_col=key_at + 1, values_only=True) if row[key_at]}
    data_keys = {k for k in bridge_rows if not k.startswith(("header:", "message", "note", bridge.MARKER))}
    assert data_keys == set(xlsx_rows)
    assert any(k.startswith("change:") for k in data_keys) and any(k.startswith("missed:") for k in data_keys)
    for key in data_keys:
        got, want = bridge_rows[key][:key_at], xlsx_rows[key]
        width = max(len(got), len(want))
        for a, b in zip((got + [""] * width)[:width], (want + [""] * width)[:width]):
            assert a == (pytest.approx(b, rel=1e-12) if isinstance(b, float) else b), key


def test_gap_report_prices_the_missed_items_with_the_yen_typed_on_the_summary(tmp_path):
    """The ギャップ報告 button on a book whose 集計 holds a yen per point for 推進: each missed 推進 item's 概算
    is the points it adds to 推進 × that yen (computed here), and the 支援 items, with no yen typed, have none."""
    catalog = load_shipped_catalog("R8", "municipality")
    answers = random_answers(catalog, random.Random(6), blank_rate=0.3)
    path = _book(tmp_path, catalog, answers)
    wb = load_workbook(path)
    sheet, coord = next(iter(wb.defined_names["yen_per_point_promotion"].destinations))
    wb[sheet][coord.replace("$", "")] = 80453
    wb.save(path)
    data = payload(path)
    book = remote_book(data)
    outcome = bridge.gap_report(book, now=NOW)
    assert outcome.ok, outcome.message
    meta = {row[0]: row[1] for row in data["sheets"][data_index(data, META_SHEET)]["values"]}
    expected = build_report(catalog, answers, score(catalog, answers), meta, comparison_for(catalog, meta))
    promotion = {aid for grant, _, _, ind in catalog.indicators() if grant.id == "promotion"
                 for aid in ([s.id for s in ind.subitems] or [ind.id])}
    # 目標Ⅳ is asked once (under 推進) and its twin in 支援 scores the same answer: half of what such an item
    # adds is 推進's (the twins have the same points), and only that half has a yen
    twinned = {s.same_as for *_, ind in catalog.indicators() for s in ind.subitems if s.same_as}
    keyed = Replay(data, book.json()["actions"]).keyed(bridge.GAP_SHEET)
    priced = {m.answer_id: keyed[f"missed:{m.answer_id}"][4] for m in expected.missed}
    assert any(a in twinned for a in priced)
    assert {a: v for a, v in priced.items() if a in promotion} == \
        {m.answer_id: round(m.lost / (2 if m.answer_id in twinned else 1) * 80453) if m.lost else ""
         for m in expected.missed if m.answer_id in promotion}  # a ladder that adds nothing: no yen
    assert any(a not in promotion for a in priced) and not any(v for a, v in priced.items() if a not in promotion)
    assert any("ブックの集計シートに入力された額" in str(row[0]) for k, row in keyed.items() if k == "note")
