"""Indicator catalog: the declarative description of one year's evaluation indicators.

A catalog is a YAML file (one per year and kind) validated by the pydantic models below.
Unknown keys are rejected; structural checks (points adding up, unique ids, well-formed
rules) run after parsing and report every problem with its path inside the file.
"""

from __future__ import annotations

import hashlib
import json
from enum import Enum
from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field

from xlsx_tool.util.memo import per_object
from xlsx_tool.util.numbers import percent

ANSWER_MET = "該当"
ANSWER_NOT_MET = "非該当"
ANSWER_CHOICES = (ANSWER_MET, ANSWER_NOT_MET)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Kind(str, Enum):
    municipality = "municipality"
    prefecture = "prefecture"


KIND_LABELS = {Kind.municipality: "市町村", Kind.prefecture: "都道府県"}


class GroupKind(str, Enum):
    process = "process"  # 体制・取組指標群
    activity = "activity"  # 活動指標群
    outcome = "outcome"  # 成果指標群
    combined = "combined"  # 指標群の区分なし (令和5年度以前)


GROUP_LABELS = {
    GroupKind.process: "体制・取組指標群",
    GroupKind.activity: "活動指標群",
    GroupKind.outcome: "成果指標群",
    GroupKind.combined: "評価指標",
}


class ProvenanceStatus(str, Enum):
    published = "published"  # stated in the cited source
    assumed = "assumed"  # not stated; carried over or inferred, see note
    not_in_sources = "not_in_sources"  # the sources are silent; placeholder structure


PROVENANCE_LABELS = {
    ProvenanceStatus.published: "資料に記載",
    ProvenanceStatus.assumed: "資料に記載なし（仮定）",
    ProvenanceStatus.not_in_sources: "資料に記載なし",
}


class Provenance(Strict):
    status: ProvenanceStatus
    sources: list[str] = Field(default_factory=list, description="source document ids, e.g. '002'")
    note: str = ""
    # the row of MHLW's tally of the survey (該当状況調査票集計表) these points come from: its 列番号 in
    # that year's tally (列番号 are not stable across years, hence the year)
    tally_year: str | None = Field(default=None, pattern=r"^R\d{1,2}$")
    tally_column: int | None = Field(default=None, ge=1)


class National(Strict):
    """How many of the nation's municipalities got these points in the tally (全国該当数)."""

    met: int = Field(ge=0)
    of: int = Field(gt=0)

    @property
    def rate(self) -> float:
        return self.met / self.of


SHORT_TITLE_MARK = "〔集計表の項目名〕"  # shown before a text that is the tally's short title, not the question


def national_text(sub: "SubItem") -> str:
    """The national rate (該当率) shown beside a sub-item: 全国 97.7%（1,701/1,741）, or per level of a ladder."""
    if sub.bands:
        shown = [f"{b.label} {percent(b.national.rate, 0)}" for b in sub.bands if b.national is not None]
        return f"全国 {' '.join(shown)}" if shown else ""
    n = sub.national
    return f"全国 {percent(n.rate)}（{n.met:,}/{n.of:,}）" if n is not None else ""


def ladder_points(sub: "SubItem", level: int) -> int:
    """Points of a ladder whose lowest `level` levels are reached."""
    return sum(b.points for b in sub.bands[:level])


def ladder_top(sub: "SubItem") -> int:
    return ladder_points(sub, len(sub.bands))


class Band(Strict):
    """One level of a ladder (ア–エ or ①–④): reached together with every level below it."""

    label: str = Field(min_length=1)
    points: int = Field(ge=0)  # what this level adds
    national: National | None = None
    provenance: Provenance | None = None


class SubItem(Strict):
    id: str
    label: str  # ア, イ, ウ① ...
    text: str = Field(min_length=1)
    points: int | None = Field(default=None, ge=0)  # per-sub-item points (rule 'sum')
    requires: str | None = None  # counts only if this sub-item (same indicator) is met
    provenance: Provenance | None = None
    # True when `text` is the tally's short title with the label, not the official question text
    short_title: bool = False
    national: National | None = None
    # a ladder (rule 'levels'): the levels in ascending order, answered with the highest one reached
    bands: list[Band] = Field(default_factory=list)
    # the same question asked elsewhere (目標Ⅳ under both grants): scored on that sub-item's answer,
    # shown beside it and never asked twice
    same_as: str | None = None


class SumRule(Strict):
    """Each met sub-item adds its points; the indicator total is capped."""

    type: Literal["sum"]
    cap: int | None = Field(default=None, ge=0)


class Tier(Strict):
    met: int = Field(ge=1)  # at least this many sub-items met ...
    points: int = Field(ge=0)  # ... gives these points


class TiersRule(Strict):
    """Points by the number of sub-items met."""

    type: Literal["tiers"]
    tiers: list[Tier] = Field(min_length=1)


class Threshold(Strict):
    min: float  # figure >= min ...
    points: int = Field(ge=0)  # ... gives these points


class Ratio(Strict):
    """The figure is numerator / denominator × per, both entered by the officer (e.g. per 1,000 elderly)."""

    numerator: str = Field(min_length=1)  # label, e.g. 認知症サポーター数（人）
    denominator: str = Field(min_length=1)  # label, e.g. 高齢者人口（人）
    per: float = Field(default=1, gt=0)


