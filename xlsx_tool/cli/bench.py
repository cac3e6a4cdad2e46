"""Command line: xlsx-tool bench — generate, fill and collect N personalised books, with baselines.

Steps, all on the same files in a work folder:
1. generate: one book per entity of a synthetic roster (distribute.generate_for_roster: fast writer);
2. fill: random valid answers (some blank; every 100th book with an answer that is not allowed, so it
   is rejected) written with workbook.filler.fill_workbook in worker processes (not a target);
3. baselines, one process each, as an analyst would loop: (a) pandas.read_excel of the answer and id
   columns of every input sheet (engine openpyxl); (b) the floor: inflating each input sheet's XML
   from the zip, without parsing;
4. collect: collect.collect() timed around the call in a new process (every check: container,
   identification, tamper checks, answers, validation, scoring, duplicates), and `xlsx-tool collect`
   end to end in a new process (with 集計結果.xlsx, CSV and collect.json), whose process tree's memory
   is sampled. The floor and collect_s are the median of REPEATS runs each;
5. hostile input: the peak memory of a new process inspecting one book, and the same book made a lying
   zip bomb (an input sheet whose headers declare its real size but whose data inflates on to 1 GB and
   4 GB of zeros: 1 MB and 4 MB on disk). Flat means the same peak as the good book;
6. analyze: the prefecture analysis of 179 municipalities (北海道) from answers in memory: the model's
   time, the time with its outputs, and the size of 分析結果.xlsx.

Printed: `key: value` lines (generate_s, collect_s, collect_peak_mb, ratio_end_to_end, ratio_vs_pandas,
ratio_vs_floor and others) and `#` lines saying what each measures. No figure is asserted anywhere.
"""

from __future__ import annotations

import csv
import json
import os
import platform
import random
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
import zlib
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import click

from xlsx_tool.catalog.entity import check_digit
from xlsx_tool.cli.common import catalog_for
from xlsx_tool.util.problems import message

QUICK_N = 40
PREFECTURES = ["北海道", "青森県", "岩手県", "宮城県", "秋田県", "山形県", "福島県", "茨城県", "栃木県", "群馬県",
               "埼玉県", "千葉県", "東京都", "神奈川県", "新潟県", "富山県", "石川県", "福井県", "山梨県", "長野県",
               "岐阜県", "静岡県", "愛知県", "三重県", "滋賀県", "京都府", "大阪府", "兵庫県", "奈良県", "和歌山県",
               "鳥取県", "島根県", "岡山県", "広島県", "山口県", "徳島県", "香川県", "愛媛県", "高知県", "福岡県",
               "佐賀県", "長崎県", "熊本県", "大分県", "宮崎県", "鹿児島県", "沖縄県"]


@click.command("bench")
@click.option("--n", "n", type=click.IntRange(min=1), default=None,
              help=f"冊数（既定 1788 = 全国の保険者数、--quick では {QUICK_N}）")
