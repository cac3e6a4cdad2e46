"""One message catalogue (util/problems.py): every code raised or recorded exists, is used, and gets the
fields its template names; real files give the same code on every engine that reads them."""

from __future__ import annotations

import ast
import string
from pathlib import Path

import pytest
from openpyxl import load_workbook

from xlsx_tool.catalog.answers import validate_answers
from xlsx_tool.catalog.entity import Entity
from xlsx_tool.catalog.loading import load_shipped_catalog
from xlsx_tool.read.core import BookError
from xlsx_tool.read.openpyxl_engine import read_book
from xlsx_tool.util.problems import CATALOGUE, ToolError
from xlsx_tool.workbook.writer import write_workbook

PACKAGE = Path(__file__).resolve().parent.parent / "xlsx_tool"
RAISERS = {"message": 0, "text_of": 0, "located": 0, "ToolError": 0, "FileRejected": 0, "BookError": 1,  # name -> code argument
           "report": 1, "bad": 1}  # the catalog importer records a code at a cell
LOCATION = {"file", "sheet", "cell"}


def _calls():
    """(where, code, keyword names) of every call that names a problem code in the package."""
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            at = RAISERS.get(name)
            if at is None or len(node.args) <= at:
                continue
            arg = node.args[at]
            where = f"{path.relative_to(PACKAGE.parent)}:{node.lineno}"
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                yield where, arg.value, {k.arg for k in node.keywords}


def _fields(template) -> set[str]:
    return {f for text in (template.text, template.fix) for _, f, _, _ in string.Formatter().parse(text) if f}


def test_every_code_used_is_in_the_catalogue_with_the_fields_it_needs():
    calls = list(_calls())
    assert len(calls) > 30  # the scan finds the readers, the file checks and the collector
    for where, code, keywords in calls:
        assert code in CATALOGUE, f"{where}: unknown code {code!r}"
        missing = _fields(CATALOGUE[code]) - keywords - LOCATION
        assert not missing, f"{where}: {code} needs {missing}"


def test_every_catalogue_code_is_used():
    source = "".join(p.read_text(encoding="utf-8") for p in PACKAGE.rglob("*.py") if p.name != "problems.py")
    # schema.<type> codes are looked up by pydantic's error type: f"schema.{e['type']}"
    unused = [code for code in CATALOGUE
              if f'"{code}"' not in source and f'f"{code.split(".")[0]}.{{' not in source]
    assert not unused, unused


def test_answer_problems_carry_their_code_and_the_catalogue_text():
    catalog = load_shipped_catalog("R7", "municipality")
    sub = next(aid for aid, ind, is_sub in _slots(catalog) if is_sub)
    problems = {p.answer_id: p for p in validate_answers(catalog, {sub: "該当 "})}
    assert problems[sub].code == "answer.choice_spelling"
    assert problems[sub].message == "回答「該当 」は選択肢にありません。「該当」に直してください（全角・半角や空白の違い）"
    problems = {p.answer_id: p for p in validate_answers(catalog, {sub: "はい"})}
    assert problems[sub].code == "answer.not_a_choice"
    assert problems[sub].message == "回答「はい」は選択肢にありません。「該当」「非該当」のいずれかをリストから選んでください"


def _slots(catalog):
    from xlsx_tool.catalog.answers import answer_slots

    return answer_slots(catalog)


def test_a_real_empty_file_and_a_renamed_sheet_give_coded_book_errors(tmp_path):
    empty = tmp_path / "空.xlsx"
    empty.write_bytes(b"")
    with pytest.raises(BookError) as err:
        read_book(empty)
    assert err.value.code == "file.empty" and isinstance(err.value, ToolError)
    assert str(err.value) == f"{empty}: 空のファイルです（ダウンロードや保存が途中で失敗した可能性があります）"

    catalog = load_shipped_catalog("R8", "municipality")
    book = write_workbook(catalog, Entity(name="平塚市", code="142034"), tmp_path / "book.xlsx")
    wb = load_workbook(book)
    first = catalog.grants[0]
    old = next(ws.title for ws in wb.worksheets if first.short in ws.title)
    wb[old].title = "名前変更"
    wb.save(tmp_path / "renamed.xlsx")
    with pytest.raises(BookError) as err:
        read_book(tmp_path / "renamed.xlsx")
    assert err.value.code == "book.no_input_sheet" and err.value.problem.sheet == old
    assert err.value.problem.to_json()["message"] == f"入力シート「{old}」がありません（シート名が変更された可能性があります）"


def _japanese(node) -> bool:
    """A Japanese literal in `node`, not counting what a call inside it produces (message(...) is fine)."""
    if isinstance(node, ast.Call):
        return False
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return any("\u3040" <= ch <= "\u30ff" or "\u4e00" <= ch <= "\u9fff" for ch in node.value)
    return any(_japanese(child) for child in ast.iter_child_nodes(node))


def test_no_error_is_raised_with_its_own_japanese_text():
    """Errors take their text from the catalogue: a raise with a Japanese literal (as a message or in a list
    of problems) is a message kept elsewhere."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "problems.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
                arguments = [*node.exc.args, *(k.value for k in node.exc.keywords)]
                if any(_japanese(a) for a in arguments):
                    found.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}")
    assert not found, found
