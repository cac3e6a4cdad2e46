"""Desktop Excel add-in (.xlam) with the 交付金自己評価 ribbon tab, built from xlwings' own add-in.

xlwings ships ``quickstart_addin_ribbon.xlam``: a zip whose ribbon is plain XML
(customUI/customUI.xml) and whose VBA project (xl/vbaProject.bin) holds the xlwings module and one
ribbon callback, ``RibbonMyAddin.RunMain``::

    Sub RunMain(control As IRibbonControl)
        mymodule = Left(ThisWorkbook.Name, (InStrRev(ThisWorkbook.Name, ".", -1, vbTextCompare) - 1))
        RunPython "import " & mymodule & ";" & mymodule & ".main()"
    End Sub

So an add-in saved as ``xlsx_tool.xlam`` runs ``import xlsx_tool;xlsx_tool.main()`` (and one saved as
``xlsx_tool.bridge.xlam`` runs ``xlsx_tool.bridge.main()``). RunMain does not pass the button (its
``control`` is unused).

Callbacks:

- ``button`` (default): the build appends ``RunAction`` to that module (bridge/vba.py; Excel compiles
  the project's source when it opens the add-in) and every button calls it; it passes the button's
  tag (score / gap / import_previous) to ``xlsx_tool.bridge.main``: each button runs its own action.
- ``shipped``: the VBA project is copied byte for byte and all buttons call ``RibbonMyAddin.RunMain``,
  so ``main()`` asks which action to run.
- ``module``: the buttons call ``XlsxTool.RibbonAction``, which passes the button's tag. That procedure
  is in macros/XlsxTool.bas (``BAS_TEXT``); import it once into the add-in's VBA project (VBE: File >
  Import File) and save the add-in.
"""

from __future__ import annotations

import re
import struct
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from xlsx_tool.bridge.vba import append_to_module
from xlsx_tool.util.atomic import write_atomically
from xlsx_tool.util.problems import message

TEMPLATE_NAME = "quickstart_addin_ribbon.xlam"
CUSTOM_UI = "customUI/customUI.xml"
CUSTOM_UI_NS = "http://schemas.microsoft.com/office/2006/01/customui"
# The package relationship to a ribbon of that namespace (MS-OI29500 3.4.1.3, CustomUI part). xlwings' file
# has .../2007/relationships/ui/extensibility, the type of the Office 2010 ribbon part (2009/07 namespace,
# customUI14.xml), on its 2006/01 ribbon: the type is set to match the namespace the build writes.
RIBBON_REL_TYPE = "http://schemas.microsoft.com/office/2006/relationships/ui/extensibility"
PACKAGE_RELS = "_rels/.rels"
SHIPPED_CALLBACK = "RibbonMyAddin.RunMain"
BUTTON_CALLBACK = "RibbonMyAddin.RunAction"  # appended to xlwings' ribbon module by the build
MODULE_CALLBACK = "XlsxTool.RibbonAction"
CALLBACKS = {"button": BUTTON_CALLBACK, "shipped": SHIPPED_CALLBACK, "module": MODULE_CALLBACK}
SHIPPED_MODULES = ("xlsx_tool", "xlsx_tool.bridge")  # file names RunMain turns into a working import
DEFAULT_OUT = Path("macros") / "xlsx_tool.xlam"
TAB_ID, TAB_LABEL, GROUP_LABEL = "xlsxToolTab", "交付金自己評価", "自己評価ワークブック"
BUTTONS = (  # id, tag (the bridge's action), label, built-in icon, tip
    ("xlsxToolScore", "score", "採点", "AutoSum",
     "開いているブックを採点し、シート「採点結果」に書き出します（入力シートは変更しません）。"),
    ("xlsxToolGap", "gap", "ギャップ報告", "ChartInsert",
     "失点した項目と全国・都道府県平均との差を、シート「ギャップ報告」に書き出します。"),
    ("xlsxToolImportPrevious", "import_previous", "前年度回答の取込", "FileOpen",
     "前年度の回答済みブックを選び、その回答をシート「前年度回答」に表示します（回答欄には書き込みません）。"),
)
CONF_SHEET, CONF_SHEET_ACTIVE = "_myaddin.conf", "myaddin.conf"  # xlwings reads PROJECT_NAME & ".conf"

