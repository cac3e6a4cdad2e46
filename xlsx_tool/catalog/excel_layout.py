"""A catalog as an editable workbook: the layout shared by export and import.

One sheet per level, row order = catalog order:
- カタログ: one row per header field (項目 | 値 | 説明);
- 交付金: one row per grant; 目標・指標群: one row per goal × group (the goal's columns repeated);
- 指標: one row per indicator with its rule type and the rule's single parameters (上限, 刻み, 単位);
- 小項目: one row per sub-item; 段階: one row per level of a ladder (rule levels);
  採点区分: one row per tier (該当数) or threshold (下限値).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from openpyxl.utils import get_column_letter

from xlsx_tool.catalog.model import GROUP_LABELS, KIND_LABELS, PROVENANCE_LABELS

MAX_CELL_CHARS = 32767  # Excel's limit for one cell
SPARE_ROWS = 500  # rows below the data that keep the dropdowns and formats, for additions
MAX_ROW_HEIGHT = 150.0  # long notes stay readable without making the sheet unusable

README_SHEET = "説明"

CHOICES: dict[str, dict[str, str]] = {  # enumeration: code -> Japanese meaning
    "grant": {"promotion": "保険者機能強化推進交付金", "support": "介護保険保険者努力支援交付金"},
    "kind": {k.value: v for k, v in KIND_LABELS.items()},
    "group": {k.value: v for k, v in GROUP_LABELS.items()},
    "rule": {"sum": "該当する小項目の点数を合計（上限あり）", "tiers": "該当する小項目の数に応じて配点",
             "thresholds": "数値を区分に当てはめて配点", "direct": "得点を直接入力",
             "levels": "到達した段階（ア～エ・①～④）で配点"},
    "combine": {"sum": "系列の得点を合計", "best": "系列のうち高い得点（いずれか一つで評価）"},
    "short": {"short": "集計表の項目名（公式の設問文ではない）"},
    "status": {k.value: v for k, v in PROVENANCE_LABELS.items()},
}
RATIO_KEYS = {"ratio_numerator": "numerator", "ratio_denominator": "denominator", "ratio_per": "per"}
RULE_PARAMETERS = {"sum": {"cap"}, "tiers": set(), "thresholds": {"unit", *RATIO_KEYS}, "direct": {"step"},
                   "levels": {"combine"}}
STEP_KEY = {"tiers": "met", "thresholds": "min"}  # which 採点区分 column each rule uses


# -- layout -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Column:
    key: str
    header: str
    width: int
    help: str
    kind: str = "text"  # text | id | int | number | choice | sources
    required: bool = False
    choice: str = ""  # key of CHOICES for kind "choice"
    minimum: int = 0


@dataclass(frozen=True)
class SheetSpec:
    name: str
    code: str  # ascii, for placeholder ids of blank cells
    help: str
    columns: tuple[Column, ...]

    def letter(self, key: str) -> str:
        return get_column_letter(next(i for i, c in enumerate(self.columns, 1) if c.key == key))


_STATUS = Column("status", "出典区分", 14, "この情報の出典の区分（published=資料に記載 / assumed=資料に記載なし・仮定 / "
                 "not_in_sources=資料に記載なし）", kind="choice", required=True, choice="status")
_SOURCES = Column("sources", "出典資料", 12, "出典資料の番号。複数はカンマ区切り（例: 002, 000）", kind="sources")
_NOTE = Column("note", "出典メモ", 50, "出典の補足（どの資料のどこに記載か、何を仮定したか）")
_TALLY_YEAR = Column("tally_year", "集計表年度", 9, "点数の出典である厚生労働省 該当状況調査票集計表の年度（例: R8）",
                     kind="id")
_TALLY_COLUMN = Column("tally_column", "集計表列番号", 9, "その年度の集計表の列番号（年度ごとに異なります）", kind="int",
                       minimum=1)
_NATIONAL_MET = Column("national_met", "全国該当数", 9, "集計表の該当市町村数（全国団体数と組で記入）", kind="int")
_NATIONAL_OF = Column("national_of", "全国団体数", 9, "集計表の対象団体数（例: 1741）", kind="int", minimum=1)
_SHORT = Column("short_title", "項目名のみ", 10, "short=文が集計表の項目名で、公式の設問文ではない（空欄=設問文）",
                kind="choice", choice="short")
_OPTIONAL_STATUS = replace(_STATUS, required=False,
                           help="小項目ごとの出典の区分（任意）。出典資料・出典メモを書く場合は必須")

HEADER = SheetSpec("カタログ", "cat", "カタログ全体の情報。1 行に 1 項目、B 列（値）を編集します。", (
    Column("schema_version", "スキーマ版", 14, "カタログ形式の版。1 のままにしてください", kind="int", required=True),
    Column("id", "カタログid", 14, "カタログの識別子（例: R8-municipality）。独自版は R8-municipality-kanagawa のように変えても構いません",
           kind="id", required=True),
    Column("year", "年度", 14, "令和の年度（例: R8）", kind="id", required=True),
    Column("kind", "区分", 14, "municipality=市町村 / prefecture=都道府県", kind="choice", required=True, choice="kind"),
    Column("title", "表題", 14, "カタログの表題（ブックの表紙に出ます）"),
    Column("period", "時点", 14, "既定の評価時点（指標に時点がない場合に使います）"),
    Column("total", "満点", 14, "全体の満点。交付金の配点の合計と一致させます", kind="int", required=True),
    _STATUS, _SOURCES, _NOTE,
))

GRANTS = SheetSpec("交付金", "grant", "交付金ごとに 1 行。", (
    Column("id", "交付金id", 14, "promotion=保険者機能強化推進交付金 / support=介護保険保険者努力支援交付金",
           kind="choice", required=True, choice="grant"),
    Column("name", "名称", 34, "交付金の名称"),
    Column("short", "略称", 8, "表やシート名に使う略称（例: 推進）"),
    Column("points", "配点", 8, "交付金の満点。目標配点の合計と一致させます", kind="int", required=True),
))

GOALS = SheetSpec("目標・指標群", "goal", "目標 × 指標群ごとに 1 行。同じ目標の行では目標の列（交付金id～目標配点）を"
                  "すべて同じ値にします。行の順がカタログ内の順になります。", (
    Column("grant", "交付金id", 12, "この目標が属する交付金（「交付金」シートの交付金id）", kind="choice",
           required=True, choice="grant"),
    Column("goal", "目標id", 10, "目標の識別子（例: P1）。英字で始まる英数字・-・_", kind="id", required=True),
    Column("number", "目標番号", 10, "目標の番号（例: Ⅰ）"),
    Column("name", "目標名", 44, "目標の名称（必須）", required=True),
    Column("points", "目標配点", 10, "目標の配点。指標群配点の合計と一致させます", kind="int", required=True),
    Column("group", "指標群", 12, "process=体制・取組指標群 / activity=活動指標群 / outcome=成果指標群 / "
           "combined=区分なし（令和5年度以前）", kind="choice", required=True, choice="group"),
    Column("group_points", "指標群配点", 10, "指標群の配点。指標の配点の合計と一致させます", kind="int", required=True),
))

INDICATORS = SheetSpec("指標", "ind", "指標ごとに 1 行。目標id と 指標群 で「目標・指標群」シートの行を指します。"
                       "同じ指標群の中では行の順がカタログ内の順になります。", (
    Column("id", "指標id", 10, "指標の識別子（例: P1-p1）。カタログ全体で一意", kind="id", required=True),
    Column("goal", "目標id", 8, "この指標が属する目標（「目標・指標群」シートの目標id）", kind="id", required=True),
    Column("group", "指標群", 10, "この指標が属する指標群", kind="choice", required=True, choice="group"),
    Column("number", "番号", 6, "指標の番号（例: 1、ii-3）"),
    Column("text", "評価指標", 50, "設問文（必須）", required=True),
    Column("points", "配点", 7, "指標の配点（満点）", kind="int", required=True),
    Column("rule", "採点方法", 11, "sum=小項目の点数を合計 / tiers=該当数に応じて配点 / thresholds=数値の区分で配点 / "
           "direct=得点を直接入力 / levels=到達した段階で配点", kind="choice", required=True, choice="rule"),
    Column("cap", "上限", 7, "sum のみ: 合計の上限（空欄なら配点）", kind="int"),
    Column("step", "刻み", 7, "direct のみ: 入力できる得点の刻み（空欄なら 1）", kind="int", minimum=1),
    Column("unit", "単位", 7, "thresholds のみ: 数値の単位（例: %）"),
    Column("ratio_numerator", "比率の分子", 16, "thresholds のみ（任意）: 数値を 分子 ÷ 分母 × 倍率 で求めるとき、"
           "担当者が入力する分子の名称（例: 認知症サポーター数（人））"),
    Column("ratio_denominator", "比率の分母", 16, "thresholds のみ（任意）: 分母の名称（例: 高齢者人口（人））"),
    Column("ratio_per", "比率の倍率", 8, "thresholds のみ（任意）: 倍率（例: 1000 で千人当たり。空欄なら 1）",
           kind="number"),
    Column("period", "時点", 16, "評価の時点（空欄ならカタログの時点）"),
    Column("notes", "留意点", 60, "評価の視点・留意点。改行もそのまま保存されます"),
    _STATUS, _SOURCES, _NOTE,
    Column("title", "項目名", 20, "集計表の項目名（短縮名）"),
    _SHORT,
    Column("combine", "系列の扱い", 10, "levels のみ: sum=系列の得点を合計 / best=高い方（空欄なら sum）", kind="choice",
           choice="combine"),
))

SUBITEMS = SheetSpec("小項目", "sub", "小項目ごとに 1 行。指標id で「指標」シートの行を指します。"
                     "同じ指標の中では行の順がカタログ内の順になります。", (
    Column("id", "小項目id", 12, "小項目の識別子（例: P1-p1-a）。カタログ全体で一意", kind="id", required=True),
    Column("indicator", "指標id", 10, "この小項目が属する指標（「指標」シートの指標id）", kind="id", required=True),
    Column("label", "記号", 6, "小項目の記号（例: ア、ウ①）"),
    Column("text", "小項目", 60, "小項目の文（必須）。公式の設問文に置き換えたら「項目名のみ」を空欄にします", required=True),
    Column("points", "点数", 7, "sum の指標では必須: 該当したときの点数。tiers・levels の指標では空欄", kind="int"),
    Column("requires", "前提の小項目id", 14, "この小項目が該当したときだけ数える前提の小項目（同じ指標内）", kind="id"),
    _OPTIONAL_STATUS, _SOURCES, _NOTE, _SHORT, _NATIONAL_MET, _NATIONAL_OF, _TALLY_YEAR, _TALLY_COLUMN,
    Column("same_as", "同じ回答の小項目id", 14, "別のシートで回答する同じ項目（例: 支援の目標Ⅳ → 推進の目標Ⅳ の小項目id）。"
           "この小項目は回答欄を持たず、その回答で採点します", kind="id"),
))

BANDS = SheetSpec("段階", "band", "採点方法が levels の指標の小項目（系列）ごとの段階。1 段階 1 行、低い段階から順に並べます。"
                  "回答は到達した最も高い段階で、その段階までの点数を合計します。", (
    Column("subitem", "小項目id", 12, "段階を持つ小項目（「小項目」シートの小項目id）", kind="id", required=True),
    Column("label", "記号", 6, "段階の記号（例: ア、①）。回答の選択肢になります", required=True),
    Column("points", "点数", 7, "この段階で加わる点数", kind="int", required=True),
    _NATIONAL_MET, _NATIONAL_OF,
    _OPTIONAL_STATUS, _SOURCES, _NOTE, _TALLY_YEAR, _TALLY_COLUMN,
))

STEPS = SheetSpec("採点区分", "step", "採点方法が tiers または thresholds の指標の区分。1 区分 1 行、昇順に並べます。", (
    Column("indicator", "指標id", 10, "区分を持つ指標（採点方法が tiers / thresholds）", kind="id", required=True),
    Column("met", "該当数", 8, "tiers のみ: 該当した小項目がこの数以上なら…（1 以上の整数）", kind="int", minimum=1),
    Column("min", "下限値", 8, "thresholds のみ: 数値がこの値以上なら…", kind="number"),
    Column("points", "点数", 8, "…この点数", kind="int", required=True),
))

TABLES = (GRANTS, GOALS, INDICATORS, SUBITEMS, STEPS, BANDS)
SHEET_ORDER = [HEADER.name, *(t.name for t in TABLES)]
