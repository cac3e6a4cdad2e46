"""Reading returned books and tables: file checks before any parsing (file_checks, and checked_zip: the
same checks on a book read once into memory, for the fast reader), the reader core that
turns cells into identification and answers with one set of checks and messages (core), engines that read
cells (openpyxl_engine, fast_engine with rows, xlwings_engine, calamine_engine) and the result, mapping
and roster tables (tables).

May import workbook (the layout it wrote), scoring, catalog and util.
"""