RUN_TAG = "    RunPython \"import xlsx_tool.bridge;xlsx_tool.bridge.main('\" & control.Tag & \"')\""  # the button's action
BUTTON_SOURCE = "\r\n".join([
    "' xlsx_tool: each button of the ribbon tab runs its own action (its tag: score, gap, import_previous).",
    f"Sub {BUTTON_CALLBACK.split('.')[1]}(control As IRibbonControl)",
    RUN_TAG,
    "End Sub",
    "",
])
BAS_NAME = "XlsxTool.bas"
BAS_TEXT = "\r\n".join([
    'Attribute VB_Name = "XlsxTool"',
    "' xlsx_tool: buttons and ribbon callback for the incentive-grant self-assessment workbook.",
    "' Needs the xlwings VBA module in the same project (the xlwings add-in, xlwings.bas, or the",
    "' add-in built by 'xlsx-tool addin build'). RunPython starts Python and calls",
    "' xlsx_tool.bridge.main(action); the results go to report sheets after the summary sheet,",
    "' input sheets are only read.",
    "' Actions: score, gap, import_previous (the add-in's button tags).",
    "Option Explicit",
    "",
    "' Ribbon callback for 'xlsx-tool addin build --callback module': the button's tag is the action.",
    "Public Sub RibbonAction(control As IRibbonControl)",
    RUN_TAG,
    "End Sub",
    "",
    "' Macros to assign to buttons on a sheet or to run from the Macros dialog (Alt+F8).",
    "Public Sub XlsxToolScore()",
    "    RunPython \"import xlsx_tool.bridge;xlsx_tool.bridge.main('score')\"",
    "End Sub",
    "",
    "Public Sub XlsxToolGapReport()",
    "    RunPython \"import xlsx_tool.bridge;xlsx_tool.bridge.main('gap')\"",
    "End Sub",
    "",
    "Public Sub XlsxToolImportPrevious()",
    "    RunPython \"import xlsx_tool.bridge;xlsx_tool.bridge.main('import_previous')\"",
    "End Sub",
    "",
])


class AddinError(Exception):
    """The add-in cannot be built; the message (Japanese) says why and what to do."""


def template_path() -> Path:
    import xlwings

    return Path(xlwings.__file__).resolve().parent / TEMPLATE_NAME


def addin_module(path: str | Path) -> str:
    """The module RunMain imports for an add-in file: its name up to the last dot."""
    name = Path(path).name
    return name[:name.rfind(".")] if "." in name else name


def ribbon_xml(callback: str = "button") -> str:
    on_action = CALLBACKS[callback]
    buttons = "\n".join(
        f'          <button id="{bid}" tag="{tag}" label={quoteattr(label)} size="large" imageMso="{icon}"'
        f' onAction="{on_action}" screentip={quoteattr(label)} supertip={quoteattr(tip)} />'
        for bid, tag, label, icon, tip in BUTTONS)
    return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<customUI xmlns="{CUSTOM_UI_NS}">\n  <ribbon>\n    <tabs>\n'
            f'      <tab id="{TAB_ID}" label={quoteattr(TAB_LABEL)}>\n'
            f'        <group id="xlsxToolGroup" label={quoteattr(GROUP_LABEL)}>\n{buttons}\n'
            f'        </group>\n      </tab>\n    </tabs>\n  </ribbon>\n</customUI>\n')


def _conf_sheet_part(parts: dict[str, bytes]) -> str:
    workbook = parts["xl/workbook.xml"].decode("utf-8")
    m = re.search(r'<sheet name="' + re.escape(CONF_SHEET) + r'"[^>]*\br:id="([^"]+)"', workbook)
    if not m:
        raise AddinError(message("addin.no_conf_sheet", sheet=CONF_SHEET))
    rels = parts["xl/_rels/workbook.xml.rels"].decode("utf-8")
    target = re.search(r'<Relationship Id="' + re.escape(m.group(1)) + r'"[^>]*Target="([^"]+)"', rels)
    if not target:
        raise AddinError(message("addin.conf_sheet_unknown"))
    return "xl/" + target.group(1).lstrip("/").removeprefix("xl/")


