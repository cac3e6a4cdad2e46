"""Reading a catalog workbook back (`read_catalog_xlsx`): rows to the catalog's data, validated by the
catalog validator, every problem reported at once at its sheet, row and column with how to fix it.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from zipfile import BadZipFile

from openpyxl import Workbook, load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from xlsx_tool.catalog.excel_cells import (
    BAD,
    CatalogSheetError,
    Importer,
    IndicatorSlot,
    Loc,
    Row,
    header_columns,
    header_row,
    read_rows,
)
from xlsx_tool.catalog.excel_layout import (
    BANDS,
    CHOICES,
    GOALS,
    GRANTS,
    HEADER,
    INDICATORS,
    RATIO_KEYS,
    RULE_PARAMETERS,
    SHEET_ORDER,
    STEP_KEY,
    STEPS,
    SUBITEMS,
    TABLES,
)
from xlsx_tool.catalog.loading import CatalogError, parse_catalog
from xlsx_tool.catalog.model import Catalog
from xlsx_tool.util.problems import located

# -- import: rows to the catalog dict ----------------------------------------------------

BLANK_TEXT = "（空欄）"  # stands in for a reported blank text so the remaining checks can run


def read_catalog_xlsx(path: str | Path | io.BytesIO) -> Catalog:
    """Read a catalog workbook; CatalogSheetError lists every problem with its cell."""
    source = "（メモリ上のブック）" if isinstance(path, io.BytesIO) else str(path)
    try:
        wb = load_workbook(path)
    except (OSError, BadZipFile, InvalidFileException, KeyError, ValueError) as exc:
        raise CatalogError(source, [located("xlsx.cannot_open", "", detail=exc)]) from None
    imp = Importer(source)
    data = _catalog_data(wb, imp)
    catalog, deferred = _validate(imp, data) if data is not None else (None, 0)
    if imp.problems or catalog is None:
        cells = sorted(imp.problems, key=lambda p: p.loc.sort_key())
        raise CatalogSheetError(source, cells, deferred + imp.waiting_rows)
    return catalog


def _catalog_data(wb: Workbook, imp: Importer) -> dict | None:
    missing = [name for name in SHEET_ORDER if name not in wb.sheetnames]
    for name in missing:
        imp.report(Loc(name), "xlsx.no_sheet", table=name)
    if missing:
        return None
    header = header_row(wb[HEADER.name], imp)
    columns = {spec.name: header_columns(wb[spec.name], spec, imp) for spec in TABLES}
    if header is None or None in columns.values():
        return None
    rows = {spec.name: read_rows(wb[spec.name], spec, columns[spec.name], imp) for spec in TABLES}
    data = _top(header, imp)
    grants = _grants(rows[GRANTS.name], imp)
    data["grants"] = [g for g, _ in grants.values()]
    groups = _goals(rows[GOALS.name], grants, imp)
    indicators = _indicators(rows[INDICATORS.name], groups, imp)
    subitems = _subitems(rows[SUBITEMS.name], indicators, imp)
    _bands(rows[BANDS.name], subitems, imp)
    _steps(rows[STEPS.name], indicators, imp)
    _empty_containers(grants, groups, indicators, imp)
    return data


def _provenance(row: Row, path: str, imp: Importer) -> dict | None:
    status = imp.take(row, "status", f"{path}.status", placeholder="not_in_sources")
    sources = imp.take(row, "sources", f"{path}.sources") or []
    note = imp.take(row, "note", f"{path}.note") or ""
    imp.where[path] = row.locs["status"]
    tally = {key: imp.take(row, key, f"{path}.{key}") for key in ("tally_year", "tally_column")
             if key in row.locs}
    tally = {k: v for k, v in tally.items() if v is not None}
    if status is None:  # only a sub-item's provenance may be blank (its 出典区分 is not required)
        if not sources and not note and not tally:
            return None
        imp.report(row.locs["status"], "xlsx.status_blank")
        status = "not_in_sources"
    return {"status": status, "sources": sources, "note": note, **tally}


def _national(row: Row, path: str, imp: Importer) -> dict | None:
    met = imp.take(row, "national_met", f"{path}.national.met")
    of = imp.take(row, "national_of", f"{path}.national.of")
    imp.where[f"{path}.national"] = row.locs["national_met"]
    if met is None or of is None:
        if (met, of) != (None, None):
            imp.report(row.locs["national_met" if met is None else "national_of"], "xlsx.national_pair")
        return None
    return {"met": met, "of": of}


def _top(row: Row, imp: Importer) -> dict:
    year = imp.take(row, "year", "year", placeholder="R0", affects="published")
    if year != "R0" and not re.fullmatch(r"R\d{1,2}", year):
        imp.report(row.locs["year"], "xlsx.year_format", year=year)
        imp.flag("year", "published")
        year = "R0"
    return {
        "schema_version": imp.take(row, "schema_version", "schema_version", placeholder=1),
        "id": imp.take(row, "id", "id", placeholder="blank-catalog"),
        "year": year,
        "kind": imp.take(row, "kind", "kind", placeholder="municipality", affects="published"),
        "title": imp.take(row, "title", "title") or "",
        "period": imp.take(row, "period", "period") or "",
        "total": imp.take(row, "total", "total", placeholder=0, affects="sums"),
        "provenance": _provenance(row, "provenance", imp),
    }


def _grants(rows: list[Row], imp: Importer) -> dict[str, tuple[dict, str]]:
    grants: dict[str, tuple[dict, str]] = {}
    for row in rows:
        gid = row.values["id"]
        if gid is BAD:
            imp.flag("", "sums")
            continue
        if gid in grants:
            imp.report(row.locs["id"], "xlsx.grant_twice", grant=gid)
            imp.flag("", "sums")
            continue
        path = f"grants[{len(grants)}]"
        imp.where[path] = imp.where[f"{path}.goals"] = row.locs["id"]
        imp.where[f"grants({gid})"] = row.locs["points"]
        grant = {"id": imp.take(row, "id", f"{path}.id"), "name": imp.take(row, "name", f"{path}.name") or "",
                 "short": imp.take(row, "short", f"{path}.short") or "",
                 "points": imp.take(row, "points", f"{path}.points", placeholder=0, affects="sums"), "goals": []}
        grants[gid] = (grant, path)
    return grants


GOAL_KEYS = ("grant", "number", "name", "points")


def _goals(rows: list[Row], grants, imp: Importer) -> dict[tuple[str, str], tuple[dict, str]]:
    goals: dict[str, tuple[dict, str, Row]] = {}
    groups: dict[tuple[str, str], tuple[dict, str]] = {}
    for row in rows:
        grant_id, goal_id, kind = row.values["grant"], row.values["goal"], row.values["group"]
        if BAD in (grant_id, goal_id, kind):
            imp.flag("", "sums")
            continue
        if goal_id in goals:
            _same_goal(row, goals[goal_id][2], imp)
        elif grant_id not in grants:
            imp.report(row.locs["grant"], "xlsx.unknown_grant", grant=grant_id, table=GRANTS.name)
            imp.flag("", "sums")
            continue
        else:
            goals[goal_id] = (*_new_goal(row, *grants[grant_id], imp), row)
        goal, goal_path, _ = goals[goal_id]
        if (goal_id, kind) in groups:
            imp.report(row.locs["group"], "xlsx.group_twice", goal=goal_id, kind=kind)
            imp.flag("", "sums")
            continue
        groups[(goal_id, kind)] = _new_group(row, goal, goal_path, imp)
    return groups


def _new_group(row: Row, goal: dict, goal_path: str, imp: Importer) -> tuple[dict, str]:
    path = f"{goal_path}.groups[{len(goal['groups'])}]"
    imp.where[path] = imp.where[f"{path}.indicators"] = row.locs["group"]
    group = {"kind": imp.take(row, "group", f"{path}.kind"),
             "points": imp.take(row, "group_points", f"{path}.points", placeholder=0, affects="sums"),
             "indicators": []}
    goal["groups"].append(group)
    return group, path


def _new_goal(row: Row, grant: dict, grant_path: str, imp: Importer) -> tuple[dict, str]:
    path = f"{grant_path}.goals[{len(grant['goals'])}]"
    imp.where[path] = imp.where[f"{path}.groups"] = row.locs["goal"]
    imp.unique_id(row, "goal", row.values["goal"])
    goal = {"id": imp.take(row, "goal", f"{path}.id"), "number": imp.take(row, "number", f"{path}.number") or "",
            "name": imp.take(row, "name", f"{path}.name", placeholder=BLANK_TEXT),
            "points": imp.take(row, "points", f"{path}.points", placeholder=0, affects="sums"), "groups": []}
    imp.where[f"grants({grant['id']}).goals(目標{goal['number']})"] = row.locs["group_points"]
    grant["goals"].append(goal)
    return goal, path


def _same_goal(row: Row, first: Row, imp: Importer) -> None:
    for key in GOAL_KEYS:
        if row.ok(key) and first.ok(key) and row.values[key] != first.values[key]:
            imp.report(row.locs[key], "xlsx.goal_differs", goal=row.values["goal"], header=first.locs[key].header,
                       first_row=first.number, first_value=first.values[key])


def _indicators(rows: list[Row], groups, imp: Importer) -> dict[str, IndicatorSlot]:
    slots: dict[str, IndicatorSlot] = {}
    for row in rows:
        group = _parent_group(row, groups, imp)
        if group is None:
            imp.flag("", "sums")
            if row.ok("id") and row.values["id"] is not None:
                imp.left_out.add(row.values["id"])
            continue
        group_dict, group_path = group
        path = f"{group_path}.indicators[{len(group_dict['indicators'])}]"
        slot = _indicator(row, path, imp)
        group_dict["indicators"].append(slot.data)
        slots.setdefault(slot.data["id"], slot)
    return slots


def _parent_group(row: Row, groups, imp: Importer):
    goal_id, kind = row.values["goal"], row.values["group"]
    if BAD in (goal_id, kind):
        return None
    if (goal_id, kind) in groups:
        return groups[(goal_id, kind)]
    if any(g == goal_id for g, _ in groups):
        imp.report(row.locs["group"], "xlsx.no_group_row", goal=goal_id, kind=kind, table=GOALS.name)
    else:
        imp.report(row.locs["goal"], "xlsx.unknown_goal", goal=goal_id, table=GOALS.name)
    return None


def _indicator(row: Row, path: str, imp: Importer) -> IndicatorSlot:
    imp.where[path] = row.locs["id"]
    ident = imp.take(row, "id", f"{path}.id", placeholder=f"blank-{INDICATORS.code}-{row.number}")
    if row.ok("id"):
        imp.unique_id(row, "id", ident)
    points = imp.take(row, "points", f"{path}.points", placeholder=0, affects="sums")
    rule, rule_type = _rule(row, path, imp)
    data = {"id": ident, "number": imp.take(row, "number", f"{path}.number") or "",
            "text": imp.take(row, "text", f"{path}.text", placeholder=BLANK_TEXT),
            "title": imp.take(row, "title", f"{path}.title") or "",
            "short_title": imp.take(row, "short_title", f"{path}.short_title") == "short",
            "points": points,
            "rule": rule, "subitems": [], "notes": imp.take(row, "notes", f"{path}.notes") or "",
            "period": imp.take(row, "period", f"{path}.period") or "",
            "provenance": _provenance(row, f"{path}.provenance", imp)}
    imp.where[f"{path}.subitems"] = row.locs["id"]
    return IndicatorSlot(data, path, row, rule_type)


def _rule(row: Row, path: str, imp: Importer) -> tuple[dict, str | None]:
    rule_type = imp.take(row, "rule", f"{path}.rule", placeholder=None, affects="rule")
    imp.where[f"{path}.rule.type"] = row.locs["rule"]
    params = {}
    for key in ("cap", "step", "unit", "combine", *RATIO_KEYS):
        field = f"ratio.{RATIO_KEYS[key]}" if key in RATIO_KEYS else key
        for tag in CHOICES["rule"]:
            imp.where[f"{path}.rule.{tag}.{field}"] = row.locs[key]
        value = imp.take(row, key, f"{path}.rule.{field}", affects="rule")
        if value is None or value == "":
            continue
        if rule_type is not None and key not in RULE_PARAMETERS[rule_type]:
            imp.report(row.locs[key], "xlsx.unused_parameter", rule=rule_type, header=row.locs[key].header)
            imp.flag(f"{path}.rule", "rule")
            continue
        params[key] = value
    if rule_type is None:
        return {"type": "direct"}, None  # placeholder; the rule checks of this indicator are skipped
    ratio = {RATIO_KEYS[key]: params.pop(key) for key in list(params) if key in RATIO_KEYS}
    if ratio:
        params["ratio"] = _ratio(row, ratio, path, imp)
    if rule_type in STEP_KEY:
        params[rule_type] = []  # filled from the 採点区分 sheet
    return {"type": rule_type, **params}, rule_type


def _ratio(row: Row, ratio: dict, path: str, imp: Importer) -> dict:
    """分子 and 分母 go together; 倍率 alone is not a ratio."""
    imp.where[f"{path}.rule.ratio"] = imp.where[f"{path}.rule.thresholds.ratio"] = row.locs["ratio_numerator"]
    for key, name in RATIO_KEYS.items():
        if name != "per" and name not in ratio:
            imp.report(row.locs[key], "xlsx.ratio_incomplete", header=row.locs[key].header)
            imp.flag(f"{path}.rule", "rule")
            ratio[name] = BLANK_TEXT
    return ratio


def _subitems(rows: list[Row], indicators: dict[str, IndicatorSlot], imp: Importer) -> dict[str, tuple[dict, str]]:
    """The sub-items under their indicators; returns id -> (sub-item data, path) for the 段階 sheet."""
    found: dict[str, tuple[dict, str]] = {}
    for row in rows:
        slot = _parent_indicator(row, indicators, imp)
        if slot is None:
            continue
        subs = slot.data["subitems"]
        path = f"{slot.path}.subitems[{len(subs)}]"
        imp.where[path] = row.locs["id"]
        ident = imp.take(row, "id", f"{path}.id", placeholder=f"blank-{SUBITEMS.code}-{row.number}")
        if row.ok("id"):
            imp.unique_id(row, "id", ident)
        sub = {"id": ident, "label": imp.take(row, "label", f"{path}.label") or "",
               "text": imp.take(row, "text", f"{path}.text", placeholder=BLANK_TEXT),
               "short_title": imp.take(row, "short_title", f"{path}.short_title") == "short", "bands": []}
        optional = {"points": imp.take(row, "points", f"{path}.points", affects="rule"),
                    "requires": imp.take(row, "requires", f"{path}.requires"),
                    "same_as": imp.take(row, "same_as", f"{path}.same_as"),
                    "provenance": _provenance(row, f"{path}.provenance", imp),
                    "national": _national(row, path, imp)}
        subs.append({**sub, **{k: v for k, v in optional.items() if v is not None}})
        imp.where[f"{path}.bands"] = row.locs["id"]
        found.setdefault(ident, (subs[-1], path))
    return found


def _bands(rows: list[Row], subitems: dict[str, tuple[dict, str]], imp: Importer) -> None:
    for row in rows:
        ident = row.values["subitem"]
        if ident is BAD:
            continue
        if ident in imp.left_out:
            imp.waiting_rows += 1
            continue
        if ident not in subitems:
            imp.report(row.locs["subitem"], "xlsx.unknown_subitem", subitem=ident, table=SUBITEMS.name)
            continue
        sub, sub_path = subitems[ident]
        path = f"{sub_path}.bands[{len(sub['bands'])}]"
        imp.where[path] = row.locs["label"]
        band = {"label": imp.take(row, "label", f"{path}.label", placeholder=BLANK_TEXT),
                "points": imp.take(row, "points", f"{path}.points", placeholder=0, affects="rule")}
        optional = {"national": _national(row, path, imp), "provenance": _provenance(row, f"{path}.provenance", imp)}
        sub["bands"].append({**band, **{k: v for k, v in optional.items() if v is not None}})


def _parent_indicator(row: Row, indicators: dict[str, IndicatorSlot], imp: Importer) -> IndicatorSlot | None:
    ident = row.values["indicator"]
    if ident is BAD:
        return None
    if ident in imp.left_out:
        imp.waiting_rows += 1
        if row.ok("id") and row.values.get("id") is not None:
            imp.left_out.add(row.values["id"])  # its levels wait too
        return None
    if ident not in indicators:
        imp.report(row.locs["indicator"], "xlsx.unknown_indicator", indicator=ident, table=INDICATORS.name)
        return None
    return indicators[ident]


def _steps(rows: list[Row], indicators: dict[str, IndicatorSlot], imp: Importer) -> None:
    for row in rows:
        slot = _parent_indicator(row, indicators, imp)
        if slot is None or slot.rule is None:
            continue
        if slot.rule not in STEP_KEY:
            imp.report(row.locs["indicator"], "xlsx.steps_unused", indicator=slot.data["id"], rule=slot.rule,
                       table=INDICATORS.name)
            continue
        _step(row, slot, imp)


def _step(row: Row, slot: IndicatorSlot, imp: Importer) -> None:
    rule = slot.data["rule"]
    steps = rule[slot.rule]
    key, unused = STEP_KEY[slot.rule], "min" if slot.rule == "tiers" else "met"
    path = f"{slot.path}.rule.{slot.rule}[{len(steps)}]"
    for alias in (path, f"{slot.path}.rule.{slot.rule}.{slot.rule}[{len(steps)}]"):
        imp.where[alias] = row.locs[key]
        imp.where[f"{alias}.{key}"], imp.where[f"{alias}.points"] = row.locs[key], row.locs["points"]
    if row.values[unused] is not None and row.ok(unused):
        imp.report(row.locs[unused], "xlsx.unused_parameter", rule=slot.rule, header=row.locs[unused].header)
        imp.flag(slot.path + ".rule", "rule")
    value = row.values[key]
    if value is None:
        imp.report(row.locs[key], "xlsx.step_needs", rule=slot.rule, header=row.locs[key].header)
    if value is None or value is BAD or not row.ok("points"):
        imp.flag(slot.path + ".rule", "rule")
    steps.append({key: value if value not in (None, BAD) else (1 if key == "met" else 0.0),
                  "points": row.values["points"] if row.ok("points") else 0})


def _empty_containers(grants, groups, indicators: dict[str, IndicatorSlot], imp: Importer) -> None:
    for grant, path in grants.values():
        if not grant["goals"]:
            imp.report(imp.where[path], "xlsx.grant_no_goals", grant=grant["id"], table=GOALS.name)
    for group, path in groups.values():
        if not group["indicators"]:
            imp.report(imp.where[path], "xlsx.group_no_indicators", table=INDICATORS.name)
    for slot in indicators.values():
        if slot.rule in STEP_KEY and not slot.data["rule"][slot.rule]:
            imp.report(slot.row.locs["rule"], "xlsx.no_steps", rule=slot.rule, table=STEPS.name)
            imp.flag(slot.path + ".rule", "rule")
            slot.data["rule"][slot.rule].append({STEP_KEY[slot.rule]: 1, "points": 0})


# -- import: the validator's messages back to cells ---------------------------------------

_REST = re.compile(r"^(?P<sub>[.\[][^:\s]*)?(?: \((?P<context>[^)]*)\))?: (?P<body>.*)$", re.S)
_INDICATOR_PATH = re.compile(r"\.indicators\[\d+\]$")


def _validate(imp: Importer, data: dict) -> tuple[Catalog | None, int]:
    try:
        return parse_catalog(data, imp.source), 0
    except CatalogError as err:
        return None, _map_validator_problems(imp, err.problems)


def _map_validator_problems(imp: Importer, messages: list[str]) -> int:
    """Add the validator's messages at their cells; return how many were deferred."""
    own_cells = {p.loc for p in imp.problems if p.loc.column}  # already reported by the per-cell checks
    deferred = 0
    for message in dict.fromkeys(messages):
        path = _longest_path(imp.where, message)
        loc, body = _locate(imp, path, message)
        if _depends_on_reported(imp, path):
            deferred += 1
        elif loc not in own_cells:
            text, _, fix = body.rpartition(" → ")
            imp.report_text(loc, text or fix, fix if text else "")
    return deferred


