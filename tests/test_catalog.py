"""Catalog schema and validator: shipped catalogs, published totals, precise rejections."""

import pytest
import yaml
from catalog_fixtures import modified, rules_catalog
from click.testing import CliRunner

from xlsx_tool.catalog.loading import (
    CatalogError,
    load_catalog_file,
    load_shipped_catalog,
    parse_catalog,
    shipped_catalog_names,
)
from xlsx_tool.catalog.model import GroupKind
from xlsx_tool.cli import main

EXPECTED = {"R5-municipality", "R6-municipality", "R7-municipality", "R8-municipality", "R7-prefecture",
            "R8-prefecture"}


def test_every_year_and_kind_is_shipped():
    assert set(shipped_catalog_names()) == EXPECTED


@pytest.mark.parametrize("name", sorted(EXPECTED - {"R5-municipality"}))
def test_new_structure_totals_match_published_table(name):
    # DOMAIN.md §2: 800 = process 380 + activity 220 + outcome 200; each grant 400
    cat = load_shipped_catalog(*name.split("-", 1))
    assert cat.total == 800
    assert cat.group_kind_points() == {GroupKind.process: 380, GroupKind.activity: 220, GroupKind.outcome: 200}
    assert {g.short: g.points for g in cat.grants} == {"推進": 400, "支援": 400}
    assert sum(i.points for *_, i in cat.indicators()) == 800


def test_goal_points_municipality_r8_match_seed_004():
    cat = load_shipped_catalog("R8", "municipality")
    got = {(goal.id, group.kind.value): group.points for _, goal, group in cat.groups()}
    assert got[("P1", "process")] == 64 and got[("P2", "process")] == 68 and got[("P3", "activity")] == 36
    assert got[("S1", "process")] == 52 and got[("S1", "activity")] == 48 and got[("S4", "outcome")] == 100


def test_prefecture_goal_points_differ_from_municipality():
    cat = load_shipped_catalog("R7", "prefecture")
    got = {(goal.id, group.kind.value): group.points for _, goal, group in cat.groups()}
    assert got[("P1", "process")] == 60 and got[("P3", "process")] == 72 and got[("S1", "activity")] == 52


def test_r5_old_structure_totals():
    cat = load_shipped_catalog("R5", "municipality")
    assert {g.short: g.points for g in cat.grants} == {"推進": 1355, "支援": 830}
    assert cat.total == 2185
    assert [o.points for o in cat.grants[0].goals] == [135, 1020, 200]
    assert [o.points for o in cat.grants[1].goals] == [35, 755, 40]


def test_r7_promotion_1_has_four_subitems_of_4_points():
    # seed 002: 地域の介護保険事業の特徴を把握しているか。ア～エ 各4点 (最大16点)
    cat = load_shipped_catalog("R7", "municipality")
    ind = cat.grants[0].goals[0].groups[0].indicators[0]
    assert [s.label for s in ind.subitems] == ["ア", "イ", "ウ", "エ"]
    assert [s.points for s in ind.subitems] == [4, 4, 4, 4] and ind.points == 16
    assert ind.subitems[1].text == "日常生活圏域別の特徴を把握・整理している"


def test_every_indicator_states_its_provenance():
    for name in EXPECTED:
        cat = load_shipped_catalog(*name.split("-", 1))
        for *_, ind in cat.indicators():
            assert ind.provenance.sources or ind.provenance.status.value == "not_in_sources", ind.id
            if ind.provenance.status.value != "published":
                assert ind.provenance.note, f"{name} {ind.id}: an unpublished figure needs a note"


def _problems(data) -> list[str]:
    with pytest.raises(CatalogError) as exc:
        parse_catalog(data, "bad.yaml")
    return exc.value.problems


def test_rejects_items_that_do_not_add_up_and_names_the_place():
    data = modified(rules_catalog(), ["grants", 0, "goals", 0, "groups", 1, "indicators", 1, "points"], 10)
    problems = _problems(data)
    assert any(p.startswith("grants[0].goals[0].groups[1].points") and "配点 18" in p and "合計 16" in p
               for p in problems), problems
    assert any("grants[0].goals[0].groups[1].indicators[1] (P1-a2)" in p and "step" in p for p in problems)


def test_rejects_unknown_key_with_its_path():
    data = modified(rules_catalog(), ["grants", 1, "goals", 0, "colour"], "red")
    problems = _problems(data)
    assert len(problems) == 1 and problems[0].startswith("grants[1].goals[0].colour: 未定義のキーです")


def test_rejects_published_catalog_whose_goal_points_differ(tmp_path):
    cat = load_shipped_catalog("R7", "municipality").model_dump(mode="json")
    grp = cat["grants"][0]["goals"][0]["groups"]
    grp[0]["points"] -= 4
    grp[1]["points"] += 4
    grp[0]["indicators"][-1]["points"] -= 4
    grp[1]["indicators"][-1]["points"] += 4
    problems = _problems(cat)
    assert any("goals(目標Ⅰ)" in p and "公表配点" in p for p in problems), problems


@pytest.mark.parametrize("path,value,needle", [
    (["grants", 0, "goals", 0, "groups", 0, "indicators", 1, "id"], "P1-p1", "重複"),
    (["grants", 0, "goals", 0, "groups", 0, "indicators", 2, "rule", "tiers", 2, "points"], 7, "最上位 tier"),
    (["grants", 0, "goals", 0, "groups", 0, "indicators", 2, "rule", "type"], "magic", "rule.type が不明"),
    (["grants", 0, "goals", 0, "groups", 0, "indicators", 1, "subitems", 1, "requires"], "P1-p1-a", "requires"),
    (["grants", 0, "goals", 0, "groups", 1, "indicators", 0, "rule", "thresholds", 0, "min"], 99, "昇順"),
    (["grants", 0, "goals", 0, "groups", 0, "indicators", 0, "subitems"], [], "subitems が必要"),
    (["grants", 0, "goals", 0, "groups", 0, "indicators", 0, "text"], ..., "必須のキー"),
    (["grants", 0, "goals", 0, "id"], "total", "予約語"),
    (["grants", 1, "goals", 0, "id"], "p1", "大文字小文字しか違いません"),
])
def test_rejects_malformed_rules(path, value, needle):
    problems = _problems(modified(rules_catalog(), path, value))
    assert any(needle in p for p in problems), problems


def test_user_catalog_file_and_cli_validate(tmp_path):
    good = tmp_path / "good.yaml"
    good.write_text(yaml.safe_dump(rules_catalog(), allow_unicode=True), encoding="utf-8")
    assert load_catalog_file(good).id == "R99-municipality"
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(modified(rules_catalog(), ["total"], 70), allow_unicode=True), encoding="utf-8")
    result = CliRunner().invoke(main, ["catalog", "validate", str(good), str(bad)])
    assert result.exit_code == 1
    assert f"OK: {good}" in result.output
    assert str(bad) in result.output and "total: 配点 70" in result.output


def test_yaml_syntax_error_names_the_file(tmp_path):
    bad = tmp_path / "broken.yaml"
    bad.write_text("grants: [\n", encoding="utf-8")
    with pytest.raises(CatalogError, match="broken.yaml"):
        load_catalog_file(bad)
