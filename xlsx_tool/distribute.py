"""Generate one personalised workbook per roster row (with last year's answers beside, when given)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .carry import CarryResult, carry_answers
from .catalog import Catalog
from .entity import Entity
from .roster import RosterEntry
from .workbook_reader import BookError, read_book
from .workbook_writer import default_filename, write_workbook


@dataclass
class Generated:
    entity: Entity
    path: Path
    note: str = ""  # e.g. why last year's answers could not be shown
    carry: CarryResult = field(default_factory=CarryResult)


def generate_one(catalog: Catalog, entity: Entity, out_dir: Path, *, previous: Path | None = None,
                 prefill: bool = False, mapping: Mapping[str, str] | None = None,
                 password: str | None = None, thresholds: str | None = None) -> Generated:
    """One workbook; with `previous`, last year's answers that carry are shown (and pre-filled)."""
    carried, note = CarryResult(), ""
    if previous is not None:
        try:
            prev_catalog, contents = read_book(previous)
            carried = carry_answers(prev_catalog, contents.answers, catalog, mapping)
        except BookError as err:
            note = f"前年度ブックを読めないため前年度回答なしで作成: {err}"
    path = out_dir / default_filename(catalog, entity)
    write_workbook(catalog, entity, path, password=password, thresholds=thresholds,
                   previous_answers=carried.carried if previous is not None and not note else None,
                   prefill=carried.carried if prefill else None)
    return Generated(entity, path, note, carried)


def generate_for_roster(catalog: Catalog, entries: list[RosterEntry], out_dir: Path, *,
                        advance: Callable[[], None] = lambda: None, **options) -> list[Generated]:
    done = []
    for entry in entries:
        done.append(generate_one(catalog, entry.entity, out_dir, previous=entry.previous, **options))
        advance()
    return done
