"""The output folder's manifest: which song each set of outputs came from, so a rerun skips
the songs already done for the same audio, analyser version and formats."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from linernotes.tools.schema import ANALYZER_VERSION

MANIFEST_NAME = "linernotes-manifest.json"


@dataclass(frozen=True)
class Entry:
    """One song's finished outputs."""

    source: str
    sha256: str
    analyzer_version: str
    formats: list[str]
    files: list[str]  # names inside the output folder
    narrative: bool


def load_manifest(folder: Path) -> dict[str, Entry]:
    """The entries by output name; an absent or unreadable manifest is empty (everything reruns)."""
    try:
        document = json.loads((folder / MANIFEST_NAME).read_text())
        return {name: Entry(**fields) for name, fields in document.get("songs", {}).items()}
    except (OSError, ValueError, TypeError):
        return {}


def save_manifest(folder: Path, entries: dict[str, Entry]) -> None:
    """Write atomically: a killed batch leaves the previous manifest, never a torn one."""
    folder.mkdir(parents=True, exist_ok=True)
    document = {"songs": {name: asdict(entry) for name, entry in sorted(entries.items())}}
    handle, temporary = tempfile.mkstemp(dir=folder, suffix=".tmp")
    with os.fdopen(handle, "w") as out:
        json.dump(document, out, indent=1)
    os.replace(temporary, folder / MANIFEST_NAME)


def is_done(entry: Entry | None, *, folder: Path, sha256: str, formats: list[str], narrative: bool) -> bool:
    """Whether `entry` already holds these outputs of this audio from this analyser version."""
    return (entry is not None and entry.sha256 == sha256 and entry.analyzer_version == ANALYZER_VERSION
            and set(formats) <= set(entry.formats) and (entry.narrative or not narrative)
            and all((folder / name).is_file() for name in entry.files))
