"""The desktop Excel add-in: built from xlwings' own ribbon add-in, with our Japanese ribbon tab."""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
import warnings
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

with warnings.catch_warnings():  # oletools still uses pyparsing's old camelCase names
    warnings.simplefilter("ignore", DeprecationWarning)
    from oletools.olevba import VBA_Parser

import xlsx_tool
from xlsx_tool import bridge
from xlsx_tool.bridge import addin
from xlsx_tool.cli import addin as cli_bridge_tools  # noqa: F401  (registers `xlsx-tool addin`)
from xlsx_tool.cli import main

ROOT = Path(__file__).resolve().parent.parent
NS = {"ui": addin.CUSTOM_UI_NS}
MAIN_SHEET_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"


def _ribbon(path: Path) -> ET.Element:
    with zipfile.ZipFile(path) as z:
        assert z.testzip() is None
        return ET.fromstring(z.read(addin.CUSTOM_UI))


def _vba(path: Path) -> dict[str, str]:
    """Module name -> VBA source, as olevba lists them."""
    parser = VBA_Parser(str(path))
    try:
        assert parser.detect_vba_macros()
        return {name.rsplit(".", 1)[0]: code for _, _, name, code in parser.extract_macros()}
    finally:
        parser.close()


def _run_main_command(code: str, addin_file: str) -> str:
    """The Python command RibbonMyAddin.RunMain passes to RunPython, evaluated as the VBA does."""
    sub = re.search(r"Sub RunMain\(control As IRibbonControl\)(.*?)End Sub", code, re.S).group(1)
    assert 'mymodule = Left(ThisWorkbook.Name, (InStrRev(ThisWorkbook.Name, ".", -1, vbTextCompare) - 1))' in sub
    assert 'RunPython "import " & mymodule & ";" & mymodule & ".main()"' in sub
    module = addin_file[:addin_file.rfind(".")]  # Left(Name, InStrRev(Name, ".") - 1)
    return f"import {module};{module}.main()"


def test_built_addin_has_the_japanese_ribbon_calling_xlsx_tool_main(tmp_path):
    out = addin.build_addin(tmp_path / "xlsx_tool.xlam", callback="shipped")
    tab = _ribbon(out).find("ui:ribbon/ui:tabs/ui:tab", NS)
    assert tab.get("label") == "交付金自己評価"
    buttons = tab.findall("ui:group/ui:button", NS)
    assert [b.get("label") for b in buttons] == ["採点", "ギャップ報告", "前年度回答の取込"]
    assert [b.get("tag") for b in buttons] == list(bridge.ACTION_LABELS)
    assert {b.get("onAction") for b in buttons} == {"RibbonMyAddin.RunMain"}

    modules = _vba(out)
    assert "RunPython" in modules["xlwings"] and "Public Function RunPython(PythonCommand As String)" in modules["xlwings"]
    assert _run_main_command(modules["RibbonMyAddin"], out.name) == "import xlsx_tool;xlsx_tool.main()"
    with zipfile.ZipFile(out) as built, zipfile.ZipFile(addin.template_path()) as shipped:
        assert built.read("xl/vbaProject.bin") == shipped.read("xl/vbaProject.bin")  # VBA copied as is
        assert built.namelist() == shipped.namelist()
        assert built.read("[Content_Types].xml") == shipped.read("[Content_Types].xml")


def test_olevba_command_lists_the_ribbon_callback(tmp_path):
    out = addin.build_addin(tmp_path / "xlsx_tool.xlam")
    listing = subprocess.run([sys.executable, "-W", "ignore", "-m", "oletools.olevba", "--code", str(out)],
                             capture_output=True, text=True, encoding="utf-8", check=True).stdout
    section = listing.split("VBA MACRO RibbonMyAddin.bas", 1)[1].split("VBA MACRO", 1)[0]
    assert _run_main_command(section, out.name) == "import xlsx_tool;xlsx_tool.main()"
    assert "VBA MACRO xlwings.bas" in listing


