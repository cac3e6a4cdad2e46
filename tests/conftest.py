import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # tests' own helper modules

from catalog_fixtures import ratio_catalog, rules_catalog  # noqa: E402

from xlsx_tool.catalog.loading import load_shipped_catalog, parse_catalog, shipped_catalog_names
from xlsx_tool.workbook.recalc import find_soffice  # noqa: E402


def _with_example_thresholds():
    from xlsx_tool.catalog.thresholds import apply_thresholds, shipped_example

    tf, tag = shipped_example("R8-municipality")
    return apply_thresholds(load_shipped_catalog("R8", "municipality"), tf, tag), tag


EXAMPLE_THRESHOLDS, EXAMPLE_TAG = _with_example_thresholds()


def thresholds_tag(cat):
    """The tag to record in a book generated from `cat` (the example thresholds catalog needs one)."""
    return EXAMPLE_TAG if cat.content_hash() == EXAMPLE_THRESHOLDS.content_hash() else None


def catalog_key(cat):
    return f"{cat.id}+thresholds" if thresholds_tag(cat) else cat.id


def all_catalogs():
    cats = [load_shipped_catalog(*name.split("-", 1)) for name in shipped_catalog_names()]
    return cats + [parse_catalog(rules_catalog(), "rules_catalog"), parse_catalog(ratio_catalog(), "ratio_catalog"),
                   EXAMPLE_THRESHOLDS]


@pytest.fixture(scope="session")
def soffice():
    path = find_soffice()
    if path is None:
        pytest.fail("LibreOffice (soffice) is required: run the README's test command, which installs it")
    return path
