"""The municipal catalogs R6–R8 against MHLW's tally of the survey (../shared/data, read its README) and
the national means published in the seeds. Everything expected here is read from those files with the
csv module; nothing is taken from the code under test."""

from __future__ import annotations

import csv
import re
from collections import defaultdict

import pytest

from xlsx_tool.catalog.loading import load_shipped_catalog
from xlsx_tool.catalog.model import LevelsRule, SumRule

from shared_paths import SEEDS, TALLY, shared_file  # noqa: E402

YEARS = {"R6": "令和6年度", "R7": "令和7年度", "R8": "令和8年度"}
GRANTS = {"推進交付金": "promotion", "支援交付金": "support"}
NATION = 1741


def tally_rows(year: str) -> tuple[list[dict], list[dict]]:
    """(sub-item rows, subtotal rows) of one year."""
    with open(shared_file(TALLY), encoding="utf-8", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["年度"] == YEARS[year]]
    return [r for r in rows if r["指標群"]], [r for r in rows if not r["指標群"]]


def scored_elements(cat):
    """Every scored sub-item or ladder level of the catalog: (grant, goal, group, indicator, element)."""
    for grant, goal, group, ind in cat.indicators():
        for sub in ind.subitems:
            for element in (sub.bands or [sub]):
                yield grant, goal, group, ind, element


def group_key(row: dict) -> tuple[str, str, str]:
    kind = "process" if "体制" in row["指標群"] else "activity" if "活動" in row["指標群"] else "outcome"
    return GRANTS[row["交付金"]], row["目標"].removeprefix("目標"), kind


@pytest.mark.parametrize("year", YEARS)
def test_every_tally_row_is_one_scored_element_with_its_points_and_national_count(year):
    cat = load_shipped_catalog(year, "municipality")
    rows, _ = tally_rows(year)
    by_column = {}
    for grant, goal, group, ind, el in scored_elements(cat):
        assert el.provenance is not None and el.provenance.tally_year == year, (ind.id, el)
        assert el.provenance.tally_column not in by_column, f"列番号 {el.provenance.tally_column} twice"
        by_column[el.provenance.tally_column] = (grant, goal, group, ind, el)
    assert len(by_column) == len(rows)
    for row in rows:
        grant, goal, group, ind, el = by_column[int(row["列番号"])]
        assert (grant.id, goal.number, group.kind.value) == group_key(row), row["指標"]
        number, title, *labels = [p.strip() for p in row["指標"].split(" / ")]
        assert ind.number == number and ind.title == title, row["指標"]
        assert el.points == float(row["配点"]), row["指標"]
        assert el.national.met == float(row["該当市町村数"]) and el.national.of == NATION, row["指標"]
        assert abs(el.national.rate - float(row["該当率"])) < 1e-12
        # the label the survey shows: ア, ア①, or a ladder's level (ア–エ, ①–④)
        assert "".join(labels).endswith(el.label), (row["指標"], el.label)


@pytest.mark.parametrize("year", YEARS)
def test_group_points_are_the_tally_subtotals_and_no_process_indicator_is_typed(year):
    cat = load_shipped_catalog(year, "municipality")
    _, subtotals = tally_rows(year)
    published = {}
    for row in subtotals:
        m = re.fullmatch(r"(Ⅰ|Ⅱ|Ⅲ|Ⅳ)（(ⅰ|ⅱ)） 計", row["指標"])
        if m:
            published[(GRANTS[row["交付金"]], m[1], "process" if m[2] == "ⅰ" else "activity")] = float(row["配点"])
        elif row["指標"] == "Ⅳ 合計":
            published[(GRANTS[row["交付金"]], "Ⅳ", "outcome")] = float(row["配点"])
    ours = {(grant.id, goal.number, group.kind.value): group.points for grant, goal, group in cat.groups()}
    assert ours == published
    for *_, group, ind in cat.indicators():
        assert isinstance(ind.rule, SumRule if group.kind.value == "process" else LevelsRule), ind.id


