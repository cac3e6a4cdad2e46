"""Gap report: figures read back from the HTML / Markdown / xlsx outputs equal the scorer's."""

import csv
from html.parser import HTMLParser

import pytest
from click.testing import CliRunner

from xlsx_tool.catalog.entity import Entity, size_class
from xlsx_tool.catalog.loading import load_shipped_catalog
from xlsx_tool.catalog.reference import shipped_references
from xlsx_tool.cli import main
from xlsx_tool.read.openpyxl_engine import read_book
from xlsx_tool.scoring.scorer import score
from xlsx_tool.workbook.filler import extreme_answers, fill_workbook
from xlsx_tool.workbook.writer import write_workbook

Y, N = "該当", "非該当"
ENTITY = Entity(name="テスト市", code="140000", prefecture="神奈川県", insured=73333)


class _Cells(HTMLParser):
    """Collect data-f cells of every element carrying data-key / data-id, in document order."""

    def __init__(self):
        super().__init__()
        self.rows, self._row, self._field, self._text = {}, None, None, ""
        self.order = {}

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in ("tr", "div") and ({"data-key", "data-id", "data-below"} & set(a)):
            if "data-below" in a:
                table = "below"
            elif "data-id" in a:
                table = a.get("data-change", "missed")
            else:
                table = "rows"
            key = a.get("data-key") or a.get("data-id") or a.get("data-below")
            self._row = self.rows.setdefault((table, key), {})
            self.order.setdefault(table, []).append(key)
        if "data-f" in a and self._row is not None:
            self._field, self._text = a["data-f"], ""

    def handle_data(self, data):
        if self._field:
            self._text += data

    def handle_endtag(self, tag):
        if self._field and tag in ("td", "span"):
            self._row[self._field] = self._text.strip()
            self._field = None


def _num(text):
    return float(text.rstrip("%").replace("+", "")) if text not in ("－", "") else None


def _book(tmp_path, year, answers, name="book.xlsx", entity=ENTITY):
    cat = load_shipped_catalog(year, "municipality")
    template = write_workbook(cat, entity, tmp_path / f"template_{year}_{name}")
    return cat, fill_workbook(template, answers, tmp_path / name, cat)


GAPS = {"P1-p1-i": N, "P1-p1-u": None, "P1-p2-a": N, "S1-p2-i": N, "P4-o2-lv": "ウ"}  # R7 municipality ids


def _known_gaps(cat):
    """Everything at its maximum except five known gaps: four sub-items and a ladder one level short."""
    answers = extreme_answers(cat, best=True)
    answers.update(GAPS)
    return answers


def _expected_missed(cat):
    """(id, points it would add, national rate) of the gaps, from the catalog's tally figures, in the order
    the report must list them: the most points first, then what most municipalities already have."""
    subs = {s.id: s for *_, i in cat.indicators() for s in i.subitems}
    out = [(aid, subs[aid].points, subs[aid].national.rate) for aid in GAPS if not subs[aid].bands]
    top = subs["P4-o2-lv"].bands[-1]  # ウ reached: エ is next, under 推進 and under 支援 (the same item, asked once)
    assert [s.id for s in subs.values() if s.same_as == "P4-o2-lv"] == ["S4-o2-lv"]
    out.append(("P4-o2-lv", 2 * top.points, top.national.rate))
    return sorted(out, key=lambda m: (-m[1], -m[2]))


def _gap_total(cat):
    return cat.total - sum(points for _, points, _ in _expected_missed(cat))


def _html(tmp_path, book, *args):
    out = tmp_path / "report.html"
    result = CliRunner().invoke(main, ["report", str(book), "--format", "html", "--out", str(out), *args])
    assert result.exit_code == 0, result.output
    parser = _Cells()
    parser.feed(out.read_text(encoding="utf-8"))
    return out, parser


def test_html_figures_equal_the_scorer_and_gaps_are_listed_in_order(tmp_path):
    cat = load_shipped_catalog("R7", "municipality")
    _, book = _book(tmp_path, "R7", _known_gaps(cat))
    out, html = _html(tmp_path, book)
    c, contents = read_book(book)
    res = score(c, contents.answers)
    rows = {key: cells for (table, key), cells in html.rows.items() if table == "rows"}
    assert _num(rows["total"]["own"]) == res.total == _gap_total(cat) == 800 - 4 - 4 - 4 - 2 - 2 * 5
    assert _num(rows["promotion"]["own"]) == res.grants["promotion"]
    for (goal, kind), value in res.groups.items():
        key = f"{goal}.{kind}" if f"{goal}.{kind}" in rows else goal
        assert _num(rows[key]["own"]) == value, key
    for goal, value in res.goals.items():
        assert _num(rows[goal]["own"]) == value
    # the published R7 national table [002]: total mean 435.0, median 446
    assert _num(rows["total"]["national_mean"]) == 435 and _num(rows["total"]["national_median"]) == 446
    assert _num(rows["P1.process"]["national_mean"]) == 49.5
    expected = _expected_missed(cat)
    assert html.order["missed"] == [aid for aid, _, _ in expected]
    rate = dict((aid, r) for aid, _, r in expected)["S1-p2-i"]  # 1,275 of 1,741 in the R7 tally
    assert round(rate * 10) == 7
    assert "全国の市町村の10 団体中 7 団体が得点（自団体は 2 点を逃しています）" in out.read_text(encoding="utf-8")
    assert [_num(html.rows[("missed", k)]["lost"]) for k in html.order["missed"]] == [p for _, p, _ in expected]


