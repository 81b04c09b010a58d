"""Where linernotes keeps its data: the song store, the analysis cache, assembled models."""

from __future__ import annotations

import os
from pathlib import Path

DATA_DIR_ENV = "LINERNOTES_DATA_DIR"


def data_dir() -> Path:
    """The data directory: `$LINERNOTES_DATA_DIR`, else the XDG data home's `linernotes/`."""
    explicit = os.environ.get(DATA_DIR_ENV)
    if explicit:
        root = Path(explicit).expanduser()
    else:
        xdg = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
        root = Path(xdg) / "linernotes"
    root.mkdir(parents=True, exist_ok=True)
    return root
