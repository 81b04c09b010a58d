"""Analyses cached by audio content hash and analyser version: a second describe is instant."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from pydantic import ValidationError

from linernotes.tools.settings import data_dir
from linernotes.tools.schema import ANALYZER_VERSION, SongAnalysis


def cache_path(sha256: str, tag: str) -> Path:
    return data_dir() / "cache" / f"{sha256}-{ANALYZER_VERSION}-{tag}.json"


def load(sha256: str, tag: str) -> SongAnalysis | None:
    """The cached analysis, or None when absent or unreadable (a stale or torn file is ignored)."""
    path = cache_path(sha256, tag)
    try:
        return SongAnalysis.model_validate_json(path.read_text())
    except (OSError, ValidationError, ValueError):
        return None


def save(analysis: SongAnalysis, tag: str) -> Path:
    """Write atomically, so a killed process never leaves a half-written entry."""
    path = cache_path(analysis.source.sha256, tag)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(handle, "w") as out:
        out.write(analysis.model_dump_json(by_alias=True))
    os.replace(temporary, path)
    return path
