"""Catalog ⇄ workbook: lossless round trip, every error located at its sheet/row/column, the CLI."""

import pytest
import yaml
from catalog_fixtures import rules_catalog
from click.testing import CliRunner
from conftest import all_catalogs
from openpyxl import load_workbook

from xlsx_tool.catalog.excel_export import INDICATORS, SUBITEMS, read_catalog_xlsx, write_catalog_xlsx, write_catalog_yaml
from xlsx_tool.catalog.excel_import import CatalogSheetError
from xlsx_tool.catalog.loading import CatalogError, load_catalog_file, load_shipped_catalog, parse_catalog
from xlsx_tool.cli import main

CATALOGS = all_catalogs()


@pytest.mark.parametrize("cat", CATALOGS, ids=[c.id for c in CATALOGS])
def test_export_import_keeps_the_content_hash(tmp_path, cat):
    book = write_catalog_xlsx(cat, tmp_path / f"{cat.id}.xlsx")
    back = read_catalog_xlsx(book)
    assert back.content_hash() == cat.content_hash()
    yaml_path = write_catalog_yaml(back, tmp_path / f"{cat.id}.yaml")
    assert load_catalog_file(yaml_path).content_hash() == cat.content_hash()


def test_rules_catalog_round_trip_keeps_tiers_thresholds_requires_and_cap(tmp_path):
    cat = parse_catalog(rules_catalog(), "rules_catalog")
    back = read_catalog_xlsx(write_catalog_xlsx(cat, tmp_path / "rules.xlsx"))
    inds = {i.id: i for *_, i in back.indicators()}
    assert inds["P1-p1"].rule.cap == 12
    assert [(t.met, t.points) for t in inds["P1-p3"].rule.tiers] == [(1, 2), (3, 5), (5, 8)]
    assert [(t.min, t.points) for t in inds["P1-a1"].rule.thresholds] == [(10, 2), (25.5, 4), (50, 6)]
    assert inds["P1-a1"].rule.unit == "%" and inds["P1-a2"].rule.step == 3
    assert inds["P1-p2"].subitems[1].requires == "P1-p2-a"
    assert back == cat


def test_workbook_has_the_sheets_dropdowns_and_readme(tmp_path):
    book = write_catalog_xlsx(load_shipped_catalog("R7", "municipality"), tmp_path / "r7.xlsx")
    wb = load_workbook(book)
    assert wb.sheetnames == ["説明", "カタログ", "交付金", "目標・指標群", "指標", "小項目", "採点区分", "段階"]
    lists = {}
    for ws in wb.worksheets:
        for dv in ws.data_validations.dataValidation:
            if dv.type == "list":
                assert dv.showErrorMessage
                lists[(ws.title, str(dv.sqref).split(":")[0])] = dv.formula1
    assert lists[("カタログ", "B5")] == '"municipality,prefecture"'
    assert lists[("目標・指標群", "F2")] == '"process,activity,outcome,combined"'
    assert lists[("指標", "G2")] == '"sum,tiers,thresholds,direct,levels"'
    assert lists[("指標", f"{INDICATORS.letter('status')}2")] == '"published,assumed,not_in_sources"'
    assert lists[("小項目", "G2")] == '"published,assumed,not_in_sources"'
    readme = " ".join(str(c.value) for row in wb["説明"].iter_rows() for c in row if c.value)
    for name in wb.sheetnames[1:]:
        headers = [c.value for c in wb[name][1]] if name != "カタログ" else \
            [r[0].value for r in wb[name].iter_rows(min_row=2)]
        assert all(h in readme for h in headers), name


def test_long_notes_with_line_breaks_survive(tmp_path):
    data = rules_catalog()
    note = ("【留意点】\n○ 長い留意点。" * 3000)[:32767]
    data["grants"][0]["goals"][0]["groups"][0]["indicators"][0]["notes"] = note
    book = write_catalog_xlsx(parse_catalog(data, "long"), tmp_path / "long.xlsx")
    assert load_workbook(book)["指標"][f"{INDICATORS.letter('notes')}2"].value == note
    assert next(read_catalog_xlsx(book).indicators())[3].notes == note


