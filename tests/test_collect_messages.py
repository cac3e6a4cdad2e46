"""What collect says about a returned book, generated here and spoiled with openpyxl as staff would:
answer problems at the sheet, cell and label staff see, with the value shortened and the fix, worded as
`score` words them (issue 17, item 6); a book with no answer at all rejected and not ranked (item 9);
a book made from another catalog named, with what to pass to collect (item 11)."""

import csv
import json
import random
from pathlib import Path

import pytest
import yaml
from catalog_fixtures import rules_catalog
from click.testing import CliRunner
from conftest import EXAMPLE_TAG, EXAMPLE_THRESHOLDS
from openpyxl import load_workbook

from xlsx_tool.catalog.answers import answer_slots
from xlsx_tool.catalog.entity import Entity
from xlsx_tool.catalog.loading import load_shipped_catalog, parse_catalog
from xlsx_tool.cli import main
from xlsx_tool.collect.batch import ACCEPTED, REJECTED, WARNING, Expectation, inspect_file
from xlsx_tool.workbook.filler import fill_workbook, random_answers
from xlsx_tool.workbook.writer import write_workbook

R8 = load_shipped_catalog("R8", "municipality")
RULES_DATA = rules_catalog()
RULES = parse_catalog(RULES_DATA, "rules_catalog")
LONG = "長い説明文を貼り付けた" * 50  # 550 characters pasted into one answer cell

# answer id -> (value typed, label staff see on the sheet, what the fix must say); the rules catalog
# (tests/catalog_fixtures.py) asks sub-items a-d of 推進 目標Ⅰ 1, a figure (%) and two direct entries
SPOILED = {
    "P1-p1-a": (LONG, "推進 目標Ⅰ 体制・取組指標群 1 a", "「該当」「非該当」のいずれかをリストから選んでください"),
    "P1-p3-b": ("はい", "推進 目標Ⅰ 体制・取組指標群 3 b", "「該当」「非該当」のいずれかをリストから選んでください"),
    "S1-p1": ("１２", "支援 目標Ⅰ 体制・取組指標群 1", "半角の数値 12 を入力し直してください"),
    "P1-a1": (" 3 ", "推進 目標Ⅰ 活動指標群 1", "半角の数値 3 を入力し直してください"),
    "P1-a2": (13, "推進 目標Ⅰ 活動指標群 2", "範囲外です。0～12 点（3 点刻み）を入力してください"),
}


def _answer_cells(path: Path) -> dict[str, tuple[str, str]]:
    """answer id -> (sheet, cell) as staff find it: the 回答 column of the row whose hidden id is the answer's."""
    wb = load_workbook(path)
    cells = {}
    for ws in wb.worksheets:
        header = {c.value: c.column_letter for c in ws[3] if c.value}
        if "回答" not in header or "id" not in header:
            continue
        for row in range(4, ws.max_row + 1):
            ident = ws[f"{header['id']}{row}"].value
            if ident:
                cells[ident] = (ws.title, f"{header['回答']}{row}")
    return cells


def _spoil(path: Path, values: dict[str, object], out: Path) -> Path:
    cells = _answer_cells(path)
    wb = load_workbook(path)
    for aid, value in values.items():
        sheet, cell = cells[aid]
        wb[sheet][cell] = value
    wb.save(out)
    return out


def _filled(tmp: Path, catalog, code="141003", seed=1, **kw) -> Path:
    template = write_workbook(catalog, Entity(name="テスト町", code=code, prefecture="テスト県"),
                              tmp / f"template_{code}.xlsx", **kw)
    answers = random_answers(catalog, random.Random(seed), blank_rate=0.0)
    return fill_workbook(template, answers, tmp / f"filled_{code}.xlsx", catalog)


