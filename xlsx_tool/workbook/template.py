"""Fast generation of personalised workbooks: build the catalog's workbook once, patch it per entity.

`template_for(catalog, ...)` builds the workbook once with workbook.writer.build_workbook (for a
probe entity), saves it, and cuts every zip member at the places that depend on the entity: the
cover's entity cells and size class, row 1 titles ("… 神奈川県 平塚市"), every sheet's footer,
the hidden _meta values, the 前年度回答 column and the answer cells (pre-filled answers), and the
document's timestamps. `Template.render(entity, ...)` fills those places with what openpyxl writes
for that entity (each cell is serialised by openpyxl's own cell writer, on the template's own cell,
so styles and escaping are openpyxl's) and zips the members again; the other bytes are copied.

Before a template is used it checks itself: for a second probe entity (spaces, '&', no code, no
insured count, answers of every type) the rendered book must equal, member by member, what
build_workbook + save write. If anything differs (a future change of the writer puts the entity
somewhere else), `FastWriterUnavailable` says what, and callers write with openpyxl instead.
"""

from __future__ import annotations

import io
import re
import time
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from openpyxl.cell._writer import write_cell
from openpyxl.xml.functions import tostring, xmlfile

from xlsx_tool.catalog.entity import Entity, size_class
from xlsx_tool.catalog.model import Catalog, catalog_hash
from xlsx_tool.util.atomic import write_atomically
from xlsx_tool.util.memo import remember
from xlsx_tool.workbook.cached import book_values, formula_keys, set_value, value_of
from xlsx_tool.workbook.cached import write_cell as write_formula_cell
from xlsx_tool.workbook.meta import (
    COL_ANSWER,
    COL_ID,
    COL_PREVIOUS,
    COVER_CODE_LABEL,
    COVER_SHEET,
    FIRST_DATA_ROW,
    META_SHEET,
)
from xlsx_tool.workbook.writer import build_workbook

# The template is built for PROBE; its texts start with "=" to learn which cells the writer keeps as
# text and which it would make formulas. Every template is then checked against build_workbook for
# the CHECKS (blank fields, spaces, '&', text that looks like a formula, answers of every type).
PROBE = Entity(name="=試験&町<1>", code="=999999", prefecture="=試験県", insured=123456)
PROBE_ANSWER = "=該当"
CHECKS = (Entity(name=" 検査　村&", code="", prefecture="", insured=None),
          Entity(name="=検査町", code="0123", prefecture="神奈川県", insured=5000))
PROBE_TIME = "2000-01-01T00:00:00+00:00"
COVER_FIELDS = {  # cover label -> the value _write_cover puts beside it
    "団体名": lambda e: e.name or None,
    COVER_CODE_LABEL: lambda e: e.code or None,
    "都道府県": lambda e: e.prefecture or None,
    "第1号被保険者数": lambda e: e.insured,
    "被保険者規模": lambda e: size_class(e.insured),
}
META_FIELDS = {  # _meta key -> value (as _write_meta: "" and None leave the cell empty)
    "entity_code": lambda e, t: e.code, "entity_name": lambda e, t: e.name,
    "prefecture": lambda e, t: e.prefecture, "insured": lambda e, t: e.insured, "generated_at": lambda e, t: t,
}
SIMPLE_VALUES = (type(None), str, int, float, bool)  # values that never change a cell's style


class FastWriterUnavailable(Exception):
    """The patched book would not equal build_workbook's; write with openpyxl instead."""


@dataclass
class _Context:
    entity: Entity
    generated_at: str
    previous: Mapping[str, object]
    prefill: Mapping[str, object]
    now: datetime
    values: Mapping[tuple, object]  # what the formulas compute for the pre-filled answers (cached.book_values)


class _CellSlot:
    """One cell whose value depends on the entity; serialised by openpyxl's cell writer."""

    def __init__(self, ws, coord: str, value_of):
        self.ws, self.cell, self.coord, self.value_of = ws, ws[coord], coord, value_of
        # the writer's _put keeps text starting with "=" as text unless told it is a formula
        self.text_only = self.cell.data_type != "f"
        self._none = self._serialise(None)

    def _serialise(self, value) -> bytes:
        if not isinstance(value, SIMPLE_VALUES):
            raise FastWriterUnavailable(f"{self.ws.title}!{self.coord}: value of type {type(value).__name__}")
        cell = self.cell
        cell.value = value
        if self.text_only and cell.data_type == "f":
            cell.data_type = "s"
        if cell._value is None and not cell.has_style and not cell._comment:
            return b""  # the sheet writer leaves such a cell out
        out = io.BytesIO()
        with xmlfile(out) as xf:
            write_cell(xf, self.ws, cell, cell.has_style)
        return out.getvalue()

    def render(self, ctx: _Context) -> bytes:
        value = self.value_of(ctx)
        return self._none if value is None else self._serialise(value)


