"""Year-to-year differences between two catalogs, matched by id.

`diff_catalogs` is pure: it returns a CatalogDiff (indicators and sub-items added, removed, re-worded,
re-pointed, with a changed rule, moved to another goal/group, with changed 留意点; and the points of every
goal × group before and after). `diff_tables` and `write_diff_xlsx` present it in Japanese.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from openpyxl import Workbook
from openpyxl.utils import get_column_letter
from rich.table import Table

from xlsx_tool.catalog.model import GROUP_LABELS, Catalog, GroupKind, Indicator, SubItem
from xlsx_tool.catalog.rules import rule_summary
from xlsx_tool.util.atomic import write_atomically
from xlsx_tool.util.styles import BOLD, BOX, FILL_HEADER, WRAP_TOP

INDICATOR = "指標"
SUBITEM = "小項目"


@dataclass(frozen=True)
class Item:
    """An indicator or sub-item that exists in only one of the catalogs."""

    id: str
    level: str  # INDICATOR | SUBITEM
    place: str  # 推進 目標Ⅰ 体制・取組指標群 1 ア
    text: str
    points: int | None
    subitems: int = 0  # an indicator's sub-items (not listed separately)


@dataclass(frozen=True)
class Change:
    """One property of an indicator or sub-item that differs; before/after as in the catalogs."""

    id: str
    level: str
    place: str  # in the new catalog
    before: object
    after: object


@dataclass(frozen=True)
class GroupTotal:
    grant: str  # 推進
    goal_id: str
    goal: str  # 目標Ⅰ 名称
    kind: str  # GroupKind value
    before: int | None  # None: the group does not exist in that catalog
    after: int | None
    indicators_before: int
    indicators_after: int

    @property
    def label(self) -> str:
        return GROUP_LABELS[GroupKind(self.kind)]

    @property
    def delta(self) -> int:
        return (self.after or 0) - (self.before or 0)


@dataclass(frozen=True)
class CatalogDiff:
    before: str  # catalog id
    after: str
    before_label: str
    after_label: str
    added: tuple[Item, ...]
    removed: tuple[Item, ...]
    reworded: tuple[Change, ...]
    repointed: tuple[Change, ...]
    rule_changed: tuple[Change, ...]
    moved: tuple[Change, ...]
    notes_changed: tuple[Change, ...]
    groups: tuple[GroupTotal, ...]
    total_before: int
    total_after: int

    CHANGE_KINDS = (("reworded", "文言の変更"), ("repointed", "配点の変更"), ("rule_changed", "採点方法の変更"),
                    ("moved", "所属の変更"), ("notes_changed", "留意点の変更"))

    @property
    def changed_groups(self) -> tuple[GroupTotal, ...]:
        return tuple(g for g in self.groups if g.before != g.after)

    @property
    def is_empty(self) -> bool:
        lists = (self.added, self.removed, *(getattr(self, name) for name, _ in self.CHANGE_KINDS))
        return not any(lists) and not self.changed_groups


@dataclass(frozen=True)
class _Placed:
    """An indicator with where it sits in its catalog."""

    ind: Indicator
    place: str
    group_key: tuple[str, str]


def _placed_indicators(cat: Catalog) -> dict[str, _Placed]:
    return {ind.id: _Placed(ind, f"{grant.short} 目標{goal.number} {GROUP_LABELS[group.kind]} {ind.number}",
                            (goal.id, group.kind.value))
            for grant, goal, group, ind in cat.indicators()}


def _placed_subitems(inds: dict[str, _Placed]) -> dict[str, tuple[_Placed, SubItem]]:
    return {sub.id: (p, sub) for p in inds.values() for sub in p.ind.subitems}


def _sub_place(parent: _Placed, sub: SubItem) -> str:
    return f"{parent.place} {sub.label}".rstrip()


def diff_catalogs(old: Catalog, new: Catalog) -> CatalogDiff:
    """What changed from `old` to `new`; indicators and sub-items are matched by id."""
    old_inds, new_inds = _placed_indicators(old), _placed_indicators(new)
    old_subs, new_subs = _placed_subitems(old_inds), _placed_subitems(new_inds)
    changes = _indicator_changes(old_inds, new_inds)
    for name, found in _subitem_changes(old_subs, new_subs).items():
        changes[name].extend(found)
    old_order, new_order = _catalog_order(old), _catalog_order(new)
    return CatalogDiff(
        before=old.id, after=new.id, before_label=old.year_label, after_label=new.year_label,
        added=_sorted(_only_in(new_inds, new_subs, old_inds, old_subs), new_order),
        removed=_sorted(_only_in(old_inds, old_subs, new_inds, new_subs), old_order),
        **{name: _sorted(found, new_order) for name, found in changes.items()},
        groups=tuple(_group_totals(old, new)), total_before=old.total, total_after=new.total,
    )


def _catalog_order(cat: Catalog) -> dict[str, int]:
    """Position of every indicator and sub-item id (an indicator just before its sub-items)."""
    ids = [i for *_, ind in cat.indicators() for i in (ind.id, *(s.id for s in ind.subitems))]
    return {ident: n for n, ident in enumerate(ids)}


def _sorted(entries, order: dict[str, int]) -> tuple:
    return tuple(sorted(entries, key=lambda e: order[e.id]))


def _only_in(inds, subs, other_inds, other_subs) -> list[Item]:
    """Indicators of `inds` missing from the other catalog, then sub-items whose indicator is in both."""
    items = [Item(i, INDICATOR, p.place, p.ind.text, p.ind.points, len(p.ind.subitems))
             for i, p in inds.items() if i not in other_inds]
    items += [Item(s, SUBITEM, _sub_place(p, sub), sub.text, sub.points)
              for s, (p, sub) in subs.items() if s not in other_subs and p.ind.id in other_inds]
    return items


def _indicator_changes(old_inds: dict[str, _Placed], new_inds: dict[str, _Placed]) -> dict[str, list[Change]]:
    out: dict[str, list[Change]] = {name: [] for name, _ in CatalogDiff.CHANGE_KINDS}
    for ident, new in new_inds.items():
        if ident not in old_inds:
            continue
        old = old_inds[ident]
        a, b = old.ind, new.ind

        def change(before, after) -> Change:
            return Change(ident, INDICATOR, new.place, before, after)

        if a.text != b.text:
            out["reworded"].append(change(a.text, b.text))
        if a.points != b.points:
            out["repointed"].append(change(a.points, b.points))
        if a.rule != b.rule:
            out["rule_changed"].append(change(rule_summary(a), rule_summary(b)))
        if old.group_key != new.group_key:
            out["moved"].append(change(old.place, new.place))
        if a.notes != b.notes:
            out["notes_changed"].append(change(a.notes, b.notes))
    return out


def _subitem_changes(old_subs, new_subs) -> dict[str, list[Change]]:
    out: dict[str, list[Change]] = {"reworded": [], "repointed": [], "rule_changed": [], "moved": []}
    for ident, (new_parent, b) in new_subs.items():
        if ident not in old_subs:
            continue
        old_parent, a = old_subs[ident]

        def change(before, after) -> Change:
            return Change(ident, SUBITEM, _sub_place(new_parent, b), before, after)

        if a.text != b.text:
            out["reworded"].append(change(a.text, b.text))
        if a.points != b.points:
            out["repointed"].append(change(a.points, b.points))
        if a.requires != b.requires:
            out["rule_changed"].append(change(_requires_text(a), _requires_text(b)))
        if [(x.label, x.points) for x in a.bands] != [(x.label, x.points) for x in b.bands]:
            out["rule_changed"].append(change(_levels_text(a), _levels_text(b)))
        if old_parent.ind.id != new_parent.ind.id:
            out["moved"].append(change(_sub_place(old_parent, a), _sub_place(new_parent, b)))
    return out


def _levels_text(sub: SubItem) -> str:
    return "段階 " + "・".join(f"{x.label} {x.points}点" for x in sub.bands) if sub.bands else "段階なし"


def _requires_text(sub: SubItem) -> str:
    return f"{sub.requires} が該当のときのみ数える" if sub.requires else "前提なし"


def _group_totals(old: Catalog, new: Catalog) -> list[GroupTotal]:
    def table(cat: Catalog) -> dict[tuple[str, str], tuple]:
        return {(goal.id, group.kind.value): (grant.short, f"目標{goal.number} {goal.name}", group)
                for grant, goal, group in cat.groups()}

    before, after = table(old), table(new)
    keys = list(after) + [k for k in before if k not in after]
    out = []
    for key in keys:
        grant, goal, _ = after.get(key) or before[key]
        b, a = before.get(key, (None, None, None))[2], after.get(key, (None, None, None))[2]
        out.append(GroupTotal(grant, key[0], goal, key[1], b.points if b else None, a.points if a else None,
                              len(b.indicators) if b else 0, len(a.indicators) if a else 0))
    return out


# -- presentation ---------------------------------------------------------------------------

def _points(value) -> str:
    return "－" if value is None else str(value)


def _delta(value: int) -> str:
    return f"{value:+d}" if value else "±0"


def summary_line(diff: CatalogDiff) -> str:
    parts = [f"追加 {len(diff.added)}", f"削除 {len(diff.removed)}",
             *(f"{label} {len(getattr(diff, name))}" for name, label in diff.CHANGE_KINDS),
             f"配点が変わった指標群 {len(diff.changed_groups)}"]
    return f"{diff.before} → {diff.after}: " + "、".join(parts)


def diff_tables(diff: CatalogDiff) -> list[Table]:
    """Rich tables for the terminal: additions, removals, each kind of change, group totals."""
    tables = []
    for items, title in ((diff.added, "追加"), (diff.removed, "削除")):
        if items:
            tables.append(_items_table(items, f"{title}（{len(items)} 件）"))
    for name, label in diff.CHANGE_KINDS:
        changes = getattr(diff, name)
        if changes:
            make = _notes_table if name == "notes_changed" else _changes_table
            tables.append(make(changes, f"{label}（{len(changes)} 件）"))
    tables.append(_groups_table(diff))
    return tables


def _items_table(items: tuple[Item, ...], title: str) -> Table:
    table = Table(title=title, show_lines=True)
    for col in ("区分", "id", "位置", "内容", "配点"):
        table.add_column(col, justify="right" if col == "配点" else "left", overflow="fold")
    for it in items:
        text = it.text + (f"（小項目 {it.subitems}）" if it.subitems else "")
        table.add_row(it.level, it.id, it.place, text, _points(it.points))
    return table


def _changes_table(changes: tuple[Change, ...], title: str) -> Table:
    table = Table(title=title, show_lines=True)
    for col in ("区分", "id", "位置", "変更前", "変更後"):
        table.add_column(col, overflow="fold")  # Japanese has no spaces to wrap at
    for c in changes:
        table.add_row(c.level, c.id, c.place, _shown(c.before), _shown(c.after))
    return table


def _notes_table(changes: tuple[Change, ...], title: str) -> Table:
    """留意点 are long: the terminal shows which changed, the xlsx shows the texts."""
    table = Table(title=f"{title}　本文は --out の xlsx に出力します")
    for col, justify in (("区分", "left"), ("id", "left"), ("位置", "left"), ("文字数", "right")):
        table.add_column(col, justify=justify)
    for c in changes:
        table.add_row(c.level, c.id, c.place, f"{len(str(c.before))} → {len(str(c.after))}")
    return table


def _shown(value, limit: int = 400) -> str:
    text = _points(value) if value is None or isinstance(value, int) else str(value)
    return text if len(text) <= limit else text[:limit] + "…"


def _groups_table(diff: CatalogDiff) -> Table:
    table = Table(title=f"指標群の配点（{diff.before} → {diff.after}）")
    for col, justify in (("交付金", "left"), ("目標", "left"), ("指標群", "left"), ("変更前", "right"),
                         ("変更後", "right"), ("増減", "right"), ("指標数", "right")):
        table.add_column(col, justify=justify)
    for g in diff.groups:
        style = "bold" if g.before != g.after else None
        table.add_row(g.grant, g.goal, g.label, _points(g.before), _points(g.after), _delta(g.delta),
                      f"{g.indicators_before} → {g.indicators_after}", style=style)
    table.add_row("合計", "", "", str(diff.total_before), str(diff.total_after),
                  _delta(diff.total_after - diff.total_before), "", end_section=True)
    return table


CHANGES_SHEET = "差分"
GROUPS_SHEET = "指標群の配点"


def write_diff_xlsx(diff: CatalogDiff, path: str | Path) -> Path:
    wb = Workbook()
    ws = wb.active
    ws.title = CHANGES_SHEET
    _write_sheet(ws, _change_rows(diff), (("変更の種類", 14), ("区分", 8), ("id", 12), ("位置", 34),
                                          (f"変更前（{diff.before}）", 60), (f"変更後（{diff.after}）", 60)))
    _write_sheet(wb.create_sheet(GROUPS_SHEET), _group_rows(diff),
                 (("交付金", 8), ("目標", 40), ("指標群", 16), (f"変更前（{diff.before}）", 12),
                  (f"変更後（{diff.after}）", 12), ("増減", 8), ("指標数（前）", 10), ("指標数（後）", 10)))
    return write_atomically(path, lambda tmp: wb.save(tmp))


def _change_rows(diff: CatalogDiff) -> list[tuple]:
    rows = [("追加", it.level, it.id, it.place, None, _item_text(it)) for it in diff.added]
    rows += [("削除", it.level, it.id, it.place, _item_text(it), None) for it in diff.removed]
    for name, label in diff.CHANGE_KINDS:
        rows += [(label, c.level, c.id, c.place, c.before, c.after) for c in getattr(diff, name)]
    return rows


def _item_text(it: Item) -> str:
    return f"{it.text}（配点 {_points(it.points)}" + (f"、小項目 {it.subitems}）" if it.subitems else "）")


def _group_rows(diff: CatalogDiff) -> list[tuple]:
    rows = [(g.grant, g.goal, g.label, g.before, g.after, g.delta, g.indicators_before, g.indicators_after)
            for g in diff.groups]
    return rows + [("合計", None, None, diff.total_before, diff.total_after, diff.total_after - diff.total_before,
                    None, None)]


def _write_sheet(ws, rows: list[tuple], columns: tuple[tuple[str, int], ...]) -> None:
    for ci, (title, width) in enumerate(columns, 1):
        cell = ws.cell(1, ci, title)
        cell.font, cell.fill, cell.border, cell.alignment = BOLD, FILL_HEADER, BOX, WRAP_TOP
        ws.column_dimensions[get_column_letter(ci)].width = width
    for ri, row in enumerate(rows, 2):
        for ci, value in enumerate(row, 1):
            cell = ws.cell(ri, ci, value)
            if isinstance(value, str) and value.startswith("="):
                cell.data_type = "s"
            cell.border, cell.alignment = BOX, WRAP_TOP
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{len(rows) + 1}"