def test_text_longer_than_a_cell_is_refused_at_export(tmp_path):
    data = rules_catalog()
    data["grants"][0]["goals"][0]["groups"][0]["indicators"][0]["notes"] = "あ" * 32768
    with pytest.raises(CatalogError, match="32767"):
        write_catalog_xlsx(parse_catalog(data, "too long"), tmp_path / "x.xlsx")
    assert not (tmp_path / "x.xlsx").exists()


def test_content_the_workbook_cannot_hold_is_refused_at_export(tmp_path):
    data = rules_catalog()
    data["provenance"]["sources"] = ["002, 別表"]  # 出典資料 is a comma-separated list
    with pytest.raises(CatalogError, match=r"provenance\.sources: ブックの様式に入らない内容です"):
        write_catalog_xlsx(parse_catalog(data, "comma"), tmp_path / "x.xlsx")
    assert not (tmp_path / "x.xlsx").exists()


# -- errors: every one, at its cell --------------------------------------------------------

def _edited(tmp_path, cat, edits) -> str:
    """Export `cat`, then set cells: edits = {(sheet, cell): value}."""
    book = write_catalog_xlsx(cat, tmp_path / "edited.xlsx")
    wb = load_workbook(book)
    for (sheet, ref), value in edits.items():
        wb[sheet][ref] = value
    wb.save(book)
    return str(book)


def _located_errors(book) -> list[tuple[str, int, str]]:
    with pytest.raises(CatalogSheetError) as info:
        read_catalog_xlsx(book)
    return [(c.loc.sheet, c.loc.row, c.loc.column) for c in info.value.cells]


def test_several_errors_are_reported_at_once_each_at_its_cell(tmp_path):
    cat = load_shipped_catalog("R7", "municipality")
    wb = load_workbook(write_catalog_xlsx(cat, tmp_path / "orig.xlsx"))
    assert [wb["指標"][f"A{r}"].value for r in (3, 5)] == ["P1-p2", "P1-p4"]
    assert [wb["小項目"][f"A{r}"].value for r in (2, 3, 4)] == ["P1-p1-a", "P1-p1-i", "P1-p1-u"]
    assert (wb["目標・指標群"]["B2"].value, wb["目標・指標群"]["F2"].value) == ("P1", "process")
    book = _edited(tmp_path, cat, {
        ("指標", "F3"): 15,  # P1-p2 16 → 15: P1 process no longer adds up to 64
        ("小項目", "A3"): "P1-p1-a",  # duplicate id
        ("指標", "G5"): "bonus",  # unknown rule
        ("小項目", "D4"): None,  # blank text
    })
    with pytest.raises(CatalogSheetError) as info:
        read_catalog_xlsx(book)
    cells = info.value.cells
    assert [(c.loc.sheet, c.loc.row, c.loc.column, c.loc.header) for c in cells] == [
        ("目標・指標群", 2, "G", "指標群配点"),
        ("指標", 5, "G", "採点方法"),
        ("小項目", 3, "A", "小項目id"),
        ("小項目", 4, "D", "小項目"),
    ]
    assert "64" in cells[0].message and "63" in cells[0].message
    assert "bonus" in cells[1].message and "thresholds" in cells[1].fix
    assert "重複" in cells[2].message and "2 行目" in cells[2].message
    assert cells[3].message == "空欄です"
    assert all(c.fix for c in cells)
    assert str(cells[1]).startswith("シート「指標」 5 行目 G 列（採点方法）: ")
    assert book in str(info.value)


def test_rule_table_parents_and_cell_formats_are_checked(tmp_path):
    cat = parse_catalog(rules_catalog(), "rules_catalog")
    wb = load_workbook(write_catalog_xlsx(cat, tmp_path / "orig.xlsx"))
    assert [wb["採点区分"][f"A{r}"].value for r in (3, 6)] == ["P1-p3", "P1-a1"]
    assert wb["カタログ"]["A4"].value == "年度" and wb["指標"]["A6"].value == "P1-a2"
    assert (wb["小項目"]["A7"].value, wb["小項目"]["F7"].value) == ("P1-p2-b", "P1-p2-a")
    book = _edited(tmp_path, cat, {
        ("採点区分", "B3"): None,  # a tier without 該当数
        ("採点区分", "B6"): 2,  # 該当数 on a threshold row
        ("小項目", "B2"): "P1-zz",  # unknown parent indicator
        ("指標", "H2"): "abc",  # non-integer cap
        ("指標", "F6"): "十二",  # non-integer points
        ("目標・指標群", "D3"): "別の名前",  # same goal, different name
        ("カタログ", "B4"): "2025",  # not R<n>
        ("指標", "E7"): "=A1",  # a formula
        ("小項目", "F7"): "P1-p1-b",  # requires a sub-item of another indicator (found by the validator)
    })
    assert _located_errors(book) == [
        ("カタログ", 4, "B"),
        ("目標・指標群", 3, "D"),
        ("指標", 2, "H"),
        ("指標", 6, "F"),
        ("指標", 7, "E"),
        ("小項目", 2, "B"),
        ("小項目", 7, "F"),
        ("採点区分", 3, "B"),
        ("採点区分", 6, "B"),
    ]


