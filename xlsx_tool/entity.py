"""The municipality or prefecture a workbook is made for."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Entity:
    name: str = ""
    code: str = ""  # 団体コード / 保険者番号
    prefecture: str = ""
    insured: int | None = None  # 第1号被保険者数

    @property
    def label(self) -> str:
        return " ".join(p for p in (self.prefecture, self.name) if p) or "（団体名未記入）"
