"""Year-to-year diff of catalogs: shipped years, hand-made changes, the command and its xlsx."""

import copy

from catalog_fixtures import rules_catalog
from click.testing import CliRunner
from openpyxl import load_workbook

from xlsx_tool.catalog.diff import diff_catalogs
from xlsx_tool.catalog.excel_export import write_catalog_xlsx, write_catalog_yaml
from xlsx_tool.catalog.loading import load_shipped_catalog, parse_catalog
from xlsx_tool.cli import main


def _ids(entries) -> list[str]:
    return [e.id for e in entries]


def _by_id(cat) -> dict:
    """Every indicator and sub-item of a catalog by id."""
    out = {}
    for *_, ind in cat.indicators():
        out[ind.id] = ind
        out.update({s.id: s for s in ind.subitems})
    return out


def _group(data: dict, goal: int, group: int) -> dict:
    return data["grants"][0]["goals"][goal]["groups"][group]


def test_r7_to_r8_municipality_matches_the_catalogs():
    r7, r8 = load_shipped_catalog("R7", "municipality"), load_shipped_catalog("R8", "municipality")
    old, new = _by_id(r7), _by_id(r8)
    both = [i for i in new if i in old]
    diff = diff_catalogs(r7, r8)
    assert _ids(diff.added) == [i for i in new if i not in old]
    assert _ids(diff.removed) == [i for i in old if i not in new]
    assert _ids(diff.reworded) == [i for i in both if old[i].text != new[i].text]
    assert _ids(diff.repointed) == [i for i in both if old[i].points != new[i].points]
    assert _ids(diff.rule_changed) == [i for i in both
                                       if getattr(old[i], "rule", None) != getattr(new[i], "rule", None)]
    assert _ids(diff.notes_changed) == [i for i in both if getattr(old[i], "notes", "") != getattr(new[i], "notes", "")]
    # what that means for these two years: three questions re-worded (seeds 002 and 004); in the tally,
    # 支援Ⅰ-6 and 支援Ⅱ-1 gain a sub-item カ and their other sub-items are re-pointed (R7 ア1 イ2 ウ2 エ2 オ2 →
    # R8 ア1 イ1 ウ1 エ2 オ2 カ2; R7 ア–オ 5 each → R8 ア–オ 4 each, カ 5)
    assert _ids(diff.reworded) == ["S1-p1", "S1-p2", "S1-p4"]
    assert _ids(diff.added) == ["S1-p6-ka", "S2-p1-ka"]
    assert _ids(diff.repointed) == ["S1-p6-i", "S1-p6-u", *(f"S2-p1-{k}" for k in ("a", "i", "u", "e", "o"))]
    assert not diff.removed and not diff.moved
    groups = {(g.goal_id, g.kind): (g.before, g.after) for g in diff.groups}
    assert groups == {(goal.id, group.kind.value): (group.points, group.points) for _, goal, group in r8.groups()}
    assert diff.reworded[0].before == old["S1-p1"].text and diff.reworded[0].after == new["S1-p1"].text


def test_hand_made_changes_are_exactly_what_the_diff_reports():
    r7 = load_shipped_catalog("R7", "municipality")
    data = copy.deepcopy(r7.model_dump(mode="json"))
    process = _group(data, 0, 0)["indicators"]
    assert [i["id"] for i in process] == ["P1-p1", "P1-p2", "P1-p3", "P1-p4"]
    process[0]["subitems"][1]["text"] += "（改）"  # re-word sub-item P1-p1-i
    process[1]["subitems"][0]["points"] = 0  # P1-p2-a 4 → 0 and P1-p2 16 → 12 ...
    process[1]["points"] = 12
    process[2]["subitems"][0]["points"] = 5  # ... P1-p3-a1 1 → 5 and P1-p3 16 → 20: the group still adds up to 64
    process[2]["points"] = 20
    removed = process.pop(3)  # remove P1-p4 (16 points) ...
    process.append({**removed, "id": "P1-p5", "number": "5", "text": "新しい指標",  # ... and add P1-p5 (16)
                    "subitems": [{**s, "id": s["id"].replace("P1-p4", "P1-p5")} for s in removed["subitems"]]})
    new = parse_catalog(data, "hand-made")
    diff = diff_catalogs(r7, new)
    assert _ids(diff.reworded) == ["P1-p1-i"] and diff.reworded[0].level == "小項目"
    assert [(c.id, c.before, c.after) for c in diff.repointed] == [("P1-p2", 16, 12), ("P1-p2-a", 4, 0),
                                                                   ("P1-p3", 16, 20), ("P1-p3-a1", 1, 5)]
    assert _ids(diff.removed) == ["P1-p4"] and _ids(diff.added) == ["P1-p5"]  # sub-items come and go with them
    assert diff.added[0].text == "新しい指標" and diff.added[0].points == 16
    assert not diff.rule_changed and not diff.moved and not diff.notes_changed
    assert not diff.changed_groups


