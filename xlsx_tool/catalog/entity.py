"""The municipality or prefecture a workbook is made for."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from xlsx_tool.util.problems import ToolError, located

SIZE_CLASSES = [  # 第1号被保険者規模, as MHLW groups its rankings [001]
    (100_000, "10万人以上"), (50_000, "5万人以上10万人未満"), (10_000, "1万人以上5万人未満"),
    (3_000, "3千人以上1万人未満"), (0, "3千人未満"),
]

NATION_ENTITIES = {"municipality": 1741, "prefecture": 47}  # the nation's count, as evaluated [001][002]
# 1,741 counts municipalities; a 広域連合 / 一部事務組合 is one insurer for the grants, so the nation has fewer
# insurers (how many is not in the seeds): estimate takes the count from its parameters (entities_in_nation).
MEMBER_SEPARATORS = re.compile(r"[、,;\s]+")  # 、 ; , or spaces (full-width ， ； fold to , ; under NFKC)


def size_class(insured: int | None) -> str | None:
    if insured is None:
        return None
    return next(label for floor, label in SIZE_CLASSES if insured >= floor)


def _folded(code: object) -> str:
    """The text of a code: full-width digits folded, spaces trimmed, a whole float (a code typed as a
    number in Excel) without its .0."""
    if isinstance(code, float) and code.is_integer():
        code = int(code)
    return unicodedata.normalize("NFKC", "" if code is None else str(code)).strip()


def check_digit(body: str) -> str:
    """The 検査数字 of a 5-digit 全国地方公共団体コード (総務省): the digits weighted 6, 5, 4, 3, 2,
    summed; 11 minus the sum's remainder by 11, its last digit."""
    return str((11 - sum(int(d) * w for d, w in zip(body, (6, 5, 4, 3, 2))) % 11) % 10)


def _six(text: str) -> bool:
    return len(text) == 6 and text.isdigit() and text[5] == check_digit(text[:5])


def _lost_zero(text: str) -> bool:
    """A 6-digit code typed as a number: 011002 → 11002 (a prefecture 01–09 code whose check digit fits)."""
    return len(text) == 5 and text.isdigit() and text[0] != "0" and _six("0" + text)


def entity_code(code: object) -> str:
    """The 6-digit 全国地方公共団体コード of `code`: 6 digits with a valid check digit as they are, 5 digits
    (the code without its check digit) with the check digit added. Anything else: ToolError naming it."""
    text = _folded(code)
    if not (text.isdigit() and len(text) in (5, 6)):
        raise ToolError("code.format", value=text)
    if len(text) == 5:
        return text + check_digit(text)
    if not _six(text):
        raise ToolError("code.check_digit", value=text, body=text[:5], digit=check_digit(text[:5]))
    return text


def column_codes(codes: list[object]) -> list[str | ToolError]:
    """The codes of a table's column (a roster), each as entity_code reads it or the ToolError why not.

    A number in Excel or a CSV loses its leading zeros: 4 digits are a 5-digit code (01100 → 1100), and
    5 digits are a 6-digit code (011002 → 11002) when the column has 6-digit codes or every 5-digit value
    reads so (a check digit fits each) and that reading's check digit fits; otherwise 5 digits are the
    code without its check digit. Codes of other forms (an own numbering) are kept as written."""
    texts = [_folded(c) for c in codes]
    fives = [t for t in texts if len(t) == 5 and t.isdigit()]
    sixes = any(len(t) == 6 and t.isdigit() for t in texts) or (bool(fives) and all(map(_lost_zero, fives)))
    out: list[str | ToolError] = []
    for text in texts:
        if not (text.isdigit() and 4 <= len(text) <= 6):
            out.append(text)
            continue
        if len(text) == 4 or (sixes and _lost_zero(text)):
            text = "0" + text  # the leading zero a number lost
        try:
            out.append(entity_code(text))
        except ToolError as err:
            out.append(err)
    return out


def member_codes(text: object) -> list[str | ToolError]:
    """The member municipalities' codes of a 広域連合 / 一部事務組合 (構成市町村), as column_codes reads them."""
    return column_codes([part for part in MEMBER_SEPARATORS.split(_folded(text)) if part])


def members_column(text: object, where: str) -> tuple[tuple[str, ...], list[str]]:
    """member_codes of a table's members column: the codes, and a located problem line per code that is
    not one (`where`: the row and column, as the table shows them)."""
    members = member_codes(text)
    return (tuple(m for m in members if isinstance(m, str)),
            [located(m.code, where, **m.problem.fields) for m in members if not isinstance(m, str)])


def counted_twice(insurers: Sequence[tuple[str, Sequence[str]]]) -> list[tuple[int, str, int]]:
    """(index, member code, index of the insurer that already counts it) for every member that is also an
    insurer's own code or another insurer's member: a municipality counted twice (same index: its own code)."""
    owner = {code_key(code): i for i, (code, _) in enumerate(insurers) if code}
    out = []
    for i, (_, members) in enumerate(insurers):
        for member in members:
            key = code_key(member)
            if key in owner:
                out.append((i, member, owner[key]))
            else:
                owner[key] = i
    return out


def code_key(code: object) -> str:
    """団体コード for matching: full-width digits folded, spaces trimmed, leading zeros ignored (a code
    typed as a number in Excel or a CSV loses them: 011002 → 11002), and a 5-digit code without its
    check digit matched to the 6-digit one (13101 → 131016, 01100 → 011002)."""
    text = _folded(code)
    if text.isdigit() and len(text) in (4, 5) and not _lost_zero(text):
        text = entity_code(text.zfill(5))
    return (text.lstrip("0") or "0") if text.isdigit() else text


@dataclass(frozen=True)
class Entity:
    name: str = ""
    code: str = ""  # 団体コード / 保険者番号
    prefecture: str = ""
    insured: int | None = None  # 第1号被保険者数
    members: tuple[str, ...] = ()  # 構成市町村 of a 広域連合 / 一部事務組合 (one insurer, one book)

    @property
    def label(self) -> str:
        return " ".join(p for p in (self.prefecture, self.name) if p) or "（団体名未記入）"
