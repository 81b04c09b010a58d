"""Safe sharing of an embedded store between processes.

An embedded Chroma is a SQLite file plus vector index files, and every process keeps its own
copy of the index in memory: a process that does not reload after another one wrote searches
a stale index (and fails on ids it has never seen); two writing at once can lose records.
So readers share a file lock, a writer holds it alone, and every write leaves a new
"generation" mark that tells the other processes to reopen before their next access.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

LOCK_NAME = "linernotes.lock"
GENERATION_NAME = "linernotes.generation"


class StoreLock:
    """Shared/exclusive lock over one store directory, re-entrant within a thread."""

    def __init__(self, store_dir: Path) -> None:
        self._lock_path = store_dir / LOCK_NAME
        self._generation_path = store_dir / GENERATION_NAME
        self._held = threading.local()

    @contextlib.contextmanager
    def hold(self, *, exclusive: bool) -> Iterator[None]:
        """Hold the lock for the block; a nested hold in the same thread reuses the outer one."""
        if getattr(self._held, "depth", 0):
            self._held.depth += 1
            try:
                yield
            finally:
                self._held.depth -= 1
            return
        # A fresh open per hold: flock then also orders threads of this process.
        with open(self._lock_path, "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            self._held.depth = 1
            try:
                yield
            finally:
                self._held.depth = 0
                fcntl.flock(handle, fcntl.LOCK_UN)

    def generation(self) -> str:
        """The mark of the last completed write ("" before the first)."""
        try:
            return self._generation_path.read_text()
        except FileNotFoundError:
            return ""

    def bump(self) -> str:
        """Leave a new mark after a write; call it while holding the lock exclusively."""
        mark = uuid.uuid4().hex
        partial = self._generation_path.with_suffix(".partial")
        partial.write_text(mark)
        os.replace(partial, self._generation_path)
        return mark
