"""The liner notes as one self-contained HTML page, openable offline: the narrative, the summary,
an interactive SVG timeline and an audio player that every timestamp, section and chord seeks."""

from __future__ import annotations

import base64
import mimetypes
import os
from html import escape
from pathlib import Path
from urllib.parse import quote

from linernotes.exports.lanes import (
    beat_positions, chord_regions, cluster_colour, cluster_letters, key_change_marks, narrated_key_regions,
    vocal_regions,
)
from linernotes.tools.schema import SongAnalysis, Tag
from linernotes.tools.vocabulary import chord_symbol, format_time

_WIDTH = 1000  # SVG user units across the whole song


def _tags(tags: list[Tag], limit: int = 4) -> str:
    return ", ".join(f"{tag.label} ({tag.score:.2f})" for tag in tags[:limit]) or "—"


def _summary_rows(analysis: SongAnalysis) -> list[tuple[str, str]]:
    summary, source = analysis.summary, analysis.source
    rows = [("duration", f"{format_time(source.duration_s)} ({source.sample_rate} Hz, {source.channels} ch)"),
            ("key", f"{summary.key} (confidence {summary.key_confidence:.2f})" if summary.key else "no clear key")]
    if changes := key_change_marks(narrated_key_regions(analysis)):
        rows.append(("modulations", "; ".join(f"{format_time(time)} {before} → {after}"
                                              for time, before, after in changes)))
    rows.append(("tempo", f"{summary.bpm:.1f} BPM, {summary.time_signature or 'metre unclear'}"
                 if summary.bpm else "no steady tempo"))
    if summary.loudness_lufs is not None:
        rows.append(("loudness", f"{summary.loudness_lufs:.1f} LUFS, range {summary.loudness_range_lu or 0:.1f} LU"))
    rows += [("genres", _tags(summary.genres)), ("moods", _tags(summary.moods)),
             ("instruments", _tags(summary.instruments)),
             ("vocals", ("yes" if summary.vocals.present else "no") + f" ({summary.vocals.score:.2f})")]
    vibe = [f"{name} {value:.2f}" for name, value in (("valence", summary.valence), ("energy", summary.energy),
                                                      ("danceability", summary.danceability)) if value is not None]
    if vibe:
        rows.append(("vibe", ", ".join(vibe)))
    return rows


def _x(seconds: float, duration: float) -> float:
    return round(seconds / duration * _WIDTH, 2)


def _lane_rects(regions, *, y: float, height: float, duration: float, colours, css: str,
                labels: list[str] | None = None) -> list[str]:
    parts = []
    for position, region in enumerate(regions):
        x, width = _x(region.start, duration), max(_x(region.end, duration) - _x(region.start, duration), 0.5)
        label = escape(labels[position] if labels else region.label)
        tip = escape(f"{format_time(region.start)}–{format_time(region.end)} {region.label}")
        parts.append(f'<g class="{css}" data-t="{region.start:.3f}"><title>{tip}</title>'
                     f'<rect x="{x}" y="{y}" width="{width}" height="{height}" fill="{colours[position]}"/>')
        if width > 7 * len(label) + 4:
            parts.append(f'<text x="{x + width / 2}" y="{y + height / 2 + 4}" text-anchor="middle">{label}</text>')
        parts.append("</g>")
    return parts


def _polyline(points, *, duration: float, top: float, height: float, css: str) -> str:
    if not points:
        return ""
    values = [point.value for point in points]
    low, high = min(values), max(values)
    span = max(high - low, 1e-6)
    coordinates = " ".join(f"{_x(p.time, duration)},{round(top + height - (p.value - low) / span * height, 2)}"
                           for p in points)
    return f'<polyline class="{css}" points="{coordinates}"/>'


