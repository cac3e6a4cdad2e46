"""Official results in the tally's layout (団体コード,年度,列番号,得点) filled into generated books: the
formulas (LibreOffice), the scorer and the sum of the given points agree group by group; rows that do not
fit are refused, each named by its row."""

from __future__ import annotations

import csv
import random
from collections import defaultdict

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from xlsx_tool.cli import main
from xlsx_tool.read.openpyxl_engine import read_book
from xlsx_tool.scoring.scorer import score
from xlsx_tool.workbook.meta import defined_name_for
from xlsx_tool.workbook.recalc import recalculate

from shared_paths import TALLY, shared_file  # noqa: E402

GRANTS = {"推進交付金": "promotion", "支援交付金": "support"}
GOALS = {("promotion", "Ⅰ"): "P1", ("promotion", "Ⅱ"): "P2", ("promotion", "Ⅲ"): "P3", ("promotion", "Ⅳ"): "P4",
         ("support", "Ⅰ"): "S1", ("support", "Ⅱ"): "S2", ("support", "Ⅲ"): "S3", ("support", "Ⅳ"): "S4"}


def tally_rows(year: str) -> list[dict]:
    with open(shared_file(TALLY), encoding="utf-8", newline="") as f:
        return [r for r in csv.DictReader(f) if r["年度"] == f"令和{year[1:]}年度" and r["指標群"]]


def _group(row: dict) -> tuple[str, str]:
    kind = "process" if "体制" in row["指標群"] else "activity" if "活動" in row["指標群"] else "outcome"
    return GOALS[(GRANTS[row["交付金"]], row["目標"].removeprefix("目標"))], kind


def official_result(year: str, seed: int) -> tuple[list[tuple[int, float]], dict[tuple[str, str], float]]:
    """A plausible result drawn from the tally: (列番号, 得点) rows and the points of every group.
    Process sub-items are met at random; each ladder reaches a random level (its lowest levels), and an
    indicator with several ladders scores on one of them only. 目標Ⅳ is given under 推進 only: the same
    items under 支援 carry the same points (the tally lists them twice)."""
    rng = random.Random(seed)
    ladders = defaultdict(list)  # (grant, goal, group, number, ladder) -> rows in level order
    for r in tally_rows(year):
        number, title, *labels = [p.strip() for p in r["指標"].split(" / ")]
        group = _group(r)
        ladder = labels[0] if len(labels) > 1 or group[1] == "process" else ""
        if group[1] == "process":
            ladder = "".join(labels)  # every process sub-item stands alone
        ladders[(group, number, ladder)].append(r)
    chosen = {}  # (group, number) -> the one ladder of a multi-ladder indicator that scores
    for group, number, ladder in ladders:
        if group[1] != "process":
            chosen.setdefault((group, number), [])
            chosen[(group, number)].append(ladder)
    pick = {k: rng.choice(v) for k, v in chosen.items()}
    rows, groups = [], defaultdict(float)
    for (group, number, ladder), members in ladders.items():
        if group[1] == "process":
            reached = rng.random() < 0.7
            levels = members if reached else []
        elif pick[(group, number)] != ladder:
            levels = []
        else:
            levels = members[:rng.randint(0, len(members))]
        for r in levels:
            if group[0] == "S4":
                continue  # given under 推進 only
            rows.append((int(r["列番号"]), float(r["配点"])))
            groups[group] += float(r["配点"])
            if group[0] == "P4":
                groups[("S4", "outcome")] += float(r["配点"])
    return rows, dict(groups)


def _flat(text: str) -> str:
    return "".join(text.split())


def _write(path, rows, code="142034", year="R8"):
    with open(path, "w", encoding="utf-8-sig", newline="") as f:
        w = csv.writer(f)
        w.writerow(["団体コード", "年度", "列番号", "得点"])
        w.writerows([code, year, column, f"{points:g}"] for column, points in rows)
    return path


@pytest.mark.libreoffice
def test_results_fill_books_whose_formulas_scorer_and_given_points_agree(tmp_path, soffice):
    books, expected = [], []
    for i, year in enumerate(("R6", "R7", "R8", "R8")):
        rows, groups = official_result(year, seed=i)
        code = ("142034", "142042", "142051", "142069")[i]  # 平塚, 鎌倉, 藤沢, 小田原: valid check digits
        path = _write(tmp_path / f"results{i}.csv", rows, code=code, year=f"令和{year[1:]}年度" if i % 2 else year)
        result = CliRunner().invoke(main, ["generate", "--year", year, "--code", code, "--name", "平塚市",
                                           "--results", str(path), "--out", str(tmp_path / f"out{i}")])
        assert result.exit_code == 0, result.output
        (book,) = (tmp_path / f"out{i}").glob("*.xlsx")
        books.append(book)
        expected.append(groups)
    for book, converted, groups in zip(books, recalculate(books, tmp_path / "lo"), expected):
        cat, contents = read_book(book)
        res = score(cat, contents.answers)
        assert not res.problems and all(v is not None for v in contents.answers.values())  # every cell answered
        wb = load_workbook(converted, data_only=True)
        for _, goal, group in cat.groups():
            key = (goal.id, group.kind.value)
            (sheet, coord), = list(wb.defined_names[defined_name_for(*key)].destinations)
            sheet_value = wb[sheet][coord.replace("$", "")].value
            assert sheet_value == res.groups[key] == groups.get(key, 0), (book.name, key)
        assert res.total == sum(groups.values())


