"""Batch collection of returned workbooks: inspect every file, never lose one, pick one per entity.

inspect_file runs in worker processes (one file each); collect() orchestrates, resolves
duplicates and roster gaps. The files come from collect.discovery, each result is a
collect.results.FileResult; outputs are written by collect.outputs.

Two readers make the same decisions: "fast" (the default: read.fast_engine parses only the parts the
checks need, with the C XML parser) and "openpyxl" (load_workbook of the whole book). When the fast
reader meets anything it does not handle exactly as openpyxl does, the file is read again through
openpyxl, and the result says so (FileResult.fallback; Collection.fallbacks; a warning is logged).
"""

from __future__ import annotations

import functools
import gc
import multiprocessing
import logging
import os
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from multiprocessing.connection import wait
from pathlib import Path

from openpyxl import load_workbook

from xlsx_tool.catalog.answers import problem_lines
from xlsx_tool.catalog.entity import code_key
from xlsx_tool.catalog.loading import CatalogError, load_shipped_catalog
from xlsx_tool.catalog.model import Catalog
from xlsx_tool.collect.discovery import discover, not_a_file
from xlsx_tool.collect.results import ACCEPTED, REJECTED, WARNING, FileResult, rejected
from xlsx_tool.collect.roster import RosterEntry
from xlsx_tool.collect.tamper import catalog_hash, check_tampering, check_tampering_fast, fast_template_print
from xlsx_tool.read.core import BookContents, BookError, cover_identity, meta_pairs, saved_time
from xlsx_tool.read.checked_zip import FastPathUnsupported
from xlsx_tool.read.file_checks import FileRejected, check_container
from xlsx_tool.read.openpyxl_engine import read_answers
from xlsx_tool.scoring.gap import answer_labels
from xlsx_tool.scoring.scorer import score
from xlsx_tool.util.names import readable, shown_name, shown_path
from xlsx_tool.util.problems import message
from xlsx_tool.util.version import __version__
from xlsx_tool.workbook.meta import COVER_SHEET, META_SHEET, TOOL_ID

PER_FILE_SECONDS = 60  # generous: a checked book opens in well under a second
POOL_GRACE_SECONDS = 30  # added once to the time limit of a run of the worker pool
READERS = ("fast", "openpyxl")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Expectation:
    catalog: Catalog
    roster_codes: frozenset[str] = frozenset()  # matched by code_key (leading zeros ignored)
    member_of: tuple[tuple[str, str], ...] = ()  # (member code, its 広域連合's code and name) from the roster

    def __post_init__(self):
        object.__setattr__(self, "roster_codes", frozenset(code_key(c) for c in self.roster_codes))

    def insurer_of(self, code: str) -> str | None:
        """The 広域連合 / 一部事務組合 (code and name) the roster counts this member municipality in."""
        return next((insurer for member, insurer in self.member_of if code_key(member) == code_key(code)), None)


def _cover_identity(wb) -> dict[str, object]:
    """Fallback identification from the cover (団体コード, 年度 and 区分 as the generator writes them)."""
    if COVER_SHEET not in wb.sheetnames:
        return {}
    return cover_identity(wb[COVER_SHEET].iter_rows(max_col=2, values_only=True))


def _identify(wb) -> tuple[dict[str, object], str]:
    """Metadata of the book and a note when it came from the cover instead of the hidden sheet."""
    if META_SHEET in wb.sheetnames:
        meta = meta_pairs(wb[META_SHEET].iter_rows(max_col=2, values_only=True))
        if meta.get("tool") == TOOL_ID:
            if not meta.get("entity_code"):
                cover = _cover_identity(wb)
                if cover.get("entity_code"):
                    meta["entity_code"] = cover["entity_code"]  # a blank template filled in by hand
            return meta, ""
    cover = _cover_identity(wb)
    if cover.get("year") and cover.get("kind"):
        return cover, message("collect.from_cover")
    return {}, ""


