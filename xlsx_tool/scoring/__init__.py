"""Scoring and the gap analysis: pure functions over a catalog and answers (scorer, gap).

May import catalog and util; independent of workbook.
"""
