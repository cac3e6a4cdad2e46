"""The sheet's live formulas, recalculated by LibreOffice headless, equal the Python scorer.

For every shipped catalog (and a test catalog that uses every rule type): 25 seeded random
fillings plus the extremes (all best, all worst, all blank) are written into a generated
workbook, recalculated in one soffice call, and every subtotal is compared.
"""

import random

import pytest
import yaml
from catalog_fixtures import ratio_catalog, rules_catalog
from conftest import all_catalogs, catalog_key, thresholds_tag
from openpyxl import load_workbook

from xlsx_tool.catalog.entity import Entity
from xlsx_tool.read.openpyxl_engine import read_book
from xlsx_tool.scoring.scorer import rate, score
from xlsx_tool.workbook.filler import extreme_answers, fill_workbook, random_answers
from xlsx_tool.workbook.meta import (
    COL_ID,
    COL_SCORE,
    FIRST_DATA_ROW,
    SUMMARY_SHEET,
    defined_name_for,
    input_sheet_names,
)
from xlsx_tool.workbook.recalc import recalculate
from xlsx_tool.workbook.writer import write_workbook

pytestmark = pytest.mark.libreoffice
RANDOM_FILLINGS = 25
BLANK_RATES = [0.0, 0.1, 0.3, 0.6, 0.95]


def _fillings(cat):
    rng = random.Random(f"parity-{cat.id}")
    fills = [random_answers(cat, rng, BLANK_RATES[i % len(BLANK_RATES)]) for i in range(RANDOM_FILLINGS)]
    return fills + [extreme_answers(cat, best=True), extreme_answers(cat, best=False), {}]


@pytest.fixture(scope="module")
def recalculated(tmp_path_factory, soffice):
    """catalog id -> list of (answers, python result, recalculated workbook path)."""
    src = tmp_path_factory.mktemp("filled")
    user_catalogs = {}
    for name, data in (("R99", rules_catalog()), ("R98", ratio_catalog())):
        user_catalogs[name] = src / f"{name}.yaml"
        user_catalogs[name].write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    cases, files = {}, []
    for cat in all_catalogs():
        key = catalog_key(cat)
        template = write_workbook(cat, Entity(name="テスト市", code="000000"), src / f"{key}_template.xlsx",
                                  thresholds=thresholds_tag(cat))
        for i, answers in enumerate(_fillings(cat)):
            path = fill_workbook(template, answers, src / f"{key}_{i:02d}.xlsx", cat)
            # the Python side goes through the real reader, as `xlsx-tool score` does
            _, contents = read_book(path, user_catalogs.get(cat.year))
            cases.setdefault(key, []).append((answers, score(cat, contents.answers), path.name))
            files.append(path)
    out = recalculate(files, tmp_path_factory.mktemp("recalculated"))
    by_name = {p.name: p for p in out}
    return {cid: [(a, r, by_name[n]) for a, r, n in rows] for cid, rows in cases.items()}


def _named_values(wb):
    values = {}
    for name, dn in wb.defined_names.items():
        if not name.startswith("score_"):
            continue  # e.g. eligibility_*: checked by test_eligibility
        (sheet, coord), = list(dn.destinations)
        values[name] = wb[sheet][coord.replace("$", "")].value
    return values


def _expected_names(res):
    cat = res.catalog
    exp = {"score_total": res.total}
    exp.update({defined_name_for(g): v for g, v in res.grants.items()})
    exp.update({defined_name_for(g): v for g, v in res.goals.items()})
    exp.update({defined_name_for(goal, kind): v for (goal, kind), v in res.groups.items()})
    kinds = {g.kind.value for *_, g in cat.groups()}
    if kinds != {"combined"}:
        for kind in kinds:
            exp[defined_name_for("group", kind)] = sum(v for (_, k), v in res.groups.items() if k == kind)
    return exp


def _mismatches(res, path):
    wb = load_workbook(path, data_only=True)
    bad = []
    named = _named_values(wb)
    expected = _expected_names(res)
    assert set(named) == set(expected), set(named) ^ set(expected)
    bad += [(n, named[n], v) for n, v in expected.items() if named[n] != v]
    for sheet in input_sheet_names(res.catalog).values():
        ws = wb[sheet]
        for row in range(FIRST_DATA_ROW, ws.max_row + 1):
            ident = ws[f"{COL_ID}{row}"].value
            got = ws[f"{COL_SCORE}{row}"].value
            want = res.indicators.get(ident, res.subitems.get(ident))
            if ident is not None and got != want:
                bad.append((ident, got, want))
    for row in wb[SUMMARY_SHEET].iter_rows(min_row=4, values_only=True):
        if row[3] is not None:  # LibreOffice stores 15 significant digits
            if abs(row[5] - rate(row[4], row[3])) > 1e-13:
                bad.append(("rate", row, rate(row[4], row[3])))
    cover = {r[0]: r[1] for r in wb["表紙"].iter_rows(max_col=2, values_only=True) if r[0]}
    if cover["回答済み"] != res.answered:
        bad.append(("回答済み", cover["回答済み"], res.answered))
    if cover["合計得点"] != res.total:
        bad.append(("合計得点", cover["合計得点"], res.total))
    return bad


@pytest.mark.parametrize("catalog_id", [catalog_key(c) for c in all_catalogs()])
def test_recalculated_workbook_equals_python_scorer(recalculated, catalog_id):
    rows = recalculated[catalog_id]
    assert len(rows) >= 28
    failures = {}
    for i, (answers, res, path) in enumerate(rows):
        bad = _mismatches(res, path)
        if bad:
            failures[i] = bad[:5]
    assert not failures, failures
    totals = {r.total for _, r, _ in rows}
    assert len(totals) >= 4, "fillings should produce a spread of totals"
    assert max(totals) == rows[0][1].catalog.total  # the all-best filling reaches the maximum
