"""Collect under faults (issue 17): dead and orphaned workers, file names that are not UTF-8, links and
other entries that are not files, duplicates saved in other time zones, outputs written as one set
(interrupted runs, write failures, leftovers). Real books on disk, real processes for the kills."""

import csv
import json
import multiprocessing
import os
import random
import signal
import subprocess
import sys
import textwrap
import threading
import time
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from xlsx_tool.catalog.entity import Entity
from xlsx_tool.catalog.loading import load_shipped_catalog
from xlsx_tool.cli import main
from xlsx_tool.collect import batch
from xlsx_tool.collect.batch import ACCEPTED, REJECTED, WARNING, Expectation, FileResult, collect, inspect_all
from xlsx_tool.workbook.filler import fill_workbook, random_answers
from xlsx_tool.workbook.writer import write_workbook

CAT = load_shipped_catalog("R8", "municipality")
CODES = ["142034", "011002", "141003"]
NAMES = {"142034": "平塚市", "011002": "札幌市", "141003": "横浜市"}
OUTPUTS = ["集計結果.xlsx", "一覧.csv", "回答一覧.csv", "実施率.csv", "要確認.csv", "結果.csv", "collect.json"]
needs_fork = pytest.mark.skipif(multiprocessing.get_start_method() != "fork",
                                reason="needs fork: the patched function must reach the workers")


@pytest.fixture(scope="module")
def books(tmp_path_factory) -> dict[str, Path]:
    """One filled book per code (complete answers, so each is accepted without a note)."""
    tmp = tmp_path_factory.mktemp("books")
    out = {}
    for i, code in enumerate(CODES):
        template = write_workbook(CAT, Entity(name=NAMES[code], code=code, prefecture="テスト県"),
                                  tmp / f"t{code}.xlsx")
        answers = random_answers(CAT, random.Random(i), blank_rate=0.0)
        out[code] = fill_workbook(template, answers, tmp / f"{code}.xlsx", CAT)
    return out


def _copy(src: Path, dst: Path | bytes) -> None:
    with open(src, "rb") as fh, open(dst, "wb") as out:
        out.write(fh.read())


def _run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "xlsx_tool", *args], capture_output=True, text=True,
                          encoding="utf-8", errors="backslashreplace", cwd=cwd, timeout=300)


def _quick(name_to_result):
    """An inspect_file stand-in (reaches forked workers): decides by file name, as a worker would."""
    def inspect(path, expect, reader="fast"):
        return name_to_result(Path(path))
    return inspect


def _files(tmp: Path, names: list[str]) -> list[Path]:
    out = []
    for n in names:
        (tmp / n).write_bytes(b"x")
        out.append(tmp / n)
    return out


# -- item 2: dead and orphaned workers ----------------------------------------------------------

@needs_fork
def test_a_file_that_kills_its_worker_is_rejected_and_the_batch_goes_on(tmp_path, monkeypatch):
    names = [f"b{i:02d}.xlsx" for i in range(24)]
    names[7] = "crash.xlsx"

    def decide(path: Path) -> FileResult:
        if path.name == "crash.xlsx" and multiprocessing.parent_process() is not None:
            os.kill(os.getpid(), signal.SIGKILL)  # what the OOM killer does to a worker
        return FileResult(str(path), ACCEPTED, code=path.stem)

    monkeypatch.setattr(batch, "inspect_file", _quick(decide))
    files = _files(tmp_path, names)
    results = inspect_all(files, Expectation(CAT), workers=2)
    assert [r.file for r in results] == [str(f) for f in files]  # every file, in order
    by_name = {Path(r.file).name: r for r in results}
    assert by_name["crash.xlsx"].status == REJECTED
    assert "異常終了" in by_name["crash.xlsx"].reason
    assert all(r.status == ACCEPTED for n, r in by_name.items() if n != "crash.xlsx")


