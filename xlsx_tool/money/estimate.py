"""Grant allocation model (seed 002), every parameter from a parameters file.

Municipalities, per grant:
- the budget is split into frames (基本分, アウトカム指標配分枠, 保険者機能強化推進枠) by their shares;
- 基本分: split by 第1号被保険者 size class (class shares), then within a class by
  score × insured^α as a share of the class total;
- アウトカム指標配分枠: by outcome points (× insured^α when weighted by size);
- 保険者機能強化推進枠 (municipalities only): equal shares, one per criterion met (an entity meeting
  several criteria counts once per criterion);
- 成果指向型 frame (`outcome_oriented`, seed 002: R7, 推進交付金 only, "5%", for insurers that set their own
  target group, goals and indicators; municipalities only): shared among the entities flagged in the
  results' `outcome_oriented` column (0/1). Seed 002 does not say how it is split among them: the split
  is the parameter `outcome_oriented_split` (equal shares, by requested amount, or by 第1号被保険者).
Prefectures: 基本分 by share of the national score; アウトカム枠 by outcome points.

激変緩和 (seed 001: R6 cushioned against the R5 amounts; the method is not published): optional per grant,
`cushion: {floor: F, ceiling: C}` against the results' `last_amount_<grant>` column (yen). An entity
with a last amount L > 0 is held within [ceil(F × L), floor(C × L)] (either bound may be omitted; when no
whole yen lies between them, as with F = C and F × L not whole, at ceil(F × L)); an
entity without one (blank or 0) has no bound but 0. The rule, exactly: every allocation outside its
bounds is set to the bound and leaves the sharing; the money this frees (or needs) is shared among the
entities still inside their bounds in proportion to their frame allocation (largest remainder, whole
yen; a need is taken from them the same way); anyone pushed past a bound by that is set to it and leaves
the sharing, and so on until nobody is outside. The budget is then conserved to the yen, unless every
entity with an allocation ends at a bound: the difference is then reported (Estimate.notes) and shows
as 未配分 (negative: more than the budget). The cushioned allocation is kept as the adjustment column
`cushion` (激変緩和による調整) beside the frames.
The payment is the lower of the allocation (after 激変緩和) and the requested amount (所要見込額, seed 001).

Rounding rule (documented, exact): every split is made in whole yen by the largest-remainder method
on exact rational quotas (fractions.Fraction); ties go to the earlier entity in input order. Each
split therefore adds up to its budget to the yen. A frame, or a size class, whose entities all have
zero weight is not lost: its money goes to the first frame of the grant's own with weight (基本分, then
アウトカム枠, then 推進枠, then 成果指向型), else to the first such frame the grant and kind may have (never
成果指向型 for the 支援交付金, never 推進枠 or 成果指向型 for prefectures); class shares are renormalised
over classes that have weight. Only when nobody has any weight is a budget left unallocated (reported).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from importlib import resources
from math import ceil, floor
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from xlsx_tool.catalog.entity import NATION_ENTITIES, SIZE_CLASSES, code_key, counted_twice, size_class
from xlsx_tool.catalog.loading import CatalogError, pydantic_problems
from xlsx_tool.money.calibrate import GRANT_NAMES
from xlsx_tool.scoring.gap import EntityResult
from xlsx_tool.util.problems import message

FRAMES = ("basic", "outcome", "promotion_frame", "outcome_oriented")
FRAME_LABELS = {"basic": "基本分", "outcome": "アウトカム指標配分枠", "promotion_frame": "保険者機能強化推進枠",
                "outcome_oriented": "成果指向型支援枠"}
MUNICIPAL_FRAMES = ("promotion_frame", "outcome_oriented")  # never for prefectures (seed 002)
CUSHION = "cushion"  # the 激変緩和 adjustment, kept beside the frames
CUSHION_LABEL = "激変緩和による調整"
CRITERIA = ("crit_continuing_top", "crit_depopulated_top", "crit_rank_improved")
FLAGS = (*CRITERIA, "outcome_oriented")  # 0/1 columns of the results
GRANTS = ("promotion", "support")
OUTCOME_COLUMNS = {"promotion": ("outcome_promotion", "outcome", "P4"), "support": ("outcome_support", "outcome", "S4")}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Cushion(_Strict):
    floor: float | None = Field(default=None, ge=0)  # at least floor × last year's amount
    ceiling: float | None = Field(default=None, ge=0)  # at most ceiling × last year's amount

    @model_validator(mode="after")
    def _bounds_ok(self):
        if self.floor is None and self.ceiling is None or \
                self.floor is not None and self.ceiling is not None and self.floor > self.ceiling:
            raise ValueError(message("params.cushion"))
        return self


class GrantParams(_Strict):
    budget: int = Field(ge=0)  # 円
    frames: dict[str, float]  # frame -> share of the budget, adding up to 1
    cushion: Cushion | None = None  # 激変緩和 (seed 001), against last_amount_<grant>

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
    outcome_oriented_split: Literal["equal", "requested", "insured"] = "equal"  # not published (seed 002)
    entities_in_nation: int | None = Field(default=None, ge=1)  # insurers in the nation; None: NATION_ENTITIES

    @property
    def nation(self) -> int:
        """How many entities (insurers) the whole nation has: the parameter, else 1,741 / 47 [001][002]."""
        return self.entities_in_nation or NATION_ENTITIES[self.kind]

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
        elif any(g.frames.get(f) for g in self.grants.values() for f in MUNICIPAL_FRAMES):
            raise ValueError(message("params.prefecture_frame"))
        if self.grants.get("support") and self.grants["support"].frames.get("outcome_oriented"):
            raise ValueError(message("params.oriented_support"))
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
    unallocated: dict[str, int]  # negative: 激変緩和 gave more than the budget (see notes)
    notes: list[str] = field(default_factory=list)  # what the reader must know (a budget not conserved)

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
                         **({"members": list(e.members)} if e.members else {}),
                         "grants": grants, "payment": sum(v["payment"] for v in grants.values())})
        return {"illustrative": self.params.illustrative, "note": self.params.note, "budgets": self.budgets,
                "unallocated": self.unallocated, "notes": self.notes, "entities": rows}


def _score(e: EntityResult, key: str) -> Fraction:
    v = e.scores.get(key)
    return Fraction(v) if isinstance(v, (int, float)) and v > 0 else Fraction(0)


def outcome_column(e: EntityResult, grant: str) -> str | None:
    """The results column the entity's outcome points of a grant are read from (the first one it has)."""
    return next((k for k in OUTCOME_COLUMNS[grant] if k in e.scores), None)


