"""Recalculate workbooks in LibreOffice headless (the reference spreadsheet engine of the tests).

Many files go through one soffice call (much faster than one call per file), with a throwaway
user profile that forces recalculation of every formula on load.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from xlsx_tool.util.problems import message

_FORCE_RECALC = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema"
 xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>0</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="ODFRecalcMode" oor:op="fuse"><value>0</value></prop></item>
</oor:items>
"""


def find_soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


BATCH = 60  # files per soffice call: one call per file is ~5x slower, one huge call risks losing many
RETRIES = 2  # LibreOffice occasionally stops mid-batch (exit 0, outputs missing): convert the rest again


def _convert(soffice: str, paths: list[Path], outdir: Path, timeout: float) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory(prefix="lo-profile-") as profile:
        user = Path(profile) / "user"
        user.mkdir()
        (user / "registrymodifications.xcu").write_text(_FORCE_RECALC, encoding="utf-8")
        cmd = [soffice, f"-env:UserInstallation={Path(profile).as_uri()}", "--headless", "--norestore",
               "--nologo", "--convert-to", "xlsx:Calc MS Excel 2007 XML", "--outdir", str(outdir),
               *map(str, paths)]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def recalculate(paths: list[Path], outdir: Path, timeout: float = 900) -> list[Path]:
    """Open each workbook in LibreOffice, recalculate, save as .xlsx into outdir; return new paths."""
    soffice = find_soffice()
    if soffice is None:
        raise RuntimeError(message("recalc.no_soffice"))
    names = [p.name for p in paths]
    if len(set(names)) != len(names):
        raise ValueError("file names must be unique: LibreOffice writes outputs by base name")
    outdir.mkdir(parents=True, exist_ok=True)
    outputs = [outdir / p.name for p in paths]
    log = []
    for start in range(0, len(paths), BATCH):
        todo = paths[start:start + BATCH]
        for _ in range(1 + RETRIES):
            proc = _convert(soffice, todo, outdir, timeout)
            log.append(f"exit {proc.returncode}\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
            todo = [p for p in todo if not (outdir / p.name).exists()]
            if not todo:
                break
        if todo:
            raise RuntimeError(f"LibreOffice did not convert {len(todo)} file(s) after {1 + RETRIES} attempts: "
                               f"{[p.name for p in todo]}\n" + "\n".join(log[-3:]))
    return outputs
