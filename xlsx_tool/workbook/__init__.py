"""Writing self-assessment books: the layout shared with the readers (meta), the openpyxl writer
(writer), the fast template path (template), filling answers (filler), carrying last year's answers
(carry) and recalculation in LibreOffice (recalc).

May import catalog and util; independent of scoring.
"""