def _longest_path(where: dict[str, Loc], message: str) -> str | None:
    best = None
    for path in where:
        if message.startswith(path) and (len(message) == len(path) or message[len(path)] in ":.[ "):
            if best is None or len(path) > len(best):
                best = path
    return best


def _locate(imp: Importer, path: str | None, message: str) -> tuple[Loc, str]:
    if path is None:
        return Loc(""), message
    match = _REST.match(message[len(path):])
    if not match:
        return imp.where[path], message
    body = match["body"]
    if match["sub"]:
        body = f"{match['sub'].lstrip('.')}: {body}"
    return _refine(imp, path, body)


def _refine(imp: Importer, path: str, body: str) -> tuple[Loc, str]:
    """A rule problem of an indicator: the cell it names (a sub-item, 上限, 刻み) or 採点方法."""
    if not _INDICATOR_PATH.search(path):
        return imp.where[path], body
    sub = re.match(r"(subitems\[\d+\]\.\w+): ", body)
    if sub and f"{path}.{sub[1]}" in imp.where:
        return imp.where[f"{path}.{sub[1]}"], body[sub.end():]
    for key in ("cap", "step"):
        if f"rule.{key}" in body or f" {key} " in body:
            return imp.where[f"{path}.rule.{key}"], body
    step = _step_cell(imp, path, body)
    return step or imp.where.get(f"{path}.rule", imp.where[path]), body


