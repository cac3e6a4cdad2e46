"""xlwings Lite runs Python in Pyodide (WebAssembly): every dependency must install there, as a pure-Python
wheel or as a package Pyodide ships, and the readers must work without zlib-ng, which has no Pyodide wheel."""

from __future__ import annotations

import email
import random
import re
import subprocess
import sys
import zipfile
from importlib import metadata
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from xlsx_tool.catalog.entity import Entity
from xlsx_tool.catalog.loading import load_shipped_catalog
from xlsx_tool.workbook.filler import fill_workbook, random_answers
from xlsx_tool.workbook.writer import write_workbook

ROOT = Path(__file__).resolve().parent.parent
# Pyodide 0.27.7 (pyodide-lock.json of the npm package pyodide@0.27.7): Python 3.12.7, emscripten_3_1_58
PYODIDE = {"python_version": "3.12", "python_full_version": "3.12.7", "sys_platform": "emscripten",
           "platform_system": "Emscripten", "platform_machine": "wasm32", "os_name": "posix",
           "implementation_name": "cpython", "platform_python_implementation": "CPython", "extra": ""}
WHEEL_PLATFORMS = ("pyodide_2024_0_wasm32", "emscripten_3_1_58_wasm32")
# Packages Pyodide ships that we rely on, with the version in that same pyodide-lock.json ("packages" →
# file_name). Their version is Pyodide's, with its own dependencies (lite.xlwings.org, "Python Dependencies":
# a package provided by Pyodide is tied to its version): pydantic 2.10.5 brings Pyodide's pydantic-core 2.27.2.
PYODIDE_SHIPPED = {
    "pydantic": "2.10.5",     # pydantic-2.10.5-py3-none-any.whl (its compiled core: pydantic_core-2.27.2-cp312-…)
    "pyyaml": "6.0.2",        # pyyaml-6.0.2-cp312-cp312-pyodide_2024_0_wasm32.whl
    "markupsafe": "2.1.5",    # markupsafe-2.1.5-cp312-cp312-pyodide_2024_0_wasm32.whl (asked for by jinja2)
}
# Installed here as a platform wheel, but published with a pure-Python wheel too, the one Pyodide takes
# (lite.xlwings.org, "Python Dependencies": "For pure Python packages including xlwings"); the network test
# below downloads it for the Pyodide platform.
PURE_WHEEL_PUBLISHED = {"xlwings"}


@pytest.fixture(scope="module")
def wheel_requirements(tmp_path_factory) -> list[Requirement]:
    """Requires-Dist of the wheel `pip wheel .` builds from this checkout."""
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(ROOT)],
                   check=True, capture_output=True, timeout=300)
    (wheel,) = out.glob("xlsx_tool-*.whl")
    with zipfile.ZipFile(wheel) as z:
        name = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))
        meta = email.message_from_bytes(z.read(name))
    return [Requirement(r) for r in meta.get_all("Requires-Dist")]


def _for_pyodide(requirements) -> list[Requirement]:
    env = {**default_environment(), **PYODIDE}
    return [r for r in requirements if r.marker is None or r.marker.evaluate(env)]


def _pyodide_closure(requirements: list[Requirement]) -> dict[str, list[Requirement]]:
    """Every distribution Pyodide would install for `requirements` (their markers evaluated for Pyodide), by
    name, with the requirements that ask for it; the dependencies' own metadata as installed here, but not
    those of a package Pyodide ships (Pyodide brings them)."""
    found: dict[str, list[Requirement]] = {}
    todo = list(_for_pyodide(requirements))
    while todo:
        req = todo.pop()
        name = canonicalize_name(req.name)
        if name not in found and name not in PYODIDE_SHIPPED:
            todo += _for_pyodide(Requirement(r) for r in metadata.requires(req.name) or ())
        found.setdefault(name, []).append(req)
    return found


def _pure(name: str) -> bool:
    """The wheel installed here is pure Python: purelib and tags py*-none-any only (its WHEEL file)."""
    wheel = email.message_from_string(metadata.distribution(name).read_text("WHEEL") or "")
    tags = wheel.get_all("Tag") or []
    return wheel.get("Root-Is-Purelib") == "true" and bool(tags) and all(t.endswith("-none-any") for t in tags)


