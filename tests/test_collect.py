"""Batch collection over a corpus the tests generate: good books, LibreOffice-saved books, and
every kind of bad file. Every file accounted for, totals equal the scorer's, sources untouched."""

import csv
import hashlib
import itertools
import json
import random
import shutil
import time
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import Workbook, load_workbook

from xlsx_tool.catalog.entity import Entity
from xlsx_tool.catalog.loading import load_shipped_catalog
from xlsx_tool.catalog.rules import is_met
from xlsx_tool.cli import main
from xlsx_tool.scoring.scorer import score
from xlsx_tool.workbook.filler import fill_workbook, random_answers
from xlsx_tool.workbook.recalc import recalculate
from xlsx_tool.workbook.writer import write_workbook

YEAR, KIND = "R8", "municipality"
CAT = load_shipped_catalog(YEAR, KIND)
INJECTION = ("=", "+", "-", "@", "\t", "\r")
DOCTYPE = b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'

# file name -> (expected status, a phrase of the reason); code = roster code of the entity
EXPECTED = {
    "01_ok.xlsx": ("accepted", ""),
    "02_ok.xlsm": ("accepted", ""),
    "03_ok.xlsx": ("accepted", ""),
    "04_blanks.xlsx": ("warning", "未回答"),
    "05_libreoffice.xlsx": ("accepted", ""),
    "06_old.xlsx": ("rejected", "より新しく保存された 06_new.xlsx を採用"),
    "06_new.xlsx": ("accepted", ""),
    "09_pasted.xlsx": ("rejected", "入力できない回答が 1 件"),
    "10_renamed_sheet.xlsx": ("rejected", "シート「推進交付金」がありません"),
    "11_last_year.xlsx": ("rejected", "年度または区分が異なります"),
    "12_old_format.xls": ("rejected", "旧形式の Excel ブック (.xls)"),
    "13_encrypted.xlsx": ("rejected", "暗号化"),
    "14_broken_download.xlsx": ("rejected", "壊れています"),
    "15_csv_renamed.xlsx": ("rejected", "テキスト（CSV など）"),
    "16_empty.xlsx": ("rejected", "空のファイル"),
    "17_zip_bomb.xlsx": ("rejected", "zip 爆弾"),
    "18_xml_entities.xlsx": ("rejected", "XML エンティティ攻撃"),
    "19_formula_changed.xlsx": ("rejected", "計算式または固定の文字が変更されています"),
    "20_row_inserted.xlsx": ("rejected", "行が挿入または削除"),
    "21_not_in_roster.xlsx": ("rejected", "名簿にありません"),
    "22_foreign.xlsx": ("rejected", "このツールで作成した自己評価シートではありません"),
    "sub/23_ok_in_subfolder.xlsx": ("accepted", ""),
    "notes.txt": ("rejected", "Excel ブックではありません"),
}


def _roster(path: Path) -> Path:
    names = {f"{i:02d}": f"町{i:02d}" for i in range(1, 24)}
    names["03"] = "=HYPERLINK(\"http://x\",\"x\")"  # hostile text must never reach an output as a formula
    names["04"] = "𠮷野町"  # not in cp932
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["団体コード", "団体名", "都道府県", "第1号被保険者数"])
        for code, name in names.items():
            w.writerow([code, name, "テスト県", 1000 * int(code)])
    return path


_SERIAL = itertools.count()


def _book(tmp: Path, code: str, answers: dict, year: str = YEAR) -> Path:
    cat = load_shipped_catalog(year, KIND)
    template = write_workbook(cat, Entity(name=f"町{code}", code=code, prefecture="テスト県"),
                              tmp / "templates" / f"{year}_{code}.xlsx")
    return fill_workbook(template, answers, tmp / "filled" / f"{year}_{code}_{next(_SERIAL)}.xlsx", cat)


def _rewrite_zip(src: Path, dst: Path, member: str, transform) -> None:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info)
            zout.writestr(info, transform(data) if info.filename == member else data)


