"""Eval reports as tables: on the terminal (rich), as markdown, and inside README.md.

Every report becomes a list of `Table`s once; `render` and `to_markdown` only lay those
out, so the terminal and the README always show the same figures.
"""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel
from rich.console import Group
from rich.table import Table as RichTable
from rich.text import Text

from linernotes.evals.accuracy import METRICS, AccuracyReport
from linernotes.evals.faithfulness import FaithfulnessReport
from linernotes.evals.speed import SpeedReport

Report = AccuracyReport | FaithfulnessReport | SpeedReport


class Table(BaseModel):
    title: str
    columns: list[str]
    rows: list[list[str]]
    collapsed: bool = False  # long per-file tables fold away in the README


def _figure(value: float | None, *, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def tables(report: Report) -> list[Table]:
    """The report's figures as tables, summary first."""
    if isinstance(report, AccuracyReport):
        return _accuracy_tables(report)
    if isinstance(report, FaithfulnessReport):
        return _faithfulness_tables(report)
    return _speed_tables(report)


def _accuracy_tables(report: AccuracyReport) -> list[Table]:
    means = {(s.system, s.metric): s for s in report.summary}
    metrics = [m for m in METRICS if any((system, m) in means for system in report.systems)]
    summary_rows = []
    for metric in metrics:
        cells = []
        for system in report.systems:
            entry = means.get((system, metric))
            cells.append(f"{entry.mean:.2f} ({entry.files})" if entry else "–")
        summary_rows.append([metric, *cells])
    per_file_metrics = [m for m in metrics if any(m in row.scores for row in report.rows)]
    error_column = ["error"] if any(r.error for r in report.rows) else []
    result = [Table(title="Accuracy: mean per metric (files scored)",
                    columns=["metric", *report.systems], rows=summary_rows)]
    # Per file, in groups narrow enough for a terminal: pitch and time, then the rest.
    groups = [[m for m in per_file_metrics if m.startswith(PITCH_AND_TIME)],
              [m for m in per_file_metrics if not m.startswith(PITCH_AND_TIME)]]
    for index, group in enumerate(g for g in groups if g):
        columns = group + (error_column if index == 0 else [])
        rows = [
            [row.file, row.system, *[_figure(row.scores.get(m)) for m in group]]
            + ([row.error or ""] if "error" in columns else [])
            for row in report.rows if any(m in row.scores for m in group) or row.error
        ]
        result.append(Table(title=f"Accuracy per file: {', '.join(group)}",
                            columns=["file", "system", *columns], rows=rows, collapsed=True))
    return result


# Metric name prefixes shown together in the first per-file table.
PITCH_AND_TIME = ("key", "tempo", "beats", "downbeats")


def _faithfulness_tables(report: FaithfulnessReport) -> list[Table]:
    summary_rows = [[s.provider, _figure(s.claim_precision), str(s.claims_checked),
                     _figure(s.caption_precision), _figure(s.coverage), str(s.songs)]
                    for s in report.summary]
    file_rows = [[row.file, row.provider, _figure(row.claim_precision),
                  f"{row.claims_checked - row.claims_failed}/{row.claims_checked}",
                  _figure(row.caption_precision),
                  *[_figure(row.coverage.get(fact)) for fact in report.facts]]
                 for row in report.rows]
    return [
        Table(title="Faithfulness per provider",
              columns=["provider", "claims matching", "claims", "caption claims matching",
                       "facts covered", "songs"], rows=summary_rows),
        Table(title="Faithfulness per song",
              columns=["file", "provider", "claims matching", "claims", "caption claims matching",
                       *report.facts], rows=file_rows, collapsed=True),
    ]


def _speed_tables(report: SpeedReport) -> list[Table]:
    ratio = "–" if report.ratio_to_music_extractor is None else f"{report.ratio_to_music_extractor:.2f}x"
    processes = [[p.system, _figure(p.wall_s), _figure(p.rtf, digits=3), _figure(p.ratio_to_music_extractor),
                  _figure(p.user_s, digits=1), _figure(p.system_s, digits=1), _figure(p.peak_rss_mb, digits=0)]
                 for p in report.processes]
    processes.insert(1, ["linernotes, warm", _figure(report.warm_total_s), _figure(report.warm_rtf, digits=3),
                         "–", "–", "–", "–"])
    stage_rows = [[s.stage, _figure(s.cold_s), _figure(s.warm_s), _figure(s.cold_rtf, digits=3),
                   _figure(s.warm_rtf, digits=3)] for s in report.stages]
    return [
        Table(title=f"Speed on {Path(report.audio).name} ({report.duration_s:.0f} s, {report.cpu_count} CPU "
                    f"cores, load {report.load_average:.1f} at start): linernotes takes {ratio} "
                    f"MusicExtractor's wall time",
              columns=["cold process", "wall s", "real-time factor", "wall vs MusicExtractor", "user s",
                       "system s", "peak memory MB"], rows=processes),
        Table(title="linernotes per stage (stages on threads overlap)",
              columns=["stage", "cold s", "warm s", "cold RTF", "warm RTF"], rows=stage_rows),
    ]


def render(report: Report) -> Group:
    """A rich renderable: every table, then the report's notes."""
    parts = []
    for table in tables(report):
        rich_table = RichTable(title=table.title, title_justify="left")
        for index, column in enumerate(table.columns):
            rich_table.add_column(column, justify="left" if index < 2 else "right")
        for row in table.rows:
            rich_table.add_row(*row)
        parts.append(rich_table)
    parts += [Text(f"• {note}", style="dim") for note in report.notes]
    return Group(*parts)


def to_markdown(report: Report) -> str:
    """The report as markdown: the command that made it, its tables, its notes."""
    lines = [f"Generated {report.created} by `{report.command}`.", ""]
    for table in tables(report):
        body = [
            "| " + " | ".join(table.columns) + " |",
            "|" + "|".join("---" for _ in table.columns) + "|",
            *["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in table.rows],
        ]
        if table.collapsed:
            lines += [f"<details><summary>{table.title}</summary>", "", *body, "", "</details>", ""]
        else:
            lines += [f"**{table.title}**", "", *body, ""]
    lines += [f"- {note}" for note in report.notes]
    return "\n".join(lines).rstrip() + "\n"


def update_readme(readme_path: str | Path, section_name: str, markdown: str) -> None:
    """Put `markdown` between `<!-- eval:NAME -->` and `<!-- /eval:NAME -->` in the README.

    The markers are appended at the end when the README does not have them yet.
    """
    path = Path(readme_path)
    text = path.read_text() if path.exists() else ""
    start, end = f"<!-- eval:{section_name} -->", f"<!-- /eval:{section_name} -->"
    block = f"{start}\n{markdown.rstrip()}\n{end}"
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text)
    else:
        text = text.rstrip() + ("\n\n" if text.strip() else "") + block + "\n"
    path.write_text(text)
