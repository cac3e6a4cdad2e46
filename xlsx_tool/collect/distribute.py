"""Generate one personalised workbook per roster row (with last year's answers beside, when given).

Books are written by workbook.template (the catalog's workbook built once, patched per entity; checked to
equal build_workbook's output) unless `writer="openpyxl"`, or the fast writer is unavailable for
these options, in which case each book is built with openpyxl and Generated.fallback says why.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from xlsx_tool.catalog.entity import Entity, code_key
from xlsx_tool.catalog.model import Catalog
from xlsx_tool.catalog.official import ResultRow, answers_from_results
from xlsx_tool.collect.roster import RosterEntry
from xlsx_tool.read.core import BookError
from xlsx_tool.read.openpyxl_engine import read_book
from xlsx_tool.util.problems import message
from xlsx_tool.workbook.carry import CarryResult, carry_answers
from xlsx_tool.workbook.template import FastWriterUnavailable, template_for
from xlsx_tool.workbook.writer import default_filename, write_workbook


@dataclass
class Generated:
    entity: Entity
    path: Path
    note: str = ""  # e.g. why last year's answers could not be shown
    carry: CarryResult = field(default_factory=CarryResult)
    writer: str = ""  # "fast" (template patched) or "openpyxl" (built whole)
    fallback: str = ""  # why the fast writer was not used
    skipped: bool = False  # not written (the note says why)


WRITERS = ("fast", "openpyxl")
log = logging.getLogger(__name__)


def generate_one(catalog: Catalog, entity: Entity, out_dir: Path, *, previous: Path | None = None,
                 prefill: bool = False, mapping: Mapping[str, str] | None = None,
                 password: str | None = None, thresholds: str | None = None, writer: str = "fast",
                 results: list[ResultRow] | None = None) -> Generated:
    """One workbook; with `previous`, last year's answers that carry are shown (and pre-filled); with
    `results` (the entity's official rows in the tally's layout), the answers that score them are filled."""
    carried, note = CarryResult(), ""
    official = None
    if results is not None:
        official, problems = answers_from_results(catalog, results)
        if problems:
            return Generated(entity, out_dir / default_filename(catalog, entity),
                             message("official.refused", problems=" / ".join(problems)), skipped=True)
    if previous is not None:
        try:
            prev_catalog, contents = read_book(previous)
            carried = carry_answers(prev_catalog, contents.answers, catalog, mapping)
        except BookError as err:
            note = f"前年度ブックを読めないため前年度回答なしで作成: {err}"
    if writer not in WRITERS:
        raise ValueError(f"writer must be one of {WRITERS}")
    path = out_dir / default_filename(catalog, entity)
    if previous is not None and path.resolve() == Path(previous).resolve():
        # regenerating into the folder of returned books must never replace the book it reads
        return Generated(entity, path, f"出力先 {path} が前年度ブックと同じファイルのため作成しませんでした。"
                                       "別の出力フォルダを指定してください", carried, "", "", skipped=True)
    previous_answers = carried.carried if previous is not None and not note else None
    prefill_answers = official if official is not None else carried.carried if prefill else None
    fallback = ""
    if writer == "fast":
        try:
            template = template_for(catalog, password=password, thresholds=thresholds,
                                    with_previous=previous_answers is not None)
            template.write(path, entity, previous=previous_answers, prefill=prefill_answers)
            return Generated(entity, path, note, carried, "fast")
        except FastWriterUnavailable as exc:
            fallback = str(exc)
    write_workbook(catalog, entity, path, password=password, thresholds=thresholds,
                   previous_answers=previous_answers, prefill=prefill_answers)
    return Generated(entity, path, note, carried, "openpyxl", fallback)


def generate_for_roster(catalog: Catalog, entries: list[RosterEntry], out_dir: Path, *,
                        advance: Callable[[], None] = lambda: None,
                        results: Mapping[str, list[ResultRow]] | None = None, **options) -> list[Generated]:
    """One book per roster row; `results` (official rows by code_key) fills each entity's answers."""
    done = []
    for entry in entries:
        rows = None if results is None else results.get(code_key(entry.entity.code))
        g = generate_one(catalog, entry.entity, out_dir, previous=entry.previous, results=rows, **options)
        if results is not None and rows is None and not g.skipped:
            g.note = (g.note + " / " if g.note else "") + message("official.no_rows_blank", code=entry.entity.code)
        done.append(g)
        advance()
    fallbacks = [g for g in done if g.fallback]
    if fallbacks:
        log.warning("高速作成を使えなかった %d 冊は openpyxl で作成しました（理由: %s）", len(fallbacks), fallbacks[0].fallback)
    return done
