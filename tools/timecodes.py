"""Timestamps as the narrative writes them: `m:ss`."""

from __future__ import annotations

import re

# "1:05", and the ends of a range such as "0:32–1:04".
TIMESTAMP_PATTERN = re.compile(r"(?<![\d:])(\d{1,3}):([0-5]\d)(?![\d:])")


def format_time(seconds: float) -> str:
    """Seconds as `m:ss`, rounded down so a timestamp never points past the moment."""
    whole = max(int(seconds), 0)
    return f"{whole // 60}:{whole % 60:02d}"


def parse_time(text: str) -> float:
    """`m:ss` back to seconds."""
    match = TIMESTAMP_PATTERN.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"not an m:ss timestamp: {text!r}")
    return int(match.group(1)) * 60 + int(match.group(2))
