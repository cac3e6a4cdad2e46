"""支援交付金 eligibility (交付要件 (1)–(4), seed 002): the Python check and the sheet formulas.

The grant is paid only to insurers that increase prevention spending:
(1) ① this year's budget > ② the lowest of last year's settlement, amended application and
    last year's budget (① includes the amount moved to 重層的支援体制整備事業);
(2) at the ceiling of 地域支援事業: ① and ② may each include 保健福祉事業・一般会計事業
    (prevention only), compared again;
(3) if 第1号被保険者 fell from the year-end before last to last year-end: eligible when the
    decrease of (1) — (②−①)/② — is smaller than the decrease of the insured count;
(4) a new or expanded programme this year (supplementary budget included).
Tests are tried in order; the first that holds decides. Ties are not increases (strict comparisons).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

YES = "はい"
NO = "いいえ"


@dataclass(frozen=True)
class EligibilityInputs:
    budget_this_year: float | None = None  # 当該年度当初予算 地域支援事業の事業費全額
    transfer_to_multilayer: float = 0  # 重層的支援体制整備事業への移行分
    settlement_last_year: float | None = None  # 前年度決算額（見込み）
    amended_application: float | None = None  # 変更交付申請後額
    budget_last_year: float | None = None  # 前年度当初予算 地域支援事業の事業費全額
    at_cap: bool = False  # 地域支援事業の上限に係っている
    extra_this_year: float = 0  # 保健福祉事業・一般会計事業（予防・健康づくり）当該年度
    extra_last_year: float = 0  # 同 前年度
    insured_last_year_end: float | None = None  # 前年度末 第1号被保険者数
    insured_year_before_end: float | None = None  # 一昨年度末 第1号被保険者数
    new_or_expanded: bool = False  # 新規事業の実施・既存事業の拡充


@dataclass(frozen=True)
class EligibilityResult:
    eligible: bool | None  # None: inputs missing
    decided_by: str  # "(1)" … "(4)", or ""
    current: float | None  # ①
    baseline: float | None  # ②
    message: str

    def to_json(self) -> dict:
        return asdict(self)


def check(inp: EligibilityInputs) -> EligibilityResult:
    baselines = [v for v in (inp.settlement_last_year, inp.amended_application, inp.budget_last_year) if v is not None]
    if inp.budget_this_year is None or len(baselines) < 3:
        return EligibilityResult(None, "", None, None, "入力が不足しています（①と②の3つの額をすべて入力してください）")
    current = inp.budget_this_year + inp.transfer_to_multilayer
    baseline = min(baselines)
    if current > baseline:
        return EligibilityResult(True, "(1)", current, baseline, "（1）事業費を拡充しているため交付対象です")
    if inp.at_cap and current + inp.extra_this_year > baseline + inp.extra_last_year:
        return EligibilityResult(True, "(2)", current, baseline,
                                 "（2）上限に係っており、保健福祉事業・一般会計事業を含めると拡充しているため交付対象です")
    prev, before = inp.insured_last_year_end, inp.insured_year_before_end
    if prev is not None and before is not None and before > 0 and prev < before and baseline and \
            (baseline - current) / baseline < (before - prev) / before:
        return EligibilityResult(True, "(3)", current, baseline,
                                 "（3）事業費の減少率が第1号被保険者数の減少率より小さいため交付対象です")
    if inp.new_or_expanded:
        return EligibilityResult(True, "(4)", current, baseline, "（4）新規事業の実施・既存事業の拡充があるため交付対象です")
    return EligibilityResult(False, "", current, baseline, "（1）～（4）のいずれにも該当しないため交付対象外です")


# -- the sheet ------------------------------------------------------------------------
# Input rows of the 交付要件 sheet: (field, label, kind) with kind "amount" | "count" | "yesno".
INPUT_ROWS = [
    ("budget_this_year", "① 当該年度当初予算：地域支援事業の事業費全額（円）", "amount"),
    ("transfer_to_multilayer", "① 重層的支援体制整備事業への移行分（円）", "amount"),
    ("settlement_last_year", "② 前年度決算額（見込み）（円）", "amount"),
    ("amended_application", "② 変更交付申請後額（円）", "amount"),
    ("budget_last_year", "② 前年度当初予算：地域支援事業の事業費全額（円）", "amount"),
    ("at_cap", "（2）地域支援事業の上限に係っている", "yesno"),
    ("extra_this_year", "（2）保健福祉事業・一般会計事業（予防・健康づくり）当該年度（円）", "amount"),
    ("extra_last_year", "（2）保健福祉事業・一般会計事業（予防・健康づくり）前年度（円）", "amount"),
    ("insured_last_year_end", "（3）前年度末の第1号被保険者数（人）", "count"),
    ("insured_year_before_end", "（3）一昨年度末の第1号被保険者数（人）", "count"),
    ("new_or_expanded", "（4）当該年度に新規事業の実施または既存事業の拡充がある", "yesno"),
]


# What seed 002 says about each test, beside the first input row of that test on the sheet: its own words
# in 「」 where quoted (short), the tool's reading outside them.
SOURCE = "（資料002）"
GUIDANCE = {
    "budget_this_year": "①は「当該年度当初予算における地域支援事業の事業費全額（寄付金その他収入も含む）及び"
                        "重層的支援体制整備事業への移行分の額」" + SOURCE + "。移行分は下の行に入力します。",
    "settlement_last_year": "②は「前年度決算額・変更交付申請後額・前年度当初予算における地域支援事業の事業費全額のうち"
                            "いづれか低い額」" + SOURCE + "。3つとも入力してください（最も低い額で比べます）。",
    "at_cap": "（2）「地域支援事業の上限に係っている場合は、①と②の丈比べの際に保健福祉事業・一般会計事業」"
              "（介護予防・健康づくりに資する取組に限る）「を追加してもよい」" + SOURCE + "。上限に係っているときは、"
              "下の2行の額を①と②にそれぞれ加えて比べます。",
    "insured_last_year_end": "（3）（1）（2）に該当せず第1号被保険者数が減少している場合、「第1号被保険者数の減少率"
                             "（前年度末の値と一昨年度末の値でたけくらべ）と（1）の減少率をくらべ、（1）の減少率のほうが"
                             "小さかった場合は交付の対象とする」" + SOURCE + "。（1）の減少率は（②－①）÷②です。",
    "new_or_expanded": "（4）「地域支援事業のうち支援交付金の宛先+推進交付金の市町村特別給付・保健福祉事業・一般会計充当分」"
                       "での新規事業・既存事業の拡充。「当該年度中の補正予算で実施する予定の場合も含む」。"
                       "「拡充事業」は「事業費全体の増減に関わらず、一部拡充（人数、回数の増など）があれば該当」"
                       + SOURCE + "。",
}


def sheet_formulas(cell: dict[str, str]) -> dict[str, str]:
    """Formulas of the result cells, given the input cells by field name (same rules as check())."""
    c = cell
    cur = f"({c['budget_this_year']}+N({c['transfer_to_multilayer']}))"
    base = f"MIN({c['settlement_last_year']},{c['amended_application']},{c['budget_last_year']})"
    complete = (f"AND(ISNUMBER({c['budget_this_year']}),ISNUMBER({c['settlement_last_year']}),"
                f"ISNUMBER({c['amended_application']}),ISNUMBER({c['budget_last_year']}))")
    t1 = f"{cur}>{base}"
    t2 = (f'AND(TRIM({c["at_cap"]})="{YES}",{cur}+N({c["extra_this_year"]})>{base}+N({c["extra_last_year"]}))')
    prev, before = c["insured_last_year_end"], c["insured_year_before_end"]
    t3 = (f"AND(ISNUMBER({prev}),ISNUMBER({before}),N({before})>0,N({prev})<N({before}),{base}<>0,"
          f"IF(AND(ISNUMBER({before}),N({before})>0,{base}<>0),({base}-{cur})/{base}<(N({before})-N({prev}))/N({before}),FALSE))")
    t4 = f'TRIM({c["new_or_expanded"]})="{YES}"'
    decided = f'IF({complete},IF({t1},"(1)",IF({t2},"(2)",IF({t3},"(3)",IF({t4},"(4)","")))),"")'
    return {
        "current": f"=IF({complete},{cur},\"\")",
        "baseline": f"=IF({complete},{base},\"\")",
        "decided_by": f"={decided}",
        "verdict": f'=IF(NOT({complete}),"入力不足",IF({decided}<>"","交付対象","交付対象外"))',
    }
