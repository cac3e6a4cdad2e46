"""This year's amount from last year's: the estimate a municipality can make alone (issue 18, item 1).

Under the published rule [002] a municipality's 基本分 is its size class's pot × score × 第1号被保険者数
/ Σ(score × 第1号被保険者数) over the class. Between two years, if the municipality's 第1号被保険者数 stays
the same, the class pot moves with the national budget and the class total with the national mean
score, so

    amount_now ≈ amount_last × (score_now / score_last) × (budget_now / budget_last) × (mean_last / mean_now)

and one more point is worth about amount_now / score_now yen. The score ratio over the mean ratio is the
municipality's standing against the nation, so the estimate also crosses the R5 → R6 change of the point
scale (2,185 → 800 points). Budgets and national means come from the seeds (below and reference_data/);
a figure the seeds do not give is not guessed: it is named as missing and taken as an option.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from math import floor

from xlsx_tool.catalog.reference import shipped_references

OKU = 100_000_000  # 1 億円

# 当初予算 of each grant (national, prefectures included), in yen, with where the seeds say so [002].
BUDGETS: dict[tuple[str, str], tuple[int, str]] = {
    ("promotion", "R4"): (200 * OKU, "資料[002] 令和5年度の予算削減「200億円→150億円」の削減前"),
    ("promotion", "R5"): (150 * OKU, "資料[002] 令和5年度「200億円→150億円」"),
    ("promotion", "R6"): (100 * OKU, "資料[002] 令和6年度「150億円→100億円」"),
    ("promotion", "R7"): (101 * OKU, "資料[002] 令和7年度当初予算額 101億円"),
    ("support", "R2"): (200 * OKU, "資料[002] 令和2年度 支援交付金（200億円）を創設"),
    ("support", "R5"): (200 * OKU, "資料[002] 創設時 200億円、令和5年度の見直しは推進交付金の削減のみ"),
    ("support", "R6"): (200 * OKU, "資料[002] 令和7年度当初予算（消費税財源）の前年度額 200億円"),
    ("support", "R7"): (200 * OKU, "資料[002] 令和7年度当初予算（消費税財源）200億円"),
}

GRANT_NAMES = {"promotion": "推進交付金", "support": "支援交付金"}
GRANT_ALIASES = {"推進": "promotion", "推進交付金": "promotion", "promotion": "promotion",
                 "支援": "support", "支援交付金": "support", "support": "support"}

ASSUMPTION = ("仮定: 自団体の第1号被保険者数が変わらず、規模区分の予算と得点合計が全国の予算と全国平均点と同じ割合で動く"
              "（基本分の按分のみ。アウトカム指標配分枠・保険者機能強化推進枠・激変緩和・所要見込額の上限は含まない）")


@dataclass(frozen=True)
class Figure:
    value: Fraction
    source: str  # where it comes from: a seed, or 指定値 (given by the user)


@dataclass(frozen=True)
class FromLastYear:
    grant: str
    last_year: str
    year: str
    last_amount: Fraction
    last_score: Fraction
    score: Fraction
    figures: dict[str, Figure]  # last_budget, budget, last_mean, mean

    @property
    def factor(self) -> Fraction:
        f = self.figures
        return (self.score / self.last_score) * (f["budget"].value / f["last_budget"].value) \
            * (f["last_mean"].value / f["mean"].value)

    @property
    def amount(self) -> int:
        return _yen(self.last_amount * self.factor)

    @property
    def yen_per_point(self) -> int | None:
        return _yen(self.last_amount * self.factor / self.score) if self.score else None

    def to_json(self) -> dict:
        return {"grant": self.grant, "last_year": self.last_year, "year": self.year,
                "last_amount": _yen(self.last_amount), "last_score": float(self.last_score),
                "score": float(self.score), "amount": self.amount, "yen_per_point": self.yen_per_point,
                "estimate": "概算", "assumption": ASSUMPTION,
                "figures": {k: {"value": float(v.value), "source": v.source} for k, v in self.figures.items()}}


def _yen(x: Fraction) -> int:
    return floor(x + Fraction(1, 2))  # to the nearest yen, halves up


def exact(value: float | int | str) -> Fraction:
    """A decimal as typed or published (205.6 is 1028/5, not the nearest binary float)."""
    return Fraction(str(value))


def national_mean(grant: str, year: str) -> Figure | None:
    """The shipped national mean score of the grant (municipalities) in that year, with its sources."""
    ref = next((r for r in shipped_references()
                if r.year == year and r.kind == "municipality" and r.scope == "全国"), None)
    stat = ref.grants.get(grant) if ref else None
    if stat is None or stat.mean is None:
        return None
    return Figure(exact(stat.mean), "資料" + "".join(f"[{s}]" for s in ref.sources))


def national_budget(grant: str, year: str) -> Figure | None:
    known = BUDGETS.get((grant, year))
    return Figure(Fraction(known[0]), known[1]) if known else None


def figures_for(grant: str, last_year: str, year: str,
                given: dict[str, float | None]) -> tuple[dict[str, Figure], list[str]]:
    """The four national figures (given ones first), and the names of those neither given nor shipped."""
    shipped = {"last_budget": national_budget(grant, last_year), "budget": national_budget(grant, year),
               "last_mean": national_mean(grant, last_year), "mean": national_mean(grant, year)}
    out, missing = {}, []
    for name, fig in shipped.items():
        if given.get(name) is not None:
            out[name] = Figure(exact(given[name]), "指定値")
        elif fig is not None:
            out[name] = fig
        else:
            missing.append(name)
    return out, missing
