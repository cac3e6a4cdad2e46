"""支援交付金 交付要件 (1)–(4): one test per branch with boundaries, and the sheet's formulas in LibreOffice."""

import json

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from xlsx_tool.catalog.eligibility import INPUT_ROWS, YES, EligibilityInputs, check
from xlsx_tool.catalog.entity import Entity
from xlsx_tool.catalog.loading import load_shipped_catalog
from xlsx_tool.cli import main
from xlsx_tool.read.openpyxl_engine import read_eligibility_inputs
from xlsx_tool.workbook.meta import ELIGIBILITY_SHEET, eligibility_cells
from xlsx_tool.workbook.recalc import recalculate
from xlsx_tool.workbook.writer import write_workbook

BASE = dict(budget_this_year=1000, settlement_last_year=1000, amended_application=1100, budget_last_year=1050)

CASES = {  # name -> (inputs, eligible, decided_by)
    "1_increase": (dict(BASE, budget_this_year=1001), True, "(1)"),
    "1_equal_is_not_increase": (dict(BASE), False, ""),
    "1_transfer_counts": (dict(BASE, transfer_to_multilayer=1), True, "(1)"),
    "1_lowest_of_three": (dict(BASE, budget_this_year=1060, settlement_last_year=1200, amended_application=1070,
                               budget_last_year=1050), True, "(1)"),
    "2_at_cap_with_extra": (dict(BASE, at_cap=True, extra_this_year=50, extra_last_year=49), True, "(2)"),
    "2_at_cap_extra_equal": (dict(BASE, at_cap=True, extra_this_year=50, extra_last_year=50), False, ""),
    "2_not_at_cap_extra_ignored": (dict(BASE, extra_this_year=50), False, ""),
    "3_budget_falls_less_than_insured": (dict(BASE, budget_this_year=990, insured_last_year_end=980,
                                              insured_year_before_end=1000), True, "(3)"),  # 1% < 2%
    "3_equal_rates": (dict(BASE, budget_this_year=980, insured_last_year_end=980,
                           insured_year_before_end=1000), False, ""),  # 2% == 2%
    "3_insured_not_falling": (dict(BASE, budget_this_year=990, insured_last_year_end=1000,
                                   insured_year_before_end=1000), False, ""),
    "4_new_programme": (dict(BASE, budget_this_year=900, new_or_expanded=True), True, "(4)"),
    "4_after_3_fails": (dict(BASE, budget_this_year=900, insured_last_year_end=990, insured_year_before_end=1000,
                             new_or_expanded=True), True, "(4)"),
    "none": (dict(BASE, budget_this_year=900), False, ""),
    "missing_inputs": (dict(budget_this_year=1000, settlement_last_year=900), None, ""),
}


@pytest.mark.parametrize("name", CASES)
def test_each_branch(name):
    inputs, eligible, decided = CASES[name]
    result = check(EligibilityInputs(**inputs))
    assert (result.eligible, result.decided_by) == (eligible, decided)


def test_cli_flags_and_json():
    result = CliRunner().invoke(main, ["eligibility", "--budget", "990", "--settlement", "1000", "--amended", "1100",
                                       "--last-budget", "1050", "--insured", "980", "--insured-before", "1000",
                                       "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["eligible"] is True and data["decided_by"] == "(3)" and data["baseline"] == 1000


def _fill(template, path, inputs):
    wb = load_workbook(template)
    ws = wb[ELIGIBILITY_SHEET]
    for (field, _, kind), ref in zip(INPUT_ROWS, eligibility_cells().values()):
        value = inputs.get(field)
        ws[ref] = (YES if value else None) if kind == "yesno" else value
    wb.save(path)
    return path


@pytest.mark.libreoffice
def test_sheet_formulas_equal_the_python_check(tmp_path, soffice):
    cat = load_shipped_catalog("R8", "municipality")
    template = write_workbook(cat, Entity(name="テスト町", code="1"), tmp_path / "template.xlsx")
    files = {name: _fill(template, tmp_path / f"{name}.xlsx", inputs) for name, (inputs, *_) in CASES.items()}
    out = {p.stem: p for p in recalculate(list(files.values()), tmp_path / "lo")}
    for name, (inputs, eligible, decided) in CASES.items():
        assert read_eligibility_inputs(files[name]) == EligibilityInputs(
            **{"transfer_to_multilayer": 0, "extra_this_year": 0, "extra_last_year": 0, **inputs})
        wb = load_workbook(out[name], data_only=True)
        got = {}
        for key in ("current", "baseline", "decided_by", "verdict"):
            (sheet, coord), = list(wb.defined_names[f"eligibility_{key}"].destinations)
            got[key] = wb[sheet][coord.replace("$", "")].value
        expected = check(EligibilityInputs(**inputs))
        verdict = {True: "交付対象", False: "交付対象外", None: "入力不足"}[expected.eligible]
        assert got["verdict"] == verdict, (name, got)
        assert (got["decided_by"] or "") == expected.decided_by, (name, got)
        if expected.current is not None:
            assert (got["current"], got["baseline"]) == (expected.current, expected.baseline), name


# Issue 18 item 6: what seed 002 says about each test, next to that test's row. The phrases are the seed's
# own words (checked against the seed file), keyed by words of the row's label as staff read it.
SEED_GUIDANCE = {
    "当該年度当初予算": ["当該年度当初予算における地域支援事業の事業費全額", "寄付金その他収入も含む",
                        "重層的支援体制整備事業への移行分の額"],
    "前年度決算額": ["前年度決算額・変更交付申請後額・前年度当初予算における地域支援事業の事業費全額のうちいづれか低い額"],
    "上限に係っている": ["地域支援事業の上限に係っている場合は、①と②の丈比べの際に保健福祉事業・一般会計事業",
                       "を追加してもよい"],
    "前年度末の第1号被保険者数": ["第1号被保険者数の減少率", "（1）の減少率のほうが小さかった場合は交付の対象とする"],
    "新規事業": ["当該年度中の補正予算で実施する予定の場合も含む",
                "事業費全体の増減に関わらず、一部拡充（人数、回数の増など）があれば該当",
                "地域支援事業のうち支援交付金の宛先+推進交付金の市町村特別給付・保健福祉事業・一般会計充当分"],
}


def _seed_002() -> str:
    import re

    from shared_paths import SEEDS, shared_file

    (path,) = sorted(shared_file(SEEDS).glob("002_*.txt"))
    return re.sub(r"\s+", "", path.read_text(encoding="utf-8"))


def test_eligibility_sheet_quotes_seed_002_beside_each_test(tmp_path):
    import re

    seed = _seed_002()
    cat = load_shipped_catalog("R8", "municipality")
    ws = load_workbook(write_workbook(cat, Entity(name="テスト町", code="1"), tmp_path / "b.xlsx"))[ELIGIBILITY_SHEET]
    rows = {r[1]: " ".join(str(v) for v in (r[0], *r[2:]) if isinstance(v, str))
            for r in ws.iter_rows(values_only=True) if isinstance(r[1], str)}  # label -> the other cells' text
    for words, phrases in SEED_GUIDANCE.items():
        (label,) = [label for label in rows if words in label]  # the one row of that test
        for phrase in phrases:
            assert phrase in seed, phrase  # the seed's own words
            assert phrase in rows[label] and "（資料002）" in rows[label], (label, phrase)
            assert [other for other in rows if phrase in rows[other]] == [label], phrase  # beside that row only
    quoted = re.findall(r"「([^」]+)」", " ".join(rows.values()))
    assert len(quoted) >= 8 and all(q in seed for q in quoted), [q for q in quoted if q not in seed]
