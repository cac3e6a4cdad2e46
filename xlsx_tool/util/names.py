"""Text any output can hold and a person can read: file names that are not valid UTF-8 (what unzip
makes of a zip created on Japanese Windows: the bytes of a Shift_JIS name, kept by Python as lone
surrogates) and control characters (which no .xlsx cell, console line or UTF-8 file may carry as
they are). The real path stays what the program opens; only what is shown or written goes through here.
"""

from __future__ import annotations

import re
from pathlib import Path

_SURROGATES = re.compile(r"[\ud800-\udfff]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_ANY = re.compile(r"[\ud800-\udfff\x00-\x1f\x7f]")  # one search decides for nearly every text
_PIECES = re.compile(r"([/\\\s]+)")  # decoded piece by piece: a UTF-8 folder beside a Shift_JIS name


def _decoded(piece: str) -> str:
    if not _SURROGATES.search(piece):
        return piece
    raw = piece.encode("utf-8", "surrogateescape")
    try:
        return raw.decode("cp932")
    except UnicodeDecodeError:
        return raw.decode("utf-8", "backslashreplace")


def readable(text: str, *, keep_lines: bool = False) -> str:
    """`text` with undecodable file-name bytes read as Shift_JIS where they are that (else shown as
    \\xNN) and control characters shown as \\xNN (tab and line breaks kept when `keep_lines`)."""
    if _SURROGATES.search(text):
        text = "".join(_decoded(p) for p in _PIECES.split(text))
    if _CONTROL.search(text):
        text = _CONTROL.sub(lambda m: m.group() if keep_lines and m.group() in "\t\n\r" else f"\\x{ord(m.group()):02x}",
                            text)
    return text


def shown_path(path: str | Path) -> str:
    return readable(str(path))


def shown_name(path: str | Path) -> str:
    return readable(Path(path).name)
