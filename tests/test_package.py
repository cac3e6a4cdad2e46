"""What `pip install .` ships: catalogs and templates inside the installed package."""

from pathlib import Path

import xlsx_tool
from xlsx_tool.catalog import shipped_catalog_names
from xlsx_tool.templates_env import render, templates_dir


def test_templates_and_catalogs_are_package_data():
    assert (templates_dir() / "cover_instructions.txt.j2").is_file()
    assert len(shipped_catalog_names()) == 6
    assert "令和" in render("cover_instructions.txt.j2", catalog=_FakeCatalog(), sheets=["推進交付金"])


def test_tests_run_against_the_installed_package_when_installed():
    # the README's test command installs the package non-editably; then templates sit inside it
    pkg = Path(xlsx_tool.__file__).resolve().parent
    if "site-packages" in pkg.parts:
        assert templates_dir() == pkg / "templates"


class _FakeCatalog:
    year_label = "令和8年度（2026年度）"
    title = "テスト"


def test_outputs_get_normal_file_permissions(tmp_path):
    import os
    import stat

    from xlsx_tool.atomic import write_atomically

    old = os.umask(0o022)
    try:
        path = write_atomically(tmp_path / "out.txt", lambda tmp: tmp.write_text("x"))
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
