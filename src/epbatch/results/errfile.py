"""Parse ``eplusout.err``: message counts, the fatal/severe texts, and whether it completed."""

import re
from dataclasses import dataclass, field
from pathlib import Path

_MESSAGE = re.compile(r"^\s*\*\*\s*(Warning|Severe|Fatal)\s*\*\*\s?(.*)$")
_CONTINUED = re.compile(r"^\s*\*\*\s*~~~\s*\*\*\s?(.*)$")
_SUMMARY = re.compile(
    r"EnergyPlus (Completed Successfully|Terminated--Fatal Error Detected)"
    r"-- (\d+) Warning; (\d+) Severe Errors"
)
MAX_MESSAGES = 20


@dataclass
class ErrSummary:
    warnings: int = 0
    severe: int = 0
    fatal: int = 0
    completed: bool = False
    messages: list[str] = field(default_factory=list)  # fatal and severe, with continuations


def parse_err_text(text: str) -> ErrSummary:
    summary = ErrSummary()
    current: list[str] | None = None
    for line in text.splitlines():
        if match := _MESSAGE.match(line):
            kind, message = match.groups()
            current = None
            if kind == "Warning":
                summary.warnings += 1
                continue
            if kind == "Severe":
                summary.severe += 1
            else:
                summary.fatal += 1
            if len(summary.messages) < MAX_MESSAGES:
                current = [f"{kind}: {message.strip()}"]
                summary.messages.append("")
        elif (match := _CONTINUED.match(line)) and current is not None:
            current.append(match.group(1).strip())
        else:
            current = None
        if current is not None:
            summary.messages[-1] = " ".join(current)
        if match := _SUMMARY.search(line):
            summary.completed = match.group(1) == "Completed Successfully"
            summary.warnings, summary.severe = int(match.group(2)), int(match.group(3))
    return summary


def parse_err_file(path: Path) -> ErrSummary | None:
    """``None`` when the engine wrote no error file at all."""
    if not path.is_file():
        return None
    return parse_err_text(path.read_text(encoding="utf-8", errors="replace"))