def test_the_add_in_file_name_decides_the_module(tmp_path):
    out = addin.build_addin(tmp_path / "xlsx_tool.bridge.xlam")
    command = _run_main_command(_vba(out)["RibbonMyAddin"], out.name)
    assert command == "import xlsx_tool.bridge;xlsx_tool.bridge.main()"
    module = importlib.import_module("xlsx_tool.bridge")
    assert callable(module.main)
    with pytest.raises(addin.AddinError, match="xlsx_tool.xlam"):
        addin.build_addin(tmp_path / "myaddin.xlam", callback="shipped")
    with pytest.raises(addin.AddinError, match=".xlam"):
        addin.build_addin(tmp_path / "xlsx_tool.xlsm")


# The ribbon part's namespace and the package relationship type that must point at it (issue 16; Microsoft's
# MS-OI29500 3.4.1.3 "CustomUI Part": root namespace 2006/01/customui, source relationship .../2006/...)
RIBBON_TYPE_OF_NAMESPACE = {
    "http://schemas.microsoft.com/office/2006/01/customui":
        "http://schemas.microsoft.com/office/2006/relationships/ui/extensibility",
    "http://schemas.microsoft.com/office/2009/07/customui":
        "http://schemas.microsoft.com/office/2007/relationships/ui/extensibility",
}
PACKAGE_RELS_NS = "{http://schemas.openxmlformats.org/package/2006/relationships}"


@pytest.mark.parametrize("callback", sorted(addin.CALLBACKS))
def test_the_ribbon_relationship_type_matches_the_ribbon_namespace(tmp_path, callback):
    out = addin.build_addin(tmp_path / "xlsx_tool.xlam", callback=callback)
    namespace = _ribbon(out).tag[1:].split("}")[0]
    with zipfile.ZipFile(out) as z:
        rels = ET.fromstring(z.read("_rels/.rels"))
    to_ribbon = [r for r in rels.iter(f"{PACKAGE_RELS_NS}Relationship")
                 if r.get("Target").lstrip("/") == addin.CUSTOM_UI]
    assert [r.get("Type") for r in to_ribbon] == [RIBBON_TYPE_OF_NAMESPACE[namespace]]
    others = {r.get("Id"): r.get("Type") for r in rels if r not in to_ribbon}
    with zipfile.ZipFile(addin.template_path()) as z:  # the rest as xlwings ships it
        shipped = ET.fromstring(z.read("_rels/.rels"))
    assert others == {r.get("Id"): r.get("Type") for r in shipped if r.get("Target").lstrip("/") != addin.CUSTOM_UI}


def test_a_template_without_a_ribbon_relationship_is_refused_in_japanese(tmp_path):
    template = tmp_path / "quickstart_addin_ribbon.xlam"
    with zipfile.ZipFile(addin.template_path()) as src, zipfile.ZipFile(template, "w") as dst:
        for name in src.namelist():
            data = src.read(name)
            if name == "_rels/.rels":
                data = re.sub(rb'<Relationship [^>]*customUI/customUI.xml"[^>]*/>', b"", data)
            dst.writestr(name, data)
    with pytest.raises(addin.AddinError, match="リボン customUI/customUI.xml への関連付けがありません"):
        addin.build_addin(tmp_path / "xlsx_tool.xlam", template=template)


def test_package_main_runs_the_bridge(tmp_path, monkeypatch):
    """What the add-in's command `import xlsx_tool;xlsx_tool.main()` reaches (here on a remote book)."""
    if not hasattr(xlsx_tool, "main"):
        pytest.skip("xlsx_tool/__init__.py does not define main yet (the add-in calls xlsx_tool.main())")
    import random

    from test_bridge import _book, payload, remote_book

    from xlsx_tool.catalog.loading import load_shipped_catalog
    from xlsx_tool.workbook.filler import random_answers

    monkeypatch.setenv("XLWINGS_LICENSE_KEY", "noncommercial")
    bridge.ensure_engine("remote")
    catalog = load_shipped_catalog("R8", "municipality")
    book = remote_book(payload(_book(tmp_path, catalog, random_answers(catalog, random.Random(1)))))
    outcome = xlsx_tool.main("score", book=book)
    assert outcome.ok and outcome.sheet == bridge.SCORE_SHEET


