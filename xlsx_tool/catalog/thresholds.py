"""Yearly thresholds files: turn activity/outcome indicators into figures scored by thresholds.

With a file, staff type the figure (e.g. participants per 1,000 elderly) instead of choosing the level
reached; the file's cut-offs give the points in place of the indicator's ladder of levels.

MHLW publishes the real cut-offs each year and they are not in our sources, so the shipped file
is an example, labelled as such everywhere it shows; users load the real ones with --thresholds.
"""

from __future__ import annotations

import hashlib
from importlib import resources
from pathlib import Path
from typing import Literal

import yaml
from pydantic import Field, ValidationError

from xlsx_tool.catalog.loading import CatalogError, parse_catalog, pydantic_problems
from xlsx_tool.catalog.model import Catalog, Strict, ThresholdsRule
from xlsx_tool.util.problems import located, message
from xlsx_tool.util.yamlio import safe_load

EXAMPLE = "example"


class ThresholdsError(CatalogError):
    what, what_en = "採点基準ファイル", "thresholds file"


class ThresholdsFile(Strict):
    catalog: str  # the catalog id it applies to, e.g. R8-municipality
    status: Literal["example", "official"]
    note: str = ""
    sources: list[str] = Field(default_factory=list)
    indicators: dict[str, ThresholdsRule]


def _parse(text: str, source: str) -> ThresholdsFile:
    try:
        return ThresholdsFile.model_validate(safe_load(text))
    except yaml.YAMLError as exc:
        raise ThresholdsError(source, [message("thresholds.yaml", detail=exc)]) from None
    except ValidationError as err:
        raise ThresholdsError(source, pydantic_problems(err)) from None


def shipped_example(catalog_id: str) -> tuple[ThresholdsFile, str]:
    name = f"{catalog_id}.example.yaml"
    entry = resources.files("xlsx_tool.thresholds_data") / name
    if not entry.is_file():
        raise ThresholdsError(name, [message("thresholds.no_example", catalog=catalog_id)])
    return _parse(entry.read_text(encoding="utf-8"), name), f"{EXAMPLE}:{name}"


def load_thresholds(path: str | Path) -> tuple[ThresholdsFile, str]:
    """The file and the tag a workbook records to find it again (example name or content hash)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
        text = raw.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ThresholdsError(str(path), [message("thresholds.unreadable", detail=exc)]) from None
    return _parse(text, str(path)), f"file:{hashlib.sha256(raw).hexdigest()[:16]}"


def thresholds_file(name_or_path: str | Path, catalog_id: str) -> tuple[ThresholdsFile, str]:
    """The file a user names: `example` (the shipped example of that catalog) or a path."""
    return shipped_example(catalog_id) if str(name_or_path) == EXAMPLE else load_thresholds(name_or_path)


def apply_thresholds(catalog: Catalog, tf: ThresholdsFile, tag: str) -> Catalog:
    """The catalog with the file's rules on its indicators (re-validated as a whole)."""
    if tf.catalog != catalog.id:
        raise ThresholdsError(tag, [message("thresholds.other_catalog", file_catalog=tf.catalog, catalog=catalog.id)])
    data = catalog.model_dump(mode="json", exclude_none=True)
    label = "例示（国の実際の基準ではありません）" if tf.status == EXAMPLE else "採点基準ファイル"
    found = set()
    for grant in data["grants"]:
        for goal in grant["goals"]:
            for group in goal["groups"]:
                for ind in group["indicators"]:
                    if ind["id"] in tf.indicators:
                        found.add(ind["id"])
                        ind["rule"] = tf.indicators[ind["id"]].model_dump(mode="json", exclude_none=True)
                        ind["subitems"] = []  # the figure and its cut-offs replace the ladder of levels
                        prov = ind["provenance"]
                        prov["note"] = f"{prov.get('note', '')} 採点基準: {label}（{tag}）。{tf.note}".strip()
    missing = sorted(set(tf.indicators) - found)
    if missing:
        raise ThresholdsError(tag, [located("thresholds.unknown_indicator", f"indicators.{m}", catalog=catalog.id)
                                     for m in missing])
    data["title"] = f"{catalog.title}（活動指標の採点基準: {label}）"
    return parse_catalog(data, tag)