def test_markdown_report(tmp_path):
    cat = load_shipped_catalog("R7", "municipality")
    _, book = _book(tmp_path, "R7", _known_gaps(cat))
    out = tmp_path / "r.md"
    assert CliRunner().invoke(main, ["report", str(book), "--format", "md", "--out", str(out)]).exit_code == 0
    text = out.read_text(encoding="utf-8")
    assert f"総合計: **{_gap_total(cat)} / 800 点**" in text
    missed = [line for line in text.splitlines() if line.startswith("| 1 |") or line.startswith("| 2 |")]
    assert "成果指標群" in missed[0] and "| 10 |" in missed[0] and "| 4 |" in missed[1]


def test_previous_year_changes_are_exactly_the_changed_items(tmp_path):
    prev_cat = load_shipped_catalog("R7", "municipality")
    cur_cat = load_shipped_catalog("R8", "municipality")
    prev = extreme_answers(prev_cat, best=True)
    prev.update({"P1-p1-a": Y, "P1-p1-i": Y, "P1-p1-u": N, "P1-p1-e": None, "P1-a1-lv": "エ"})
    cur = extreme_answers(cur_cat, best=True)
    cur.update({"P1-p1-a": Y, "P1-p1-i": N, "P1-p1-u": Y, "P1-p1-e": Y, "P1-a1-lv": "イ"})
    _, prev_book = _book(tmp_path, "R7", prev, "prev.xlsx")
    _, cur_book = _book(tmp_path, "R8", cur, "cur.xlsx")
    _, html = _html(tmp_path, cur_book, "--previous", str(prev_book))
    assert html.order["met"] == ["P1-p1-u", "P1-p1-e"]
    assert html.order["lost"] == ["P1-p1-i", "P1-a1-lv"]  # a sub-item no longer met, a ladder two levels down
    assert not html.order.get("points")  # no indicator is scored as a whole in R7 and R8
    rows = {key: cells for (table, key), cells in html.rows.items() if table == "rows"}
    prev_total = score(prev_cat, prev).total
    assert _num(rows["total"]["previous"]) == prev_total
    assert _num(rows["total"]["diff_previous"]) == score(cur_cat, cur).total - prev_total


def _results_csv(path, rows):
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["団体コード", "団体名", "都道府県", "第1号被保険者数", "合計", "P1.process"])
        w.writerows(rows)
    return path


def test_national_results_file_gives_ranks_and_means(tmp_path):
    cat = load_shipped_catalog("R7", "municipality")
    answers = _known_gaps(cat)
    total = _gap_total(cat)
    _, book = _book(tmp_path, "R7", answers)
    results = _results_csv(tmp_path / "results.csv", [
        ["140000", "テスト市", "神奈川県", 73333, 500, 10],  # the entity itself (last year): ignored for ranks
        ["1", "A市", "神奈川県", 60000, 795, 64],  # same prefecture, same size class
        ["2", "B町", "神奈川県", 2000, 790, 60],
        ["3", "C市", "東京都", 80000, 785, 50],  # same size class
        ["4", "D村", "東京都", 900, total, 40],  # tie: not ahead
        ["5", "E市", "大阪府", 120000, 300, 20],
    ])
    out, html = _html(tmp_path, book, "--compare", str(results))
    text = out.read_text(encoding="utf-8")
    cls = size_class(73333)
    assert cls == "5万人以上10万人未満"
    # 6 entities are not the nation (1,741 municipalities): nothing computed from them is labelled 全国
    assert "比較対象 6 団体 4 位 / 6" in text and "全国 4 位" not in text
    assert "比較対象 6 団体平均" in text and "全国平均" not in text and "全国比較" not in text
    # the missed items' rates: a sub-item's is the nation's (the tally), an indicator's the file's mean
    missed = text[text.index('<table id="missed">'):]
    missed = missed[:missed.index("</table>")]
    assert "<th>全国</th>" not in missed and "<th>得点率（全国・比較対象）</th>" in missed
    assert "比較対象 6 団体の平均" in missed or "全国集計表" in missed  # each rate says where it is from
    md = tmp_path / "report.md"
    assert CliRunner().invoke(main, ["report", str(book), "--format", "md", "--out", str(md), "--compare",
                                     str(results)]).exit_code == 0
    assert "比較対象 6 団体平均" in md.read_text(encoding="utf-8") and "全国平均" not in md.read_text(encoding="utf-8")
    assert "神奈川県 3 位 / 3" in text
    assert f"第1号被保険者 {cls} 3 位 / 3" in text
    rows = {key: cells for (table, key), cells in html.rows.items() if table == "rows"}
    assert _num(rows["total"]["national_mean"]) == pytest.approx((500 + 795 + 790 + 785 + total + 300) / 6, abs=0.05)
    assert _num(rows["P1.process"]["prefecture_mean"]) == pytest.approx((10 + 64 + 60) / 3, abs=0.005)


