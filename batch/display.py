"""The batch's live display on stderr: the overall bar with its ETA, and each running song
with its current stage. Silent when stderr is not a terminal or the run is quiet."""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn, TimeRemainingColumn,
)


class BatchDisplay:
    """Call `song_stage` as songs progress and `song_finished` as each ends."""

    def __init__(self, *, console: Console, total: int, enabled: bool = True) -> None:
        self._progress = Progress(
            TextColumn("{task.description}", justify="left"), BarColumn(), MofNCompleteColumn(),
            TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
            console=console, transient=True, disable=not (enabled and console.is_terminal))
        self._overall = self._progress.add_task("songs", total=max(total, 1))
        self._running: dict[str, tuple[TaskID, float]] = {}
        self._finished = 0

    def __enter__(self) -> "BatchDisplay":
        self._progress.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._progress.stop()

    def song_stage(self, name: str, stage: str, fraction: float) -> None:
        if name not in self._running:
            task = self._progress.add_task(f"  {name}", total=1.0)
            self._running[name] = (task, 0.0)
        task, _ = self._running[name]
        fraction = min(max(fraction, 0.0), 1.0)
        self._running[name] = (task, fraction)
        self._progress.update(task, completed=fraction, description=f"  {name}: {stage}")
        self._refresh_overall()

    def song_finished(self, name: str) -> None:
        task, _ = self._running.pop(name, (None, 0.0))
        if task is not None:
            self._progress.remove_task(task)
        self._finished += 1
        self._refresh_overall()

    def _refresh_overall(self) -> None:
        # Running songs count by their fraction, so the ETA moves between finished songs.
        partial = sum(fraction for _, fraction in self._running.values())
        self._progress.update(self._overall, completed=self._finished + partial)
