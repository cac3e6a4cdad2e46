"""Distribution and collection: the roster, one book per municipality (distribute), checking and
totalling a folder of returned books (discovery, batch, results, tamper) and the outputs of a collection (outputs).

May import read, workbook, scoring, catalog and util; independent of report and money.
"""
