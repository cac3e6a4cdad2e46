"""What `pip install .` ships: catalogs and templates inside the installed package."""

from pathlib import Path

from xlsx_tool.catalog.loading import shipped_catalog_names
from xlsx_tool.util.templates import render, templates_dir


def test_templates_and_catalogs_are_package_data():
    assert (templates_dir() / "cover_instructions.txt.j2").is_file()
    assert len(shipped_catalog_names()) == 6
    assert "令和" in render("cover_instructions.txt.j2", catalog=_FakeCatalog(), sheets=["推進交付金"])


def test_the_wheel_ships_catalogs_templates_and_data(tmp_path):
    """`pip install .` must carry the package data, not only an editable checkout."""
    import subprocess
    import sys
    import zipfile

    root = Path(__file__).resolve().parent.parent
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q",
                    "-w", str(tmp_path), str(root)], check=True, capture_output=True, timeout=300)
    (wheel,) = tmp_path.glob("xlsx_tool-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in ("xlsx_tool/templates/report.html.j2", "xlsx_tool/templates/cover_instructions.txt.j2",
                 "xlsx_tool/catalogs/R8-municipality.yaml", "xlsx_tool/reference_data/R7-municipality.yaml",
                 "xlsx_tool/thresholds_data/R8-municipality.example.yaml",
                 "xlsx_tool/params_data/municipality.example.yaml"):
        assert name in names, name
    assert len([n for n in names if n.startswith("xlsx_tool/catalogs/") and n.endswith(".yaml")]) == 6


class _FakeCatalog:
    year_label = "令和8年度（2026年度）"
    title = "テスト"


def test_outputs_get_normal_file_permissions(tmp_path):
    import os
    import stat

    from xlsx_tool.util.atomic import write_atomically

    old = os.umask(0o022)
    try:
        path = write_atomically(tmp_path / "out.txt", lambda tmp: tmp.write_text("x"))
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
