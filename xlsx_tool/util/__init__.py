"""Helpers with no knowledge of the grants: atomic writes (of one file or a set), bounded caches, the
house style of our sheets, putting values into cells safely, tables written fast as xlsx sheets and CSV
(sheets), file names and text any output can hold (names), YAML read with the C parser (yamlio), the
jinja2 environment, the version, and the one message catalogue with its error type (problems).

May import only the standard library and third-party packages; every room may import it.
"""
