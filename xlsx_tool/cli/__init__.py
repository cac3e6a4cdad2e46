"""Command line (xlsx-tool): one module per command group; cli/common.py holds what they share.

May import every other room; nothing outside cli imports it. The installed command is
``xlsx_tool.cli:main``.
"""

from xlsx_tool.cli import click_ja

click_ja.install()  # before any command is declared: Click translates some texts then (file, version)

from xlsx_tool.cli.app import main

__all__ = ["main"]