@needs_fork
def test_a_worker_killed_from_outside_costs_no_file(tmp_path, monkeypatch):
    def decide(path: Path) -> FileResult:
        time.sleep(0.05)
        return FileResult(str(path), ACCEPTED, code=path.stem)

    monkeypatch.setattr(batch, "inspect_file", _quick(decide))
    files = _files(tmp_path, [f"b{i:02d}.xlsx" for i in range(80)])
    killed = []

    def killer():
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not killed:
            workers = multiprocessing.active_children()
            if workers:
                time.sleep(0.3)
                os.kill(workers[0].pid, signal.SIGKILL)
                killed.append(workers[0].pid)
            time.sleep(0.02)

    t = threading.Thread(target=killer)
    t.start()
    results = inspect_all(files, Expectation(CAT), workers=2)
    t.join()
    assert killed, "no worker was seen"
    assert [r.status for r in results] == [ACCEPTED] * len(files)  # the killed worker's files read again


def _children(pid: int) -> set[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return set()
    return {int(p) for p in text.split()}


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads /proc")
@needs_fork
def test_workers_end_when_the_collecting_process_is_killed(tmp_path):
    files = _files(tmp_path, [f"b{i:02d}.xlsx" for i in range(40)])
    script = textwrap.dedent(f"""
        import time
        from pathlib import Path
        from xlsx_tool.catalog.loading import load_shipped_catalog
        from xlsx_tool.collect import batch
        batch.inspect_file = lambda path, expect, reader="fast": time.sleep(60)
        files = [Path(p) for p in {[str(f) for f in files]!r}]
        batch.inspect_all(files, batch.Expectation(load_shipped_catalog("R8", "municipality")), workers=2)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script])
    try:
        deadline = time.monotonic() + 60
        while len(workers := _children(proc.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(workers) >= 2, "the workers did not start"
        time.sleep(0.5)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        deadline = time.monotonic() + 15
        while any(_alive(w) for w in workers) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not [w for w in workers if _alive(w)], "workers outlived the killed parent"
    finally:
        proc.kill()
        for w in _children(proc.pid):
            os.kill(w, signal.SIGKILL)


# -- item 3: file names that are not UTF-8, control characters ------------------------------------

def test_names_that_are_not_utf8_or_hold_control_characters_are_shown_readably(tmp_path, books):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    sjis = "平塚市.xlsx".encode("cp932")  # what unzip makes of a name from a zip made on Japanese Windows
    _copy(books["142034"], os.fsencode(inbox) + b"/" + sjis)
    _copy(books["011002"], inbox / "札幌\x07市.xlsx")
    (inbox / "メモ\x1b[31m.txt").write_text("x", encoding="utf-8")
    res = _run_cli("collect", str(inbox), "--out", str(tmp_path / "out"), "--workers", "1")
    assert res.returncode == 0, res.stderr
    assert "Traceback" not in res.stderr + res.stdout
    data = json.loads((tmp_path / "out" / "collect.json").read_text(encoding="utf-8"))
    shown = {Path(r["file"]).name: r["status"] for r in data}
    assert shown == {"平塚市.xlsx": ACCEPTED, "札幌\\x07市.xlsx": ACCEPTED, "メモ\\x1b[31m.txt": REJECTED}
    with open(tmp_path / "out" / "一覧.csv", encoding="utf-8-sig", newline="") as fh:
        files = {row["ファイル"] for row in csv.DictReader(fh)}
    assert files == {"平塚市.xlsx", "札幌\\x07市.xlsx"}
    assert "メモ\\x1b[31m.txt" in res.stdout  # the escape sequence shown, not sent to the terminal


# -- item 4: links, dangling links, pipes, unreadable folders --------------------------------------

def test_linked_folders_dangling_links_and_pipes_are_all_accounted(tmp_path, books):
    inbox, elsewhere = tmp_path / "inbox", tmp_path / "elsewhere"
    inbox.mkdir()
    elsewhere.mkdir()
    _copy(books["142034"], elsewhere / "linked.xlsx")
    _copy(books["011002"], inbox / "plain.xlsx")
    (inbox / "folder_link").symlink_to(elsewhere, target_is_directory=True)
    (inbox / "loop").symlink_to(inbox, target_is_directory=True)  # must not be walked forever
    (inbox / "dangling.xlsx").symlink_to(tmp_path / "gone.xlsx")
    os.mkfifo(inbox / "pipe.xlsx")
    col = collect([inbox], CAT, [], workers=1)
    got = {Path(r.file).name: (r.status, r.reason) for r in col.files}
    assert set(got) == {"linked.xlsx", "plain.xlsx", "dangling.xlsx", "pipe.xlsx"}
    assert got["linked.xlsx"][0] == ACCEPTED and got["plain.xlsx"][0] == ACCEPTED
    assert got["dangling.xlsx"][0] == REJECTED and "リンク" in got["dangling.xlsx"][1]
    assert got["pipe.xlsx"][0] == REJECTED and "通常のファイルではありません" in got["pipe.xlsx"][1]


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root reads every folder")
def test_a_folder_that_cannot_be_listed_is_reported(tmp_path, books):
    inbox = tmp_path / "inbox"
    (inbox / "locked").mkdir(parents=True)
    _copy(books["142034"], inbox / "locked" / "a.xlsx")
    os.chmod(inbox / "locked", 0)
    try:
        col = collect([inbox], CAT, [], workers=1)
    finally:
        os.chmod(inbox / "locked", 0o755)
    assert [(Path(r.file).name, r.status) for r in col.files] == [("locked", REJECTED)]
    assert "フォルダの中を読み取れません" in col.files[0].reason


# -- item 5: duplicates saved in other time zones; a rejected resubmission ----------------------------

def _with_saved_time(src: Path, dst: Path, modified: str) -> Path:
    """A copy of the book whose docProps/core.xml says it was last saved at `modified` (W3CDTF)."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == "docProps/core.xml":
                text = data.decode("utf-8")
                start = text.index("<dcterms:modified")
                end = text.index("</dcterms:modified>") + len("</dcterms:modified>")
                text = (text[:start] + f'<dcterms:modified xsi:type="dcterms:W3CDTF">{modified}</dcterms:modified>'
                        + text[end:])
                data = text.encode("utf-8")
            zout.writestr(info, data)
    return dst


def test_duplicates_compare_save_times_with_their_utc_offsets(tmp_path, books):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    # 10:00 in Japan is 01:00 UTC: the book saved at 02:00 UTC is the newer one
    first = _with_saved_time(books["142034"], inbox / "a_jst.xlsx", "2026-05-01T10:00:00+09:00")
    second = _with_saved_time(books["142034"], inbox / "b_utc.xlsx", "2026-05-01T02:00:00Z")
    os.utime(first, (time.time(), time.time()))
    os.utime(second, (time.time() - 3600, time.time() - 3600))  # the file times must not decide
    col = collect([inbox], CAT, [], workers=1)
    got = {Path(r.file).name: r for r in col.files}
    assert got["b_utc.xlsx"].status == ACCEPTED
    assert got["a_jst.xlsx"].status == REJECTED and "b_utc.xlsx を採用" in got["a_jst.xlsx"].reason


def test_an_older_book_kept_beside_a_rejected_resubmission_says_so(tmp_path, books):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    _with_saved_time(books["142034"], inbox / "old.xlsx", "2026-05-01T01:00:00Z")
    wb = load_workbook(books["142034"])
    ws = wb["推進交付金"]
    formula = next(c for row in ws.iter_rows() for c in row if c.data_type == "f")
    formula.value = 99  # a total typed over: the resubmission is rejected as tampered
    wb.save(tmp_path / "tampered.xlsx")
    _with_saved_time(tmp_path / "tampered.xlsx", inbox / "new.xlsx", "2026-05-02T01:00:00Z")
    col = collect([inbox], CAT, [], workers=1)
    got = {Path(r.file).name: r for r in col.files}
    assert got["new.xlsx"].status == REJECTED
    assert got["old.xlsx"].status == WARNING
    assert "new.xlsx" in got["old.xlsx"].reason and "不受理" in got["old.xlsx"].reason


# -- items 8 and 13: the output set, interrupted runs, write failures ----------------------------------

def _snapshot(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(out.iterdir()) if p.is_file()}


def test_a_write_failure_keeps_the_previous_set_and_says_which_file(tmp_path, books):
    inbox, out = tmp_path / "inbox", tmp_path / "out"
    inbox.mkdir()
    _copy(books["142034"], inbox / "a.xlsx")
    first = CliRunner().invoke(main, ["collect", str(inbox), "--out", str(out), "--workers", "1"])
    assert first.exit_code == 0, first.output
    (out / "要確認.csv").unlink()
    (out / "要確認.csv").mkdir()  # in the way of one output (on Windows: the file open in Excel)
    before = _snapshot(out)
    _copy(books["011002"], inbox / "b.xlsx")
    res = _run_cli("collect", str(inbox), "--out", str(out), "--workers", "1")
    assert res.returncode == 1
    assert "Traceback" not in res.stderr
    assert "要確認.csv" in res.stderr and "前回の出力はそのまま残っています" in res.stderr
    assert _snapshot(out) == before  # the old set, whole: nothing of the new run beside it
    assert sorted(p.name for p in out.iterdir()) == sorted(OUTPUTS)  # no temporary file left


def test_a_run_killed_while_writing_leaves_no_completion_mark_and_the_next_run_cleans_up(tmp_path, books):
    inbox, out = tmp_path / "inbox", tmp_path / "out"
    inbox.mkdir()
    _copy(books["142034"], inbox / "a.xlsx")
    assert _run_cli("collect", str(inbox), "--out", str(out), "--workers", "1").returncode == 0
    _copy(books["011002"], inbox / "b.xlsx")
    # the process kills itself at its third rename of an output: in the middle of putting the set in place
    script = textwrap.dedent(f"""
        import os, signal, sys
        real, count = os.replace, [0]
        def replace(src, dst):
            if os.path.dirname(os.fspath(dst)) == {str(out)!r}:
                count[0] += 1
                if count[0] == 3:
                    os.kill(os.getpid(), signal.SIGKILL)
            return real(src, dst)
        os.replace = replace
        from xlsx_tool.cli import main
        sys.argv = ["xlsx-tool", "collect", {str(inbox)!r}, "--out", {str(out)!r}, "--workers", "1"]
        main()
    """)
    killed = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=300)
    assert killed.returncode == -signal.SIGKILL
    assert not (out / "collect.json").exists()  # no completion mark beside a mixed set
    res = _run_cli("collect", str(inbox), "--out", str(out), "--workers", "1")
    assert res.returncode == 0, res.stderr
    assert sorted(p.name for p in out.iterdir()) == sorted(OUTPUTS)  # leftovers of the killed run removed
    data = json.loads((out / "collect.json").read_text(encoding="utf-8"))
    assert sorted(Path(r["file"]).name for r in data) == ["a.xlsx", "b.xlsx"]
    with open(out / "結果.csv", encoding="utf-8-sig", newline="") as fh:
        assert sorted(row["code"] for row in csv.DictReader(fh)) == ["011002", "142034"]


def test_leftovers_of_older_interrupted_runs_are_removed(tmp_path, books):
    inbox, out = tmp_path / "inbox", tmp_path / "out"
    inbox.mkdir()
    out.mkdir()
    _copy(books["142034"], inbox / "a.xlsx")
    (out / ".xlsx-tool-staging-abc123").mkdir()
    (out / ".xlsx-tool-staging-abc123" / "集計結果.xlsx").write_bytes(b"half")
    (out / ".集計結果.k2j3h4ab.xlsx").write_bytes(b"half")  # write_atomically's temporary name (mkstemp)
    (out / "mine.txt").write_text("the user's own file", encoding="utf-8")
    (out / ".一覧.backup.csv").write_text("the user's own hidden copy", encoding="utf-8")
    res = CliRunner().invoke(main, ["collect", str(inbox), "--out", str(out), "--workers", "1"])
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in out.iterdir()) == sorted([*OUTPUTS, "mine.txt", ".一覧.backup.csv"])


def test_a_write_failure_in_any_command_is_a_message(tmp_path, books):
    out = tmp_path / "out"
    out.mkdir()
    (out / "R8_municipality_sample_report.html").mkdir()  # a folder where the report goes
    res = _run_cli("demo", "--out", str(out))
    assert res.returncode == 1
    assert "Traceback" not in res.stderr
    assert "R8_municipality_sample_report.html" in res.stderr and "書き込めません" in res.stderr


def test_a_text_file_is_called_text_with_its_own_extension(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "data.ods").write_text("団体コード,得点\n142034,10\n", encoding="utf-8")
    col = collect([inbox], CAT, [], workers=1)
    (r,) = col.files
    assert r.status == REJECTED and "テキスト（CSV など）" in r.reason and "（.ods）" in r.reason
    assert ".xlsx に変えられて" not in r.reason  # it was not renamed .xlsx