def _complete(rng) -> dict:
    return random_answers(CAT, rng, blank_rate=0.0)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, soffice):
    tmp = tmp_path_factory.mktemp("collect")
    inbox = tmp / "inbox"
    (inbox / "sub").mkdir(parents=True)
    rng = random.Random(5)
    answers = {}

    def put(name, code, ans):
        answers[name] = ans
        shutil.copy(_book(tmp, code, ans), inbox / name)

    for name, code in [("01_ok.xlsx", "01"), ("02_ok.xlsm", "02"), ("03_ok.xlsx", "03"),
                       ("sub/23_ok_in_subfolder.xlsx", "23")]:
        put(name, code, _complete(rng))
    put("04_blanks.xlsx", "04", random_answers(CAT, rng, blank_rate=0.4))
    lo_src = _book(tmp, "05", ans5 := _complete(rng))
    (lo_out,) = recalculate([lo_src], tmp / "lo")
    shutil.copy(lo_out, inbox / "05_libreoffice.xlsx")
    answers["05_libreoffice.xlsx"] = ans5
    put("06_old.xlsx", "06", _complete(rng))
    time.sleep(1.1)  # the newer version is saved later (the workbook records its save time)
    put("06_new.xlsx", "06", _complete(rng))
    bad = _complete(rng)
    bad[CAT.answer_ids()[0]] = "○"
    put("09_pasted.xlsx", "09", bad)
    wb = load_workbook(_book(tmp, "10", _complete(rng)))
    wb["推進交付金"].title = "推進"
    wb.save(inbox / "10_renamed_sheet.xlsx")
    r7 = load_shipped_catalog("R7", KIND)
    shutil.copy(_book(tmp, "11", random_answers(r7, rng, 0.0), year="R7"), inbox / "11_last_year.xlsx")
    (inbox / "12_old_format.xls").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(1024))
    (inbox / "13_encrypted.xlsx").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512)
                                              + "EncryptionInfo".encode("utf-16-le") + bytes(512))
    good = _book(tmp, "14", _complete(rng))
    (inbox / "14_broken_download.xlsx").write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    (inbox / "15_csv_renamed.xlsx").write_text("団体コード,合計\n15,500\n", encoding="cp932")
    (inbox / "16_empty.xlsx").write_bytes(b"")
    with zipfile.ZipFile(inbox / "17_zip_bomb.xlsx", "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", "<workbook/>")
        with z.open("xl/worksheets/sheet1.xml", "w") as fh:
            for _ in range(40):
                fh.write(bytes(1024 * 1024))
    _rewrite_zip(_book(tmp, "18", _complete(rng)), inbox / "18_xml_entities.xlsx", "xl/workbook.xml",
                 lambda d: DOCTYPE + d.split(b"?>", 1)[-1])
    wb = load_workbook(_book(tmp, "19", _complete(rng)))
    ws = wb["推進交付金"]
    cell = next(c for c in ws["E"] if isinstance(c.value, str) and c.value.startswith("=MIN("))
    cell.value = "=16"
    wb.save(inbox / "19_formula_changed.xlsx")
    wb = load_workbook(_book(tmp, "20", _complete(rng)))
    wb["支援交付金"].insert_rows(6)
    wb.save(inbox / "20_row_inserted.xlsx")
    shutil.copy(_book(tmp, "99", _complete(rng)), inbox / "21_not_in_roster.xlsx")
    Workbook().save(inbox / "22_foreign.xlsx")
    (inbox / "notes.txt").write_text("提出物一覧メモ", encoding="utf-8")
    roster = _roster(tmp / "roster.csv")
    digests = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in inbox.rglob("*") if p.is_file()}
    out = tmp / "out"
    result = CliRunner().invoke(main, ["collect", str(inbox), "--roster", str(roster), "--out", str(out),
                                       "--year", YEAR, "--workers", "2"])
    return {"inbox": inbox, "out": out, "result": result, "answers": answers, "digests": digests, "roster": roster}


