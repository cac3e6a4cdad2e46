"""xlwings Server and xlwings Lite: the bridge as xlwings scripts, and a minimal server for them.

The scripts receive the workbook from the client (Office.js add-in, Excel on the web via Office
Scripts, VBA's RunRemotePython, or xlwings Lite) as an ``xw.Book`` on the remote engine; the bridge
reads the answers from it and answers with actions that write the report sheets. Importing this
module needs XLWINGS_LICENSE_KEY (``noncommercial`` for non-commercial use; see README).

- xlwings Server: put ``from xlsx_tool.bridge.scripts import *`` into the server's custom_scripts
  module, or run the minimal server below.
- xlwings Lite: the same import in main.py (the package and its dependencies are pure Python).
- Minimal server (standard library only, for a trusted network)::

      XLWINGS_LICENSE_KEY=noncommercial python -m xlsx_tool.bridge.scripts --host 127.0.0.1 --port 8000

  ``POST /xlwings/custom-scripts-call/<script>`` with the client's book JSON answers with the actions;
  ``GET /xlwings/custom-scripts-meta`` lists the scripts. Under any WSGI server: ``make_wsgi_app()``.

前年度回答の取込 reads last year's book on the server: only a file name inside the folder named by
XLSX_TOOL_PREVIOUS_DIR is accepted (nothing is read when it is not set).
"""

import argparse
import asyncio
import copy
import json
import logging
import os
import re
import sys
from pathlib import Path

import xlwings as xw

from xlsx_tool import bridge

try:
    from xlwings.server import custom_scripts_call, custom_scripts_meta, script
except xw.LicenseError as err:  # xlwings.server is part of xlwings PRO (PolyForm Noncommercial)
    if __name__ == "__main__":  # python -m xlsx_tool.bridge.scripts: the message alone, exit code 1
        sys.exit(bridge.LICENSE_HELP)
    raise bridge.EngineUnavailable(bridge.LICENSE_HELP) from err

PREVIOUS_DIR_ENV = "XLSX_TOOL_PREVIOUS_DIR"
ORIGINS_ENV = "XLSX_TOOL_ALLOWED_ORIGINS"  # regular expression of origins allowed by CORS
DEFAULT_ORIGINS = r"https://[a-z0-9.-]+\.officescripts\.microsoftusercontent\.com"
MAX_BODY = 64 * 1024 * 1024  # a book's JSON; larger requests are refused


@script(name="採点")
def score(book: xw.Book):
    """採点: writes 採点結果."""
    bridge.score_book(book)


@script(name="ギャップ報告")
def gap_report(book: xw.Book):
    """ギャップ報告: writes ギャップ報告 (compared with the shipped national and prefecture results)."""
    bridge.gap_report(book)


@script(name="前年度回答の取込")
def import_previous(book: xw.Book, filename: str = ""):
    """前年度回答の取込: shows last year's answers (a book in XLSX_TOOL_PREVIOUS_DIR) on 前年度回答."""
    path, problem = previous_path(filename)
    if problem:
        bridge.refuse(book, "import_previous", problem)
    else:
        bridge.import_previous(book, path)


def previous_path(filename: str) -> tuple[Path | None, str]:
    """The file `filename` inside XLSX_TOOL_PREVIOUS_DIR, or a Japanese reason why not."""
    folder = os.environ.get(PREVIOUS_DIR_ENV)
    if not folder:
        return None, (f"サーバーで前年度のブックを置くフォルダーが設定されていません（環境変数 {PREVIOUS_DIR_ENV}）。"
                      "管理者に連絡してください。")
    if not filename or Path(filename).name != filename or filename in (".", ".."):
        return None, "前年度のブックのファイル名（フォルダーを含まない名前）を指定してください。"
    base = Path(folder).resolve()
    path = (base / filename).resolve()
    if path.parent != base:
        return None, "前年度のブックのファイル名（フォルダーを含まない名前）を指定してください。"
    return path, ""