_SCRATCH = []  # one worksheet the writer's print_setup is run on
_FOOTERS: dict[Entity, str | None] = {}


def _footer_text(entity: Entity) -> str | None:
    """The footer's left part as the writer's print_setup puts it (run on a scratch sheet)."""
    if entity not in _FOOTERS:
        from xlsx_tool.workbook.common import print_setup

        if not _SCRATCH:
            from openpyxl import Workbook

            _SCRATCH.append(Workbook().active)
        print_setup(_SCRATCH[0], entity, "A1:A1")
        remember(_FOOTERS, entity, _SCRATCH[0].oddFooter.left.text, 256)
    return _FOOTERS[entity]


class _ValueSlot:
    """A formula cell: its cached value (cached.py) depends on the pre-filled answers."""

    def __init__(self, ws, coord: str, key: tuple):
        self.ws, self.cell, self.coord, self.key = ws, ws[coord], coord, key
        self._bytes: dict[tuple, bytes] = {}

    def render(self, ctx: _Context) -> bytes:
        value = value_of(ctx.values, ctx.prefill, self.key)
        known = (type(value), value)  # 0, 0.0 and False are equal keys but different cells
        if known not in self._bytes:
            set_value(self.ws, self.coord, value)
            out = io.BytesIO()
            with xmlfile(out) as xf:
                write_formula_cell(xf, self.ws, self.cell, self.cell.has_style)
            remember(self._bytes, known, out.getvalue(), 64)
        return self._bytes[known]


class _FooterSlot:
    def __init__(self, ws):
        self.ws = ws

    def render(self, ctx: _Context) -> bytes:
        hf = self.ws.HeaderFooter
        hf.oddFooter.left.text = _footer_text(ctx.entity)
        out = io.BytesIO()
        with xmlfile(out) as xf:
            xf.write(hf.to_tree())
        return out.getvalue()


class _CoreSlot:
    def __init__(self, wb):
        self.wb = wb

    def render(self, ctx: _Context) -> bytes:
        props = self.wb.properties
        props.created = props.modified = ctx.now
        return tostring(props.to_tree())


def _cell_starts(data: bytes) -> dict[bytes, list[int]]:
    """Where each <c r="…"> element of openpyxl's output starts (one pass over the member)."""
    starts: dict[bytes, list[int]] = {}
    for m in re.finditer(rb'<c r="([A-Z]+[0-9]+)"[ />]', data):
        starts.setdefault(m.group(1), []).append(m.start())
    return starts


def _cell_span(data: bytes, coord: str, starts: dict[bytes, list[int]]) -> tuple[int, int]:
    """Start and end of the one <c r="coord"> element in openpyxl's output."""
    found = starts.get(coord.encode(), [])
    if len(found) != 1:
        raise FastWriterUnavailable(f"cell {coord} found {len(found)} times")
    start = found[0]
    close = data.index(b">", start)
    if data[close - 1:close] == b"/":
        return start, close + 1
    return start, data.index(b"</c>", close) + 4


def _footer_span(data: bytes) -> tuple[int, int]:
    spans = [m.span() for m in re.finditer(rb"<headerFooter>.*?</headerFooter>", data, re.S)]
    if len(spans) != 1:
        raise FastWriterUnavailable(f"headerFooter found {len(spans)} times")
    return spans[0]


def _core_span(data: bytes) -> tuple[int, int]:
    return 0, len(data)


def _merged(pieces: list) -> list:
    """Consecutive bytes joined into one; slots kept as they are."""
    out: list = []
    for p in pieces:
        if isinstance(p, bytes) and out and isinstance(out[-1], bytes):
            out[-1] += p
        else:
            out.append(p)
    return out