def published_means(year: str) -> list[float]:
    """The 平均点 row of the national results: seed 001 (R6) and seed 002 (R7), in the seeds' order:
    推進 Ⅰ(ⅰ,ⅱ,計) Ⅱ(…) Ⅲ(…) Ⅳ 推進計, 支援 Ⅰ(…) Ⅱ(…) Ⅲ(…) Ⅳ 支援計, 体制計, 活動計, 成果計, 合計."""
    name = {"R6": "001", "R7": "002"}[year]
    lines = next(shared_file(p) for p in SEEDS.glob(f"{name}_*.txt")).read_text(encoding="utf-8").splitlines()
    at = next(i for i, line in enumerate(lines) if line.split("\t")[:2] in (["配点", "64"], ["R7", "配点"]))
    cells = [c for c in lines[at + 1].split("\t") if c.strip()]
    assert cells[0] == "平均点"
    return [float(c) for c in cells[1:]]


@pytest.mark.parametrize("year", ["R6", "R7"])
def test_points_times_national_rate_reproduce_the_published_national_means(year):
    cat = load_shipped_catalog(year, "municipality")
    mean = defaultdict(float)
    for grant, goal, group, ind, el in scored_elements(cat):
        value = el.points * el.national.rate
        for key in [(grant.id, goal.number, group.kind.value), (grant.id, goal.number), grant.id,
                    group.kind.value, "total"]:
            mean[key] += value
    ours = []
    for grant in ("promotion", "support"):
        for goal in ("Ⅰ", "Ⅱ", "Ⅲ"):
            ours += [mean[(grant, goal, "process")], mean[(grant, goal, "activity")], mean[(grant, goal)]]
        ours += [mean[(grant, "Ⅳ")], mean[grant]]
    ours += [mean["process"], mean["activity"], mean["outcome"], mean["total"]]
    published = published_means(year)
    assert len(published) == len(ours) == 26
    assert all(abs(a - b) <= 0.05 for a, b in zip(ours, published)), list(zip(ours, published))


@pytest.mark.parametrize("year", YEARS)
def test_alternative_ladders_are_those_no_municipality_gets_twice(year):
    """目標Ⅳ-1/-3/-5 and 支援Ⅰ活動9: their items add to more than the group is worth; the tally's
    first-level counts of their ladders add to at most the nation (no municipality scored on two),
    while ladders that add up (e.g. 支援Ⅰ活動4) are reached by the same municipalities."""
    cat = load_shipped_catalog(year, "municipality")
    for *_, group, ind in cat.indicators():
        if not isinstance(ind.rule, LevelsRule) or len(ind.subitems) < 2:
            continue
        firsts = sum(s.bands[0].national.met for s in ind.subitems)
        assert (ind.rule.combine == "best") == (firsts <= NATION), ind.id
        tops = [sum(b.points for b in s.bands) for s in ind.subitems]
        assert ind.points == (max(tops) if ind.rule.combine == "best" else sum(tops)), ind.id


@pytest.mark.parametrize("year", ["R7", "R8"])
def test_official_subitem_texts_of_seed_004_are_shown_as_such(year):
    """支援Ⅰ-1…4: seed 004 publishes the sub-item texts of the R7 and R8 surveys; everything else the
    tally gives only as a short title, which the catalog marks."""
    cat = load_shipped_catalog(year, "municipality")
    seed = next(shared_file(p) for p in SEEDS.glob("004_*.txt")).read_text(encoding="utf-8")
    official = [s for *_, ind in cat.indicators() if ind.id in ("S1-p1", "S1-p2", "S1-p3", "S1-p4")
                for s in ind.subitems]
    assert len(official) == 20 and not any(s.short_title for s in official)
    for s in official:
        own = s.text.rsplit("：", 1)[-1].lstrip("①②③④ ")  # ウ①–④ repeat ウ's lead-in before their own text
        assert own in seed, s.id
    others = [s for *_, ind in cat.indicators() if ind.id not in ("S1-p1", "S1-p2", "S1-p3", "S1-p4", "P1-p1")
              for s in ind.subitems]
    assert others and all(s.short_title and ind_title_in(s.text, cat) for s in others)


def ind_title_in(text: str, cat) -> bool:
    return any(text.startswith(ind.title) for *_, ind in cat.indicators())