def test_rows_that_do_not_fit_are_refused_each_by_its_row(tmp_path):
    rows, _ = official_result("R8", seed=9)
    by_column = {int(r["列番号"]): r for r in tally_rows("R8")}
    process = next(c for c, r in by_column.items() if "体制" in r["指標群"] and float(r["配点"]) == 4)
    ladder = [c for c, r in by_column.items() if r["指標"].startswith("1 / 今年度の評価点")]  # 推進Ⅰ活動1 ア–エ
    p4 = next(c for c, r in by_column.items() if r["交付金"] == "推進交付金" and r["目標"] == "目標Ⅳ")
    s4 = next(c for c, r in by_column.items() if r["交付金"] == "支援交付金" and r["目標"] == "目標Ⅳ"
              and r["指標"] == by_column[p4]["指標"])
    bad = [(999, 1.0), (process, 5.0), (ladder[2], 3.0), (p4, 5.0), (s4, 0.0)]  # ウ without ア, イ
    kept = [(c, p) for c, p in rows if c not in {process, p4, s4, *ladder}]
    path = _write(tmp_path / "bad.csv", kept + bad)
    with path.open("a", encoding="utf-8") as f:
        f.write("142034,R7,15,4\n142034,R8,abc,4\n")
    result = CliRunner().invoke(main, ["generate", "--year", "R8", "--code", "142034", "--results", str(path),
                                       "--out", str(tmp_path / "out")])
    assert result.exit_code != 0
    assert _flat(f"bad.csv {len(kept) + 7 + 1} 行目: 列番号 の値「abc」を読めません") in _flat(result.output)  # read first
    path.write_text("\n".join(path.read_text(encoding="utf-8-sig").splitlines()[:-1]) + "\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["generate", "--year", "R8", "--code", "142034", "--results", str(path),
                                       "--out", str(tmp_path / "out")])
    assert result.exit_code != 0 and not list((tmp_path / "out").glob("*.xlsx"))
    n = len(kept) + 2  # the first bad row
    out = _flat(result.output)  # rich wraps long lines: compare without spaces
    assert _flat(f"bad.csv {n} 行目: 列番号 999 は R8 の集計表の得点の列ではありません") in out
    assert _flat(f"bad.csv {n + 1} 行目: 列番号 {process} の得点 5 はこの項目の点（0 または 4）ではありません") in out
    assert _flat(f"bad.csv {n + 2} 行目: 推進 目標Ⅰ 活動指標群 1（段階）の上の段階に得点がありますが、段階 ア に得点がありません") in out
    assert _flat(f"bad.csv {n + 4} 行目: 目標Ⅳの列番号 {s4} の得点が、同じ項目の列番号 {p4}") in out
    assert _flat(f"bad.csv {n + 5} 行目: 年度 R7 の行です（このブックは R8）") in out


def test_a_roster_takes_each_municipalitys_rows_and_names_those_without(tmp_path):
    rows, groups = official_result("R8", seed=3)
    path = _write(tmp_path / "results.csv", rows, code="142034")
    with path.open("a", encoding="utf-8") as f:
        f.write("999999,R8,15,4\n")  # a municipality not on the roster
    roster = tmp_path / "roster.csv"
    roster.write_text("団体コード,団体名\n142034,平塚市\n142042,鎌倉市\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["generate", "--year", "R8", "--roster", str(roster), "--results", str(path),
                                       "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    out = _flat(result.output)
    assert "鎌倉市" in out and _flat("公表結果に団体コード 142042 の行がないため、回答欄は空欄で作成しました") in out
    assert _flat("団体コード 999999 は名簿にないため使っていません") in out
    hiratsuka = next((tmp_path / "out").glob("*平塚市*.xlsx"))
    cat, contents = read_book(hiratsuka)
    assert score(cat, contents.answers).total == sum(groups.values())
    kamakura = next((tmp_path / "out").glob("*鎌倉市*.xlsx"))
    assert all(v is None for v in read_book(kamakura)[1].answers.values())
