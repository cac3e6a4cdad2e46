"""Gap report in real engines: the xlsx report in LibreOffice, the HTML in headless Chromium."""

import shutil
import subprocess

import pytest
from openpyxl import load_workbook
from PIL import Image

from xlsx_tool.catalog.entity import Entity
from xlsx_tool.catalog.loading import load_shipped_catalog
from xlsx_tool.read.openpyxl_engine import read_book
from xlsx_tool.report.builder import report_for_book
from xlsx_tool.report.html import render_html
from xlsx_tool.report.sheet import KEY_COL, REPORT_SHEET, write_report_sheet
from xlsx_tool.scoring.scorer import score
from xlsx_tool.workbook.filler import extreme_answers, fill_workbook
from xlsx_tool.workbook.meta import input_sheet_names
from xlsx_tool.workbook.recalc import recalculate
from xlsx_tool.workbook.writer import write_workbook


@pytest.fixture()
def filled(tmp_path):
    cat = load_shipped_catalog("R8", "municipality")
    answers = extreme_answers(cat, best=True)
    answers.update({"P1-p1-i": "非該当", "P1-p1-u": None, "P1-p2-a": "非該当", "S1-p2-i": "非該当", "P4-o2-lv": "ア"})
    template = write_workbook(cat, Entity(name="平塚市", code="142034", prefecture="神奈川県", insured=73333),
                              tmp_path / "template.xlsx")
    return cat, fill_workbook(template, answers, tmp_path / "filled.xlsx", cat)


def _by_key(ws):
    return {ws[f"{KEY_COL}{r}"].value: [c.value for c in ws[r][:12]] for r in range(1, ws.max_row + 1)
            if ws[f"{KEY_COL}{r}"].value}


@pytest.mark.libreoffice
def test_xlsx_report_opens_in_libreoffice_with_the_scorer_figures(tmp_path, filled, soffice):
    cat, book = filled
    before = load_workbook(book)
    out = write_report_sheet(report_for_book(book), book, tmp_path / "report.xlsx")
    (converted,) = recalculate([out], tmp_path / "lo")
    wb = load_workbook(converted, data_only=True)
    rows = _by_key(wb[REPORT_SHEET])
    _, contents = read_book(book)
    res = score(cat, contents.answers)
    assert rows["headline:total"][2] == res.total
    assert rows["group:total"][3] == res.total and rows["group:total"][4] == 800
    for (goal, kind), value in res.groups.items():
        key = f"group:{goal}.{kind}" if f"group:{goal}.{kind}" in rows else f"group:{goal}"
        assert rows[key][3] == value, key
    missed = [k for k in rows if k.startswith("missed:")]
    # the next level of 目標Ⅳ-2 adds 5 under each grant (asked once, on the 推進 sheet); then the 4-point
    # sub-items, those most municipalities have first (R8 tally: 推進Ⅰ-2 ア 1,694, 推進Ⅰ-1 イ 1,690, ウ 1,680
    # of 1,741); 支援Ⅰ-2 イ adds 2
    assert missed == ["missed:P4-o2-lv", "missed:P1-p2-a", "missed:P1-p1-i", "missed:P1-p1-u", "missed:S1-p2-i"]
    assert [rows[k][3] for k in missed] == [10, 4, 4, 4, 2]
    # the live sheets still compute the same total after LibreOffice recalculated them
    names = wb.defined_names["score_total"].destinations
    (sheet, coord), = list(names)
    assert wb[sheet][coord.replace("$", "")].value == res.total
    # input sheets are untouched: every cell of every input sheet equal to the source book
    after = load_workbook(out)
    for sheet in input_sheet_names(cat).values():
        src = [[c.value for c in row] for row in before[sheet].iter_rows()]
        dst = [[c.value for c in row] for row in after[sheet].iter_rows()]
        assert src == dst, sheet
    assert after.sheetnames.index(REPORT_SHEET) == after.sheetnames.index("集計") + 1
    assert len(after[REPORT_SHEET]._charts) == 1


def test_xlsx_report_refuses_to_overwrite_its_source(filled):
    _, book = filled
    with pytest.raises(ValueError, match="元のブックは変更しません"):
        write_report_sheet(report_for_book(book), book, book)


def _chromium():
    return shutil.which("chromium") or shutil.which("chromium-browser")


def test_html_renders_in_headless_chromium(tmp_path, filled):
    chromium = _chromium()
    if chromium is None:
        pytest.fail("chromium is required: run the README's test command, which installs it")
    _, book = filled
    html = tmp_path / "report.html"
    html.write_text(render_html(report_for_book(book), generated_at="2026-11-25 10:00"), encoding="utf-8")
    png = tmp_path / "report.png"
    subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
                    f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={png}", "--window-size=900,2400",
                    html.as_uri()], check=True, capture_output=True, timeout=120)
    img = Image.open(png).convert("L")
    assert img.size == (900, 2400)
    dark = sum(img.histogram()[:128])
    assert dark > 0.01 * img.size[0] * img.size[1], "the page looks blank"
    assert "http" not in html.read_text(encoding="utf-8").replace("http://www.w3.org/2000/svg", "")



def test_xlsx_report_writes_comparison_text_as_text(tmp_path, filled):
    cat, book = filled
    avg = tmp_path / "avg.csv"
    avg.write_text("key,mean,scope\nP1-p2,15,=1+1\n", encoding="utf-8")
    out = write_report_sheet(report_for_book(book, compare_files=[str(avg)]), book, tmp_path / "r.xlsx")
    ws = load_workbook(out)[REPORT_SHEET]
    cells = [c for row in ws.iter_rows() for c in row if c.value == "=1+1"]
    assert cells and all(c.data_type == "s" for c in cells)
    assert not [c for row in ws.iter_rows() for c in row if c.data_type == "f"]