class Template:
    """The workbook of one catalog (with given password, thresholds tag and 前年度回答 column),
    ready to be personalised."""

    def __init__(self, catalog: Catalog, *, password: str | None = None, thresholds: str | None = None,
                 with_previous: bool = False):
        self.catalog, self.password, self.thresholds, self.with_previous = catalog, password, thresholds, with_previous
        self.answer_ids = catalog.answer_ids()
        self._blank: Mapping[tuple, object] | None = None
        self._blank_members: list[tuple[zipfile.ZipInfo, list]] | None = None
        probe_answers = {aid: PROBE_ANSWER for aid in self.answer_ids}
        self.wb = build_workbook(catalog, PROBE, password=password, generated_at=PROBE_TIME, thresholds=thresholds,
                                 previous_answers=probe_answers if with_previous else None, prefill=probe_answers)
        buf = io.BytesIO()
        self.wb.save(buf)
        with zipfile.ZipFile(buf) as z:
            self.infos = z.infolist()
            contents = {i.filename: z.read(i) for i in self.infos}
        self.members: list[tuple[zipfile.ZipInfo, list]] = []
        slots_by_member = self._slots(self._sheet_files(contents), contents)
        for info in self.infos:
            data = contents[info.filename]
            slots = slots_by_member.get(info.filename, [])
            pieces, pos = [], 0
            for start, end, slot in sorted(slots, key=lambda s: s[0]):
                if start < pos:
                    raise FastWriterUnavailable(f"overlapping slots in {info.filename}")
                pieces.append(data[pos:start])
                pieces.append(slot)
                pos = end
            pieces.append(data[pos:])
            self.members.append((info, [p for p in pieces if not isinstance(p, bytes) or p]))
        self._self_check()

    # -- finding the entity-dependent places --------------------------------------------------
    def _sheet_files(self, contents: dict[str, bytes]) -> dict[str, str]:
        """Sheet title -> zip member, in the order openpyxl writes them (sheet1.xml, sheet2.xml, …)."""
        files = {ws.title: f"xl/worksheets/sheet{i}.xml" for i, ws in enumerate(self.wb.worksheets, start=1)}
        if any(f not in contents for f in files.values()):
            raise FastWriterUnavailable("worksheet members are not named as expected")
        return files

    def _slots(self, sheet_files: dict[str, str], data_of: dict[str, bytes]) -> dict[str, list]:
        """Where each entity-dependent piece is. (Looking cells up may add empty cells to self.wb;
        it is never saved again.)"""
        found: dict[str, list] = {}

        def add(member, span, slot):
            found.setdefault(member, []).append((*span, slot))

        label, footer_text = PROBE.label, _footer_text(PROBE)
        for ws in self.wb.worksheets:
            member = sheet_files[ws.title]
            data = data_of[member]
            starts = _cell_starts(data)
            title = ws["A1"].value
            if isinstance(title, str) and title.endswith(label):
                prefix = title[: -len(label)]
                add(member, _cell_span(data, "A1", starts),
                    _CellSlot(ws, "A1", lambda c, p=prefix: p + c.entity.label))
            if ws.oddFooter.left.text is not None and ws.oddFooter.left.text == footer_text:
                add(member, _footer_span(data), _FooterSlot(ws))
            if ws.title == COVER_SHEET:
                labels = {c.value: c.row for c in ws["A"] if c.value in COVER_FIELDS}
                if set(labels) != set(COVER_FIELDS):
                    raise FastWriterUnavailable("cover rows not found")
                for text, row in labels.items():
                    add(member, _cell_span(data, f"B{row}", starts),
                        _CellSlot(ws, f"B{row}", lambda c, f=COVER_FIELDS[text]: f(c.entity)))
            elif ws.title == META_SHEET:
                keys = {c.value: c.row for c in ws["A"] if c.value in META_FIELDS}
                if set(keys) != set(META_FIELDS):
                    raise FastWriterUnavailable("_meta rows not found")
                for key, row in keys.items():
                    fn = META_FIELDS[key]
                    add(member, _cell_span(data, f"B{row}", starts), _CellSlot(
                        ws, f"B{row}", lambda c, f=fn: (lambda v: v if v not in ("", None) else None)(
                            f(c.entity, c.generated_at))))
            for row in range(FIRST_DATA_ROW, ws.max_row + 1):
                aid = ws[f"{COL_ID}{row}"].value
                if aid not in self.answer_ids or ws[f"{COL_ANSWER}{row}"].value != PROBE_ANSWER:
                    continue  # not an answer row (ids of indicators with sub-items, computed figures)
                add(member, _cell_span(data, f"{COL_ANSWER}{row}", starts),
                    _CellSlot(ws, f"{COL_ANSWER}{row}", lambda c, a=aid: c.prefill.get(a)))
                if self.with_previous:
                    add(member, _cell_span(data, f"{COL_PREVIOUS}{row}", starts),
                        _CellSlot(ws, f"{COL_PREVIOUS}{row}", lambda c, a=aid: c.previous.get(a)))
            for coord, key in formula_keys(ws).items():
                add(member, _cell_span(data, coord, starts), _ValueSlot(ws, coord, key))
        add("docProps/core.xml", _core_span(data_of["docProps/core.xml"]), _CoreSlot(self.wb))
        return found

    # -- rendering -----------------------------------------------------------------------------
    def render(self, entity: Entity, *, generated_at: str | None = None,
               previous: Mapping[str, object] | None = None, prefill: Mapping[str, object] | None = None,
               now: datetime | None = None) -> bytes:
        """The .xlsx bytes build_workbook(catalog, entity, ...) + save would write."""
        if (previous is not None) != self.with_previous:
            raise ValueError("this template is for books " + ("with" if self.with_previous else "without")
                             + " a previous-year answer column")
        ctx = _Context(entity, generated_at or datetime.now(timezone.utc).isoformat(timespec="seconds"),
                       previous or {}, prefill or {}, now or datetime.now(timezone.utc).replace(tzinfo=None),
                       self._values(prefill or {}))
        stamp = time.localtime()[:6]
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as z:
            for info, pieces in self._members(ctx):
                data = b"".join(p if isinstance(p, bytes) else p.render(ctx) for p in pieces)
                zi = zipfile.ZipInfo(info.filename, date_time=stamp)
                zi.compress_type = zipfile.ZIP_DEFLATED
                zi.external_attr, zi.create_system = info.external_attr, info.create_system
                z.writestr(zi, data)
        return out.getvalue()

    def _members(self, ctx: _Context) -> list[tuple[zipfile.ZipInfo, list]]:
        """The members' pieces; for a book with nothing pre-filled (most books), with every formula's
        cached value, the same for each entity, already in the bytes around it (hundreds of pieces fewer
        to render per book)."""
        if ctx.prefill:
            return self.members
        if self._blank_members is None:
            self._blank_members = [(info, _merged([p.render(ctx) if isinstance(p, _ValueSlot) else p for p in pieces]))
                                   for info, pieces in self.members]
        return self._blank_members

    def _values(self, prefill: Mapping[str, object]) -> Mapping[tuple, object]:
        if prefill:
            return book_values(self.catalog, prefill)
        if self._blank is None:  # most books: nothing pre-filled, the same values for every entity
            self._blank = book_values(self.catalog, {})
        return self._blank

    def write(self, path: str | Path, entity: Entity, **kwargs) -> Path:
        data = self.render(entity, **kwargs)
        return write_atomically(path, lambda tmp: Path(tmp).write_bytes(data))

    def _self_check(self) -> None:
        kinds = ["該当", "非該当", 3, 2.5, None, True, " 空白 ", "&<>", "=1+1", 0]
        for n, entity in enumerate(CHECKS):
            answers = {aid: kinds[(i + n) % len(kinds)] for i, aid in enumerate(self.answer_ids)}
            previous = answers if self.with_previous else None
            prefill = {aid: answers[aid] for aid in self.answer_ids[n::2]}
            mismatch = differences(self, entity, generated_at=PROBE_TIME + str(n), previous=previous,
                                   prefill=prefill)
            if mismatch:
                raise FastWriterUnavailable(f"{mismatch[0]} differs from build_workbook's")