def test_every_dependency_installs_in_pyodide(wheel_requirements):
    names = {canonicalize_name(r.name) for r in wheel_requirements if r.marker is None}
    assert "zlib-ng" not in names  # kept for the PC, by its marker
    closure = _pyodide_closure([r for r in wheel_requirements if "extra" not in str(r.marker or "")])
    assert "zlib-ng" not in closure, closure["zlib-ng"]
    assert {"openpyxl", "xlwings", "pydantic", "xlsxwriter"} <= set(closure)
    for name, asked in closure.items():
        if name in PYODIDE_SHIPPED:
            version = PYODIDE_SHIPPED[name]
            assert all(r.specifier.contains(version, prereleases=True) for r in asked), (name, version, asked)
        else:
            assert _pure(name) or name in PURE_WHEEL_PUBLISHED, f"{name}: no pure-Python wheel, not in Pyodide"


def test_the_pyodide_platform_gets_a_wheel_of_each_dependency(wheel_requirements, tmp_path):
    """pip itself, asked for wheels of the Pyodide platform: a pure-Python wheel of every dependency that
    Pyodide does not ship (zlib-ng, with no such wheel, is what the marker keeps out)."""
    def download(*requirements: str) -> subprocess.CompletedProcess:
        args = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--python-version",
                PYODIDE["python_version"], "--implementation", "cp", "-d", str(tmp_path / "wheels")]
        for platform in WHEEL_PLATFORMS:
            args += ["--platform", platform]
        return subprocess.run(args + list(requirements), capture_output=True, text=True, timeout=300)

    if download("click").returncode != 0:  # a pure wheel any index has: no index reachable from here
        pytest.skip("no package index reachable (pip download failed for click)")
    closure = _pyodide_closure([r for r in wheel_requirements if "extra" not in str(r.marker or "")])
    wanted = [str(Requirement(f"{name}{asked[0].specifier}")) for name, asked in sorted(closure.items())
              if name not in PYODIDE_SHIPPED]
    result = download(*wanted)
    assert result.returncode == 0, result.stderr[-2000:]
    got = {canonicalize_name(re.split(r"-\d", p.name, maxsplit=1)[0]): p.name for p in (tmp_path / "wheels").iterdir()}
    assert set(closure) - set(PYODIDE_SHIPPED) <= set(got), got
    assert all(n.endswith("-none-any.whl") for n in got.values()), got
    assert download("zlib-ng>=0.4").returncode != 0  # why the marker is there


def test_a_collection_without_zlib_ng_reads_the_same(tmp_path):
    """`xlsx-tool collect` in a process where zlib_ng cannot be imported (as in Pyodide) uses the standard
    library's zlib and writes the same tables as with zlib-ng, a damaged book rejected alike."""
    cat = load_shipped_catalog("R8", "municipality")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for i, code in enumerate(("142034", "142051")):
        template = write_workbook(cat, Entity(name=f"市{i}", code=code), tmp_path / f"t{i}.xlsx")
        fill_workbook(template, random_answers(cat, random.Random(i)), inbox / f"{code}.xlsx", cat)
    with zipfile.ZipFile(inbox / "142034.xlsx") as z:  # a book whose sheet's bytes were changed after zipping
        info = z.getinfo("xl/worksheets/sheet2.xml")
    data = bytearray((inbox / "142034.xlsx").read_bytes())
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    data[start + info.compress_size // 2] ^= 0x55
    (inbox / "142061.xlsx").write_bytes(bytes(data))

    runs = {}
    for label, block in (("zlib-ng", ""), ("zlib", "sys.modules['zlib_ng'] = None\n")):
        code = (f"import sys, zlib\n{block}from xlsx_tool.read import checked_zip\n"
                f"assert (checked_zip.fast_zlib is zlib) == {label == 'zlib'}, checked_zip.fast_zlib\n"
                "from xlsx_tool.cli import main\nmain(sys.argv[1:], prog_name='xlsx-tool')\n")
        out = tmp_path / label
        proc = subprocess.run([sys.executable, "-c", code, "collect", str(inbox), "--out", str(out),
                               "--workers", "1"], capture_output=True, text=True, timeout=300)
        assert proc.returncode in (0, 1), proc.stderr
        runs[label] = {p.name: p.read_bytes() for p in out.glob("*.csv")}
    assert runs["zlib"] and runs["zlib"] == runs["zlib-ng"]
    rejected = [line for table in runs["zlib"].values() for line in table.decode("utf-8-sig").splitlines()
                if "142061.xlsx" in line]
    assert rejected and all(line.startswith("不受理") for line in rejected), rejected
