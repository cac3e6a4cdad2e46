"""Reading returned books and tables: file checks before any parsing (file_checks), engines that read
cells (openpyxl_engine, fast_engine with rows, xlwings_engine, calamine_engine) and the result, mapping
and roster tables (tables).

May import workbook (the layout it wrote), scoring, catalog and util.
"""
