"""The jinja2 environment over templates/ (shipped as the package xlsx_tool.templates)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import jinja2


def templates_dir() -> Path:
    package = Path(__file__).resolve().parents[1]
    installed = package / "templates"  # where `pip install .` puts top-level templates/
    return installed if installed.is_dir() else package.parent / "templates"  # source checkout


@cache
def environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates_dir()),
        autoescape=jinja2.select_autoescape(["html", "html.j2"], default_for_string=True),
        keep_trailing_newline=False,
        undefined=jinja2.StrictUndefined,
    )


def render(name: str, **context) -> str:
    return environment().get_template(name).render(**context)
