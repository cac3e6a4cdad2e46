"""Finding the files to collect: every entry below the named folders, and a rejected result for each
entry that is not a readable regular file (nothing found is dropped from the accounting)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from pathlib import Path

from xlsx_tool.collect.results import FileResult, rejected
from xlsx_tool.util.problems import message


def discover(paths: Iterable[str | Path]) -> list[Path]:
    """Every entry named or found below the named folders, in a stable order: regular files, and also
    what is not one (a dangling link, a pipe, a folder that cannot be listed), so that each is
    reported (`_not_a_file`) rather than dropped. Linked folders are entered, each folder once."""
    found: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found.extend(_files_below(p))
        else:
            found.append(p)  # a missing path is reported, not skipped
    return found


def _files_below(root: Path) -> list[Path]:
    """Every entry below `root` that is not a folder, and each folder that cannot be listed. Real
    folders are walked first and linked ones after them, each folder once: a link to a folder already
    walked (a loop, or a second route to files found under their real path) adds nothing, whatever
    order the file system lists entries in."""
    entries, folders, linked, seen = [], [str(root)], [], set()
    while folders or linked:
        if not folders:
            linked.sort(reverse=True)
            folders.append(linked.pop())
        folder = folders.pop()
        try:
            st = os.stat(folder)
            if (st.st_dev, st.st_ino) in seen:
                continue
            seen.add((st.st_dev, st.st_ino))
            with os.scandir(folder) as listing:
                for entry in listing:
                    if not _is_folder(entry):
                        entries.append(entry.path)
                    else:
                        (linked if entry.is_symlink() else folders).append(entry.path)
        except OSError:
            entries.append(folder)  # cannot be listed: reported as such
    return [Path(f) for f in sorted(entries, key=lambda f: f.split(os.sep))]  # Path order: part by part


def _is_folder(entry: os.DirEntry) -> bool:
    try:
        return entry.is_dir()  # follows a link
    except OSError:
        return False


def not_a_file(path: Path) -> FileResult | None:
    """A rejected result for an entry that is not a readable regular file (checked without opening it:
    opening a named pipe would wait forever); None for a regular file."""
    try:
        st = path.stat()
    except FileNotFoundError:
        code = "collect.dangling_link" if path.is_symlink() else "file.missing"
        return rejected(path, message(code))
    except OSError as exc:
        return rejected(path, message("collect.cannot_access", detail=exc.strerror or type(exc).__name__))
    if stat.S_ISREG(st.st_mode):
        return None
    if stat.S_ISDIR(st.st_mode):
        return rejected(path, message("collect.folder_unreadable"))
    return rejected(path, message("collect.not_regular"))