pytestmark = pytest.mark.libreoffice


def test_every_file_is_accounted_for_with_its_status(corpus):
    assert corpus["result"].exit_code == 0, corpus["result"].output
    data = json.loads((corpus["out"] / "collect.json").read_text(encoding="utf-8"))
    got = {str(Path(d["file"]).relative_to(corpus["inbox"])): d for d in data}
    assert set(got) == set(EXPECTED)
    for name, (status, phrase) in EXPECTED.items():
        assert got[name]["status"] == status, (name, got[name])
        assert phrase in got[name]["reason"], (name, got[name]["reason"])
    counts = {s: sum(d["status"] == s for d in data) for s in ("accepted", "warning", "rejected")}
    assert f"受理 {counts['accepted']} ／ 注意あり {counts['warning']} ／ 不受理 {counts['rejected']}" in \
        corpus["result"].output
    assert f"見つかったファイル {len(EXPECTED)}" in corpus["result"].output
    assert got["19_formula_changed.xlsx"]["code"] == "19" and got["11_last_year.xlsx"]["code"] == "11"


def test_valid_books_totals_equal_the_scorer(corpus):
    data = {str(Path(d["file"]).relative_to(corpus["inbox"])): d
            for d in json.loads((corpus["out"] / "collect.json").read_text(encoding="utf-8"))}
    for name, answers in corpus["answers"].items():
        if EXPECTED[name][0] != "rejected":
            assert data[name]["total"] == score(CAT, answers).total, name


def _csv(corpus, name):
    with (corpus["out"] / name).open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.reader(fh))


def test_implementation_rates_equal_counts(corpus):
    kept = [a for n, a in corpus["answers"].items() if EXPECTED[n][0] != "rejected"]
    rows = _csv(corpus, "実施率.csv")
    header, body = rows[0], rows[1:]
    sub_ids = [aid for aid in CAT.answer_ids() if any(aid == s.id for *_, i in CAT.indicators() for s in i.subitems)]
    assert sub_ids, "the R8 catalog has sub-items"
    by_order = dict(zip(CAT.answer_ids(), body))
    levels = {s.id: {b.label for b in s.bands} for *_, i in CAT.indicators() for s in i.subitems if s.bands}
    for aid in sub_ids:
        if aid in levels:  # a ladder counts once any of its levels is reached
            met = sum(isinstance(a.get(aid), str) and a[aid].strip() in levels[aid] for a in kept)
        else:
            met = sum(is_met(a.get(aid)) for a in kept)
        row = by_order[aid]
        assert int(row[header.index("該当数（小項目のない指標は平均点）")]) == met
        assert int(row[header.index("提出数")]) == len(kept) == 7
        assert float(row[header.index("実施率")]) == pytest.approx(met / len(kept))


def test_summary_book_lists_entities_and_missing_ones(corpus):
    wb = load_workbook(corpus["out"] / "集計結果.xlsx")
    assert wb.sheetnames[:4] == ["一覧", "回答一覧", "実施率", "要確認"]
    overview = {r[0]: r for r in wb["一覧"].iter_rows(min_row=2, values_only=True)}
    header = [c.value for c in wb["一覧"][1]]
    assert overview["06"][header.index("状態")] == "受理"
    assert overview["12"][header.index("状態")] == "未提出"
    review = [r for r in wb["要確認"].iter_rows(min_row=2, values_only=True)]
    assert sum(r[0] == "未提出" for r in review) == len({"07", "08", "09", "10", "11", "12", "13", "14", "15",
                                                         "16", "17", "18", "19", "20", "21", "22"})
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                assert c.data_type != "f", (ws.title, c.coordinate, c.value)


def test_no_csv_cell_can_act_as_a_formula(corpus):
    names = [p.name for p in corpus["out"].glob("*.csv")]
    assert sorted(names) == sorted(["一覧.csv", "回答一覧.csv", "実施率.csv", "要確認.csv", "結果.csv"])
    seen_hostile = False
    for name in names:
        for row in _csv(corpus, name):
            for cell in row:
                assert not cell.startswith(INJECTION), (name, cell)
                seen_hostile |= cell.startswith("'=HYPERLINK")
    assert seen_hostile, "the hostile roster name should appear, neutralised"


