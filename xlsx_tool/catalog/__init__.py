"""The catalog: what is asked and how it scores, as data. The model (model), loading and its checks
(loading, checks), the rules with their Python and Excel halves (rules), the answers a catalog accepts
and the one decoder of answer values with its messages (answers), 交付要件 (eligibility), thresholds
files, published points tables and reference figures, the entity, the Excel round trip of a catalog
(excel_layout, excel_export, excel_cells, excel_import) and the year-to-year diff (diff). The YAML data lives in xlsx_tool/catalogs/.

May import util only.
"""
