import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # tests' own helper modules

from catalog_fixtures import rules_catalog  # noqa: E402
from xlsx_tool.catalog import load_shipped_catalog, parse_catalog, shipped_catalog_names  # noqa: E402
from xlsx_tool.recalc import find_soffice  # noqa: E402


def all_catalogs():
    cats = [load_shipped_catalog(*name.split("-", 1)) for name in shipped_catalog_names()]
    return cats + [parse_catalog(rules_catalog(), "rules_catalog")]


@pytest.fixture(scope="session")
def soffice():
    path = find_soffice()
    if path is None:
        pytest.fail("LibreOffice (soffice) is required: run the README's test command, which installs it")
    return path