@click.option("--quick", is_flag=True, help=f"少ない冊数（既定 {QUICK_N}）で 1 分以内に")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), help="作業フォルダ（既定: 一時フォルダ）")
@click.option("--keep", is_flag=True, help="作業フォルダ（ブック、名簿、集計結果）を残す")
@click.option("--workers", type=click.IntRange(min=1), default=None, help="並列数（既定: CPU コア数）")
@click.option("--year", default="R8", show_default=True)
@click.option("--kind", type=click.Choice(["municipality", "prefecture"]), default="municipality", show_default=True)
@click.option("--catalog", "catalog_path", type=click.Path(exists=True, dir_okay=False), help="独自のカタログ")
@click.option("--seed", type=int, default=1, show_default=True)
@click.option("--baselines/--no-baselines", default=True, show_default=True, help="pandas と展開のみの基準を測る")
def bench(n, quick, out_dir, keep, workers, year, kind, catalog_path, seed, baselines) -> None:
    """N 冊を作成・記入・回収して時間とメモリを測ります（基準: pandas.read_excel、zip 展開のみ）。"""
    n = n or (QUICK_N if quick else 1788)
    workers = workers or os.cpu_count() or 1
    catalog = catalog_for(year, kind, catalog_path)
    work = Path(out_dir) if out_dir else Path(tempfile.mkdtemp(prefix="xlsx-tool-bench-"))
    if out_dir and work.exists() and any(work.iterdir()):
        raise click.UsageError(message("cli.work_not_empty", work=work))
    work.mkdir(parents=True, exist_ok=True)
    try:
        run(catalog, n, work, workers, seed, baselines, catalog_path)
    finally:
        if keep:
            click.echo(f"# work folder kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def out(key: str, value: float | str, note: str = "") -> None:
    if note:
        click.echo(f"# {note}")
    click.echo(f"{key}: {value:.3f}" if isinstance(value, float) else f"{key}: {value}")


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        names = [line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                 if line.startswith("model name")]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    try:
        import psutil

        ram = f"{psutil.virtual_memory().total / 2**30:.1f} GiB RAM"
    except ImportError:
        ram = "RAM unknown (psutil not installed)"
    load = " / ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
    return (f"{platform.system()} {platform.release()} {platform.machine()}, {os.cpu_count()} CPUs ({cpu}), {ram}, "
            f"Python {platform.python_version()}; load average {load}")


def run(catalog, n: int, work: Path, workers: int, seed: int, baselines: bool, catalog_path) -> None:
    from xlsx_tool.collect.distribute import generate_for_roster
    from xlsx_tool.collect.roster import read_roster
    from xlsx_tool.workbook.meta import input_sheet_names

    sheets = list(input_sheet_names(catalog).values())
    click.echo(f"# xlsx-tool bench: N={n} books, catalog {catalog.id} ({len(catalog.answer_ids())} answers; "
               f"input sheets {', '.join(sheets)}), workers={workers}, seed={seed}")
    click.echo(f"# machine: {machine()}")
    roster_path = work / "roster.csv"
    write_roster(roster_path, n, seed)
    entries = read_roster(roster_path)

    templates = work / "templates"
    t = time.perf_counter()
    done = generate_for_roster(catalog, entries, templates)
    generate_s = time.perf_counter() - t
    writers = {w: sum(g.writer == w for g in done) for w in ("fast", "openpyxl")}
    out("generate_s", generate_s, f"generate: {n} personalised books, distribute.generate_for_roster, 1 process "
        f"(fast writer {writers['fast']}, openpyxl {writers['openpyxl']}; includes building the template once)")
    out("generate_ms_per_book", 1000 * generate_s / n)
    sample = min(n, 5)
    t = time.perf_counter()
    generate_for_roster(catalog, entries[:sample], work / "templates_openpyxl", writer="openpyxl")
    out("generate_openpyxl_ms_per_book", 1000 * (time.perf_counter() - t) / sample,
        f"for comparison: workbook.writer.write_workbook (openpyxl) on {sample} of the books")

    inbox = work / "inbox"
    t = time.perf_counter()
    fill_all(catalog, [g.path for g in done], inbox, workers, seed, catalog_path)
    out("fill_s", time.perf_counter() - t, f"fill: workbook.filler.fill_workbook (openpyxl) in {workers} processes; "
        "not a target")
    books = sorted(inbox.iterdir())

    floor_s = pandas_s = None
    if baselines:
        members = input_members(books[0], sheets)

        def floor_once() -> float:
            t = time.perf_counter()
            for b in books:
                with zipfile.ZipFile(b) as z:
                    for m in members:
                        z.read(m)
            return time.perf_counter() - t

        floor_s, runs = median_of(floor_once)
        out("floor_s", floor_s, f"floor: zipfile read (inflate, no parse) of {', '.join(members)} of every book, 1 process; "
            f"median of {REPEATS} runs ({runs})")
        try:
            import pandas
        except ImportError:
            click.echo("# pandas baseline skipped: pandas is not installed (pip install 'xlsx_tool[bench]')")
        else:
            t = time.perf_counter()
            for b in books:
                pandas.read_excel(b, sheet_name=sheets, usecols="D,H", engine="openpyxl")
            pandas_s = time.perf_counter() - t
            out("pandas_s", pandas_s, f"pandas {pandas.__version__}: read_excel(book, sheet_name=[input sheets], "
                'usecols="D,H", engine="openpyxl") of every book, 1 process')

    runs_info: list[dict] = []

    def collect_once() -> float:
        runs_info.append(timed_collect(inbox, roster_path, catalog, workers, catalog_path))
        return runs_info[-1]["seconds"]

    collect_s, runs = median_of(collect_once)
    info = runs_info[-1]
    c = info["counts"]
    out("collect_s", collect_s, f"collect: collect.collect() on the {len(books)} books, {workers} workers (container "
        "checks, identification, tamper checks, answers, validation, scoring, duplicates), timed around the call in a "
        f"new process each run, as `xlsx-tool collect` runs it; median of {REPEATS} runs ({runs})")
    out("collect_ms_per_book", 1000 * collect_s / len(books))
    out("collect_cpu_s", statistics.median(r["cpu"] for r in runs_info), "CPU time of that process and its workers "
        "during the call (median; what other load on the machine changes least)")
    click.echo(f"# statuses: accepted {c['accepted']} / warning {c['warning']} / rejected {c['rejected']}; "
               f"fast reader {info['fast']}, openpyxl fallback {info['fallbacks']}")
    out("fast_path_fallbacks", str(info["fallbacks"]))

    e2e = [collect_cli(inbox, roster_path, work / "collected", catalog, workers, catalog_path) for _ in range(REPEATS)]
    e2e_s, how = statistics.median(r[0] for r in e2e), e2e[0][2]
    out("collect_end_to_end_s", e2e_s, "xlsx-tool collect in a new process: start-up, inspection, 集計結果.xlsx, "
        f"CSV, collect.json; median of {REPEATS} runs ({' / '.join(f'{r[0]:.3f}' for r in e2e)})")
    out("collect_peak_mb", max(r[1] for r in e2e), f"peak memory of the xlsx-tool collect runs (the highest): {how}")
    out("ratio_end_to_end", e2e_s / collect_s, "collect_end_to_end_s / collect_s (what the user waits for, "
        "against the inspection alone; target ≤ 2)")
    if pandas_s is not None:
        out("ratio_vs_pandas", pandas_s / collect_s, "pandas_s / collect_s (how many times faster than pandas)")
    if floor_s is not None:
        out("ratio_vs_floor", collect_s / floor_s, "collect_s / floor_s (how many times the floor)")
    bomb_peaks(books[0], input_members(books[0], sheets)[0], work, catalog, catalog_path)
    analysis_bench(catalog, work / "analysis", seed)


ANALYSIS_N = 179  # 北海道's municipalities: the largest prefecture


def analysis_bench(catalog, out_dir: Path, seed: int, n: int = ANALYSIS_N) -> None:
    """`analyze` for the largest prefecture from answers in memory: the model, then the set of outputs."""
    from xlsx_tool.analysis.model import Dataset, Member, analyse
    from xlsx_tool.analysis.outputs import BOOK, write_analysis
    from xlsx_tool.workbook.filler import random_answers

    rng = random.Random(seed)
    members = [Member(f"{i:06d}", f"市町村{i:03d}", random_answers(catalog, rng)) for i in range(n)]
    t = time.perf_counter()
    model = analyse(Dataset(catalog, members, [], "bench"))
    model_s = time.perf_counter() - t
    write_analysis(model, out_dir)
    total_s = time.perf_counter() - t
    out("analysis_model_s", model_s, f"analyze: analysis.model.analyse() of {n} municipalities (北海道's count), "
        f"{len(model.items)} items each, answers in memory")
    out("analysis_build_s", total_s, "analyze: the model and the output set (分析結果.xlsx with the "
        f"{n} × {len(model.items)} matrix, 分析結果.html, 小項目別実施率.csv), 1 process")
    out("analysis_xlsx_kb", (out_dir / BOOK).stat().st_size / 1024, f"size of {BOOK} for {n} municipalities")


BOMB_SIZES_MB = (1, 4)  # on disk; each MB of repeated zero blocks inflates to about 1 GB


def bomb_peaks(book: Path, part: str, work: Path, catalog, catalog_path) -> None:
    """Peak memory of inspecting `book` and lying-zip-bomb copies of it, each in a new process."""
    good, status = inspect_peak_mb(book, catalog, catalog_path)
    peaks = []
    for mb in BOMB_SIZES_MB:
        bomb = lying_zip(book, work / f"bomb-{mb}mb.xlsx", part, mb << 20)
        peak, bomb_status = inspect_peak_mb(bomb, catalog, catalog_path)
        peaks.append(f"{bomb.stat().st_size / 2**20:.1f} MB file {peak:.0f} MB ({bomb_status})")
    out("lying_zip_peak_mb", f"{' / '.join(peaks)}; the good book {good:.0f} MB ({status})",
        f"peak RSS of a new process inspecting one book (collect.batch.inspect_file) and the book made a lying "
        f"zip bomb: {part} declares its size but its data inflates on to about 1 GB per MB of file; "
        "flat = as the good book")


def lying_zip(src: Path, dst: Path, part: str, size: int) -> Path:
    """`src` rewritten with `part`'s deflate data followed by blocks of zeros up to about `size` bytes
    of file, its headers still declaring the original size and CRC (what a crafted zip bomb does)."""
    squeeze = zlib.compressobj(9, zlib.DEFLATED, -15)
    zeros = squeeze.compress(bytes(1 << 20)) + squeeze.flush(zlib.Z_FULL_FLUSH)  # a block that repeats
    body, central = bytearray(), bytearray()
    with zipfile.ZipFile(src) as z:
        infos = z.infolist()
        for info in infos:
            data = z.read(info)
            deflate = zlib.compressobj(6, zlib.DEFLATED, -15)
            if info.filename == part:  # not the last block, the zeros, an empty last block
                raw = deflate.compress(data) + deflate.flush(zlib.Z_FULL_FLUSH)
                raw += zeros * (size // len(zeros)) + b"\x03\x00"
            else:
                raw = deflate.compress(data) + deflate.flush()
            name, crc, offset = info.filename.encode(), zlib.crc32(data), len(body)
            body += struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, 8, 0, 0, crc, len(raw), len(data), len(name), 0)
            body += name + raw
            central += struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, 8, 0, 0, crc, len(raw), len(data),
                                   len(name), 0, 0, 0, 0, 0, offset) + name
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(infos), len(infos), len(central), len(body), 0)
    dst.write_bytes(bytes(body + central + end))
    return dst


