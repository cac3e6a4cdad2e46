"""Command line: xlsx-tool catalog export | import | diff (registered on the `catalog` group)."""

from __future__ import annotations