def differences(template: Template, entity: Entity, **kwargs) -> list[str]:
    """Members of template.render(entity, **kwargs) that differ from build_workbook + save
    (docProps/core.xml compared without its creation time, which openpyxl takes when it builds)."""
    previous = kwargs.get("previous")
    kwargs.setdefault("generated_at", PROBE_TIME)
    wb = build_workbook(template.catalog, entity, password=template.password, thresholds=template.thresholds,
                        generated_at=kwargs.get("generated_at"), previous_answers=previous,
                        prefill=kwargs.get("prefill"))
    ref = io.BytesIO()
    wb.save(ref)
    mine = template.render(entity, now=wb.properties.modified, **kwargs)
    created = re.compile(rb"<dcterms:created[^>]*>[^<]*</dcterms:created>")
    with zipfile.ZipFile(ref) as a, zipfile.ZipFile(io.BytesIO(mine)) as b:
        if a.namelist() != b.namelist():
            return ["the list of members"]
        out = []
        for name in a.namelist():
            expected, got = a.read(name), b.read(name)
            if name == "docProps/core.xml":
                expected, got = created.sub(b"", expected), created.sub(b"", got)
            if expected != got:
                out.append(name)
        return out


_TEMPLATES: dict[tuple, Template | FastWriterUnavailable] = {}


def template_for(catalog: Catalog, *, password: str | None = None, thresholds: str | None = None,
                 with_previous: bool = False) -> Template:
    """The checked template for these options, built once per process."""
    key = (catalog_hash(catalog), password, thresholds, with_previous)
    if key not in _TEMPLATES:
        try:
            _TEMPLATES[key] = Template(catalog, password=password, thresholds=thresholds, with_previous=with_previous)
        except FastWriterUnavailable as exc:
            _TEMPLATES[key] = exc
        except Exception as exc:  # a writer change this module does not understand
            _TEMPLATES[key] = FastWriterUnavailable(f"{type(exc).__name__}: {exc}")
    found = _TEMPLATES[key]
    if isinstance(found, FastWriterUnavailable):
        raise found
    return found
