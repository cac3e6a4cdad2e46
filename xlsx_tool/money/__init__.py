"""Money: the allocation estimate (estimate), this year's amount from last year's own amount and score
(calibrate), and their printed and CSV forms (report).

May import read, workbook, scoring, catalog and util; independent of collect and report.
"""
