"""xlsx_tool: self-assessment workbooks for the long-term-care incentive grants."""

__version__ = "0.1.0"