def test_rule_requires_group_totals_and_moves():
    before = parse_catalog(rules_catalog(), "before")
    data = rules_catalog()
    process, activity = _group(data, 0, 0)["indicators"], _group(data, 0, 1)["indicators"]
    process[0]["points"], process[0]["rule"]["cap"] = 15, 15  # P1-p1: 12 → 15, cap 12 → 15
    del process[1]["subitems"][1]["requires"]  # P1-p2-b no longer needs P1-p2-a
    activity[1]["points"] = 9  # P1-a2: 12 → 9
    activity.append(process.pop(2))  # P1-p3 (tiers, 8) moves from process to activity
    _group(data, 0, 0)["points"], _group(data, 0, 1)["points"] = 15 + 10, 6 + 9 + 8  # goal total stays 48
    after = parse_catalog(data, "after")
    diff = diff_catalogs(before, after)
    assert [(c.id, c.before, c.after) for c in diff.repointed] == [("P1-p1", 12, 15), ("P1-a2", 12, 9)]
    assert _ids(diff.rule_changed) == ["P1-p1", "P1-p2-b"]
    assert "上限 12 点" in diff.rule_changed[0].before and "上限 15 点" in diff.rule_changed[0].after
    assert diff.rule_changed[1].after == "前提なし"
    assert _ids(diff.moved) == ["P1-p3"] and "活動指標群" in diff.moved[0].after
    assert not diff.added and not diff.removed and not diff.reworded
    assert [(g.goal_id, g.kind, g.before, g.after) for g in diff.changed_groups] == [
        ("P1", "process", 30, 25), ("P1", "activity", 18, 23)]


def test_r5_to_r6_every_indicator_removed_and_added():
    r5, r6 = load_shipped_catalog("R5", "municipality"), load_shipped_catalog("R6", "municipality")
    diff = diff_catalogs(r5, r6)
    assert _ids(diff.removed) == [i.id for *_, i in r5.indicators()]
    assert _ids(diff.added) == [i.id for *_, i in r6.indicators()]
    assert not any((diff.reworded, diff.repointed, diff.rule_changed, diff.moved, diff.notes_changed))
    combined = [g for g in diff.groups if g.kind == "combined"]
    assert {g.after for g in combined} == {None} and sum(g.before for g in combined) == r5.total


def test_a_catalog_against_itself_has_no_differences():
    r8 = load_shipped_catalog("R8", "prefecture")
    diff = diff_catalogs(r8, r8)
    assert diff.is_empty and all(g.delta == 0 for g in diff.groups)


def test_cli_diff_r7_r8_terminal_and_xlsx(tmp_path):
    out = tmp_path / "diff.xlsx"
    result = CliRunner().invoke(main, ["catalog", "diff", "R7", "R8", "--kind", "municipality", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "文言の変更（3 件）" in result.output and "追加（2 件）" in result.output and "指標群の配点" in result.output
    assert "S1-p4" in result.output and "R7-municipality → R8-municipality" in result.output
    wb = load_workbook(out)
    assert wb.sheetnames == ["差分", "指標群の配点"]
    rows = list(wb["差分"].iter_rows(min_row=2, values_only=True))
    assert [(r[0], r[2]) for r in rows if r[0] == "文言の変更"] == [("文言の変更", i) for i in ("S1-p1", "S1-p2", "S1-p4")]
    r8 = load_shipped_catalog("R8", "municipality")
    s1p1 = next(i for *_, i in r8.indicators() if i.id == "S1-p1")
    assert next(r[5] for r in rows if r[2] == "S1-p1" and r[0] == "文言の変更") == s1p1.text
    assert wb["指標群の配点"].max_row == 1 + len(list(r8.groups())) + 1  # header, groups, 合計


def test_cli_diff_accepts_yaml_and_xlsx_paths(tmp_path):
    r7 = load_shipped_catalog("R7", "municipality")
    yaml_path = write_catalog_yaml(r7, tmp_path / "r7.yaml")
    book = write_catalog_xlsx(r7, tmp_path / "r7.xlsx")
    result = CliRunner().invoke(main, ["catalog", "diff", str(yaml_path), str(book)])
    assert result.exit_code == 0, result.output
    assert "差分はありません" in result.output
    result = CliRunner().invoke(main, ["catalog", "diff", "R5", "R6"])
    r6 = load_shipped_catalog("R6", "municipality")
    added = len(list(r6.indicators()))  # every indicator (their sub-items come with them)
    assert result.exit_code == 0 and "削除（6 件）" in result.output and f"追加（{added} 件）" in result.output


def test_cli_diff_refuses_unknown_inputs(tmp_path):
    result = CliRunner().invoke(main, ["catalog", "diff", "R7", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 1 and "nope.yaml" in result.output
    assert CliRunner().invoke(main, ["catalog", "diff", "R3", "R7"]).exit_code == 1


def test_changed_levels_of_a_ladder_are_a_rule_change():
    r8 = load_shipped_catalog("R8", "municipality")
    data = copy.deepcopy(r8.model_dump(mode="json"))
    activity = _group(data, 0, 1)["indicators"]
    ladder = activity[0]["subitems"][0]
    assert ladder["id"] == "P1-a1-lv" and [b["points"] for b in ladder["bands"]] == [3, 3, 3, 3]  # the tally
    ladder["bands"][0]["points"], ladder["bands"][1]["points"] = 2, 4  # still 12 in all
    diff = diff_catalogs(r8, parse_catalog(data, "levels"))
    assert [(c.id, c.before, c.after) for c in diff.rule_changed] == [
        ("P1-a1-lv", "段階 ア 3点・イ 3点・ウ 3点・エ 3点", "段階 ア 2点・イ 4点・ウ 3点・エ 3点")]
    assert not diff.repointed and not diff.reworded
