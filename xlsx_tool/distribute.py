"""Generate one personalised workbook per roster row (with last year's answers beside, when given)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .catalog import Catalog
from .roster import RosterEntry
from .workbook_reader import BookError, read_book
from .workbook_writer import default_filename, write_workbook


@dataclass
class Generated:
    entry: RosterEntry
    path: Path
    note: str = ""  # e.g. why last year's answers could not be shown


def _previous_answers(entry: RosterEntry) -> tuple[dict | None, str]:
    if entry.previous is None:
        return None, ""
    try:
        _, contents = read_book(entry.previous)
    except BookError as err:
        return None, f"前年度ブックを読めないため前年度回答欄なしで作成: {err}"
    return contents.answers, ""


def generate_for_roster(catalog: Catalog, entries: list[RosterEntry], out_dir: Path, *,
                        password: str | None = None, thresholds: str | None = None,
                        advance: Callable[[], None] = lambda: None) -> list[Generated]:
    done = []
    for entry in entries:
        previous, note = _previous_answers(entry)
        path = out_dir / default_filename(catalog, entry.entity)
        write_workbook(catalog, entry.entity, path, password=password, previous_answers=previous,
                       thresholds=thresholds)
        done.append(Generated(entry, path, note))
        advance()
    return done
