"""Sheet and workbook protection as current Excel writes it: the password as a salted SHA-512 hash
(algorithmName, hashValue, saltValue, spinCount; ECMA-376 Part 1 §18.3.1.85 and §18.2.29), never the
legacy 16-bit hash that openpyxl writes (five hex digits for long passwords, which Excel repairs, and
another hash than Excel's for non-ASCII passwords, so the password would not unlock the sheet).

The hash: H0 = SHA-512(salt + password as UTF-16LE), then Hn = SHA-512(Hn-1 + n as 4-byte little
endian) for n = 0 … spinCount-1 (the iterator after the hash, as for OOXML write protection).
"""

from __future__ import annotations

import base64
import hashlib
import os
from functools import lru_cache

from openpyxl import Workbook
from openpyxl.workbook.protection import WorkbookProtection

ALGORITHM = "SHA-512"
SPIN_COUNT = 100_000
SALT_BYTES = 16


def password_hash(password: str, salt: bytes, spin_count: int = SPIN_COUNT) -> bytes:
    digest = hashlib.sha512(salt + password.encode("utf-16-le")).digest()
    for n in range(spin_count):
        digest = hashlib.sha512(digest + n.to_bytes(4, "little")).digest()
    return digest


@lru_cache(maxsize=16)
def _hashed(password: str) -> tuple[str, str]:
    """(hash, salt) in base64, once per password and process: 100,000 rounds take a noticeable moment,
    and every sheet of every book made with that password may share them."""
    salt = os.urandom(SALT_BYTES)
    return (base64.b64encode(password_hash(password, salt)).decode("ascii"),
            base64.b64encode(salt).decode("ascii"))


def protect(wb: Workbook, password: str | None) -> None:
    """Protect every sheet (columns and rows may be resized) and the workbook structure."""
    hashed = _hashed(password) if password else None
    for ws in wb.worksheets:
        protect_sheet(ws, hashed)
    wb.security = WorkbookProtection(lockStructure=True)
    if hashed:
        wb.security.workbookAlgorithmName, wb.security.workbookSpinCount = ALGORITHM, SPIN_COUNT
        wb.security.workbookHashValue, wb.security.workbookSaltValue = hashed


def protect_sheet(ws, hashed: tuple[str, str] | None = None) -> None:
    """Contents, objects (notes, charts) and scenarios protected, as Excel protects a sheet; columns and
    rows may still be resized. `hashed`: (hash, salt) of a password, as _hashed gives."""
    ws.protection.sheet = True
    ws.protection.objects = ws.protection.scenarios = True
    ws.protection.formatColumns = False  # let staff widen columns and rows
    ws.protection.formatRows = False
    if hashed:
        ws.protection.algorithmName, ws.protection.spinCount = ALGORITHM, SPIN_COUNT
        ws.protection.hashValue, ws.protection.saltValue = hashed