_INSPECT_PEAK = """
import json, sys
from pathlib import Path
from xlsx_tool.cli.common import catalog_for
from xlsx_tool.collect.batch import Expectation, inspect_file
args = json.loads(sys.argv[1])
result = inspect_file(Path(args["book"]), Expectation(catalog_for(args["year"], args["kind"], args["catalog"])))
try:
    import resource
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * (1 if sys.platform == "darwin" else 1024)
except ImportError:  # Windows
    import psutil
    peak = psutil.Process().memory_info().peak_wset
print(json.dumps({"peak": peak, "status": result.status}))
"""


def inspect_peak_mb(book: Path, catalog, catalog_path) -> tuple[float, str]:
    """Peak RSS (MB) of a new process that inspects `book`, and the book's status."""
    args = {"book": str(book), "catalog": catalog_path, "year": None if catalog_path else catalog.year,
            "kind": catalog.kind.value}
    proc = subprocess.run([sys.executable, "-P", "-c", _INSPECT_PEAK, json.dumps(args)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise click.ClickException(f"inspect failed ({proc.returncode}): {proc.stderr}")
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    return got["peak"] / 2**20, got["status"]


REPEATS = 3  # floor, collect and end to end: the median of this many runs (the machine's load varies from second to second)


def median_of(measure) -> tuple[float, str]:
    runs = [measure() for _ in range(REPEATS)]
    return statistics.median(runs), " / ".join(f"{r:.3f}" for r in runs)


_TIMED_COLLECT = """
import json, os, sys, time
from pathlib import Path
from xlsx_tool.cli.common import catalog_for
from xlsx_tool.collect.batch import collect
from xlsx_tool.collect.roster import read_roster
args = json.loads(sys.argv[1])
catalog = catalog_for(args["year"], args["kind"], args["catalog"])
entries = read_roster(Path(args["roster"]))
def cpu():
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system
t, c = time.perf_counter(), cpu()
col = collect([args["inbox"]], catalog, entries, workers=args["workers"])
seconds, used = time.perf_counter() - t, cpu() - c
print(json.dumps({"seconds": seconds, "cpu": used, "counts": col.counts(), "fallbacks": len(col.fallbacks),
                  "fast": sum(r.reader == "fast" for r in col.files)}))
"""


def timed_collect(inbox: Path, roster: Path, catalog, workers: int, catalog_path) -> dict:
    """collect.collect() timed around the call, in a new process (what a user's `xlsx-tool collect`
    runs; the benchmark's own process holds pandas and everything generated before)."""
    args = {"inbox": str(inbox), "roster": str(roster), "workers": workers, "catalog": catalog_path,
            "year": None if catalog_path else catalog.year, "kind": catalog.kind.value}
    # -P: the installed package, never a source checkout in the current folder (python -m / -c put it first)
    proc = subprocess.run([sys.executable, "-P", "-c", _TIMED_COLLECT, json.dumps(args)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise click.ClickException(f"collect failed ({proc.returncode}): {proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def write_roster(path: Path, n: int, seed: int) -> None:
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["code", "name", "prefecture", "insured"])
        for i in range(n):
            pref = PREFECTURES[i % len(PREFECTURES)]
            body = f"{(i % 47 + 1):02d}{i // 47 + 1:03d}"
            w.writerow([body + check_digit(body), f"試験町{i + 1:04d}", pref,
                        int(10 ** rng.uniform(2.5, 6))])


def fill_all(catalog, templates: list[Path], inbox: Path, workers: int, seed: int, catalog_path) -> None:
    inbox.mkdir(parents=True, exist_ok=True)
    jobs = [(str(p), str(inbox / p.name), seed * 100_003 + i) for i, p in enumerate(templates)]
    size = max(1, min(16, len(jobs) // (workers * 4) or 1))
    chunks = [jobs[k:k + size] for k in range(0, len(jobs), size)]
    if workers == 1:
        _fill_chunk(catalog, jobs)
        return
    with ProcessPoolExecutor(max_workers=workers) as pool:
        for f in [pool.submit(_fill_chunk, catalog, chunk) for chunk in chunks]:
            f.result()


def _fill_chunk(catalog, jobs) -> None:
    from xlsx_tool.workbook.filler import fill_workbook, random_answers

    for src, dst, seed in jobs:
        rng = random.Random(seed)
        answers = random_answers(catalog, rng, blank_rate=0.1 if seed % 3 else 0.0)
        if seed % 100 == 7:
            answers[catalog.answer_ids()[0]] = "○"  # not one of the allowed values: rejected
        fill_workbook(src, answers, dst, catalog)


def input_members(book: Path, sheets: list[str]) -> list[str]:
    """Zip members of the input sheets (the books all come from one template and one writer)."""
    from xlsx_tool.read.fast_engine import load_book

    b = load_book(book)
    return [b.part_name(s) for s in sheets]


def collect_cli(inbox: Path, roster: Path, out_dir: Path, catalog, workers: int, catalog_path) -> tuple[float, float, str]:
    cmd = [sys.executable, "-P", "-m", "xlsx_tool", "collect", str(inbox), "--roster", str(roster), "--out", str(out_dir),
           "--workers", str(workers)]
    cmd += ["--catalog", str(catalog_path)] if catalog_path else ["--year", catalog.year, "--kind", catalog.kind.value]
    try:
        import psutil
    except ImportError:
        psutil = None
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = [0]
    if psutil is not None:
        stop = threading.Event()

        def sample():
            try:
                root = psutil.Process(proc.pid)
            except psutil.Error:
                return
            while not stop.is_set():
                try:
                    total = sum(p.memory_info().rss for p in [root, *root.children(recursive=True)])
                    peak[0] = max(peak[0], total)
                except psutil.Error:
                    pass
                stop.wait(0.02)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
    _, err = proc.communicate()
    elapsed = time.perf_counter() - t
    if psutil is not None:
        stop.set()
        sampler.join()
        how = "sum of the RSS of the process and its workers, sampled every 20 ms (psutil)"
        mb = peak[0] / 2**20
    else:
        import resource

        mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        how = "largest RSS of any one process (getrusage; install psutil for the sum over the process tree)"
    if proc.returncode != 0:
        raise click.ClickException(f"xlsx-tool collect failed ({proc.returncode}): {err.decode(errors='replace')}")
    return elapsed, mb, how
