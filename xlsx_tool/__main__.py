from xlsx_tool.cli.app import main

main()
