"""広域連合 / 一部事務組合 (issue 18, item 5): an insurer made of several municipalities is ONE insurer for the
grants: one roster row with its members (構成市町村), one book named by the insurer, counted once by collect,
and one entity in estimate, whose count of the nation is a parameter (entities_in_nation)."""

import csv
import json

import pytest
from click.testing import CliRunner

from xlsx_tool.catalog.entity import Entity
from xlsx_tool.catalog.loading import load_shipped_catalog
from xlsx_tool.cli import main
from xlsx_tool.collect.roster import RosterError, read_roster
from xlsx_tool.workbook.filler import extreme_answers, fill_workbook
from xlsx_tool.workbook.writer import write_workbook

# Check digits worked out by hand (総務省: digits × 6, 5, 4, 3, 2, summed; 11 − sum mod 11, last digit):
#   04860: 0 + 20 + 32 + 18 + 0 = 70, 70 mod 11 = 4, 11 − 4 = 7 -> 048607 (the 広域連合 here)
#   04323: 0 + 20 + 12 + 6 + 6 = 44, 44 mod 11 = 0, 11 − 0 = 11 -> 1 -> 043231
#   04322: 0 + 20 + 12 + 6 + 4 = 42, 42 mod 11 = 9, 11 − 9 = 2 -> 043222
#   04301: 0 + 20 + 12 + 0 + 2 = 34, 34 mod 11 = 1, 11 − 1 = 10 -> 0 -> 043010
#   04324: 0 + 20 + 12 + 6 + 8 = 46, 46 mod 11 = 2, 11 − 2 = 9 -> 043249
#   04861: 0 + 20 + 32 + 18 + 2 = 72, 72 mod 11 = 6, 11 − 6 = 5 -> 048615 (so 043239 has a wrong digit)
ROSTER = ("code,name,prefecture,insured,構成市町村\n"
          "041009,仙台市,宮城県,264123,\n"
          "048607,仙南広域連合,宮城県,30000,043222、043010;043231\n")
UNION = "048607"


def _roster(tmp_path, text=ROSTER):
    path = tmp_path / "roster.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_roster_accepts_an_insurer_with_its_members(tmp_path):
    entries = read_roster(_roster(tmp_path))
    assert [e.entity.code for e in entries] == ["041009", UNION]
    assert entries[0].entity.members == ()
    assert entries[1].entity.members == ("043222", "043010", "043231")
    assert entries[1].entity.name == "仙南広域連合"


def test_a_municipality_counted_twice_or_a_bad_member_code_is_named(tmp_path):
    text = ("code,name,members\n"
            "043222,大河原町,\n"                        # row 2: a member of row 3's union, also a row of its own
            "048607,仙南広域連合,043222;043010\n"         # row 3
            "048615,別の組合,043010、043239\n")           # row 4: 043010 again, and a wrong check digit (…1)
    with pytest.raises(RosterError) as exc:
        read_roster(_roster(tmp_path, text))
    problems = exc.value.problems
    assert any(p.startswith("3 行目 列「members」: 構成市町村 043222 は 2 行目でも") for p in problems), problems
    assert any(p.startswith("4 行目 列「members」: 構成市町村 043010 は 3 行目でも") for p in problems), problems
    assert any(p.startswith("4 行目 列「members」") and "043239" in p for p in problems), problems
    assert str(tmp_path / "roster.csv") in str(exc.value)


def test_one_book_per_insurer_named_by_the_insurer_and_collected_once(tmp_path):
    roster = _roster(tmp_path)
    out = tmp_path / "books"
    result = CliRunner().invoke(main, ["generate", "--roster", str(roster), "--year", "R8", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["R8_municipality_041009_仙台市.xlsx",
                                                      "R8_municipality_048607_仙南広域連合.xlsx"]  # no member's book
    cat = load_shipped_catalog("R8", "municipality")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    fill_workbook(out / "R8_municipality_048607_仙南広域連合.xlsx", extreme_answers(cat, best=True),
                  inbox / "union.xlsx", cat)
    member = write_workbook(cat, Entity(name="大河原町", code="043222"), tmp_path / "member_t.xlsx")
    fill_workbook(member, extreme_answers(cat, best=True), inbox / "member.xlsx", cat)  # a member's own book
    collected = tmp_path / "collected"
    result = CliRunner().invoke(main, ["collect", str(inbox), "--roster", str(roster), "--year", "R8",
                                       "--out", str(collected), "--workers", "1"])
    assert result.exit_code == 0, result.output
    text = result.output.replace("\n", "")
    assert "043222" in text and "048607 仙南広域連合" in text and "構成市町村" in text  # the member's book refused
    missing = [line for line in result.output.splitlines() if line.startswith("未提出")]
    assert len(missing) == 1 and "041009" in missing[0]  # the union counted once, its members never "missing"
    with (collected / "結果.csv").open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["code"], r["members"]) for r in rows] == [(UNION, "043222、043010、043231")]
    # estimate reads the members column and counts the union as one entity
    est = CliRunner().invoke(main, ["estimate", "--results", str(collected / "結果.csv"), "--params", "example",
                                    "--share-among-given", "--json"])
    assert est.exit_code == 0, est.output
    data = json.loads(est.output)
    assert data["scope"]["entities"] == 1 and data["entities"][0]["members"] == ["043222", "043010", "043231"]


THREE = ("code,name,insured,total,promotion,構成市町村\n"
         "041009,仙台市,264123,300,300,\n"
         "048607,仙南広域連合,30000,200,200,043222、043010\n"
         "043249,村田町,3000,100,100,\n")
PARAMS = """kind: municipality
illustrative: true
grants:
  promotion: {budget: 600, frames: {basic: 1.0}}
size_classes: {10万人以上: 0.4, 5万人以上10万人未満: 0.2, 1万人以上5万人未満: 0.25, 3千人以上1万人未満: 0.1, 3千人未満: 0.05}
insured_weight: 0
"""


def _estimate(tmp_path, results=THREE, params=PARAMS, *extra):
    (tmp_path / "r.csv").write_text(results, encoding="utf-8")
    (tmp_path / "p.yaml").write_text(params, encoding="utf-8")
    return CliRunner().invoke(main, ["estimate", "--results", str(tmp_path / "r.csv"), "--params",
                                     str(tmp_path / "p.yaml"), *extra])


def test_the_nation_count_is_a_parameter_counting_insurers(tmp_path):
    refused = _estimate(tmp_path)
    assert refused.exit_code == 2
    out = refused.output.replace("\n", "")
    assert "3 団体分" in out and "1,741" in out and "entities_in_nation" in out
    result = _estimate(tmp_path, THREE, PARAMS + "entities_in_nation: 3\n", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["scope"] == {"entities": 3, "nation": 3, "share_among_given": False, "note": ""}
    # one size class each (10万人以上 / 1万人以上5万人未満 / 3千人以上1万人未満), each alone in it: the class
    # shares 0.4 : 0.25 : 0.1 renormalised over the three live classes -> 600 × 40/75 = 320, × 25/75 = 200,
    # × 10/75 = 80
    assert [e["grants"]["promotion"]["allocation"] for e in data["entities"]] == [320, 200, 80]


def test_a_member_also_given_as_its_own_row_is_refused(tmp_path):
    twice = THREE + "043222,大河原町,6713,150,150,\n"
    result = _estimate(tmp_path, twice, PARAMS + "entities_in_nation: 4\n")
    assert result.exit_code == 2
    out = result.output.replace("\n", "")
    assert "r.csv" in out and "048607" in out and "043222" in out and "1 つの行にだけ" in out
    assert "Traceback" not in out