def test_rule_problems_found_by_the_validator_point_at_the_cell_concerned(tmp_path):
    cat = parse_catalog(rules_catalog(), "rules_catalog")
    book = _edited(tmp_path, cat, {
        ("指標", "H2"): 14,  # P1-p1 cap above its 12 points
        ("指標", "I6"): 5,  # P1-a2: 12 points not in steps of 5
        ("採点区分", "B4"): 6,  # P1-p3 top tier needs 6 of its 5 sub-items
        ("採点区分", "D7"): 5,  # P1-a1 top threshold gives 5 of its 6 points
        ("小項目", "E8"): 3,  # points on a sub-item of a tiers indicator
    })
    with pytest.raises(CatalogSheetError) as info:
        read_catalog_xlsx(book)
    got = [(c.loc.sheet, c.loc.row, c.loc.column) for c in info.value.cells]
    assert got == [("指標", 2, "H"), ("指標", 4, "G"), ("指標", 6, "I"), ("採点区分", 4, "B"), ("採点区分", 7, "D")]
    assert "小項目の points" in info.value.cells[1].fix and "met 6" in info.value.cells[3].message


def test_ratio_of_a_thresholds_rule_round_trips_and_needs_both_parts(tmp_path):
    data = rules_catalog()
    rule = data["grants"][0]["goals"][0]["groups"][1]["indicators"][0]["rule"]
    rule["ratio"] = {"numerator": "認知症サポーター数（人）", "denominator": "高齢者人口（人）", "per": 1000}
    cat = parse_catalog(data, "ratio")
    assert read_catalog_xlsx(write_catalog_xlsx(cat, tmp_path / "ratio.xlsx")).content_hash() == cat.content_hash()
    denominator = INDICATORS.letter("ratio_denominator")
    book = _edited(tmp_path, cat, {("指標", f"{denominator}5"): None})  # row 5: P1-a1
    assert _located_errors(book) == [("指標", 5, denominator)]


def test_sums_that_depend_on_a_reported_cell_are_deferred(tmp_path):
    cat = load_shipped_catalog("R7", "municipality")
    book = _edited(tmp_path, cat, {("指標", "B8"): "P9"})  # an indicator pointing to no goal
    with pytest.raises(CatalogSheetError) as info:
        read_catalog_xlsx(book)
    assert [(c.loc.sheet, c.loc.row, c.loc.column) for c in info.value.cells] == [("指標", 8, "B")]
    assert info.value.deferred >= 1  # its group no longer adds up; reported once the row is fixed


def test_missing_sheet_and_header_are_reported(tmp_path):
    cat = parse_catalog(rules_catalog(), "rules_catalog")
    book = write_catalog_xlsx(cat, tmp_path / "orig.xlsx")
    wb = load_workbook(book)
    wb["指標"]["G1"] = "採点"
    wb.save(book)
    assert _located_errors(book) == [("指標", 1, None)]
    del wb["採点区分"]
    wb.save(book)
    assert _located_errors(book) == [("採点区分", None, None)]


# -- the command line ------------------------------------------------------------------------

