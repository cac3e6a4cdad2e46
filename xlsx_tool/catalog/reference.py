"""Published results to compare against (national means, medians, per-item averages).

Shipped as YAML in xlsx_tool/reference_data/, one file per (year, kind), each figure quoted from
a source document (provenance). Keys follow the catalog: goal ids (P1..S4), group kinds, grant ids
and indicator ids.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from xlsx_tool.catalog.loading import CatalogError, pydantic_problems
from xlsx_tool.catalog.model import Kind
from xlsx_tool.util.problems import message
from xlsx_tool.util.yamlio import safe_load


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Stat(_Strict):
    max: float | None = None  # 配点
    mean: float | None = None  # 平均点
    rate: float | None = None  # 平均得点率 (0..1)
    median: float | None = None  # 中央値


class EntityScore(_Strict):
    name: str
    prefecture: str = ""
    insured: int | None = None
    total: float
    rank: int | None = None


class Reference(_Strict):
    year: str = Field(pattern=r"^R\d{1,2}$")
    kind: Kind
    scope: str  # 全国 / 神奈川県 ...
    sources: list[str]
    note: str = ""
    entities: int | None = None  # how many entities the figures cover
    total: Stat | None = None
    grants: dict[str, Stat] = Field(default_factory=dict)  # promotion / support
    goals: dict[str, Stat] = Field(default_factory=dict)  # P1 ...
    groups: dict[str, Stat] = Field(default_factory=dict)  # "P1.process" ...
    group_kinds: dict[str, Stat] = Field(default_factory=dict)  # process / activity / outcome
    indicators: dict[str, Stat] = Field(default_factory=dict)  # catalog indicator ids
    top: list[EntityScore] = Field(default_factory=list)


class ReferenceSet(_Strict):
    references: list[Reference]


class ReferenceDataError(CatalogError):
    what, what_en = "比較データ", "comparison data"


def group_key(goal_id: str, kind: str) -> str:
    return f"{goal_id}.{kind}"


def load_reference_file(path: str | Path) -> list[Reference]:
    path = Path(path)
    try:
        data = safe_load(path.read_text(encoding="utf-8"))
        return list(ReferenceSet.model_validate(data).references)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ReferenceDataError(str(path), [message("data.unreadable_yaml", detail=exc)]) from None
    except ValidationError as err:
        raise ReferenceDataError(str(path), pydantic_problems(err)) from None


@cache
def shipped_references() -> tuple[Reference, ...]:
    root = resources.files("xlsx_tool.reference_data")
    refs: list[Reference] = []
    for entry in sorted(root.iterdir(), key=lambda p: p.name):
        if entry.name.endswith(".yaml"):
            with resources.as_file(entry) as p:
                refs.extend(load_reference_file(p))
    return tuple(refs)