def _set_config(parts: dict[str, bytes], values: dict[str, str]) -> None:
    """Write values (e.g. Interpreter_Win) into the add-in's config sheet and activate it (myaddin.conf)."""
    strings = re.findall(r"<si>\s*<t[^>]*>([^<]*)</t>\s*</si>", parts["xl/sharedStrings.xml"].decode("utf-8"))
    part = _conf_sheet_part(parts)
    sheet = parts[part].decode("utf-8")
    for key, value in values.items():
        if key not in strings:
            raise AddinError(message("addin.no_conf_row", key=key))
        cell = re.search(r'<c r="A(\d+)"[^>]*t="s"[^>]*><v>' + str(strings.index(key)) + r"</v></c>", sheet)
        if not cell:
            raise AddinError(message("addin.no_conf_row", key=key))
        row = cell.group(1)
        if f'r="B{row}"' in sheet:
            raise AddinError(message("addin.conf_taken", key=key))
        sheet = (sheet[:cell.end()] + f'<c r="B{row}" t="inlineStr"><is><t>{escape(value)}</t></is></c>'
                 + sheet[cell.end():])
        sheet = re.sub(r'(<row r="' + row + r'" spans=")1:1(")', r"\g<1>1:2\g<2>", sheet)
    parts[part] = sheet.encode("utf-8")
    for name in ("xl/workbook.xml", "docProps/app.xml"):
        if name in parts:
            parts[name] = parts[name].replace(f'"{CONF_SHEET}"'.encode(), f'"{CONF_SHEET_ACTIVE}"'.encode()) \
                .replace(f">{CONF_SHEET}<".encode(), f">{CONF_SHEET_ACTIVE}<".encode())


def build_addin(out: str | Path = DEFAULT_OUT, *, callback: str = "button", template: str | Path | None = None,
                interpreter_win: str | None = None, interpreter_mac: str | None = None) -> Path:
    """Write the add-in: xlwings' ribbon add-in with our ribbon tab (and, optionally, its Python)."""
    out = Path(out)
    if callback not in CALLBACKS:
        raise AddinError(message("addin.callback", known=" / ".join(CALLBACKS)))
    if out.suffix.lower() != ".xlam":
        raise AddinError(message("addin.not_xlam", out=out))
    if callback == "shipped" and addin_module(out) not in SHIPPED_MODULES:
        raise AddinError(message("addin.file_name", known=" または ".join(m + ".xlam" for m in SHIPPED_MODULES),
                                 module=addin_module(out)))
    source = Path(template) if template else template_path()
    if not source.is_file():
        raise AddinError(message("addin.no_template", source=source))
    with zipfile.ZipFile(source) as zin:
        infos = zin.infolist()
        parts = {i.filename: zin.read(i.filename) for i in infos}
    if CUSTOM_UI not in parts or SHIPPED_CALLBACK.encode() not in parts[CUSTOM_UI] or "xl/vbaProject.bin" not in parts:
        raise AddinError(message("addin.no_callback", source=source.name, callback=SHIPPED_CALLBACK))
    parts[CUSTOM_UI] = ribbon_xml(callback).encode("utf-8")
    parts[PACKAGE_RELS] = _ribbon_relationship(parts.get(PACKAGE_RELS, b""), source.name)
    if callback == "button":
        parts["xl/vbaProject.bin"] = _with_button_callback(parts["xl/vbaProject.bin"], source.name)
    config = {k: v for k, v in (("Interpreter_Win", interpreter_win), ("Interpreter_Mac", interpreter_mac)) if v}
    if config:
        _set_config(parts, config)

    def write(tmp: Path) -> None:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zout:
            for info in infos:  # same order, names and dates as xlwings' file: reproducible output
                zout.writestr(info, parts[info.filename], compress_type=zipfile.ZIP_DEFLATED)

    return write_atomically(out, write)


def _ribbon_relationship(rels: bytes, source: str) -> bytes:
    """The package relationships with the one to the ribbon typed for CUSTOM_UI_NS (RIBBON_REL_TYPE)."""
    target = re.compile(r'\bTarget="/?' + re.escape(CUSTOM_UI) + '"')
    found = []

    def retype(m: re.Match) -> str:
        if not target.search(m.group(0)):
            return m.group(0)
        found.append(m.group(0))
        return re.sub(r'\bType="[^"]*"', f'Type="{RIBBON_REL_TYPE}"', m.group(0))

    text = re.sub(r"<Relationship\b[^>]*>", retype, rels.decode("utf-8"))
    if not found:
        raise AddinError(message("addin.no_ribbon_relationship", source=source, part=CUSTOM_UI))
    return text.encode("utf-8")


def _with_button_callback(project: bytes, source: str) -> bytes:
    module = BUTTON_CALLBACK.split(".")[0]
    try:
        return append_to_module(project, module, BUTTON_SOURCE)
    except (KeyError, ValueError, OSError, struct.error):  # not the VBA project xlwings ships
        raise AddinError(message("addin.no_callback", source=source, callback=SHIPPED_CALLBACK)) from None


def write_bas(directory: str | Path) -> Path:
    """macros/XlsxTool.bas (CRLF, ASCII: the VBA editor imports files in the system code page)."""
    path = Path(directory) / BAS_NAME
    return write_atomically(path, lambda tmp: tmp.write_bytes(BAS_TEXT.encode("ascii")))
