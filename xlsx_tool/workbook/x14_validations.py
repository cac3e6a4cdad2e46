"""List validations that Excel 2010+ saves in the x14 extension, kept when openpyxl copies a book.

Excel writes a validation whose formula points at another sheet (our dropdowns: '_lists'!$A$1:$A$2) not in
<dataValidations> but at the end of the sheet, in
<extLst><ext uri="{CCE6A557-97BC-4b89-ADB6-D9C93CAAB3DF}"><x14:dataValidations><x14:dataValidation …>
<x14:formula1><xm:f>…</xm:f></x14:formula1><xm:sqref>D7 D8</xm:sqref></x14:dataValidation>… (MS-XLSX
2.6.2). openpyxl 3.1 drops extLst when it reads a sheet, so a book saved in Excel loses every dropdown in a
copy openpyxl writes (the report copy).

Chosen: each x14 validation becomes a plain <dataValidation> with the same attributes, the sheet-qualified
formula1/formula2 and sqref, through openpyxl's own DataValidation. This is the form our generator writes
for the same dropdowns, which Excel 2010 and later reads (and moves into x14 again when it saves); carrying
the raw ext over instead would need a second extension of openpyxl's worksheet writer (extLst must be the
sheet's last element, with its namespaces), for nothing Excel shows differently.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from xml.etree.ElementTree import Element, SubElement

from defusedxml.ElementTree import fromstring
from openpyxl import load_workbook
from openpyxl.reader.excel import ExcelReader
from openpyxl.worksheet.datavalidation import DataValidation

X14_VALIDATIONS_URI = "{CCE6A557-97BC-4b89-ADB6-D9C93CAAB3DF}"
X14 = "{http://schemas.microsoft.com/office/spreadsheetml/2009/9/main}"
XM = "{http://schemas.microsoft.com/office/excel/2006/main}"
MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
# openpyxl's English UserWarning on each such sheet it reads: the readers need no validation, the copy keeps them
DROPPED_WARNING = "Data Validation extension is not supported"


def x14_validations(xml: bytes) -> list[DataValidation]:
    """The validations one sheet's XML holds in the x14 extension, as plain DataValidation objects."""
    if X14_VALIDATIONS_URI.encode().lower() not in xml.lower():
        return []
    found = []
    for ext in fromstring(xml).iter(f"{MAIN}ext"):
        if ext.get("uri", "").upper() != X14_VALIDATIONS_URI.upper():
            continue
        for x14 in ext.iter(f"{X14}dataValidation"):
            plain = Element("dataValidation", dict(x14.attrib), sqref=x14.findtext(f"{XM}sqref", ""))
            for name in ("formula1", "formula2"):
                formula = x14.findtext(f"{X14}{name}/{XM}f")
                if formula is not None:
                    SubElement(plain, name).text = formula
            found.append(DataValidation.from_tree(plain))
    return found


def load_keeping_validations(source: str | Path):
    """openpyxl's load_workbook(source), with the validations of the x14 extension kept (and without
    openpyxl's English warning that it drops them)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", DROPPED_WARNING, UserWarning)
        wb = load_workbook(source)
    keep_x14_validations(wb, source)
    return wb


def keep_x14_validations(wb, source: str | Path) -> None:
    """Add to each worksheet of `wb` (openpyxl's copy of `source`) the x14 validations the source's sheet
    of the same name holds."""
    reader = ExcelReader(source, read_only=True)
    try:
        reader.read_manifest()
        reader.read_workbook()
        for sheet, rel in reader.parser.find_sheets():
            if sheet.name not in wb.sheetnames or not hasattr(wb[sheet.name], "add_data_validation"):
                continue
            for dv in x14_validations(reader.archive.read(rel.target)):
                wb[sheet.name].add_data_validation(dv)
    finally:
        reader.archive.close()