def timeline_svg(analysis: SongAnalysis) -> str:
    """Sections, keys, chords, loudness, beats, vocals and tempo as one clickable SVG."""
    duration = max(analysis.source.duration_s, 1e-3)
    clusters = cluster_letters(analysis)
    parts = [f'<svg id="timeline" viewBox="0 0 {_WIDTH} 250" xmlns="http://www.w3.org/2000/svg" '
             'role="img" aria-label="timeline of the song">']
    for name, y in (("sections", 12), ("loudness", 60), ("key", 102), ("chords", 140), ("beats", 178),
                    ("vocals", 200), ("tempo", 222)):
        parts.append(f'<text class="lane" x="2" y="{y}">{name}</text>')
    sections = analysis.sections
    parts += _lane_rects(sections, y=16, height=26, duration=duration, css="section",
                         colours=[cluster_colour(s.cluster, clusters=clusters) for s in sections],
                         labels=[f"{s.label} {s.cluster}" for s in sections])
    parts.append(_polyline(analysis.loudness_curve, duration=duration, top=64, height=26, css="loudness"))
    keys = narrated_key_regions(analysis)
    parts += _lane_rects(keys, y=106, height=20, duration=duration, css="key",
                         colours=["#e5cf9f" if index % 2 == 0 else "#f3e3c3" for index in range(len(keys))])
    chords = chord_regions(analysis)
    parts += _lane_rects(chords, y=144, height=20, duration=duration, css="chord",
                         colours=["#dddddd" if c.label == "N" else ("#9ecae1" if i % 2 else "#c6dbef")
                                  for i, c in enumerate(chords)],
                         labels=[chord_symbol(c.label) or c.label for c in chords])
    ticks = "".join(f'<line class="{"downbeat" if position == 1 else "beat"}" x1="{_x(time, duration)}" '
                    f'x2="{_x(time, duration)}" y1="{182 if position == 1 else 186}" y2="194"/>'
                    for time, position in beat_positions(analysis))
    parts.append(f"<g>{ticks}</g>")
    parts += _lane_rects(vocal_regions(analysis), y=204, height=8, duration=duration, css="vocal",
                         colours=["#D55E00"] * len(vocal_regions(analysis)), labels=None)
    parts.append(_polyline(analysis.tempo_curve, duration=duration, top=226, height=20, css="tempo"))
    parts.append('<line id="playhead" x1="0" x2="0" y1="14" y2="248"/></svg>')
    return "".join(parts)


def _audio_source(source_path: str, *, html_dir: Path, embed: bool) -> str:
    path = Path(source_path)
    if embed:
        mime = mimetypes.guess_type(path.name)[0] or "audio/mpeg"
        return f"data:{mime};base64," + base64.b64encode(path.read_bytes()).decode("ascii")
    relative = os.path.relpath(path.resolve(), html_dir.resolve())
    return quote(Path(relative).as_posix())


def _narrative_html(markdown: str) -> str:
    from markdown_it import MarkdownIt

    # Raw HTML in the Markdown is escaped, never rendered: titles and tags come from the file.
    return MarkdownIt("commonmark", {"html": False}).render(markdown)


def html_page(analysis: SongAnalysis, *, html_dir: Path, embed_audio: bool = False) -> str:
    """The whole page; the audio is linked relative to `html_dir`, or embedded."""
    title = analysis.source.title or Path(analysis.source.path).name
    summary = "".join(f"<tr><th>{escape(name)}</th><td>{escape(value)}</td></tr>"
                      for name, value in _summary_rows(analysis))
    clusters = cluster_letters(analysis)
    sections = "".join(
        f'<tr data-t="{s.start:.3f}"><td><a href="#" data-t="{s.start:.3f}">{format_time(s.start)}</a>–'
        f'{format_time(s.end)}</td><td><span class="swatch" style="background:'
        f'{cluster_colour(s.cluster, clusters=clusters)}"></span>{escape(s.label)} [{escape(s.cluster)}]</td>'
        f'<td>{escape(s.key or "—")}</td><td>{escape(" ".join(chord_symbol(c) or c for c in s.chords[:8]))}</td></tr>'
        for s in analysis.sections)
    narrative = (_narrative_html(analysis.narrative.markdown) if analysis.narrative
                 else "<p><em>No narrative was written (analysis only).</em></p>")
    audio = _audio_source(analysis.source.path, html_dir=html_dir, embed=embed_audio)
    return _PAGE.format(
        title=escape(title), artist=escape(analysis.source.artist or ""), audio=escape(audio, quote=True),
        duration=f"{analysis.source.duration_s:.3f}", summary=summary, sections=sections,
        timeline=timeline_svg(analysis), narrative=narrative, style=_STYLE, script=_SCRIPT)


