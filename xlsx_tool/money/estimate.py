"""Grant allocation model (seed 002), every parameter from a parameters file.

Municipalities, per grant:
- the budget is split into frames (基本分, アウトカム指標配分枠, 保険者機能強化推進枠) by their shares;
- 基本分: split by 第1号被保険者 size class (class shares), then within a class by
  score × insured^α as a share of the class total;
- アウトカム指標配分枠: by outcome points (× insured^α when weighted by size);
- 保険者機能強化推進枠 (municipalities only): equal shares, one per criterion met (an entity meeting
  several criteria counts once per criterion).
Prefectures: 基本分 by share of the national score; アウトカム枠 by outcome points.
The payment is the lower of the allocation and the requested amount (所要見込額).

Rounding rule (documented, exact): every split is made in whole yen by the largest-remainder method
on exact rational quotas (fractions.Fraction); ties go to the earlier entity in input order. Each
split therefore adds up to its budget to the yen. A frame, or a size class, whose entities all have
zero weight is not lost: its money goes to the first frame with weight (基本分, then アウトカム枠,
then 推進枠); class shares are renormalised over classes that have weight. Only when nobody has any
weight is a budget left unallocated (reported).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from importlib import resources
from math import floor
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from xlsx_tool.catalog.entity import SIZE_CLASSES, code_key, size_class
from xlsx_tool.catalog.loading import CatalogError, pydantic_problems
from xlsx_tool.scoring.gap import EntityResult
from xlsx_tool.util.problems import message

FRAMES = ("basic", "outcome", "promotion_frame")
FRAME_LABELS = {"basic": "基本分", "outcome": "アウトカム指標配分枠", "promotion_frame": "保険者機能強化推進枠"}
CRITERIA = ("crit_continuing_top", "crit_depopulated_top", "crit_rank_improved")
GRANTS = ("promotion", "support")
OUTCOME_COLUMNS = {"promotion": ("outcome_promotion", "outcome", "P4"), "support": ("outcome_support", "outcome", "S4")}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GrantParams(_Strict):
    budget: int = Field(ge=0)  # 円
    frames: dict[str, float]  # frame -> share of the budget, adding up to 1

    @model_validator(mode="after")
    def _frames_ok(self):
        unknown = set(self.frames) - set(FRAMES)
        if unknown:
            raise ValueError(message("params.unknown_frames", frames=sorted(unknown), known=", ".join(FRAMES)))
        if abs(sum(self.frames.values()) - 1) > 1e-9 or any(v < 0 for v in self.frames.values()):
            raise ValueError(message("params.frame_shares"))
        return self


class Params(_Strict):
    kind: str = Field(pattern="^(municipality|prefecture)$")
    illustrative: bool  # true: not the official parameters
    note: str = ""
    grants: dict[str, GrantParams]
    size_classes: dict[str, float] = Field(default_factory=dict)  # class label -> share of 基本分
    insured_weight: float = Field(default=1.0, ge=0)  # α in score × insured^α
    outcome_weight_by_insured: bool = True

    @model_validator(mode="after")
    def _classes_ok(self):
        if set(self.grants) - set(GRANTS):
            raise ValueError(message("params.unknown_grants", known=", ".join(GRANTS)))
        if self.kind == "municipality":
            labels = {label for _, label in SIZE_CLASSES}
            if set(self.size_classes) != labels:
                raise ValueError(message("params.size_classes", known=", ".join(sorted(labels))))
            if abs(sum(self.size_classes.values()) - 1) > 1e-9:
                raise ValueError(message("params.size_shares"))
        elif any("promotion_frame" in g.frames and g.frames["promotion_frame"] for g in self.grants.values()):
            raise ValueError(message("params.prefecture_frame"))
        return self


class ParamsError(CatalogError):
    what, what_en = "パラメータファイル", "parameters file"


def load_params(path: str | Path) -> Params:
    """A parameters file, or the shipped illustrative one with `example` / `example-prefecture`."""
    if str(path) in ("example", "example-municipality", "example-prefecture"):
        kind = "prefecture" if str(path).endswith("prefecture") else "municipality"
        path = Path(str(resources.files("xlsx_tool.params_data") / f"{kind}.example.yaml"))
    path = Path(path)
    try:
        return Params.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ParamsError(str(path), [message("data.unreadable_yaml", detail=exc)]) from None
    except ValidationError as err:
        raise ParamsError(str(path), pydantic_problems(err)) from None


def largest_remainder(total: int, weights: Sequence[Fraction]) -> list[int]:
    """Whole-yen split of `total` proportional to weights; adds up exactly (zero weights get 0)."""
    s = sum(weights, Fraction(0))
    if total == 0 or s == 0:
        return [0] * len(weights)
    quotas = [total * w / s for w in weights]
    out = [floor(q) for q in quotas]
    left = total - sum(out)
    order = sorted(range(len(weights)), key=lambda i: (-(quotas[i] - out[i]), i))
    for i in order[:left]:
        out[i] += 1
    return out


@dataclass
class GrantAllocation:
    frames: dict[str, int] = field(default_factory=dict)
    requested: int | None = None

    @property
    def allocation(self) -> int:
        return sum(self.frames.values())

    @property
    def payment(self) -> int:
        return self.allocation if self.requested is None else min(self.allocation, self.requested)


@dataclass
class Estimate:
    params: Params
    entities: list[EntityResult]
    grants: dict[str, list[GrantAllocation]]  # grant -> per entity, input order
    budgets: dict[str, dict[str, int]]  # grant -> frame -> yen actually used as frame budget
    unallocated: dict[str, int]

    def for_code(self, code: str) -> dict[str, GrantAllocation]:
        i = next(i for i, e in enumerate(self.entities) if code_key(e.code) == code_key(code))
        return {g: rows[i] for g, rows in self.grants.items()}

    def to_json(self, code: str | None = None) -> dict:
        rows = []
        for i, e in enumerate(self.entities):
            if code and code_key(e.code) != code_key(code):
                continue
            grants = {g: {**a[i].frames, "allocation": a[i].allocation, "requested": a[i].requested,
                          "payment": a[i].payment} for g, a in self.grants.items()}
            rows.append({"code": e.code, "name": e.name, "prefecture": e.prefecture, "insured": e.insured,
                         "grants": grants, "payment": sum(v["payment"] for v in grants.values())})
        return {"illustrative": self.params.illustrative, "note": self.params.note, "budgets": self.budgets,
                "unallocated": self.unallocated, "entities": rows}


def _score(e: EntityResult, key: str) -> Fraction:
    v = e.scores.get(key)
    return Fraction(v) if isinstance(v, (int, float)) and v > 0 else Fraction(0)


def _outcome(e: EntityResult, grant: str) -> Fraction:
    return next((_score(e, k) for k in OUTCOME_COLUMNS[grant] if k in e.scores), Fraction(0))


def _eligible(e: EntityResult, grant: str) -> bool:
    return grant != "support" or e.scores.get("support_eligible", 1) != 0


def _size_weight(e: EntityResult, params: Params) -> Fraction:
    if params.kind == "prefecture" or params.insured_weight == 0:
        return Fraction(1)
    return Fraction(float(e.insured or 0) ** params.insured_weight)


def _frame_weights(entities, grant: str, params: Params) -> dict[str, list[Fraction]]:
    ok = [_eligible(e, grant) for e in entities]
    size = [_size_weight(e, params) for e in entities]
    basic = [_score(e, grant) * s if k else Fraction(0) for e, s, k in zip(entities, size, ok)]
    outcome = [_outcome(e, grant) * (s if params.outcome_weight_by_insured else 1) if k else Fraction(0)
               for e, s, k in zip(entities, size, ok)]
    units = [Fraction(sum(1 for c in CRITERIA if e.scores.get(c))) if k else Fraction(0)
             for e, k in zip(entities, ok)]
    return {"basic": basic, "outcome": outcome, "promotion_frame": units}


def _split_basic(budget: int, entities, weights: list[Fraction], params: Params) -> list[int]:
    if params.kind == "prefecture":
        return largest_remainder(budget, weights)
    classes = [size_class(e.insured) for e in entities]
    live = [label for _, label in SIZE_CLASSES
            if any(c == label and w > 0 for c, w in zip(classes, weights))]
    class_budget = dict(zip(live, largest_remainder(budget, [Fraction(params.size_classes[c]) for c in live])))
    out = [0] * len(entities)
    for label in live:
        idx = [i for i, c in enumerate(classes) if c == label]
        for i, yen in zip(idx, largest_remainder(class_budget[label], [weights[i] for i in idx])):
            out[i] = yen
    return out


def allocate(entities: list[EntityResult], params: Params) -> Estimate:
    grants, budgets, unallocated = {}, {}, {}
    for grant, gp in params.grants.items():
        weights = _frame_weights(entities, grant, params)
        names = [f for f in FRAMES if gp.frames.get(f)]
        split = dict(zip(names, largest_remainder(gp.budget, [Fraction(gp.frames[f]) for f in names])))
        live = [f for f in FRAMES if gp.frames.get(f) and sum(weights[f]) > 0] or \
            [f for f in FRAMES if sum(weights[f]) > 0]
        for f in names:  # a frame nobody qualifies for goes to the first frame someone does (基本分 first)
            if sum(weights[f]) == 0 and live:
                split[live[0]] = split.get(live[0], 0) + split.pop(f)
        rows = [GrantAllocation() for _ in entities]
        for f, budget in split.items():
            shares = _split_basic(budget, entities, weights[f], params) if f == "basic" \
                else largest_remainder(budget, weights[f])
            for row, yen in zip(rows, shares):
                row.frames[f] = yen
        for row, e in zip(rows, entities):
            req = e.scores.get(f"requested_{grant}")
            row.requested = None if req is None else int(req)
        grants[grant] = rows
        budgets[grant] = split
        unallocated[grant] = gp.budget - sum(r.allocation for r in rows)
    return Estimate(params, list(entities), grants, budgets, unallocated)


def with_scores(entities: list[EntityResult], code: str, **changes: float) -> list[EntityResult]:
    """The same population with one entity's scores changed (all else equal)."""
    out = []
    for e in entities:
        if code_key(e.code) == code_key(code):
            scores = dict(e.scores)
            for k, delta in changes.items():
                scores[k] = scores.get(k, 0) + delta
            e = EntityResult(e.code, e.name, e.prefecture, e.insured, scores)
        out.append(e)
    return out


def marginal_yen(entities: list[EntityResult], params: Params, code: str, grant: str, points: float = 1) -> int:
    """Change in the entity's allocation of `grant` if it scored `points` more in that grant."""
    base = allocate(entities, params).for_code(code)[grant].allocation
    changes = {grant: points, "total": points}
    return allocate(with_scores(entities, code, **changes), params).for_code(code)[grant].allocation - base
