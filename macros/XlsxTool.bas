Attribute VB_Name = "XlsxTool"
' xlsx_tool: buttons and ribbon callback for the incentive-grant self-assessment workbook.
' Needs the xlwings VBA module in the same project (the xlwings add-in, xlwings.bas, or the
' add-in built by 'xlsx-tool addin build'). RunPython starts Python and calls
' xlsx_tool.bridge.main(action); the results go to report sheets after the summary sheet,
' input sheets are only read.
' Actions: score, gap, import_previous (the add-in's button tags).
Option Explicit

' Ribbon callback for 'xlsx-tool addin build --callback module': the button's tag is the action.
Public Sub RibbonAction(control As IRibbonControl)
    RunPython "import xlsx_tool.bridge;xlsx_tool.bridge.main('" & control.Tag & "')"
End Sub

' Macros to assign to buttons on a sheet or to run from the Macros dialog (Alt+F8).
Public Sub XlsxToolScore()
    RunPython "import xlsx_tool.bridge;xlsx_tool.bridge.main('score')"
End Sub

Public Sub XlsxToolGapReport()
    RunPython "import xlsx_tool.bridge;xlsx_tool.bridge.main('gap')"
End Sub

Public Sub XlsxToolImportPrevious()
    RunPython "import xlsx_tool.bridge;xlsx_tool.bridge.main('import_previous')"
End Sub