def script_names(module=None) -> list[str]:
    module = module or sys.modules[__name__]
    return [entry["function_name"] for entry in custom_scripts_meta(module)]


async def call_script(data: dict, name: str, module=None) -> dict:
    """Run script `name` on the book JSON `data` (as the xlwings Server does) and return the actions JSON."""
    module = module or sys.modules[__name__]
    if name not in script_names(module):
        raise KeyError(name)
    bridge.ensure_engine("remote")
    book = xw.Book(json=copy.deepcopy(data))  # the remote engine keeps (and changes) the dict it is given
    book = await custom_scripts_call(module, name, None, typehint_to_value={xw.Book: book},
                                     args=list(data.get("args") or []))
    return book.json()


def make_wsgi_app(module=None, max_body: int = MAX_BODY):
    """A WSGI application serving the scripts of `module` (default: this one)."""
    module = module or sys.modules[__name__]
    origins = re.compile(os.environ.get(ORIGINS_ENV, DEFAULT_ORIGINS))

    def app(environ, start_response):
        method, path = environ.get("REQUEST_METHOD", "GET"), environ.get("PATH_INFO", "")
        origin = environ.get("HTTP_ORIGIN", "")
        cors = [("Access-Control-Allow-Origin", origin), ("Vary", "Origin"),
                ("Access-Control-Allow-Methods", "GET, POST"),
                ("Access-Control-Allow-Headers", "Content-Type, Authorization")] \
            if origin and origins.fullmatch(origin) else []

        def reply(status: str, body: object, content_type="application/json; charset=utf-8"):
            data = body if isinstance(body, bytes) else (
                json.dumps(body, ensure_ascii=False, default=str) if content_type.startswith("application/json")
                else str(body)).encode("utf-8")
            start_response(status, [("Content-Type", content_type), ("Content-Length", str(len(data))), *cors])
            return [data]

        if method == "OPTIONS":
            return reply("204 No Content", b"", "text/plain")
        if method == "GET" and path == "/xlwings/custom-scripts-meta":
            return reply("200 OK", custom_scripts_meta(module))
        m = re.fullmatch(r"/xlwings/custom-scripts-call/([A-Za-z_][A-Za-z0-9_]*)", path)
        if method != "POST" or not m or m.group(1) not in script_names(module):
            return reply("404 Not Found", "not found", "text/plain; charset=utf-8")
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = -1
        if not 0 < length <= max_body:
            return reply("413 Payload Too Large" if length > max_body else "400 Bad Request",
                         "request body missing or too large", "text/plain; charset=utf-8")
        try:
            data = json.loads(environ["wsgi.input"].read(length))
            if not isinstance(data, dict):
                raise ValueError("the body is not a JSON object")
            return reply("200 OK", asyncio.run(call_script(data, m.group(1), module)))
        except Exception:  # details stay in the server log: the text reaches any client
            logging.getLogger(__name__).exception("script %s failed", m.group(1))
            return reply("500 Internal Server Error", "処理中にエラーが発生しました（詳細はサーバーのログ）",
                         "text/plain; charset=utf-8")

    return app


def serve(host: str = "127.0.0.1", port: int = 8000) -> None:  # pragma: no cover - blocking
    from wsgiref.simple_server import make_server

    with make_server(host, port, make_wsgi_app()) as server:
        print(f"xlsx_tool xlwings scripts: http://{host}:{port}/xlwings/custom-scripts-call/<script> "
              f"({', '.join(script_names())})")
        server.serve_forever()


def _main(argv=None) -> None:  # pragma: no cover - blocking
    parser = argparse.ArgumentParser(description="xlwings Server scripts of xlsx_tool (minimal WSGI server)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    serve(args.host, args.port)


__all__ = ["score", "gap_report", "import_previous"]

if __name__ == "__main__":  # pragma: no cover
    _main()
