"""xlsx_tool: self-assessment workbooks for the long-term-care incentive grants."""

__version__ = "0.1.0"


def main(*args, **kwargs):
    """Entry point of the Excel add-in (xlsx_tool.xlam calls xlsx_tool.main()): see xlsx_tool.bridge.main."""
    from .bridge import main as bridge_main

    return bridge_main(*args, **kwargs)
