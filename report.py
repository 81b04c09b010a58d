"""Rich terminal rendering of a `SongAnalysis`: summary table, section timeline, captions.

Titles, artists, paths and every other text that comes from the user's files are shown as
plain `Text`, never parsed as Rich markup, and escaped where the narrative's Markdown quotes
them: a tag cannot restyle the report or plant a link.
"""

from __future__ import annotations

from rich.console import Group
from rich.markdown import Markdown
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from linernotes.agent.writer import escape_markdown
from linernotes.exports.lanes import Region, key_change_marks, narrated_key_regions
from linernotes.tools.schema import SongAnalysis, Tag
from linernotes.tools.vocabulary import format_time

# Characters that Markdown (CommonMark) gives a meaning; a backslash makes each literal.


def _narrative_markdown(analysis: SongAnalysis) -> str:
    """The narrative's Markdown with the file's own texts (title, artist, file name) escaped."""
    markdown = analysis.narrative.markdown
    source = analysis.source
    names = {source.title, source.artist, source.path, source.path.replace("\\", "/").rsplit("/", 1)[-1]}
    for name in sorted((name for name in names if name), key=len, reverse=True):
        markdown = markdown.replace(name, escape_markdown(name))
    return markdown


def _tags(tags: list[Tag], limit: int = 4) -> str:
    return Text(", ".join(f"{tag.label} ({tag.score:.2f})" for tag in tags[:limit]) or "—")


def summary_table(analysis: SongAnalysis, *, key_regions: list[Region] | None = None) -> Table:
    """The song's facts; key changes as the narrative tells them (`narrated_key_regions`)."""
    summary, source = analysis.summary, analysis.source
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold cyan", no_wrap=True)
    table.add_column()
    title = source.title or source.path
    table.add_row("song", Text(f"{title}" + (f" — {source.artist}" if source.artist else "")))
    table.add_row("duration", f"{format_time(source.duration_s)} ({source.sample_rate} Hz, "
                              f"{source.channels} ch)")
    if summary.silent:
        table.add_row("audio", "silent")
    key = (f"{summary.key} (confidence {summary.key_confidence:.2f})" if summary.key
           else "no clear key")
    table.add_row("key", key)
    marks = key_change_marks(narrated_key_regions(analysis) if key_regions is None else key_regions)
    if marks:
        changes = "; ".join(f"{format_time(time)} {before} → {after}" for time, before, after in marks)
        table.add_row("modulations", Text(changes))
    tempo = (f"{summary.bpm:.1f} BPM, {summary.time_signature or 'metre unclear'} "
             f"(confidence {summary.bpm_confidence:.2f})" if summary.bpm else "no steady tempo")
    table.add_row("tempo", tempo)
    if summary.loudness_lufs is not None:
        table.add_row("loudness", f"{summary.loudness_lufs:.1f} LUFS integrated, range "
                                  f"{summary.loudness_range_lu or 0:.1f} LU")
    if summary.tagger:
        table.add_row("tagger", Text(summary.tagger))
    table.add_row("genres", _tags(summary.genres))
    table.add_row("moods", _tags(summary.moods))
    table.add_row("instruments", _tags(summary.instruments))
    vocals = summary.vocals
    table.add_row("vocals", ("yes" if vocals.present else "no") + f" ({vocals.score:.2f})"
                  + (f", {vocals.type}" if vocals.type else ""))
    vibe = [f"{name} {value:.2f}" for name, value in
            (("valence", summary.valence), ("energy", summary.energy),
             ("danceability", summary.danceability)) if value is not None]
    if vibe:
        table.add_row("vibe", ", ".join(vibe))
    if summary.melody and summary.melody.lowest_note:
        melody = summary.melody
        table.add_row("melody", f"{melody.lowest_note}–{melody.highest_note} "
                                f"({melody.range_semitones} semitones), {melody.contour}")
    for note in summary.notes:
        table.add_row("note", Text(note))
    return table


_CLUSTER_STYLES = ("on blue", "on magenta", "on green", "on red", "on cyan", "on yellow")


def timeline(analysis: SongAnalysis, *, width: int = 64) -> Text:
    """The sections as a bar, each as long as it lasts; repeats share a colour."""
    duration = analysis.source.duration_s or 1.0
    letters = sorted({section.cluster.rstrip("'") for section in analysis.sections})
    bar = Text()
    for section in analysis.sections:
        cells = max(1, round((section.end - section.start) / duration * width))
        style = _CLUSTER_STYLES[letters.index(section.cluster.rstrip("'")) % len(_CLUSTER_STYLES)]
        bar.append(section.cluster.ljust(cells)[:cells], style=f"bold white {style}")
    return bar


def section_table(analysis: SongAnalysis, *, key_regions: list[Region] | None = None) -> Table:
    """One row a section; its key as the narrative tells it, "A major → D major" where it modulates."""
    regions = narrated_key_regions(analysis) if key_regions is None else key_regions
    table = Table(title="Sections")
    for column in ("time", "section", "key", "BPM", "LUFS", "vocals", "chords"):
        table.add_column(column)
    for section in analysis.sections:
        table.add_row(
            f"{format_time(section.start)}–{format_time(section.end)}",
            Text(f"{section.label} [{section.cluster}]"),
            Text(_keys_within(regions, section.start, section.end) or "—"),
            f"{section.bpm:.0f}" if section.bpm else "—",
            f"{section.loudness_lufs:.1f}" if section.loudness_lufs is not None else "—",
            "yes" if section.vocals.present else "no",
            Text(" ".join(section.chords[:6]) + (" …" if len(section.chords) > 6 else "")),
        )
    return table


def _keys_within(regions: list[Region], start: float, end: float) -> str:
    """The keys the regions give [start, end), in order, joined by arrows."""
    keys: list[str] = []
    for region in regions:
        if min(region.end, end) - max(region.start, start) > 0 and (not keys or keys[-1] != region.label):
            keys.append(region.label)
    return " → ".join(keys)


def caption_table(analysis: SongAnalysis) -> Table:
    table = Table(title="Captions", show_header=False, box=None, padding=(0, 1))
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    for section in analysis.sections:
        table.add_row(Text(f"{format_time(section.start)} {section.label}"), Text(section.caption))
    return table


def render_analysis(analysis: SongAnalysis) -> Group:
    """The whole report: summary, sections, narrative when present, timings."""
    regions = narrated_key_regions(analysis)
    parts = [Panel(summary_table(analysis, key_regions=regions), title="linernotes", border_style="cyan"),
             timeline(analysis), section_table(analysis, key_regions=regions), caption_table(analysis)]
    if analysis.narrative:
        narrative = analysis.narrative
        status = "verified" if narrative.verified else f"{narrative.claims_failed} claims failed"
        parts.append(Panel(Markdown(_narrative_markdown(analysis)),
                           title=Text(f"Narrative ({narrative.provider}, {status})")))
    timings = ", ".join(f"{stage} {seconds:.1f}s" for stage, seconds in analysis.timings.items())
    parts.append(Text(f"timings: {timings}", style="dim"))
    return Group(*parts)