def _other_catalog(meta: dict[str, object], cat: Catalog) -> str:
    """Why a book of the collection's year and kind was made from another catalog than the collection's:
    its own catalog (another id, or the shipped id without the shipped content from this tool version),
    the shipped catalog while the collection was given another, a thresholds file, or an earlier version."""
    book_id = str(meta.get("catalog_id") or "")
    title = str(meta.get("catalog_title") or "")
    name = f"{title}（{book_id}）" if title and title != book_id else book_id
    shipped = _shipped_hash(cat.year, cat.kind.value)
    if shipped is not None and meta.get("catalog_hash") == shipped:
        return message("collect.shipped_catalog", name=name, given=f"{cat.title}（{cat.id}）")
    if book_id != cat.id:
        return message("collect.own_catalog", name=name)
    if meta.get("thresholds"):
        return message("collect.thresholds_needed", tag=meta["thresholds"])
    if catalog_hash(cat) != shipped:
        return message("collect.catalog_edited", name=name)
    if meta.get("generator_version") != __version__:  # the form of an earlier release
        return message("collect.other_version")
    return message("collect.own_catalog", name=name)  # made now with the shipped id but other content


@functools.lru_cache(maxsize=4)
def _shipped_hash(year: str, kind: str) -> str | None:
    """The content hash of the shipped catalog of a year and kind (None when none is shipped), loaded once."""
    try:
        return catalog_hash(load_shipped_catalog(year, kind))
    except CatalogError:
        return None


MAX_LISTED = 8  # answer problems listed in a rejection; the rest are counted


def _answer_reasons(cat: Catalog, contents: BookContents, problems: list) -> list[str]:
    """The reasons of a book with answers it cannot take: the count, then each problem as `score` words it
    (sheet, cell, label, the value quoted, the fix)."""
    lines = problem_lines(problems[:MAX_LISTED], answer_labels(cat), contents.cells)
    more = [message("collect.more_problems", count=len(problems) - MAX_LISTED)] if len(problems) > MAX_LISTED else []
    return [message("collect.invalid_answers", count=len(problems)), *lines, *more]


