"""Roster of entities (CSV or xlsx): who gets a template and whose book is expected back.

Columns (English or Japanese headers): code 団体コード (required), name 団体名 (required),
prefecture 都道府県, insured 第1号被保険者数, previous 前年度ブック (path of last year's returned
workbook, relative to the roster file), members 構成市町村 (a 広域連合 / 一部事務組合: the codes of its member
municipalities separated by 、 ; , or spaces; the row is ONE insurer: one book, named by the insurer, counted
once; a member listed as its own row or in two insurers is a problem). Codes become 6-digit
全国地方公共団体コード (catalog/entity.py column_codes: a 5-digit code gets its check digit, a wrong check
digit is a problem). Problems name the row as Excel or the CSV file numbers it, blank rows counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from xlsx_tool.catalog.entity import Entity, code_key, column_codes, counted_twice, members_column
from xlsx_tool.read.tables import ALIASES, ComparisonError, table_values
from xlsx_tool.util.problems import ToolError, located, message

ROSTER_ALIASES = {"前年度ブック": "previous", "前年度": "previous", "previous_book": "previous"}
KNOWN_COLUMNS = ("code", "name", "prefecture", "insured", "previous", "members")


class RosterError(ComparisonError):
    """A roster that cannot be used; problems name row and column."""

    what, what_en = "名簿", "roster"


@dataclass(frozen=True)
class RosterEntry:
    row: int
    entity: Entity
    previous: Path | None = None


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # codes typed as numbers in Excel
    return str(value).strip()


def _numbered_rows(path: Path) -> list[tuple[int, dict[str, object]]]:
    """(row number as Excel or the CSV file shows it, {column: value}) of every non-blank row after the header."""
    values = table_values(path)
    header = [str(h).strip() if h is not None else "" for h in values[0]]
    header = [ROSTER_ALIASES.get(h, ALIASES.get(h, h)) for h in header]
    return [(number, dict(zip(header, row))) for number, row in enumerate(values[1:], start=2)
            if any(v not in (None, "") for v in row)]


def read_roster(path: str | Path) -> list[RosterEntry]:
    path = Path(path)
    if not path.is_file():
        raise RosterError(str(path), [message("roster.missing")])
    try:
        rows = _numbered_rows(path)
    except ComparisonError as err:
        raise RosterError(str(path), err.problems) from None
    except Exception as exc:  # a damaged xlsx
        raise RosterError(str(path), [message("roster.unreadable", detail=exc)]) from None
    problems: list[str] = []
    header = set().union(*(r.keys() for _, r in rows)) if rows else set()
    for col in ("code", "name"):
        if col not in header:
            problems.append(located("roster.no_column", "1 行目", column=col))
    unknown = sorted(h for h in header - set(KNOWN_COLUMNS) if h)
    if unknown:
        problems.append(located("roster.unknown_columns", "1 行目", columns=", ".join(unknown),
                                known=", ".join(KNOWN_COLUMNS)))
    if problems:
        raise RosterError(str(path), problems)
    entries, seen = [], {}
    codes = column_codes([_text(r.get("code")) for _, r in rows])
    for (i, r), code in zip(rows, codes):
        name = _text(r.get("name"))
        if isinstance(code, ToolError):
            problems.append(located(code.code, f"{i} 行目 列「code」", **code.problem.fields))
            code = ""
        elif not code:
            problems.append(located("roster.no_code", f"{i} 行目 列「code」"))
        elif code_key(code) in seen:
            problems.append(located("roster.duplicate_code", f"{i} 行目 列「code」", code=code,
                                    first=seen[code_key(code)]))
        else:
            seen[code_key(code)] = i
        if not name:
            problems.append(located("roster.no_name", f"{i} 行目 列「name」"))
        insured = None
        raw = _text(r.get("insured")).replace(",", "")
        if raw:
            try:
                insured = int(float(raw))
                if insured < 0 or float(raw) != insured:
                    raise ValueError
            except (ValueError, OverflowError):  # text, NaN, inf
                problems.append(located("roster.insured", f"{i} 行目 列「insured」", value=raw))
                insured = None
        previous = None
        prev_raw = _text(r.get("previous"))
        if prev_raw:
            previous = (path.parent / prev_raw) if not Path(prev_raw).is_absolute() else Path(prev_raw)
            if not previous.is_file():
                problems.append(located("roster.no_previous", f"{i} 行目 列「previous」", previous=prev_raw))
        members, wrong = members_column(r.get("members"), f"{i} 行目 列「members」")
        problems += wrong
        entries.append(RosterEntry(i, Entity(name=name, code=code, prefecture=_text(r.get("prefecture")),
                                             insured=insured, members=members), previous))
    for at, member, other in counted_twice([(e.entity.code, e.entity.members) for e in entries]):
        problems.append(located("roster.counted_twice", f"{entries[at].row} 行目 列「members」", member=member,
                                other=f"{entries[other].row} 行目"))
    if not entries:
        problems.append(message("roster.empty"))
    if problems:
        raise RosterError(str(path), problems)
    return entries