_STYLE = """
body{font:15px/1.5 system-ui,sans-serif;max-width:1060px;margin:1.5em auto;padding:0 1em;color:#222}
h1{margin-bottom:0}.artist{color:#666;margin-top:0}
#player{width:100%;margin:.5em 0 1em}
#timeline{width:100%;height:auto;border:1px solid #ddd;background:#fafafa;cursor:pointer}
#timeline text{font-size:11px;pointer-events:none}#timeline text.lane{fill:#888;font-size:9px}
#timeline g:hover rect{stroke:#000;stroke-width:1}
.loudness{fill:none;stroke:#333;stroke-width:1.2}.tempo{fill:none;stroke:#0072B2;stroke-width:1.5}
.beat{stroke:#999;stroke-width:.5}.downbeat{stroke:#000;stroke-width:1.2}
#playhead{stroke:#C00000;stroke-width:2}
table{border-collapse:collapse;margin:.5em 0 1em}th,td{padding:2px 10px;text-align:left;vertical-align:top}
#sections tr[data-t]:hover{background:#eef;cursor:pointer}
.swatch{display:inline-block;width:.8em;height:.8em;margin-right:.4em;border-radius:2px}
a.seek{color:#0b57d0;text-decoration:none;border-bottom:1px dotted}.columns{display:flex;gap:2em;flex-wrap:wrap}
"""

_SCRIPT = """
const player = document.getElementById('player');
const duration = parseFloat(document.body.dataset.duration) || 1;
function seek(seconds) { player.currentTime = seconds; player.play().catch(() => {}); }
document.addEventListener('click', (event) => {
  const target = event.target.closest('[data-t]');
  if (target) { event.preventDefault(); seek(parseFloat(target.dataset.t)); }
});
// Every m:ss in the narrative becomes a link that seeks the player.
const stamp = /(\\d{1,3}):([0-5]\\d)(?![\\d:])/g;
const walker = document.createTreeWalker(document.getElementById('narrative'), NodeFilter.SHOW_TEXT);
const texts = [];
while (walker.nextNode()) texts.push(walker.currentNode);
for (const node of texts) {
  const text = node.nodeValue; let last = 0, match; const pieces = [];
  stamp.lastIndex = 0;
  while ((match = stamp.exec(text)) !== null) {
    if (match.index > 0 && /[\\d:]/.test(text[match.index - 1])) continue;
    pieces.push(document.createTextNode(text.slice(last, match.index)));
    const link = document.createElement('a');
    link.className = 'seek'; link.href = '#'; link.textContent = match[0];
    link.dataset.t = String(parseInt(match[1], 10) * 60 + parseInt(match[2], 10));
    pieces.push(link); last = match.index + match[0].length;
  }
  if (pieces.length) { pieces.push(document.createTextNode(text.slice(last))); node.replaceWith(...pieces); }
}
const playhead = document.getElementById('playhead');
player.addEventListener('timeupdate', () => {
  const x = (player.currentTime / duration * 1000).toFixed(2);
  playhead.setAttribute('x1', x); playhead.setAttribute('x2', x);
});
document.getElementById('timeline').addEventListener('click', (event) => {
  if (event.target.closest('[data-t]')) return;
  const box = event.currentTarget.getBoundingClientRect();
  seek((event.clientX - box.left) / box.width * duration);
});
"""

_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="linernotes"><title>{title} — liner notes</title><style>{style}</style></head>
<body data-duration="{duration}">
<h1>{title}</h1><p class="artist">{artist}</p>
<audio id="player" controls preload="metadata" src="{audio}"></audio>
{timeline}
<div class="columns"><table id="summary">{summary}</table>
<table id="sections"><tr><th>time</th><th>section</th><th>key</th><th>chords</th></tr>{sections}</table></div>
<article id="narrative">{narrative}</article>
<script>{script}</script>
</body></html>
"""
