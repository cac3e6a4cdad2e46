"""Where the shared reference material lives: ../shared beside the project (DEVELOPERS.md), or the
folder XLSX_TOOL_SHARED names when the checkout is elsewhere. Tests read it; nothing is copied."""

import os
from pathlib import Path

SHARED = Path(os.environ.get("XLSX_TOOL_SHARED") or Path(__file__).resolve().parent.parent.parent / "shared")
TALLY = SHARED / "data" / "mhlw_tally_R6-R8_municipal.csv"
SEEDS = SHARED / "seeds"


def shared_file(path: Path) -> Path:
    if not path.exists():
        import pytest

        pytest.fail(f"shared reference file missing: {path} (../shared beside the project, "
                    "or set XLSX_TOOL_SHARED to the shared folder)")
    return path