def _code(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return "" if value is None else str(value).strip()


def inspect_file(path: Path, expect: Expectation, reader: str = "fast") -> FileResult:
    """Classify one returned file. Never raises: every problem becomes a rejected result."""
    try:
        return _inspect(path, expect, reader)
    except Exception as exc:  # a parser failing on a damaged file must not stop the batch
        return _unreadable(path, exc)


def _unreadable(path: Path, exc: Exception) -> FileResult:
    result = rejected(path, message("book.cannot_load", detail=f"{type(exc).__name__}: {exc}"))
    result.reader = "openpyxl"
    return result


def _inspect(path: Path, expect: Expectation, reader: str = "fast") -> FileResult:
    if reader not in READERS:
        raise ValueError(f"reader must be one of {READERS}")
    if path.name.startswith("~$"):
        return rejected(path, message("file.lock_file"))
    # .ods, .xlsb and .zip are read: the container checks say what they are and what to do
    if path.suffix.lower() not in (".xlsx", ".xlsm", ".xls", ".ods", ".xlsb", ".zip"):
        return rejected(path, message("file.not_a_book", suffix=path.suffix or "なし"))
    fallback = ""
    if reader == "fast":
        from xlsx_tool.read.fast_engine import load_book

        try:
            try:
                book = load_book(path)
            except FileRejected as rej:
                result = rejected(path, rej.reason)
            else:
                result = _evaluate(path, expect, book, check_tampering_fast)
            result.reader = "fast"
            return result
        except FastPathUnsupported as exc:
            fallback = str(exc)
        except Exception as exc:  # damaged XML and the like: openpyxl words the reason
            fallback = f"{type(exc).__name__}: {exc}"
    try:
        check_container(path)
        wb = load_workbook(path, data_only=False, keep_vba=False, keep_links=False)
        result = _evaluate(path, expect, wb, check_tampering)
    except FileRejected as rej:
        result = rejected(path, rej.reason)
    except Exception as exc:
        if not fallback:
            raise
        result = _unreadable(path, exc)
    result.reader, result.fallback = "openpyxl", fallback
    return result


def _evaluate(path: Path, expect: Expectation, wb, tampering: Callable) -> FileResult:
    """Everything after opening the book; `wb` is an openpyxl workbook or a read.fast_engine.FastBook."""
    meta, id_note = _identify(wb)
    if not meta:
        return rejected(path, message("collect.not_ours"))
    code, cat = _code(meta.get("entity_code")), expect.catalog
    base = {"code": code, "name": str(meta.get("entity_name") or ""), "year": str(meta.get("year") or "")}
    if (meta.get("year"), meta.get("kind")) != (cat.year, cat.kind.value):
        try:
            other = load_shipped_catalog(str(meta.get("year")), str(meta.get("kind"))).year_label
        except CatalogError:
            other = f"{meta.get('year')} {meta.get('kind')}"
        return rejected(path, message("collect.other_year", other=other, expected=cat.year_label), **base)
    if meta.get("catalog_hash") not in (None, catalog_hash(cat)):
        return rejected(path, _other_catalog(meta, cat), **base)
    if not code:
        return rejected(path, message("collect.no_code"), **base)
    if expect.roster_codes and code_key(code) not in expect.roster_codes:
        insurer = expect.insurer_of(code)
        if insurer:
            return rejected(path, message("collect.member_book", code=code, insurer=insurer), **base)
        return rejected(path, message("collect.not_in_roster", code=code), **base)
    findings = tampering(wb, cat)
    if findings.tampered:
        return FileResult(str(path), REJECTED, findings.reasons(), **base)
    contents = BookContents(path=path, meta=meta)
    try:
        read_answers(wb, cat, contents)
    except BookError as err:
        return rejected(path, err.problem.message, **base)
    res = score(cat, contents.answers)  # res.problems: answers.validate_answers
    if res.problems:
        return FileResult(str(path), REJECTED, _answer_reasons(cat, contents, res.problems), **base)
    if not res.answered:
        return rejected(path, message("collect.no_answers"), **base)
    notes = [n for n in [id_note] if n]
    if res.unanswered:
        notes.append(message("collect.unanswered", count=len(res.unanswered)))
    if findings.unprotected:
        notes.append(message("collect.unprotected", sheets="、".join(findings.unprotected)))
    groups = {f"{g}.{k}": v for (g, k), v in res.groups.items()}
    groups.update(res.goals)
    groups.update(res.grants)
    return FileResult(str(path), WARNING if notes else ACCEPTED, notes, total=res.total, groups=groups,
                      answers=dict(contents.answers), answered=res.answered, **base)


_WORKER: tuple[Expectation, str, object] | None = None  # set in each worker process by _init_worker
UNSEEN, STARTED, DONE = 0, 1, 2  # per file, in the array the workers share with the parent


def _init_worker(expect: Expectation, reader: str, progress) -> None:
    global _WORKER
    _WORKER = (expect, reader, progress)
    parent = multiprocessing.parent_process()
    if parent is not None:  # a worker never outlives a parent that was killed
        threading.Thread(target=_exit_with_parent, args=(parent.sentinel, os.getppid()), daemon=True).start()
    _prepare(expect, reader)  # a forked worker inherits this from the parent; a spawned one builds it
    # The reader's caches grow to tens of thousands of small objects without reference cycles: full
    # collections would walk them again and again. What the worker starts with is never collected.
    gc.freeze()
    gc.set_threshold(20_000, 20, 100)


def _exit_with_parent(sentinel, ppid: int) -> None:
    # The sentinel is ready when the parent has ended (a forked sibling may hold it open: the parent's
    # id changing tells it on POSIX).
    while not wait([sentinel], timeout=1.0) and os.getppid() == ppid:
        pass
    os._exit(3)


def _prepare(expect: Expectation, reader: str) -> None:
    if reader == "fast":
        fast_template_print(expect.catalog)
    else:
        from xlsx_tool.collect.tamper import template_print

        template_print(expect.catalog)


def _inspect_chunk(items: list[tuple[int, Path]]) -> list[FileResult]:
    expect, reader, progress = _WORKER
    out = []
    for i, path in items:
        progress[i] = STARTED  # if this worker dies or hangs now, the parent knows on which file
        out.append(inspect_file(path, expect, reader))
        progress[i] = DONE
    return out


MAX_CHUNK = 32  # files per task: amortises the inter-process round trip, keeps the progress bar moving


def inspect_all(files: list[Path], expect: Expectation, workers: int | None = None,
                advance: Callable[[], None] = lambda: None, reader: str = "fast") -> list[FileResult]:
    """Inspect every file, in worker processes when there are several. The catalog and the template's
    fingerprint go to each worker once; files go in small chunks. When a worker dies (the OOM killer,
    a crash) or the time limit runs out, the files that were being read then are each tried again
    alone, and the files not yet read go on in a new pool: only a file that itself ends its worker or
    hangs is reported as such, and every file gets a result."""
    results: dict[int, FileResult] = {}
    todo = []
    for i, f in enumerate(files):
        if (miss := not_a_file(f)) is not None:
            results[i] = miss
            advance()
        else:
            todo.append(i)
    workers = workers or os.cpu_count() or 1
    if todo:
        _prepare(expect, reader)
    if workers == 1 or len(todo) < 4:
        for i in todo:
            results[i] = inspect_file(files[i], expect, reader)
            advance()
        return [results[i] for i in range(len(files))]
    progress = multiprocessing.Array("b", len(files), lock=False)
    pool = _Pool(files, expect, reader, progress, results, advance)
    stalled = 0
    while todo:
        chunk = max(1, min(MAX_CHUNK, len(todo) // (workers * 4)))
        suspects = pool.run(todo, chunk, workers, POOL_GRACE_SECONDS + PER_FILE_SECONDS * len(todo) / workers)
        for i in suspects:  # alone, so that the file that ended or hung its worker is the one reported
            if pool.run([i], 1, 1, PER_FILE_SECONDS):
                results[i] = rejected(files[i], message(pool.failure))
                advance()
        before, todo = len(todo), [i for i in todo if i not in results]
        stalled = 0 if len(todo) < before else stalled + 1
        if stalled == 2:  # the pool itself cannot work here (no worker starts): read in this process
            for i in todo:
                results[i] = inspect_file(files[i], expect, reader)
                advance()
            break
    return [results[i] for i in range(len(files))]


@dataclass
class _Pool:
    """Runs of the worker pool over indexes of `files`; each run reports the files being read when it
    ended abnormally (`failure` says how: a dead worker or the time limit)."""
    files: list[Path]
    expect: Expectation
    reader: str
    progress: object
    results: dict[int, FileResult]
    advance: Callable[[], None]
    failure: str = ""

    def run(self, todo: list[int], chunk: int, workers: int, limit: float) -> list[int]:
        for i in todo:
            self.progress[i] = UNSEEN
        parts = [todo[k:k + chunk] for k in range(0, len(todo), chunk)]
        pool = ProcessPoolExecutor(max_workers=workers, initializer=_init_worker,
                                   initargs=(self.expect, self.reader, self.progress))
        finished = False
        try:
            futures = {pool.submit(_inspect_chunk, [(i, self.files[i]) for i in part]): part for part in parts}
            for fut in as_completed(futures, timeout=limit):
                for i, result in zip(futures[fut], fut.result()):
                    self.results[i] = result
                    self.advance()
            finished = True
        except BrokenProcessPool:
            self.failure = "collect.worker_died"
        except FutureTimeout:
            self.failure = "collect.timed_out"
        finally:
            if finished:
                pool.shutdown(wait=True)
            else:
                _stop(pool)
        return [] if finished else [i for i in todo if self.progress[i] == STARTED and i not in self.results]


def _stop(pool: ProcessPoolExecutor) -> None:
    """Shut the pool down without waiting for a hung worker."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for proc in processes:
        if proc.is_alive():
            proc.terminate()
    for proc in processes:
        proc.join(5)


def resolve_duplicates(results: list[FileResult]) -> None:
    """Keep one book per entity: the most recently saved (by the book's own save time with its UTC
    offset, then file modification time, then path); the others become rejected with the kept file
    named. A kept book with a rejected book of the same entity beside it (a resubmission that failed
    its checks) gets a note, so that nobody totals the older book unawares."""
    by_code: dict[str, list[FileResult]] = {}
    for r in results:
        if r.code:
            by_code.setdefault(code_key(r.code), []).append(r)
    for rows in by_code.values():
        failed = [r for r in rows if r.status == REJECTED]
        kept = [r for r in rows if r.status != REJECTED]
        if not kept:
            continue
        keep = max(kept, key=_recency) if len(kept) > 1 else kept[0]
        for r in kept:
            if r is not keep:
                r.status = REJECTED
                r.reasons = [message("collect.duplicate", code=r.code, kept=shown_name(keep.file))]
        if failed:
            keep.status = WARNING
            keep.reasons.append(message("collect.other_rejected", files="、".join(shown_name(r.file) for r in failed)))


def _recency(r: FileResult) -> tuple:
    saved = saved_time(r.file)
    return (saved is not None, saved.timestamp() if saved else 0.0, _mtime(r.file), r.file)


def _mtime(path: str) -> float:
    try:
        return os.stat(path).st_mtime
    except OSError:
        return 0.0


@dataclass
class Collection:
    catalog: Catalog
    files: list[FileResult]
    roster: list[RosterEntry]
    previous_rates: dict[str, float] = field(default_factory=dict)

    @property
    def fallbacks(self) -> list[FileResult]:
        """Files the fast reader handed to openpyxl, with why (FileResult.fallback)."""
        return [r for r in self.files if r.fallback]

    @property
    def kept(self) -> list[FileResult]:
        return [r for r in self.files if r.status != REJECTED]

    def counts(self) -> dict[str, int]:
        return {s: sum(r.status == s for r in self.files) for s in (ACCEPTED, WARNING, REJECTED)}

    def missing_entities(self) -> list[RosterEntry]:
        have = {code_key(r.code) for r in self.kept}
        return [e for e in self.roster if code_key(e.entity.code) not in have]

    def missing_reason(self, code: str) -> str:
        if any(code_key(r.code) == code_key(code) for r in self.files):
            return "提出されたブックがすべて不受理です（再提出が必要）"
        return "提出がありません"


def collect(paths: Iterable[str | Path], catalog: Catalog, roster: list[RosterEntry], *,
            workers: int | None = None, advance: Callable[[], None] = lambda: None,
            on_total: Callable[[int], None] = lambda n: None, reader: str = "fast") -> Collection:
    files = discover(paths)
    on_total(len(files))
    expect = Expectation(catalog, frozenset(e.entity.code for e in roster),
                         tuple((m, f"{e.entity.code} {e.entity.name}") for e in roster for m in e.entity.members))
    results = inspect_all(files, expect, workers, advance, reader)
    resolve_duplicates(results)
    col = Collection(catalog, results, roster)
    if col.fallbacks:
        first = col.fallbacks[0]
        log.warning("高速読み取りで扱えない %d 件は openpyxl で読み込みました（例: %s: %s）",
                    len(col.fallbacks), shown_path(first.file), readable(first.fallback))
    return col