class ThresholdsRule(Strict):
    """A numeric figure mapped to points by ascending thresholds."""

    type: Literal["thresholds"]
    unit: str = ""
    thresholds: list[Threshold] = Field(min_length=1)
    ratio: Ratio | None = None


class DirectRule(Strict):
    """Points entered directly (e.g. computed by MHLW), 0..max in steps."""

    type: Literal["direct"]
    step: int = Field(default=1, ge=1)


class LevelsRule(Strict):
    """Each sub-item is a ladder of levels (ア–エ, ①–④) reached together, answered with the highest level
    reached; a ladder scores the points of every level up to it. The indicator adds its ladders
    ('sum') or takes the best of them ('best': alternatives, of which the survey scores one)."""

    type: Literal["levels"]
    combine: Literal["sum", "best"] = "sum"


Rule = Annotated[Union[SumRule, TiersRule, ThresholdsRule, DirectRule, LevelsRule], Field(discriminator="type")]


NO_LEVEL = "なし"  # the answer of a ladder none of whose levels is reached


def ladder_choices(sub: "SubItem") -> tuple[str, ...]:
    """What a ladder's dropdown offers: none, then its levels in ascending order."""
    return (NO_LEVEL, *(b.label for b in sub.bands))


class Indicator(Strict):
    id: str
    number: str  # "1", "ii-3" ...
    text: str = Field(min_length=1)  # the question (評価指標)
    points: int = Field(ge=0)  # 配点 (maximum)
    rule: Rule
    subitems: list[SubItem] = Field(default_factory=list)
    notes: str = ""  # 留意点
    period: str = ""  # 時点
    provenance: Provenance
    title: str = ""  # the tally's short title (e.g. 地域の介護保険事業の特徴)
    short_title: bool = False  # True when `text` is that short title: no official question text in the sources

    def subitem(self, sub_id: str) -> "SubItem":
        return next(s for s in self.subitems if s.id == sub_id)


def ratio_ids(ind: "Indicator") -> tuple[str, str]:
    return f"{ind.id}-num", f"{ind.id}-den"


def answer_key(sub: "SubItem") -> str:
    """The answer a sub-item is scored on: its own, or the one it repeats (same_as)."""
    return sub.same_as or sub.id


def indicator_answer_ids(ind: "Indicator") -> list[str]:
    if ind.subitems:
        return [s.id for s in ind.subitems if s.same_as is None]
    if isinstance(ind.rule, ThresholdsRule) and ind.rule.ratio is not None:
        return list(ratio_ids(ind))
    return [ind.id]


class Group(Strict):
    kind: GroupKind
    points: int = Field(ge=0)
    indicators: list[Indicator] = Field(min_length=1)


class Goal(Strict):
    id: str
    number: str  # Ⅰ, Ⅱ ...
    name: str = Field(min_length=1)
    points: int = Field(ge=0)
    groups: list[Group] = Field(min_length=1)


class Grant(Strict):
    id: Literal["promotion", "support"]
    name: str  # 保険者機能強化推進交付金
    short: str  # 推進
    points: int = Field(ge=0)
    goals: list[Goal] = Field(min_length=1)


class Catalog(Strict):
    schema_version: Literal[1]
    id: str
    year: str = Field(pattern=r"^R\d{1,2}$")  # 令和N年度
    kind: Kind
    title: str
    period: str = ""  # default 時点 for indicators without their own
    total: int = Field(ge=0)
    provenance: Provenance
    grants: list[Grant] = Field(min_length=1)

    # -- derived views -------------------------------------------------------------
    @property
    def reiwa(self) -> int:
        return int(self.year[1:])

    @property
    def fiscal_year(self) -> int:
        return 2018 + self.reiwa

    @property
    def year_label(self) -> str:
        return f"令和{self.reiwa}年度（{self.fiscal_year}年度）"

    def groups(self):
        """Yield (grant, goal, group) in catalog order."""
        for grant in self.grants:
            for goal in grant.goals:
                for group in goal.groups:
                    yield grant, goal, group

    def group_kind_points(self) -> dict["GroupKind", int]:
        out: dict[GroupKind, int] = {}
        for *_, group in self.groups():
            out[group.kind] = out.get(group.kind, 0) + group.points
        return out

    def indicators(self):
        """Yield (grant, goal, group, indicator) in catalog order."""
        for grant, goal, group in self.groups():
            for ind in group.indicators:
                yield grant, goal, group, ind

    def answer_ids(self) -> list[str]:
        """Ids of every answer the workbook asks for (sub-items, ratio figures, or the indicator itself)."""
        return [aid for *_, ind in self.indicators() for aid in indicator_answer_ids(ind)]

    def content_hash(self) -> str:
        canonical = json.dumps(self.model_dump(mode="json"), ensure_ascii=False, sort_keys=True)
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


_HASHES: dict[int, tuple[Catalog, str]] = {}


def catalog_hash(catalog: Catalog) -> str:
    """catalog.content_hash(), computed once per catalog object (catalogs are frozen)."""
    return per_object(_HASHES, catalog, Catalog.content_hash)