def test_module_callback_routes_each_button_through_the_bas_module(tmp_path):
    out = addin.build_addin(tmp_path / "any_name.xlam", callback="module")
    buttons = _ribbon(out).findall("ui:ribbon/ui:tabs/ui:tab/ui:group/ui:button", NS)
    assert {b.get("onAction") for b in buttons} == {addin.MODULE_CALLBACK}
    bas = (ROOT / "macros" / addin.BAS_NAME).read_bytes()
    assert bas == addin.BAS_TEXT.encode("ascii")  # the committed module is the one the build writes
    text = bas.decode("ascii")
    assert "\r\n" in text and "\n" not in text.replace("\r\n", "")
    module, procedure = addin.MODULE_CALLBACK.split(".")
    assert f'Attribute VB_Name = "{module}"' in text
    assert f"Public Sub {procedure}(control As IRibbonControl)" in text
    assert "xlsx_tool.bridge.main('\" & control.Tag & \"')" in text
    assert all(b.get("tag") in bridge.ALIASES for b in buttons)
    for action in bridge.ACTION_LABELS:
        assert f"xlsx_tool.bridge.main('{action}')" in text


def test_interpreter_is_written_into_the_add_ins_config_sheet(tmp_path):
    out = addin.build_addin(tmp_path / "xlsx_tool.xlam", interpreter_win=r"C:\Users\hoken\venv\Scripts\python.exe",
                            interpreter_mac="/Users/hoken/venv/bin/python")
    with zipfile.ZipFile(out) as z:
        workbook = ET.fromstring(z.read("xl/workbook.xml"))
        sheet = ET.fromstring(z.read("xl/worksheets/sheet1.xml"))
        strings = [t.text for t in ET.fromstring(z.read("xl/sharedStrings.xml")).iter(f"{MAIN_SHEET_NS}t")]
    names = [s.get("name") for s in workbook.iter(f"{MAIN_SHEET_NS}sheet")]
    assert names == ["myaddin.conf"]  # xlwings reads the config sheet PROJECT_NAME & ".conf"
    cells = {}
    for c in sheet.iter(f"{MAIN_SHEET_NS}c"):
        v = c.find(f"{MAIN_SHEET_NS}v")
        t = c.find(f"{MAIN_SHEET_NS}is/{MAIN_SHEET_NS}t")
        cells[c.get("r")] = strings[int(v.text)] if c.get("t") == "s" else (t.text if t is not None else None)
    row = {cells[f"A{n}"]: cells.get(f"B{n}") for n in range(1, 10)}
    assert row["Interpreter_Win"] == r"C:\Users\hoken\venv\Scripts\python.exe"
    assert row["Interpreter_Mac"] == "/Users/hoken/venv/bin/python"


