"""Which output formats exist, how `--format` and `-o`'s extension name them, and the files
each one makes for a song."""

from __future__ import annotations

from pathlib import Path

from linernotes.tools.schema import SongAnalysis

FORMATS = ("rich", "json", "md", "jams", "lab", "png", "html")
_ALIASES = {"markdown": "md", "htm": "html", "text": "rich", "txt": "rich"}
_SUFFIX_FORMATS = {".json": "json", ".md": "md", ".markdown": "md", ".jams": "jams", ".lab": "lab",
                   ".png": "png", ".html": "html", ".htm": "html", ".txt": "rich"}
# Formats that are one text a terminal can show.
STDOUT_FORMATS = ("rich", "json", "md", "jams")


class FormatError(ValueError):
    """A format name that does not exist; the message is one line for the user."""


def parse_formats(text: str) -> list[str]:
    """`--format`'s comma-separated list as canonical names, in order, without repeats."""
    chosen: list[str] = []
    for word in (part.strip().lower() for part in text.split(",")):
        name = _ALIASES.get(word, word)
        if name not in FORMATS:
            raise FormatError(f"unknown format {word!r} (choose from {', '.join(FORMATS)})")
        if name not in chosen:
            chosen.append(name)
    if not chosen:
        raise FormatError("--format names no format")
    return chosen


def format_of(path: Path) -> str | None:
    """The format an output file's extension names, or None for an extension that names none."""
    return _SUFFIX_FORMATS.get(path.suffix.lower())


def rich_text(analysis: SongAnalysis, *, width: int = 110) -> str:
    """The terminal report as plain text, for a file."""
    import io

    from rich.console import Console

    from linernotes.report import render_analysis

    console = Console(file=io.StringIO(), width=width, color_system=None, record=True)
    console.print(render_analysis(analysis))
    return console.export_text()


def render_file(analysis: SongAnalysis, output_format: str, *, html_dir: Path,
                embed_audio: bool = False) -> dict[str, bytes]:
    """One format's files for a song: name suffix ("." + extension, or ".chords.lab" ...) to bytes."""
    if output_format == "png":
        from linernotes.exports.timeline_png import timeline_png

        return {".png": timeline_png(analysis)}
    if output_format == "lab":
        from linernotes.exports.lab import lab_files

        return {f".{part}.lab": text.encode() for part, text in lab_files(analysis).items()}
    if output_format == "html":
        from linernotes.exports.html_page import html_page

        return {".html": html_page(analysis, html_dir=html_dir, embed_audio=embed_audio).encode()}
    return {{"rich": ".txt", "json": ".json", "md": ".md", "jams": ".jams"}[output_format]:
            render_text(analysis, output_format).encode()}


def render_text(analysis: SongAnalysis, output_format: str) -> str:
    """A one-text format (`STDOUT_FORMATS`) as text."""
    if output_format == "json":
        return analysis.to_json(indent=2)
    if output_format == "md":
        return analysis.narrative.markdown if analysis.narrative else ""
    if output_format == "jams":
        from linernotes.exports.jams_file import jams_text

        return jams_text(analysis)
    if output_format == "rich":
        return rich_text(analysis)
    raise FormatError(f"{output_format} is not a one-text format")


def write_outputs(files: dict[str, bytes], *, stem: Path) -> list[Path]:
    """Write each file as `stem` + its suffix; returns the paths written."""
    written = []
    stem.parent.mkdir(parents=True, exist_ok=True)
    for suffix, content in files.items():
        path = stem.with_name(stem.name + suffix)
        path.write_bytes(content)
        written.append(path)
    return written