def test_prefecture_averages_file_lists_indicators_below_average(tmp_path):
    cat = load_shipped_catalog("R7", "municipality")
    _, book = _book(tmp_path, "R7", _known_gaps(cat))
    avg = tmp_path / "kanagawa.csv"
    avg.write_text("key,mean,scope\nP1-p2,12.5,神奈川県\nS1-p2,8,神奈川県\nP1-p3,15,神奈川県\nP1.process,50,神奈川県\n",
                   encoding="utf-8")
    _, html = _html(tmp_path, book, "--compare", str(avg))
    assert html.order["below"] == ["P1-p2", "S1-p2"]  # own 12 < 12.5 and 7 < 8; P1-p3 is at its maximum


def test_bad_comparison_file_names_row_and_column(tmp_path):
    cat = load_shipped_catalog("R7", "municipality")
    _, book = _book(tmp_path, "R7", _known_gaps(cat))
    bad = _results_csv(tmp_path / "bad.csv", [["1", "A市", "神奈川県", "多い", 700, 64]])
    result = CliRunner().invoke(main, ["report", str(book), "--compare", str(bad), "--out", str(tmp_path / "x.html")])
    assert result.exit_code == 2
    assert "bad.csv" in result.output and "2 行目" in result.output and "insured" in result.output


def test_shipped_reference_data_matches_published_tables():
    refs = {(r.year, r.kind.value, r.scope): r for r in shipped_references()}
    r6 = refs[("R6", "municipality", "全国")]
    assert (r6.total.mean, r6.total.median, r6.total.rate) == (422.4, 428, 0.528)  # [001]
    assert r6.indicators["P1-p4"].mean == 8.1 and r6.indicators["P1-a3"].mean == 0.2  # 推進Ⅰ-4, PFS
    r7 = refs[("R7", "municipality", "全国")]
    assert r7.total.mean == 435.0 and r7.groups["S2.process"].mean == 33.3  # [002]
    r7p = refs[("R7", "prefecture", "全国")]
    assert r7p.total.mean == 528.8 and r7p.groups["P1.process"].max == 60
    assert refs[("R6", "municipality", "神奈川県")].groups["S2.process"].mean == 50.24  # [000]
    r5 = refs[("R5", "municipality", "全国")]
    assert r5.grants["promotion"].mean == 743 and r5.grants["support"].mean == 413  # [003]


def test_mapping_compares_items_across_a_structure_change(tmp_path):
    r5 = load_shipped_catalog("R5", "municipality")
    prev = {"P1-c": 135, "P2-c": 510, "P3-c": 100, "S1-c": 35, "S2-c": 0, "S3-c": 40}
    _, prev_book = _book(tmp_path, "R5", prev, "r5.xlsx")
    r6 = load_shipped_catalog("R6", "municipality")
    cur = extreme_answers(r6, best=True)
    _, cur_book = _book(tmp_path, "R6", cur, "r6.xlsx")
    mapping = tmp_path / "map.csv"
    mapping.write_text("previous_id,current_id\nP2-c,P1\nP3-c,P2\n", encoding="utf-8")
    out, html = _html(tmp_path, cur_book, "--previous", str(prev_book), "--mapping", str(mapping))
    assert html.order["mapped"] == ["P1", "P2"]
    text = out.read_text(encoding="utf-8")
    assert "推進 目標Ⅱ 評価指標（R5） → 推進 目標Ⅰ" in text and "50.0%" in text  # 510/1020 → 100/100
    rows = {key: cells for (table, key), cells in html.rows.items() if table == "rows"}
    assert rows["P1"]["previous"] == "－"  # R5 category Ⅰ (135 points) is not R6 goal Ⅰ (100 points)
    assert not html.order.get("met") and not html.order.get("lost")  # no sub-item id persists R5 → R6
    assert r5.total == 2185


def test_only_a_file_covering_the_nation_is_labelled_national():
    from xlsx_tool.report.builder import results_scope

    # the nation: 1,741 municipalities, 47 prefectures (seed 001 / 002); the label for fewer: issue 18 item 3
    assert results_scope(1741, "municipality") == "全国"
    assert results_scope(1740, "municipality") == "比較対象 1,740 団体"
    assert results_scope(47, "prefecture") == "全国"
    assert results_scope(3, "prefecture") == "比較対象 3 団体"
