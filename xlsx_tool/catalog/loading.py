"""Loading catalogs: YAML files and the shipped ones, validated by the model and the checks, with every
problem reported as one Japanese line (where, what, how to fix)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import yaml
from pydantic import ValidationError

from xlsx_tool.catalog.checks import structural_problems
from xlsx_tool.catalog.model import Catalog
from xlsx_tool.util.problems import CATALOGUE, located, message
from xlsx_tool.util.yamlio import safe_load


class CatalogError(Exception):
    """A data file that cannot be used; ``problems`` holds one line per problem. Subclasses name
    the kind of file (名簿, 比較データ …) in the message header."""

    what, what_en = "カタログ", "catalog"

    def __init__(self, source: str, problems: list[str]):
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{self.what} {source} に誤りがあります ({len(problems)} 件) / invalid {self.what_en}:\n{lines}")


class NoShippedCatalog(CatalogError):
    """No catalog ships for that year and kind: nothing is wrong with a file, there is none."""

    def __init__(self, name: str, problem: str):
        self.source, self.problems = name, [problem]
        Exception.__init__(self, f"{name}: {problem}")


# -- loading --------------------------------------------------------------------------

def _loc(parts) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts).lstrip(".") or "(top)"


def pydantic_problems(err: ValidationError) -> list[str]:
    """One line per schema error: where, what is wrong (catalogue code schema.<type>), pydantic's text, the fix."""
    out = []
    for e in err.errors():
        code = f"schema.{e['type']}"
        template = CATALOGUE[code if code in CATALOGUE else "schema.other"]
        out.append(f"{_loc(e['loc'])}: {template.text} / {e['msg']} → {template.fix}")
    return out


def parse_catalog(data: object, source: str) -> Catalog:
    if not isinstance(data, dict):
        raise CatalogError(source, [located("catalog.top_level", "(top)")])
    try:
        catalog = Catalog.model_validate(data)
    except ValidationError as err:
        raise CatalogError(source, pydantic_problems(err)) from None
    problems = structural_problems(catalog)
    if problems:
        raise CatalogError(source, problems)
    return catalog


def load_catalog_file(path: str | Path) -> Catalog:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CatalogError(str(path), [message("catalog.unreadable", detail=exc)]) from None
    try:
        data = safe_load(text)
    except yaml.YAMLError as exc:
        raise CatalogError(str(path), [message("catalog.yaml", detail=exc)]) from None
    return parse_catalog(data, str(path))


def shipped_catalog_names() -> list[str]:
    root = resources.files("xlsx_tool.catalogs")
    return sorted(p.name[:-5] for p in root.iterdir() if p.name.endswith(".yaml"))


def catalog_id_for(year: str, kind: str) -> str:
    return f"{year.upper()}-{kind}"


def load_shipped_catalog(year: str, kind: str) -> Catalog:
    name = catalog_id_for(year, kind)
    if name not in shipped_catalog_names():
        raise NoShippedCatalog(name, message("catalog.not_shipped", names=", ".join(shipped_catalog_names())))
    with resources.as_file(resources.files("xlsx_tool.catalogs") / f"{name}.yaml") as p:
        return load_catalog_file(p)
