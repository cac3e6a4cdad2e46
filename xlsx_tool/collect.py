"""Batch collection of returned workbooks: inspect every file, never lose one, pick one per entity.

inspect_file runs in worker processes (one file each); collect() orchestrates, resolves
duplicates and roster gaps. Outputs are written by collect_outputs.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, TimeoutError as FutureTimeout, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from openpyxl import load_workbook

from .answers import validate_answers
from .catalog import Catalog, CatalogError, load_shipped_catalog
from .file_checks import FileRejected, check_container
from .roster import RosterEntry
from .scorer import score
from .tamper import check_tampering
from .workbook_meta import COVER_SHEET, META_SHEET, TOOL_ID
from .workbook_reader import BookContents, BookError, read_answers

ACCEPTED, WARNING, REJECTED = "accepted", "warning", "rejected"
STATUS_LABELS = {ACCEPTED: "受理", WARNING: "受理（注意あり）", REJECTED: "不受理"}
PER_FILE_SECONDS = 60  # generous: a checked book opens in well under a second


@dataclass
class FileResult:
    file: str
    status: str
    reasons: list[str] = field(default_factory=list)
    code: str = ""
    name: str = ""
    year: str = ""
    total: float | None = None
    groups: dict[str, float] = field(default_factory=dict)  # "P1.process" -> points, grants, goals
    answers: dict[str, object] = field(default_factory=dict)
    answered: int = 0
    saved_at: str = ""  # the workbook's own last-saved time (docProps), for duplicate resolution

    @property
    def reason(self) -> str:
        return "／".join(self.reasons)

    def to_json(self) -> dict:
        return {"file": self.file, "status": self.status, "reason": self.reason,
                "code": self.code or None, "total": self.total}


@dataclass(frozen=True)
class Expectation:
    catalog: Catalog
    roster_codes: frozenset[str] = frozenset()


def _rejected(path: Path, reason: str, **kw) -> FileResult:
    return FileResult(str(path), REJECTED, [reason], **kw)


def _cover_identity(wb) -> dict[str, object]:
    """Fallback identification from the cover (団体コード, 年度 and 区分 as the generator writes them)."""
    if COVER_SHEET not in wb.sheetnames:
        return {}
    fields = {r[0]: r[1] for r in wb[COVER_SHEET].iter_rows(max_col=2, values_only=True) if isinstance(r[0], str)}
    year = re.search(r"令和(\d+)年度", str(fields.get("年度") or ""))
    kind = {"市町村分": "municipality", "都道府県分": "prefecture"}.get(str(fields.get("区分") or ""))
    return {"entity_code": fields.get("団体コード"), "entity_name": fields.get("団体名"),
            "year": f"R{year.group(1)}" if year else None, "kind": kind}


def _identify(wb) -> tuple[dict[str, object], str]:
    """Metadata of the book and a note when it came from the cover instead of the hidden sheet."""
    if META_SHEET in wb.sheetnames:
        meta = {r[0]: r[1] for r in wb[META_SHEET].iter_rows(max_col=2, values_only=True) if isinstance(r[0], str)}
        if meta.get("tool") == TOOL_ID:
            cover = _cover_identity(wb)
            if not meta.get("entity_code") and cover.get("entity_code"):
                meta["entity_code"] = cover["entity_code"]  # a blank template filled in by hand
            return meta, ""
    cover = _cover_identity(wb)
    if cover.get("year") and cover.get("kind"):
        return cover, "識別情報シートがないため、表紙の記載から識別しました"
    return {}, ""


def _code(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return "" if value is None else str(value).strip()


def inspect_file(path: Path, expect: Expectation) -> FileResult:
    """Classify one returned file. Never raises: every problem becomes a rejected result."""
    try:
        return _inspect(path, expect)
    except Exception as exc:  # a parser failing on a damaged file must not stop the batch
        return _rejected(path, f"ブックを読み込めません（ファイルが壊れている可能性があります）: {type(exc).__name__}: {exc}")


def _inspect(path: Path, expect: Expectation) -> FileResult:
    if path.name.startswith("~$"):
        return _rejected(path, "Excel の作業中の一時ファイルです（提出ファイルではありません）")
    if path.suffix.lower() not in (".xlsx", ".xlsm", ".xls"):
        return _rejected(path, f"Excel ブックではありません（拡張子 {path.suffix or 'なし'}）")
    try:
        check_container(path)
    except FileRejected as rej:
        return _rejected(path, rej.reason)
    wb = load_workbook(path, data_only=False, keep_vba=False, keep_links=False)
    meta, id_note = _identify(wb)
    if not meta:
        return _rejected(path, "このツールで作成した自己評価シートではありません（識別情報も表紙もありません）")
    code, cat = _code(meta.get("entity_code")), expect.catalog
    base = {"code": code, "name": str(meta.get("entity_name") or ""), "year": str(meta.get("year") or "")}
    if (meta.get("year"), meta.get("kind")) != (cat.year, cat.kind.value):
        try:
            other = load_shipped_catalog(str(meta.get("year")), str(meta.get("kind"))).year_label
        except CatalogError:
            other = f"{meta.get('year')} {meta.get('kind')}"
        return _rejected(path, f"年度または区分が異なります（{other} の様式です。{cat.year_label}の様式で提出してください）", **base)
    if meta.get("catalog_hash") not in (None, cat.content_hash()):
        return _rejected(path, "様式の版が異なります（別の版のカタログから作成されています）。最新の様式で提出してください", **base)
    if not code:
        return _rejected(path, "団体コードが記入されていないため、どの団体のブックか特定できません", **base)
    if expect.roster_codes and code not in expect.roster_codes:
        return _rejected(path, f"団体コード {code} は名簿にありません", **base)
    findings = check_tampering(wb, cat)
    if findings.tampered:
        return FileResult(str(path), REJECTED, findings.reasons(), **base)
    contents = BookContents(path=path, meta=meta)
    try:
        read_answers(wb, cat, contents)
    except BookError as err:
        return _rejected(path, err.problem, **base)
    problems = validate_answers(cat, contents.answers)
    if problems:
        listed = "、".join(f"{p.answer_id}「{p.value}」" for p in problems[:8])
        return _rejected(path, f"選択肢にない回答があります（{len(problems)} 件: {listed}）。"
                               "プルダウンから選び直してください", **base)
    res = score(cat, contents.answers)
    notes = [n for n in [id_note] if n]
    if res.unanswered:
        notes.append(f"未回答が {len(res.unanswered)} 項目あります（0 点として集計）")
    if findings.unprotected:
        notes.append(f"シート保護が解除されています（{'、'.join(findings.unprotected)}。内容の変更はありません）")
    groups = {f"{g}.{k}": v for (g, k), v in res.groups.items()}
    groups.update(res.goals)
    groups.update(res.grants)
    saved = wb.properties.modified
    return FileResult(str(path), WARNING if notes else ACCEPTED, notes, total=res.total, groups=groups,
                      answers=dict(contents.answers), answered=res.answered,
                      saved_at=saved.isoformat() if saved else "", **base)


def discover(paths: Iterable[str | Path]) -> list[Path]:
    """Every regular file named or found below the named folders, in a stable order."""
    found: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found.extend(sorted(q for q in p.rglob("*") if q.is_file()))
        else:
            found.append(p)  # a missing path is reported, not skipped
    return found


def _missing(path: Path) -> FileResult | None:
    return None if path.is_file() else _rejected(path, "ファイルが見つかりません")


def inspect_all(files: list[Path], expect: Expectation, workers: int | None = None,
                advance: Callable[[], None] = lambda: None) -> list[FileResult]:
    results: dict[int, FileResult] = {}
    todo = []
    for i, f in enumerate(files):
        if (miss := _missing(f)) is not None:
            results[i] = miss
            advance()
        else:
            todo.append(i)
    workers = workers or os.cpu_count() or 1
    if workers == 1 or len(todo) < 4:
        for i in todo:
            results[i] = inspect_file(files[i], expect)
            advance()
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            futures = {pool.submit(inspect_file, files[i], expect): i for i in todo}
            try:
                for fut in as_completed(futures, timeout=30 + PER_FILE_SECONDS * len(todo) / workers):
                    results[futures[fut]] = fut.result()
                    advance()
            except FutureTimeout:
                for fut, i in futures.items():
                    if i not in results:
                        fut.cancel()
                        results[i] = _rejected(files[i], "制限時間内に読み込めませんでした（不正なファイルの可能性があります）")
                        advance()
                for proc in getattr(pool, "_processes", {}).values():
                    proc.terminate()
    return [results[i] for i in range(len(files))]


def resolve_duplicates(results: list[FileResult]) -> None:
    """Keep one book per entity: the most recently saved (by the book's own save time, then file
    modification time, then path); the others become rejected with the kept file named."""
    by_code: dict[str, list[FileResult]] = {}
    for r in results:
        if r.status != REJECTED and r.code:
            by_code.setdefault(r.code, []).append(r)
    for rows in by_code.values():
        if len(rows) < 2:
            continue
        keep = max(rows, key=lambda r: (r.saved_at, _mtime(r.file), r.file))
        for r in rows:
            if r is not keep:
                r.status = REJECTED
                r.reasons = [f"同じ団体（{r.code}）のブックが複数あります。より新しく保存された {Path(keep.file).name} を採用しました"]


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
    def kept(self) -> list[FileResult]:
        return [r for r in self.files if r.status != REJECTED]

    def counts(self) -> dict[str, int]:
        return {s: sum(r.status == s for r in self.files) for s in (ACCEPTED, WARNING, REJECTED)}

    def missing_entities(self) -> list[RosterEntry]:
        have = {r.code for r in self.kept}
        return [e for e in self.roster if e.entity.code not in have]

    def missing_reason(self, code: str) -> str:
        if any(r.code == code for r in self.files):
            return "提出されたブックがすべて不受理です（再提出が必要）"
        return "提出がありません"


def collect(paths: Iterable[str | Path], catalog: Catalog, roster: list[RosterEntry], *,
            workers: int | None = None, advance: Callable[[], None] = lambda: None,
            on_total: Callable[[int], None] = lambda n: None) -> Collection:
    files = discover(paths)
    on_total(len(files))
    expect = Expectation(catalog, frozenset(e.entity.code for e in roster))
    results = inspect_all(files, expect, workers, advance)
    resolve_duplicates(results)
    return Collection(catalog, results, roster)
