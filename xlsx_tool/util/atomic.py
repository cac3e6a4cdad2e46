"""Write outputs atomically: a reader never sees a half-written file, nor a set of files from two runs.

A write that fails (a read-only folder, a file open in Excel, a full disk) raises OutputError, which
names the output the user asked for (never a hidden temporary file) and what to do; the command line
prints it without a traceback.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

from xlsx_tool.util.problems import ToolError

STAGING_PREFIX = ".xlsx-tool-staging-"  # a folder of a set being written (removed by the next run if left)


class OutputError(ToolError):
    """An output could not be written; str() is the Japanese message with the path and the fix."""

    def __init__(self, path: Path, exc: OSError):
        self.path, self.cause = Path(path), exc
        super().__init__(_output_code(exc), file=str(path), detail=exc.strerror or type(exc).__name__)


def _output_code(exc: OSError) -> str:
    if isinstance(exc, PermissionError):
        return "output.permission"
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return "output.disk_full"
    if isinstance(exc, (IsADirectoryError, NotADirectoryError, FileExistsError)):
        return "output.occupied"
    return "output.failed"


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def _temporary(path: Path) -> Path:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent)
    except OSError as exc:
        raise OutputError(path, exc) from exc
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; outputs are shared like any saved file
    return Path(tmp)


def write_atomically(path: str | Path, write: Callable[[Path], None]) -> Path:
    """Call write(tmp_path) on a temporary file next to `path`, then rename it into place."""
    path = Path(path)
    tmp = _temporary(path)
    try:
        write(tmp)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise OutputError(path, exc) from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def _temporary_name(name: str) -> str:
    """The names `_temporary` gives for `name`: tempfile.mkstemp's 8 characters between stem and suffix."""
    return rf"\.{re.escape(Path(name).stem)}\.[a-z0-9_]{{8}}{re.escape(Path(name).suffix)}"


def remove_leftovers(out_dir: Path, names: list[str]) -> list[Path]:
    """Delete what an interrupted earlier run left in `out_dir`: staging folders of a set and the
    temporary files of `write_atomically` for these output names. Returns what was removed."""
    removed = []
    temporary = re.compile("|".join(_temporary_name(n) for n in names))
    try:
        entries = list(os.scandir(out_dir))
    except OSError:
        return removed
    for entry in entries:
        name = entry.name
        if name.startswith(STAGING_PREFIX) and entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path, ignore_errors=True)
        elif temporary.fullmatch(name) and entry.is_file(follow_symlinks=False):
            Path(entry.path).unlink(missing_ok=True)
        else:
            continue
        removed.append(Path(entry.path))
    return removed


def write_set_atomically(out_dir: str | Path, writers: Mapping[str, Callable[[Path], None]], mark: str) -> list[Path]:
    """Write a set of files into `out_dir` so that it holds either the whole new set or the whole old
    one. Every file is written into a staging folder first; then the old set is moved aside (the
    completion mark `mark` first, so that an interruption never leaves a mark beside a mixed set), the
    new files moved in (`mark` last) and the old ones deleted. If a move fails (a file open in Excel),
    what was moved is moved back and OutputError names the file. `writers` maps each file name to a
    function that writes it at the path given."""
    out_dir = Path(out_dir)
    names = list(writers)
    order = [n for n in names if n != mark] + [mark]
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(out_dir, exc) from exc
    remove_leftovers(out_dir, names)
    try:
        staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=out_dir))
    except OSError as exc:
        raise OutputError(out_dir, exc) from exc
    try:
        for name in names:
            try:
                writers[name](staging / name)
                os.chmod(staging / name, 0o666 & ~_umask())
            except OSError as exc:
                raise OutputError(out_dir / name, exc) from exc
        _swap(staging, out_dir, order)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return [out_dir / n for n in names]


def _swap(staging: Path, out_dir: Path, order: list[str]) -> None:
    old = staging / ".old"
    old.mkdir()
    undo: list[tuple[Path, Path]] = []  # moves done, to reverse (last first) when one fails
    mark = order[-1]
    try:
        for name in [mark, *order[:-1]]:  # the old set aside, its completion mark first
            target = out_dir / name
            if target.is_dir() and not target.is_symlink():  # never move (and so delete) a user's folder
                raise OutputError(target, IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR)))
            if os.path.lexists(target):
                _move(target, old / name, target, undo)
        for name in order:  # the new set in, its completion mark last
            _move(staging / name, out_dir / name, out_dir / name, undo)
    except OutputError:
        for src, dst in reversed(undo):
            try:
                os.replace(dst, src)
            except OSError:
                pass  # the error being raised names the file; a mark is never moved in before the rest
        raise


def _move(src: Path, dst: Path, output: Path, undo: list[tuple[Path, Path]]) -> None:
    try:
        os.replace(src, dst)
    except OSError as exc:
        raise OutputError(output, exc) from exc
    undo.append((src, dst))
