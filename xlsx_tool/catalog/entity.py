"""The municipality or prefecture a workbook is made for."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

SIZE_CLASSES = [  # 第1号被保険者規模, as MHLW groups its rankings [001]
    (100_000, "10万人以上"), (50_000, "5万人以上10万人未満"), (10_000, "1万人以上5万人未満"),
    (3_000, "3千人以上1万人未満"), (0, "3千人未満"),
]


def size_class(insured: int | None) -> str | None:
    if insured is None:
        return None
    return next(label for floor, label in SIZE_CLASSES if insured >= floor)


def code_key(code: object) -> str:
    """団体コード for matching: full-width digits folded, spaces trimmed, and leading zeros ignored
    (a code typed as a number in Excel or a CSV loses them: 011002 → 11002)."""
    if isinstance(code, float) and code.is_integer():
        code = int(code)
    text = unicodedata.normalize("NFKC", "" if code is None else str(code)).strip()
    return (text.lstrip("0") or "0") if text.isdigit() else text


@dataclass(frozen=True)
class Entity:
    name: str = ""
    code: str = ""  # 団体コード / 保険者番号
    prefecture: str = ""
    insured: int | None = None  # 第1号被保険者数

    @property
    def label(self) -> str:
        return " ".join(p for p in (self.prefecture, self.name) if p) or "（団体名未記入）"
