"""Command line: xlsx-tool addin build (the desktop Excel add-in; registered on the main group)."""

from __future__ import annotations

from pathlib import Path

import click

from xlsx_tool.bridge.actions import ACTION_LABELS
from xlsx_tool.bridge.addin import (
    BAS_NAME,
    CALLBACKS,
    DEFAULT_OUT,
    TAB_LABEL,
    AddinError,
    addin_module,
    build_addin,
    write_bas,
)
from xlsx_tool.cli.common import console, fail


@click.group()
def addin() -> None:
    """Excel アドイン（xlwings）: リボン「交付金自己評価」から採点・ギャップ報告・前年度回答の取込"""


@addin.command("build")
@click.option("--out", "out_path", type=click.Path(dir_okay=False), default=str(DEFAULT_OUT), show_default=True,
              help="出力する .xlam（--callback shipped ではファイル名が呼び出す Python モジュールになります: "
                   "xlsx_tool.xlam → xlsx_tool.main()）")
@click.option("--callback", type=click.Choice(list(CALLBACKS)), default="button", show_default=True,
              help="button: ボタンごとにその処理を実行（アドインの VBA に RunAction を追加）／ shipped: xlwings "
                   "同梱の RunMain のまま（どのボタンでも処理を番号で選択）／ module: XlsxTool.bas の RibbonAction"
                   "（アドインに XlsxTool.bas を取り込んで保存する必要があります）")
@click.option("--interpreter-win", help="Windows で使う python.exe のパス（アドインの設定シートに書き込みます）")
@click.option("--interpreter-mac", help="macOS で使う python のパス（同上）")
@click.option("--template", type=click.Path(exists=True, dir_okay=False),
              help="xlwings の quickstart_addin_ribbon.xlam（既定: インストール済みの xlwings のもの）")
def addin_build(out_path, callback, interpreter_win, interpreter_mac, template) -> None:
    """xlwings のアドインから、リボン「交付金自己評価」付きのアドイン (.xlam) を作成します。"""
    try:
        path = build_addin(out_path, callback=callback, template=template, interpreter_win=interpreter_win,
                           interpreter_mac=interpreter_mac)
    except AddinError as err:
        fail(str(err))
    bas = write_bas(Path(out_path).parent)
    console.print(f"作成しました: {path}（リボン「{TAB_LABEL}」、ボタンの呼び出し先 {CALLBACKS[callback]}）")
    if callback == "button":
        console.print("ボタンごとにその処理（" + "・".join(ACTION_LABELS.values()) + "）を実行します。")
    elif callback == "shipped":
        console.print(f"ボタンは {addin_module(path)}.main() を呼びます。どのボタンでも、実行する処理を番号で選びます。")
    else:
        console.print(f"Excel の VBA エディターで {bas}（{BAS_NAME}）をこのアドインに取り込み、保存してください。")
    console.print(f"VBA モジュール: {bas}")