def test_cli_export_edit_import_validate_generate(tmp_path):
    """A prefecture puts the official sub-item texts of MHLW's survey form over the tally's short titles,
    once, and generates its municipalities' books from the result."""
    runner = CliRunner()
    book = tmp_path / "r8.xlsx"
    result = runner.invoke(main, ["catalog", "export", "--year", "R8", "--kind", "municipality", "--out", str(book)])
    assert result.exit_code == 0, result.output
    wb = load_workbook(book)
    subs = wb["小項目"]
    text_col, short_col = SUBITEMS.letter("text"), SUBITEMS.letter("short_title")
    rows = [r for r in range(2, subs.max_row + 1) if subs[f"B{r}"].value == "P1-p3"]
    assert len(rows) == 16 and all(subs[f"{short_col}{r}"].value == "short" for r in rows)
    for r in rows:
        subs[f"{text_col}{r}"] = f"公式の小項目 {subs[f'C{r}'].value}\n（2 行目）"
        subs[f"{short_col}{r}"] = None
    wb.save(book)
    out = tmp_path / "pref.yaml"
    result = runner.invoke(main, ["catalog", "import", str(book), "--out", str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert "公式の小項目 ア①" in text and "\\u" not in text and "text: |-" in text  # unicode, block style
    cat = load_catalog_file(out)
    p3 = next(i for *_, i in cat.indicators() if i.id == "P1-p3")
    assert p3.subitems[0].text == "公式の小項目 ア①\n（2 行目）" and not p3.subitems[0].short_title
    shipped = load_shipped_catalog("R8", "municipality")
    assert cat.answer_ids() == shipped.answer_ids()  # only texts changed: the same answers, points, rates
    assert [s.national for s in p3.subitems] == [s.national for s in next(
        i for *_, i in shipped.indicators() if i.id == "P1-p3").subitems]
    assert runner.invoke(main, ["catalog", "validate", str(out)]).exit_code == 0
    result = runner.invoke(main, ["generate", "--catalog", str(out), "--out", str(tmp_path / "books")])
    assert result.exit_code == 0, result.output
    generated = load_workbook(next((tmp_path / "books").glob("*.xlsx")))
    texts = [c.value for c in generated["推進交付金"]["B"] if isinstance(c.value, str)]
    assert "公式の小項目 ア①\n（2 行目）" in texts
    assert not any(t.endswith("施策の実施状況の把握・改善 ア①") for t in texts)  # no short title left there


def test_cli_import_reports_errors_with_exit_status_1(tmp_path):
    cat = load_shipped_catalog("R8", "municipality")
    book = _edited(tmp_path, cat, {("指標", "F3"): "x", ("小項目", "D2"): None})
    out = tmp_path / "never.yaml"
    result = CliRunner().invoke(main, ["catalog", "import", book, "--out", str(out)])
    assert result.exit_code == 1
    assert book in result.output and "(2 件)" in result.output
    assert "シート「指標」 3 行目 F 列（配点）: 整数ではありません" in result.output
    assert "シート「小項目」 2 行目 D 列（小項目）: 空欄です" in result.output
    assert not out.exists()


def test_cli_import_of_a_file_that_is_not_a_workbook(tmp_path):
    bad = tmp_path / "notes.xlsx"
    bad.write_text("not a workbook", encoding="utf-8")
    result = CliRunner().invoke(main, ["catalog", "import", str(bad)])
    assert result.exit_code == 1 and str(bad) in result.output
    assert CliRunner().invoke(main, ["catalog", "import", str(tmp_path / "missing.xlsx")]).exit_code == 1


def test_cli_export_defaults_and_refusals(tmp_path, monkeypatch):
    runner = CliRunner()
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(main, ["catalog", "export", "--year", "R8", "--kind", "prefecture"])
    assert result.exit_code == 0, result.output
    assert read_catalog_xlsx(tmp_path / "R8-prefecture.xlsx").id == "R8-prefecture"
    assert runner.invoke(main, ["catalog", "export", "--year", "R3"]).exit_code == 2
    assert runner.invoke(main, ["catalog", "export", "--year", "R8", "--out", "x.yaml"]).exit_code == 2
    assert not (tmp_path / "x.yaml").exists()


def test_exported_yaml_is_readable_block_style(tmp_path):
    cat = load_shipped_catalog("R7", "municipality")
    path = write_catalog_yaml(cat, tmp_path / "r7.yaml", origin="r7.xlsx")
    text = path.read_text(encoding="utf-8")
    assert text.startswith(f"# {cat.title}\n") and "notes: |-\n" in text
    assert yaml.safe_load(text)["grants"][0]["goals"][0]["id"] == "P1"
