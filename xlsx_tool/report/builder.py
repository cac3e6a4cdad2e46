"""Assemble a gap report for a workbook from the files a user names (I/O around scoring/gap.py)."""

from __future__ import annotations

from pathlib import Path

from xlsx_tool.catalog.entity import NATION_ENTITIES
from xlsx_tool.catalog.reference import Reference, shipped_references
from xlsx_tool.catalog.rules import is_number
from xlsx_tool.read.core import BookContents
from xlsx_tool.read.openpyxl_engine import read_book
from xlsx_tool.read.tables import load_compare_file, read_mapping
from xlsx_tool.scoring.gap import (
    Comparison,
    EntityResult,
    GapReport,
    build_report,
    pick_reference,
    reference_from_results,
)
from xlsx_tool.scoring.scorer import score
from xlsx_tool.util.problems import message


def results_scope(count: int, kind) -> str:
    """全国 only for a file covering the nation's entities; a sample is 比較対象 N 団体."""
    return "全国" if count >= NATION_ENTITIES[kind] else message("money.sample_scope", count=f"{count:,}")


def comparison_for(catalog, meta, compare_files=(), previous=None, previous_catalog=None,
                   mapping_file=None) -> Comparison:
    cmp = Comparison()
    refs: list[Reference] = list(shipped_references())
    results: list[EntityResult] = []
    results_name = ""
    for path in compare_files:
        loaded = load_compare_file(path, catalog)
        if isinstance(loaded, Reference):
            cmp.prefecture = loaded
        elif loaded and isinstance(loaded[0], Reference):
            refs = list(loaded) + refs
        else:
            results, results_name = loaded, Path(path).name
            cmp.results_label = f"{results_name}（{len(loaded)} 団体）"
    prefecture = str(meta.get("prefecture") or "")
    if results:
        cmp.results = results
        cmp.national = reference_from_results(results, catalog, results_scope(len(results), catalog.kind), results_name)
        same_pref = [r for r in results if prefecture and r.prefecture == prefecture]
        if same_pref and cmp.prefecture is None:
            cmp.prefecture = reference_from_results(same_pref, catalog, prefecture, cmp.results_label)
    else:
        cmp.national = pick_reference(refs, catalog, "全国")
    if cmp.prefecture is None and prefecture:
        cmp.prefecture = pick_reference(refs, catalog, prefecture)
    if previous:
        prev_catalog, prev_contents = read_book(previous, previous_catalog)
        cmp.previous = score(prev_catalog, prev_contents.answers)
        cmp.previous_answers = prev_contents.answers
        cmp.previous_label = f"{prev_catalog.year_label}（{Path(previous).name}）"
    if mapping_file:
        cmp.mapping = read_mapping(mapping_file)
    return cmp


def with_typed_yen(report: GapReport, contents: BookContents) -> GapReport:
    """The report priced with the yen per point staff typed on the book's 集計 (a number above 0); a cell
    holding something else is named in the report's notes, not silently left out."""
    short = {grant.id: grant.short for grant in report.catalog.grants}
    typed = {}
    for g, value in contents.yen.items():
        if is_number(value) and value > 0:
            typed[g] = float(value)
        elif not (value is None or isinstance(value, str) and not value.strip()):
            report.notes.append(message("money.typed_yen_unused", grant=short.get(g, g), value=value))
    return with_yen(report, typed, from_book=True) if typed else report


def with_yen(report: GapReport, yen_per_point: dict[str, float], from_book: bool = False) -> GapReport:
    """Each missed item's points in each grant × the yen of one point of that grant (both grants for
    目標Ⅳ; given by the user: 概算), from the command line or, `from_book`, from the book's own 集計 cells."""
    report.missed_yen = {m.answer_id: round(sum(lost * yen_per_point[g] for g, lost in m.by_grant.items()
                                                if g in yen_per_point))
                         for m in report.missed if any(g in yen_per_point for g in m.by_grant)}
    short = {grant.id: grant.short for grant in report.catalog.grants}
    given = "、".join(f"{short[g]} 1 点 {yen:,.0f} 円" for g, yen in yen_per_point.items() if g in short)
    report.money_note = message("money.missed_yen_note", given=given, where="ブックの集計シートに入力された額"
                                if from_book else "指定値")
    return report


def report_for_book(book, catalog_path=None, thresholds_path=None, yen_per_point=None, **kwargs) -> GapReport:
    catalog, contents = read_book(book, catalog_path, thresholds_path)
    result = score(catalog, contents.answers)
    cmp = comparison_for(catalog, contents.meta, **kwargs)
    report = build_report(catalog, contents.answers, result, contents.meta, cmp)
    if yen_per_point:  # the command line wins over what the book holds
        return with_yen(report, yen_per_point)
    return with_typed_yen(report, contents)