@pytest.fixture(scope="module")
def spoiled(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("spoiled")
    catalog_file = tmp / "rules.yaml"
    catalog_file.write_text(yaml.safe_dump(RULES_DATA, allow_unicode=True, sort_keys=False), encoding="utf-8")
    filled = _filled(tmp, RULES)
    book = _spoil(filled, {aid: v for aid, (v, _, _) in SPOILED.items()}, tmp / "spoiled.xlsx")
    return book, catalog_file, _answer_cells(book)


@pytest.mark.parametrize("reader", ["fast", "openpyxl"])
def test_answer_problems_name_sheet_cell_label_short_value_and_fix(spoiled, reader):
    book, _, cells = spoiled
    result = inspect_file(book, Expectation(RULES), reader)
    assert result.status == REJECTED
    head, *lines = result.reasons
    assert f"{len(SPOILED)} 件" in head
    assert len(lines) == len(SPOILED)
    for aid, (value, label, fix) in SPOILED.items():
        sheet, cell = cells[aid]
        line = next((x for x in lines if f"シート「{sheet}」のセル {cell}（" in x), None)
        assert line is not None, (aid, cells[aid], lines)
        assert f"（{label}）" in line and fix in line, line
        assert aid not in line  # hidden ids are not what staff see
    long_line = next(x for x in lines if "体制・取組指標群 1 a）" in x)
    assert "「" + LONG[:30] + "…」" in long_line and LONG[:31] not in long_line
    assert "「１２」" in result.reason and "「 3 」" in result.reason and "「13」" in result.reason


def test_score_words_each_answer_problem_as_collect_does(spoiled):
    book, catalog_file, _ = spoiled
    collected = inspect_file(book, Expectation(RULES)).reasons[1:]
    shown = CliRunner().invoke(main, ["score", str(book), "--catalog", str(catalog_file)])
    assert shown.exit_code == 0, shown.output
    for line in collected:
        assert f"不正な回答: {line}\n" in shown.output, (line, shown.output)
    as_json = CliRunner().invoke(main, ["score", str(book), "--catalog", str(catalog_file), "--json"])
    assert sorted(p["text"] for p in json.loads(as_json.output)["problems"]) == sorted(collected)


def test_more_than_eight_problems_are_counted_not_dropped(tmp_path):
    subs = [aid for aid, _, is_sub in answer_slots(R8) if is_sub][:11]
    book = _spoil(_filled(tmp_path, R8), {aid: "○" for aid in subs}, tmp_path / "many.xlsx")
    result = inspect_file(book, Expectation(R8))
    assert result.status == REJECTED
    assert "11 件" in result.reasons[0] and result.reasons[-1] == "ほか 3 件"
    assert sum("「○」" in r for r in result.reasons) == 8


def test_an_unfilled_template_is_rejected_and_a_partly_filled_book_kept(tmp_path):
    template = write_workbook(R8, Entity(name="白紙町", code="141003"), tmp_path / "blank.xlsx")
    blank = inspect_file(template, Expectation(R8))
    assert blank.status == REJECTED and blank.total is None
    assert "回答が 1 件も入力されていません" in blank.reason and "記入" in blank.reason
    one = fill_workbook(template, {R8.answer_ids()[0]: "該当"}, tmp_path / "one.xlsx", R8)
    partly = inspect_file(one, Expectation(R8))
    assert partly.status == WARNING and f"未回答が {len(R8.answer_ids()) - 1} 項目" in partly.reason


def test_an_unfilled_template_is_not_ranked(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write_workbook(R8, Entity(name="白紙町", code="141003"), inbox / "blank.xlsx")
    filled = _filled(tmp_path, R8, code="141011")
    (inbox / "filled.xlsx").write_bytes(filled.read_bytes())
    roster = tmp_path / "roster.csv"
    roster.write_text("団体コード,団体名\n141003,白紙町\n141011,記入町\n", encoding="utf-8")
    out = tmp_path / "out"
    run = CliRunner().invoke(main, ["collect", str(inbox), "--roster", str(roster), "--year", "R8",
                                    "--out", str(out), "--workers", "1"])
    assert run.exit_code == 0, run.output
    with (out / "一覧.csv").open(encoding="utf-8-sig") as fh:
        rows = {r["団体コード"]: r for r in csv.DictReader(fh)}
    assert rows["141011"]["順位"] == "1" and rows["141011"]["状態"] == "受理"
    assert rows["141003"]["順位"] == "" and rows["141003"]["合計"] == "" and rows["141003"]["状態"] == "未提出"
    status = {Path(r["file"]).name: r for r in json.loads((out / "collect.json").read_text(encoding="utf-8"))}
    assert status["blank.xlsx"]["status"] == REJECTED and "回答が 1 件も入力されていません" in status["blank.xlsx"]["reason"]


def _own_catalog(**changes):
    data = R8.model_dump(mode="json", exclude_none=True)
    data.update(changes)
    return data


OWN_REASON = "このブックは独自カタログ『{name}』から作られています。collect に --catalog でそのカタログを指定してください"


def test_a_book_from_an_own_catalog_names_it_and_asks_for_catalog(tmp_path):
    own_data = _own_catalog(id="R8-municipality-kanagawa", title="神奈川県版 評価指標")
    own_file = tmp_path / "kanagawa.yaml"
    own_file.write_text(yaml.safe_dump(own_data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    run = CliRunner().invoke(main, ["generate", "--catalog", str(own_file), "--code", "141003", "--name", "横浜町",
                                    "--out", str(tmp_path / "made")])
    assert run.exit_code == 0, run.output
    (template,) = (tmp_path / "made").glob("*.xlsx")
    own = parse_catalog(own_data, str(own_file))
    book = fill_workbook(template, random_answers(own, random.Random(3), blank_rate=0.0), tmp_path / "b.xlsx", own)
    result = inspect_file(book, Expectation(R8))
    assert result.status == REJECTED
    assert result.reason == OWN_REASON.format(name="神奈川県版 評価指標（R8-municipality-kanagawa）")
    assert "最新の様式" not in result.reason
    assert inspect_file(book, Expectation(own)).status == ACCEPTED  # what the message asks for works


def test_a_book_from_an_own_catalog_that_kept_the_shipped_id_is_not_told_to_resubmit(tmp_path):
    data = _own_catalog(title="独自に直した評価指標")
    data["grants"][0]["goals"][0]["groups"][0]["indicators"][0]["text"] = "県が書き直した設問"
    book = _filled(tmp_path, parse_catalog(data, "edited"))
    result = inspect_file(book, Expectation(R8))
    assert result.reason == OWN_REASON.format(name="独自に直した評価指標（R8-municipality）")
    # a form of an earlier release (another generator version) with the shipped id: the latest form is asked for
    wb = load_workbook(book)
    meta = wb["_meta"]
    row = next(r for r in range(1, meta.max_row + 1) if meta[f"A{r}"].value == "generator_version")
    meta[f"B{row}"] = "0.0.1"
    wb.save(tmp_path / "earlier.xlsx")
    earlier = inspect_file(tmp_path / "earlier.xlsx", Expectation(R8))
    assert earlier.status == REJECTED and "最新の様式で提出してください" in earlier.reason


def test_an_older_book_without_a_catalog_title_is_named_by_its_catalog_id(tmp_path):
    own = parse_catalog(_own_catalog(id="R8-municipality-own", title="独自"), "own")
    book = _filled(tmp_path, own)
    wb = load_workbook(book)
    meta = wb["_meta"]
    row = next(r for r in range(1, meta.max_row + 1) if meta[f"A{r}"].value == "catalog_title")
    meta.delete_rows(row)
    wb.save(tmp_path / "older.xlsx")
    result = inspect_file(tmp_path / "older.xlsx", Expectation(R8))
    assert result.reason == OWN_REASON.format(name="R8-municipality-own")


def test_a_shipped_book_collected_with_an_own_catalog_says_so(tmp_path):
    own = parse_catalog(_own_catalog(id="R8-municipality-kanagawa", title="神奈川県版"), "own")
    result = inspect_file(_filled(tmp_path, R8), Expectation(own))
    assert result.status == REJECTED
    assert f"同梱のカタログ『{R8.title}（R8-municipality）』から作られています" in result.reason
    assert "--catalog" in result.reason and "最新の様式" not in result.reason


def test_a_book_made_with_a_thresholds_file_asks_for_it(tmp_path):
    book = _filled(tmp_path, EXAMPLE_THRESHOLDS, thresholds=EXAMPLE_TAG)
    result = inspect_file(book, Expectation(R8))
    assert result.status == REJECTED
    assert f"採点基準ファイル（{EXAMPLE_TAG}）" in result.reason and "--thresholds" in result.reason
    assert inspect_file(book, Expectation(EXAMPLE_THRESHOLDS)).status == ACCEPTED