def test_sources_are_byte_identical_after_the_run(corpus):
    for path, digest in corpus["digests"].items():
        assert hashlib.sha256(path.read_bytes()).hexdigest() == digest, path


def test_strict_and_cp932(corpus, tmp_path):
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["collect", str(corpus["inbox"] / "01_ok.xlsx"), str(corpus["inbox"] / "16_empty.xlsx"),
                                       "--roster", str(corpus["roster"]), "--out", str(out), "--strict",
                                       "--encoding", "cp932", "--workers", "1"])
    assert result.exit_code == 1
    assert "𠮷" in result.output and "cp932 で表せない文字" in result.output
    assert (out / "一覧.csv").read_bytes().decode("cp932").count("?野町") == 1


def test_reader_scores_a_book_saved_again_by_libreoffice(corpus):
    from xlsx_tool.read.openpyxl_engine import read_book

    cat, contents = read_book(corpus["inbox"] / "05_libreoffice.xlsx")
    assert cat.id == CAT.id
    assert contents.answers == corpus["answers"]["05_libreoffice.xlsx"]
    assert score(cat, contents.answers).total == score(CAT, corpus["answers"]["05_libreoffice.xlsx"]).total


def test_previous_year_rates_from_the_roster(tmp_path):
    rng = random.Random(9)
    r7 = load_shipped_catalog("R7", KIND)
    prev = [random_answers(r7, rng, 0.0) for _ in range(3)]
    cur = [random_answers(CAT, rng, 0.0) for _ in range(3)]
    lines = ["code,name,previous"]
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for i in range(3):
        code = f"0{i + 1}"
        shutil.copy(_book(tmp_path, code, prev[i], year="R7"), tmp_path / f"prev_{code}.xlsx")
        shutil.copy(_book(tmp_path, code, cur[i]), inbox / f"{code}.xlsx")
        lines.append(f"{code},町{code},prev_{code}.xlsx")
    (tmp_path / "roster.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["collect", str(inbox), "--roster", str(tmp_path / "roster.csv"),
                                       "--out", str(out), "--workers", "1"])
    assert result.exit_code == 0, result.output
    with (out / "実施率.csv").open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    header, by_id = rows[0], dict(zip(CAT.answer_ids(), rows[1:]))
    aid = "P1-p1-a"  # a sub-item in both years
    before = sum(is_met(p.get(aid)) for p in prev) / 3
    after = sum(is_met(c.get(aid)) for c in cur) / 3
    assert float(by_id[aid][header.index("前年度実施率")]) == pytest.approx(before)
    assert float(by_id[aid][header.index("増減")]) == pytest.approx(after - before)


def test_rates_of_figure_indicators_are_mean_points_not_raw_figures():
    from catalog_fixtures import ratio_catalog

    from xlsx_tool.catalog.loading import parse_catalog
    from xlsx_tool.collect.outputs import implementation_rates

    cat = parse_catalog(ratio_catalog(), "ratio")
    sets = [{"P1-a1-num": 29, "P1-a1-den": 50}, {"P1-a1-num": 15, "P1-a1-den": 50}]  # 58 % → 6, 30 % → 2
    assert implementation_rates(cat, sets) == {"P1-a1": (6 + 2) / 2 / 6}


def test_a_folder_that_does_not_exist_is_an_error_not_an_empty_collection(tmp_path):
    """An empty result would list every municipality as not submitted; nothing is written instead."""
    (tmp_path / "inbox").mkdir()
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["collect", str(tmp_path / "inbox"), str(tmp_path / "回収済み"),
                                       "--out", str(out)])
    assert result.exit_code == 2
    assert "回収済み」が見つかりません" in "".join(result.output.split()) and not out.exists()
