"""Writing self-assessment books: the layout shared with the readers (meta), the openpyxl writer
(writer), the fast template path (template), filling answers (filler), carrying last year's answers
(carry), recalculation in LibreOffice (recalc) and the dropdowns Excel saves in its x14 extension, kept in
a copy openpyxl writes (x14_validations).

May import catalog and util; independent of scoring.
"""
