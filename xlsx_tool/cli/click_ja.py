"""Click's own texts in Japanese: usage errors ("Usage:", "Error:", a missing argument, a bad value, an
unknown option, a file that does not exist), help headings and the version line.

Click marks each of its texts for translation (``from gettext import gettext as _`` and ``ngettext`` in
its modules) but reads the catalogue of the process's locale. install() points those names at this
table instead, whatever the locale: the command line speaks Japanese like every other message of the
tool. A text Click adds later and this table lacks stays as Click wrote it. Usage errors keep Click's
exit code 2 and print no traceback.
"""

from __future__ import annotations

import importlib

_WORDS = {"integer": "整数", "integer range": "整数", "float": "数値", "float range": "数値", "boolean": "真偽値", "text": "文字列"}


class _Words(str):
    """A translation whose fields may be Click's English type names ({number_type}: integer, float)."""

    def format(self, *args, **fields) -> str:
        return super().format(*args, **{k: _WORDS.get(v, v) if isinstance(v, str) else v for k, v in fields.items()})


JA = {
    "Usage:": "使い方:",
    "Error: {message}": "エラー: {message}",
    "Try '{command} {option}' for help.": "説明は「{command} {option}」で表示できます。",
    "Invalid value for {param_hint}: {message}": "{param_hint} の値が正しくありません: {message}",
    "Invalid value: {message}": "値が正しくありません: {message}",
    "Missing argument": "引数が指定されていません:",
    "Missing option": "オプションが指定されていません:",
    "Missing parameter": "指定が足りません:",
    "Missing parameter: {param_name}": "指定が足りません: {param_name}",
    "Missing command.": "コマンドを指定してください。",
    "No such option {name!r}.": "オプション {name} はありません。",
    "No such command {name!r}.": "コマンド「{name}」はありません。",
    "Did you mean {possibility}?": "{possibility} のことですか？",
    "(Did you mean one of: {possibilities}?)": "（{possibilities} のいずれかのことですか？）",
    "Got unexpected extra argument ({args})": "余分な引数があります（{args}）",
    "Got unexpected extra arguments ({args})": "余分な引数があります（{args}）",
    "Option {name!r} requires an argument.": "オプション {name} には値が必要です。",
    "Option {name!r} requires {nargs} arguments.": "オプション {name} には値が {nargs} 個必要です。",
    "Option {name!r} does not take a value.": "オプション {name} は値を取りません。",
    "Argument {name!r} takes {nargs} values.": "引数 {name} には値が {nargs} 個必要です。",
    "{value!r} is not a valid {number_type}.": _Words("「{value}」は{number_type}ではありません。"),
    "{value!r} is not a valid boolean. Recognized values: {states}":
        "「{value}」は真偽値ではありません（使える値: {states}）。",
    "{value} is not in the range {range}.": "{value} は範囲（{range}）の外です。",
    "{value!r} is not {choice}.": "「{value}」は指定できません（{choice} のみ）。",
    "{value!r} is not one of {choices}.": "「{value}」は指定できません（{choices} のいずれか）。",
    "file": "ファイル",
    "directory": "フォルダ",
    "path": "パス",
    "{name} {filename!r} does not exist.": "{name}「{filename}」が見つかりません。",
    "{name} {filename!r} is a file.": "{name}「{filename}」はファイルです（フォルダを指定してください）。",
    "{name} {filename!r} is a directory.": "{name}「{filename}」はフォルダです（ファイルを指定してください）。",
    "{name} {filename!r} is not readable.": "{name}「{filename}」を読めません（アクセス権を確かめてください）。",
    "{name} {filename!r} is not writable.": "{name}「{filename}」に書き込めません（アクセス権を確かめてください）。",
    "{name} {filename!r} is not executable.": "{name}「{filename}」は実行できません。",
    "Could not open file {filename!r}: {message}": "ファイル「{filename}」を開けません: {message}",
    "unknown error": "不明なエラー",
    "Aborted!": "中止しました。",
    "Options": "オプション",
    "Commands": "コマンド",
    "Positional arguments": "引数",
    "Show this message and exit.": "この説明を表示して終了します。",
    "Show the version and exit.": "バージョンを表示して終了します。",
    "%(prog)s, version %(version)s": "%(prog)s バージョン %(version)s",
    "default: {default}": "既定: {default}",
    "env var: {var}": "環境変数: {var}",
}
OPTIONS_METAVAR = "[オプション]"
SUBCOMMAND_METAVAR = "コマンド [引数]..."
CLICK_MODULES = ("core", "exceptions", "types", "parser", "decorators", "formatting", "termui")


def gettext(text: str) -> str:
    return JA.get(text, text)


def ngettext(singular: str, plural: str, n: int) -> str:
    return gettext(singular if n == 1 else plural)


def install() -> None:
    """Point the gettext names of Click's modules at this table."""
    for name in CLICK_MODULES:
        module = importlib.import_module(f"click.{name}")
        if hasattr(module, "_"):
            module._ = gettext
        if hasattr(module, "ngettext"):
            module.ngettext = ngettext


def japanese_usage(command) -> None:
    """[OPTIONS] and COMMAND [ARGS]... in the usage line of `command` and of its subcommands."""
    command.options_metavar = OPTIONS_METAVAR
    if hasattr(command, "commands"):
        command.subcommand_metavar = SUBCOMMAND_METAVAR
        for sub in command.commands.values():
            japanese_usage(sub)
