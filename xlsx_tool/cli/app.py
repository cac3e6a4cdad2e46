"""The entry point: the `xlsx-tool` group and the registration of every command module.

Each command lives in the module of its concern (books, collect, money, catalog, addin, bench) and
imports what it shares from cli/common.py; nothing imports this module but the package's __init__.
Click's own texts (usage errors, help headings) are Japanese: cli/click_ja.py, installed by cli/__init__.py.
"""

from __future__ import annotations

import warnings

import click

from xlsx_tool.cli import addin, analyze, bench, books, catalog, collect, money
from xlsx_tool.cli.click_ja import japanese_usage
from xlsx_tool.cli.common import fail
from xlsx_tool.util.atomic import OutputError
from xlsx_tool.util.version import __version__
from xlsx_tool.workbook.x14_validations import DROPPED_WARNING


class _Main(click.Group):
    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except OutputError as err:  # any command: a file open in Excel, a read-only folder, a full disk
            fail(str(err), 1)


@click.group(cls=_Main)
@click.version_option(__version__, prog_name="xlsx-tool")
def main() -> None:
    """介護保険 インセンティブ交付金 自己評価ワークブックの作成・採点ツール"""
    warnings.filterwarnings("ignore", DROPPED_WARNING, UserWarning)  # a book saved in Excel: nothing lost


for command in (books.generate, books.score_cmd, books.report, books.demo, catalog.catalog, collect.collect_cmd,
                analyze.analyze_cmd, money.eligibility, money.estimate, addin.addin, bench.bench):
    main.add_command(command)
japanese_usage(main)
