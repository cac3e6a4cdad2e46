"""The gap report of one book: built from the book and comparison data (builder), rendered as HTML and
Markdown (html) and as a sheet beside the input (sheet).

May import read, workbook, scoring, catalog and util; independent of collect and money.
"""