def _step_cell(imp: Importer, path: str, body: str) -> Loc | None:
    """The 採点区分 row a tiers/thresholds message is about: the top one, or the first when about order."""
    if body.startswith("rule '"):  # about the rule and the sub-items as a whole
        return None
    for kind, key in STEP_KEY.items():
        count = 0
        while f"{path}.rule.{kind}[{count}]" in imp.where:
            count += 1
        if not count or kind.rstrip("s") not in body:
            continue
        top = f"{path}.rule.{kind}[{count - 1}]"
        if "最上位" in body:
            return imp.where[f"{top}.points"]
        return imp.where[f"{path}.rule.{kind}[0].{key}" if "昇順" in body else f"{top}.{key}"]
    return None


def _depends_on_reported(imp: Importer, path: str | None) -> bool:
    """True when the message follows from a cell already reported (e.g. a sum with an unusable 配点)."""
    if path is None:
        return False
    if path.startswith("grants("):  # published points of a goal
        return any(affects in ("sums", "published") for _, affects in imp.flags)
    if path == "total" or (path.endswith(".points") and ".rule" not in path and ".subitems" not in path):
        container = "" if path == "total" else path[: -len(".points")]
        return any(affects == "sums" and (flagged == "" or flagged.startswith(container))  # "": a row left out
                   for flagged, affects in imp.flags)
    if _INDICATOR_PATH.search(path):
        return any(flagged.startswith(path + ".") for flagged, _ in imp.flags)
    return False
