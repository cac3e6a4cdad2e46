"""Checks on a file before any parser sees it: bounded time and memory for hostile input.

Each problem gets its own Japanese reason: empty file, encrypted workbook, old .xls, text (CSV)
renamed .xlsx, damaged zip, zip bomb, XML entity declarations.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
MAX_UNCOMPRESSED = 200 * 1024 * 1024  # a self-assessment book is well under 5 MB unpacked
MAX_RATIO = 200  # deflate rarely exceeds ~100:1 on real sheets
MAX_MEMBERS = 2000
XML_SNIFF = 4096  # DOCTYPE/ENTITY must appear in the prolog


class FileRejected(Exception):
    """The file cannot be read safely; `reason` is the Japanese explanation."""

    def __init__(self, reason: str, code: str):
        self.reason, self.code = reason, code
        super().__init__(reason)


def _ole_kind(head: bytes, path: Path) -> FileRejected:
    data = path.read_bytes()[:65536] if path.stat().st_size < 50 * 1024 * 1024 else head
    # An encrypted OOXML package is an OLE file with EncryptionInfo/EncryptedPackage streams
    # (names stored in UTF-16LE in the directory).
    if "EncryptedPackage".encode("utf-16-le") in data or "EncryptionInfo".encode("utf-16-le") in data:
        return FileRejected("パスワードで暗号化されたブックです。パスワードを解除して保存し直してください", "encrypted")
    return FileRejected("旧形式の Excel ブック (.xls) です。Excel で .xlsx 形式で保存し直してください", "xls")


def _looks_like_text(head: bytes) -> bool:
    if not head or b"\0" in head:
        return False
    for enc in ("utf-8", "cp932"):
        try:
            head.decode(enc)
            return True
        except UnicodeDecodeError:
            continue
    return False


def check_container(path: Path) -> None:
    """Raise FileRejected unless `path` is a zip that an xlsx parser can open safely."""
    size = path.stat().st_size
    if size == 0:
        raise FileRejected("空のファイルです（ダウンロードや保存が途中で失敗した可能性があります）", "empty")
    with path.open("rb") as fh:
        head = fh.read(2048)
    if head.startswith(OLE_MAGIC):
        raise _ole_kind(head, path)
    if not head.startswith(b"PK"):
        if _looks_like_text(head):
            raise FileRejected("Excel ブックではなくテキスト（CSV など）です。拡張子だけが .xlsx に変えられています", "text")
        raise FileRejected("Excel ブック (.xlsx) ではありません", "not_xlsx")
    try:
        with zipfile.ZipFile(path) as z:
            infos = z.infolist()
            _check_bomb(infos)
            names = {i.filename for i in infos}
            if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
                raise FileRejected("Excel ブックの必須部品がありません（ファイルが壊れています）", "corrupt")
            _check_entities(z, infos)
    except zipfile.BadZipFile:
        raise FileRejected("ファイルが壊れています（zip 形式として読めません。ダウンロードし直してください）",
                           "corrupt") from None
    except (zipfile.LargeZipFile, NotImplementedError, OSError, EOFError) as exc:
        raise FileRejected(f"ファイルが壊れています（{exc}）", "corrupt") from None


def _check_bomb(infos) -> None:
    if len(infos) > MAX_MEMBERS:
        raise FileRejected(f"zip の部品数が多すぎます（{len(infos)}）。不正なファイルの可能性があります", "zip_bomb")
    total = sum(i.file_size for i in infos)
    if total > MAX_UNCOMPRESSED:
        raise FileRejected(f"展開後のサイズが大きすぎます（{total // (1024 * 1024)} MB）。"
                           "不正なファイル（zip 爆弾）の可能性があります", "zip_bomb")
    for i in infos:
        if i.file_size > 1024 * 1024 and i.file_size > MAX_RATIO * max(i.compress_size, 1):
            raise FileRejected(f"圧縮率が異常です（{i.filename}: {i.file_size // max(i.compress_size, 1)} 倍）。"
                               "不正なファイル（zip 爆弾）の可能性があります", "zip_bomb")


def _check_entities(z: zipfile.ZipFile, infos) -> None:
    for i in infos:
        if i.filename.endswith((".xml", ".rels", ".vml")):
            with z.open(i) as fh:
                prolog = fh.read(XML_SNIFF)
            if b"<!DOCTYPE" in prolog or b"<!ENTITY" in prolog:
                raise FileRejected(f"XML に DOCTYPE/ENTITY 宣言があります（{i.filename}）。"
                                   "不正なファイル（XML エンティティ攻撃）の可能性があるため読み込みません", "xml_entity")
