"""The table that ends a batch: every song, what became of it, and the run's pace."""

from __future__ import annotations

from pathlib import Path

from rich.table import Table
from rich.text import Text

from linernotes.batch.runner import BatchOutcome


def summary_table(outcome: BatchOutcome, *, output_dir: Path | None) -> Table:
    counts = {status: sum(r.status == status for r in outcome.results) for status in ("done", "skipped", "failed")}
    described = counts["done"]
    pace = f", {described / outcome.seconds * 60:.1f} songs/min" if described and outcome.seconds else ""
    caption = (f"{counts['done']} described, {counts['skipped']} already done, {counts['failed']} failed "
               f"in {outcome.seconds:.1f} s{pace}" + (f" → {output_dir}" if output_dir else ""))
    table = Table(title="linernotes batch", caption=caption)
    for column in ("song", "status", "key", "BPM", "sections", "seconds", "note"):
        table.add_column(column)
    styles = {"done": "green", "skipped": "dim", "failed": "bold red"}
    for result in outcome.results:
        note = result.error or ("narrative reused" if result.narrative_reused else "")
        table.add_row(Text(result.job.name), Text(result.status, style=styles[result.status]), result.key or "—",
                      f"{result.bpm:.0f}" if result.bpm else "—", str(result.sections or "—"),
                      f"{result.seconds:.1f}" if result.status != "skipped" else "—", Text(note))
    return table
