"""The result of inspecting one returned file: its status (accepted, accepted with a note, rejected),
the reasons in Japanese, and what was read from an accepted book. Shared by the collector's modules."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from xlsx_tool.util.names import readable, shown_path

ACCEPTED, WARNING, REJECTED = "accepted", "warning", "rejected"
STATUS_LABELS = {ACCEPTED: "受理", WARNING: "受理（注意あり）", REJECTED: "不受理"}


@dataclass
class FileResult:
    file: str
    status: str
    reasons: list[str] = field(default_factory=list)
    code: str = ""
    name: str = ""
    year: str = ""
    total: float | None = None
    groups: dict[str, float] = field(default_factory=dict)  # "P1.process" -> points, grants, goals
    answers: dict[str, object] = field(default_factory=dict)
    answered: int = 0
    reader: str = field(default="", compare=False)  # "fast" or "openpyxl": which reader decided
    fallback: str = field(default="", compare=False)  # why the fast reader handed the file to openpyxl

    @property
    def reason(self) -> str:
        return "／".join(self.reasons)

    def to_json(self) -> dict:
        return {"file": shown_path(self.file), "status": self.status, "reason": readable(self.reason),
                "code": self.code or None, "total": self.total}


def rejected(path: Path, reason: str, **kw) -> FileResult:
    return FileResult(str(path), REJECTED, [reason], **kw)