def _outcome(e: EntityResult, grant: str) -> Fraction:
    column = outcome_column(e, grant)
    return Fraction(0) if column is None else _score(e, column)


def _eligible(e: EntityResult, grant: str) -> bool:
    return grant != "support" or e.scores.get("support_eligible", 1) != 0


def _size_weight(e: EntityResult, params: Params) -> Fraction:
    if params.kind == "prefecture" or params.insured_weight == 0:
        return Fraction(1)
    return Fraction(float(e.insured or 0) ** params.insured_weight)


def _oriented(e: EntityResult, grant: str, params: Params) -> Fraction:
    """The entity's weight in the 成果指向型 frame: 0 unless flagged; then by `outcome_oriented_split`."""
    if not e.scores.get("outcome_oriented"):
        return Fraction(0)
    if params.outcome_oriented_split == "requested":
        return _score(e, f"requested_{grant}")
    if params.outcome_oriented_split == "insured":
        return Fraction(e.insured or 0)
    return Fraction(1)


def _frame_weights(entities, grant: str, params: Params) -> dict[str, list[Fraction]]:
    ok = [_eligible(e, grant) for e in entities]
    size = [_size_weight(e, params) for e in entities]
    basic = [_score(e, grant) * s if k else Fraction(0) for e, s, k in zip(entities, size, ok)]
    outcome = [_outcome(e, grant) * (s if params.outcome_weight_by_insured else 1) if k else Fraction(0)
               for e, s, k in zip(entities, size, ok)]
    units = [Fraction(sum(1 for c in CRITERIA if e.scores.get(c))) if k else Fraction(0)
             for e, k in zip(entities, ok)]  # once per criterion met (seed 002)
    oriented = [_oriented(e, grant, params) if k else Fraction(0) for e, k in zip(entities, ok)]
    return {"basic": basic, "outcome": outcome, "promotion_frame": units, "outcome_oriented": oriented}


def input_problems(entities: list[EntityResult], params: Params) -> list[str]:
    """What in the results the model cannot use as given: a flag not 0/1, a 成果指向型 entity without the
    figure its split needs, a negative last amount, a municipality counted twice (a 広域連合's member that is
    also a row or another's member). Each names the entity's code and the column."""
    problems = [message("estimate.counted_twice", code=entities[i].code, member=member, other=entities[j].code)
                for i, member, j in counted_twice([(e.code, e.members) for e in entities])]
    for e in entities:
        for col in FLAGS:
            if e.scores.get(col, 0) not in (0, 1):
                problems.append(message("estimate.flag", code=e.code, column=col, value=f"{e.scores[col]:g}"))
        for grant, gp in params.grants.items():
            col = {"requested": f"requested_{grant}", "insured": "insured"}.get(params.outcome_oriented_split)
            if gp.frames.get("outcome_oriented") and e.scores.get("outcome_oriented") == 1 and col and (
                    e.insured is None if col == "insured" else e.scores.get(col) is None):
                problems.append(message("estimate.oriented_needs", code=e.code, column=col,
                                        split=params.outcome_oriented_split))
            last = e.scores.get(f"last_amount_{grant}")
            if gp.cushion and last is not None and last < 0:
                problems.append(message("estimate.last_amount", code=e.code, column=f"last_amount_{grant}",
                                        value=f"{last:g}"))
    return problems


