"""xlsx_tool: self-assessment workbooks for the long-term-care incentive grants.

The rooms, bottom to top (each may import only the rooms below it; lint-imports checks the
contracts in pyproject.toml):
util → catalog → workbook | scoring → read → collect | report | money | analysis → bridge → cli.
"""

from xlsx_tool.util.version import __version__

__all__ = ["__version__", "main"]


def main(*args, **kwargs):
    """Entry point of the Excel add-in (xlsx_tool.xlam calls xlsx_tool.main()): see xlsx_tool.bridge.main."""
    from xlsx_tool.bridge import main as bridge_main

    return bridge_main(*args, **kwargs)
