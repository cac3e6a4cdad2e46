"""Money: the allocation estimate (estimate) and its printed and CSV forms (report).

May import read, workbook, scoring, catalog and util; independent of collect and report.
"""
