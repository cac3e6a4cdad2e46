"""Published point tables (配点) that every catalog of a known year/kind must reproduce.

Figures are quoted from the source documents (see ../shared/DOMAIN.md):
[001] R6 national municipal results, [002] MHLW overview (R7), [003] 南部町 R5, [004] 宮城県 R8.
Keys: grant id -> goal number -> group kind -> points.
"""

_MUNICIPALITY_R6_R8 = {
    "promotion": {
        "Ⅰ": {"process": 64, "activity": 36},
        "Ⅱ": {"process": 68, "activity": 32},
        "Ⅲ": {"process": 64, "activity": 36},
        "Ⅳ": {"outcome": 100},
    },
    "support": {
        "Ⅰ": {"process": 52, "activity": 48},
        "Ⅱ": {"process": 64, "activity": 36},
        "Ⅲ": {"process": 68, "activity": 32},
        "Ⅳ": {"outcome": 100},
    },
}

_PREFECTURE_R7_R8 = {
    "promotion": {
        "Ⅰ": {"process": 60, "activity": 40},
        "Ⅱ": {"process": 64, "activity": 36},
        "Ⅲ": {"process": 72, "activity": 28},
        "Ⅳ": {"outcome": 100},
    },
    "support": {
        "Ⅰ": {"process": 48, "activity": 52},
        "Ⅱ": {"process": 68, "activity": 32},
        "Ⅲ": {"process": 68, "activity": 32},
        "Ⅳ": {"outcome": 100},
    },
}

# R5 (old structure): categories Ⅰ–Ⅲ without indicator groups [003].
_MUNICIPALITY_R5 = {
    "promotion": {"Ⅰ": {"combined": 135}, "Ⅱ": {"combined": 1020}, "Ⅲ": {"combined": 200}},
    "support": {"Ⅰ": {"combined": 35}, "Ⅱ": {"combined": 755}, "Ⅲ": {"combined": 40}},
}

PUBLISHED_POINTS: dict[tuple[str, str], dict] = {
    ("R5", "municipality"): _MUNICIPALITY_R5,
    ("R6", "municipality"): _MUNICIPALITY_R6_R8,
    ("R7", "municipality"): _MUNICIPALITY_R6_R8,
    ("R8", "municipality"): _MUNICIPALITY_R6_R8,
    ("R7", "prefecture"): _PREFECTURE_R7_R8,
    ("R8", "prefecture"): _PREFECTURE_R7_R8,
}

PUBLISHED_SOURCES = {
    ("R5", "municipality"): "[001][003]",
    ("R6", "municipality"): "[001]",
    ("R7", "municipality"): "[002]",
    ("R8", "municipality"): "[004]",
    ("R7", "prefecture"): "[002]",
    ("R8", "prefecture"): "[004]",
}