def _bounds(e: EntityResult, grant: str, cushion: Cushion) -> tuple[int, int | None]:
    """[lower, upper] of the entity's allocation under 激変緩和; (0, None) without a last amount."""
    if not _eligible(e, grant):
        return 0, 0
    last = _score(e, f"last_amount_{grant}")
    if not last:
        return 0, None
    lower = ceil(Fraction(str(cushion.floor)) * last) if cushion.floor is not None else 0
    upper = floor(Fraction(str(cushion.ceiling)) * last) if cushion.ceiling is not None else None
    return lower, None if upper is None else max(upper, lower)  # no whole yen between them: the floor's


def cushioned(alloc: list[int], bounds: list[tuple[int, int | None]]) -> list[int]:
    """激変緩和 as the module docstring defines it; the sum is kept unless everyone with money is bound."""
    values, bound, target = list(alloc), set(), sum(alloc)
    while True:
        for i, (lower, upper) in enumerate(bounds):
            if i not in bound and (values[i] < lower or upper is not None and values[i] > upper):
                values[i] = lower if values[i] < lower else upper
                bound.add(i)
        gap = target - sum(values)
        free = [i for i in range(len(values)) if i not in bound and alloc[i] > 0]
        if gap == 0 or not free:
            return values
        for i, yen in zip(free, largest_remainder(abs(gap), [Fraction(alloc[i]) for i in free])):
            values[i] += yen if gap > 0 else -yen


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


def _allowed(grant: str, params: Params) -> list[str]:
    """The frames seed 002 allows for this grant and kind (the fallback never moves money elsewhere)."""
    return [f for f in FRAMES if not (params.kind == "prefecture" and f in MUNICIPAL_FRAMES)
            and not (grant == "support" and f == "outcome_oriented")]


def _split_frames(entities, grant: str, gp: GrantParams, params: Params,
                  notes: list[str]) -> tuple[list[GrantAllocation], dict]:
    weights = _frame_weights(entities, grant, params)
    names = [f for f in FRAMES if gp.frames.get(f)]
    split = dict(zip(names, largest_remainder(gp.budget, [Fraction(gp.frames[f]) for f in names])))
    live = [f for f in FRAMES if gp.frames.get(f) and sum(weights[f]) > 0] or \
        [f for f in _allowed(grant, params) if sum(weights[f]) > 0]
    for f in names:  # a frame nobody qualifies for goes to the first frame someone does (基本分 first)
        if sum(weights[f]) == 0 and live:
            split[live[0]] = split.get(live[0], 0) + split.pop(f)
            notes.append(message("estimate.frame_moved", grant=GRANT_NAMES[grant], frame=FRAME_LABELS[f],
                                 to=FRAME_LABELS[live[0]]))
    rows = [GrantAllocation() for _ in entities]
    for f, budget in split.items():
        shares = _split_basic(budget, entities, weights[f], params) if f == "basic" \
            else largest_remainder(budget, weights[f])
        for row, yen in zip(rows, shares):
            row.frames[f] = yen
    return rows, split


def allocate(entities: list[EntityResult], params: Params) -> Estimate:
    grants, budgets, unallocated, notes = {}, {}, {}, []
    for grant, gp in params.grants.items():
        rows, split = _split_frames(entities, grant, gp, params, notes)
        if gp.cushion:
            before = [r.allocation for r in rows]
            after = cushioned(before, [_bounds(e, grant, gp.cushion) for e in entities])
            for row, a, b in zip(rows, after, before):
                row.frames[CUSHION] = a - b
            if sum(after) != sum(before):
                notes.append(message("estimate.cushion_not_conserved", grant=GRANT_NAMES[grant],
                                     gap=f"{sum(before) - sum(after):,}"))
        for row, e in zip(rows, entities):
            req = e.scores.get(f"requested_{grant}")
            row.requested = None if req is None else int(req)
        grants[grant] = rows
        budgets[grant] = split
        unallocated[grant] = gp.budget - sum(r.allocation for r in rows)
    return Estimate(params, list(entities), grants, budgets, unallocated, notes)


def with_scores(entities: list[EntityResult], code: str, **changes: float) -> list[EntityResult]:
    """The same population with one entity's scores changed (all else equal)."""
    out = []
    for e in entities:
        if code_key(e.code) == code_key(code):
            scores = dict(e.scores)
            for k, delta in changes.items():
                scores[k] = scores.get(k, 0) + delta
            e = replace(e, scores=scores)
        out.append(e)
    return out


def marginal_yen(entities: list[EntityResult], params: Params, code: str, grant: str, points: float = 1) -> int:
    """Change in the entity's allocation of `grant` if it scored `points` more in that grant."""
    base = allocate(entities, params).for_code(code)[grant].allocation
    changes = {grant: points, "total": points}
    return allocate(with_scores(entities, code, **changes), params).for_code(code)[grant].allocation - base