def test_cli_builds_the_add_in_and_the_vba_module(tmp_path):
    out = tmp_path / "macros" / "xlsx_tool.xlam"
    result = CliRunner().invoke(main, ["addin", "build", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.is_file() and (tmp_path / "macros" / addin.BAS_NAME).read_bytes() == addin.BAS_TEXT.encode("ascii")
    assert "ボタンごとにその処理（採点・ギャップ報告・前年度回答の取込）を実行します" in result.output
    again = out.read_bytes()
    CliRunner().invoke(main, ["addin", "build", "--out", str(out)])
    assert out.read_bytes() == again  # reproducible
    bad = CliRunner().invoke(main, ["addin", "build", "--callback", "shipped", "--out", str(tmp_path / "other.xlam")])
    assert bad.exit_code == 2 and "xlsx_tool.xlam" in bad.output


# -- issue 17, item 14: each ribbon button runs its own action (no question for a number) ---------------

def _run_action_commands(code: str, tags) -> dict[str, str]:
    """The Python command RibbonMyAddin.RunAction passes to RunPython for each button tag, evaluated as the
    VBA string expression is: "..." & control.Tag & "..."."""
    sub = re.search(r"Sub RunAction\(control As IRibbonControl\)(.*?)End Sub", code, re.DOTALL).group(1)
    (expression,) = re.findall(r'RunPython (".*")', sub)
    parts = [p.strip() for p in expression.split("&")]
    assert parts[1] == "control.Tag" and len(parts) == 3
    return {tag: parts[0][1:-1] + tag + parts[2][1:-1] for tag in tags}


def test_default_add_in_buttons_call_a_callback_that_passes_their_tag(tmp_path):
    out = addin.build_addin(tmp_path / "any_name.xlam")  # the file name no longer matters
    buttons = _ribbon(out).findall("ui:ribbon/ui:tabs/ui:tab/ui:group/ui:button", NS)
    assert {b.get("onAction") for b in buttons} == {"RibbonMyAddin.RunAction"}
    tags = [b.get("tag") for b in buttons]
    assert tags == ["score", "gap", "import_previous"]
    modules = _vba(out)  # olevba, an independent reader of the compound file and its compression
    commands = _run_action_commands(modules["RibbonMyAddin"], tags)
    assert commands == {t: f"import xlsx_tool.bridge;xlsx_tool.bridge.main('{t}')" for t in tags}
    assert _run_main_command(modules["RibbonMyAddin"], "xlsx_tool.xlam") == "import xlsx_tool;xlsx_tool.main()"
    assert "Public Function RunPython(PythonCommand As String)" in modules["xlwings"]


def test_each_buttons_command_runs_its_action_without_asking(tmp_path, monkeypatch):
    import xlwings as xw

    from xlsx_tool.bridge import actions

    out = addin.build_addin(tmp_path / "xlsx_tool.xlam")
    tags = [b.get("tag") for b in _ribbon(out).findall("ui:ribbon/ui:tabs/ui:tab/ui:group/ui:button", NS)]
    ran = []
    caller = object()
    monkeypatch.setattr(xw.Book, "caller", staticmethod(lambda: caller))
    monkeypatch.setattr(actions, "_ask_action", lambda book: pytest.fail("asked for an action number"))
    monkeypatch.setattr(actions, "_ask_path", lambda book: str(tmp_path / "last_year.xlsx"))
    monkeypatch.setattr(actions, "run", lambda book, action, path=None, **kw: ran.append((book, action, path)))
    for command in _run_action_commands(_vba(out)["RibbonMyAddin"], tags).values():
        exec(command, {})  # noqa: S102 - what RunPython runs
    assert ran == [(caller, "score", None), (caller, "gap", None),
                   (caller, "import_previous", str(tmp_path / "last_year.xlsx"))]


def test_the_vba_project_changes_only_in_the_ribbon_module(tmp_path):
    import io
    import struct

    import olefile

    out = addin.build_addin(tmp_path / "xlsx_tool.xlam")
    with zipfile.ZipFile(out) as built, zipfile.ZipFile(addin.template_path()) as shipped:
        new, old = (olefile.OleFileIO(io.BytesIO(z.read("xl/vbaProject.bin"))) for z in (built, shipped))
        assert built.namelist() == shipped.namelist()
    streams = {"/".join(p) for p in old.listdir()}
    assert {"/".join(p) for p in new.listdir()} == streams
    changed = {s for s in streams if new.openstream(s).read() != old.openstream(s).read()}
    assert changed == {"VBA/RibbonMyAddin"}
    assert new.get_size("VBA/RibbonMyAddin") > old.get_size("VBA/RibbonMyAddin")
    # version 0xFFFF: Excel compiles the modules from their source instead of cached code (MS-OVBA 2.3.4.1)
    assert struct.unpack_from("<HH", new.openstream("VBA/_VBA_PROJECT").read()) == (0x61CC, 0xFFFF)


def test_vba_compression_round_trips_through_olevba(tmp_path):
    import random

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from oletools.olevba import decompress_stream

    from xlsx_tool.bridge.vba import compress, decompress

    rng = random.Random(17)
    samples = [b"", b"a", addin.BAS_TEXT.encode("ascii") * 3, bytes(rng.randrange(256) for _ in range(5000)),
               bytes(rng.choice(b"ab") for _ in range(9000))]
    for data in samples:
        packed = compress(data)
        theirs = bytes(decompress_stream(bytearray(packed)))
        assert theirs[:len(data)] == data and not theirs[len(data):].strip(b"\0")  # a raw chunk is padded
        assert decompress(packed) == theirs
