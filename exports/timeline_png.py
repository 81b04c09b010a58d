"""The song as one picture (in the spirit of allin1's `--visualize`): loudness with the sections
as coloured bands, key regions and changes, chords, beats and downbeats, vocals, tempo."""

from __future__ import annotations

import io

from linernotes.exports.lanes import (
    Region, beat_positions, chord_regions, cluster_colour, cluster_letters, key_change_marks, narrated_key_regions,
    vocal_regions,
)
from linernotes.tools.schema import SongAnalysis
from linernotes.tools.vocabulary import chord_identity, chord_symbol, format_time

# Chords coloured by root around the circle of fifths: neighbouring keys look alike.
_FIFTHS_COLOURS = ("#4e79a7", "#59a14f", "#8cd17d", "#b6992d", "#f1ce63", "#e15759",
                   "#ff9d9a", "#b07aa1", "#d4a6c8", "#9d7660", "#79706e", "#86bcb6")


def _chord_colour(label: str) -> str:
    identity = chord_identity(chord_symbol(label) or "") if label != "N" else None
    return "#dddddd" if identity is None else _FIFTHS_COLOURS[(identity[0] * 7) % 12]


def _lane(axis, regions: list[Region], *, colours: list[str], min_label_s: float, font: float) -> None:
    for region, colour in zip(regions, colours):
        axis.axvspan(region.start, region.end, color=colour, alpha=0.85, linewidth=0)
        axis.axvline(region.start, color="white", linewidth=0.8)
        if region.end - region.start >= min_label_s:
            axis.text((region.start + region.end) / 2, 0.5, region.label, ha="center", va="center",
                      fontsize=font, color="black", clip_on=True)


def timeline_png(analysis: SongAnalysis, *, width_in: float = 14.0, dpi: int = 110) -> bytes:
    """The timeline as PNG bytes, drawn headless (Agg)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    duration = max(analysis.source.duration_s, 1e-3)
    figure, axes = pyplot.subplots(
        5, 1, figsize=(width_in, 7.2), sharex=True, dpi=dpi,
        gridspec_kw={"height_ratios": [3.2, 0.55, 0.7, 0.75, 1.5], "hspace": 0.12})
    loudness_axis, key_axis, chord_axis, beat_axis, tempo_axis = axes
    title = analysis.source.title or analysis.source.path
    summary = analysis.summary
    facts = [summary.key or "no clear key", f"{summary.bpm:.0f} BPM" if summary.bpm else "no steady tempo",
             summary.time_signature or "", format_time(duration)]
    figure.suptitle(f"{title} — " + " · ".join(fact for fact in facts if fact), fontsize=13, x=0.08, y=0.93, ha="left")

    clusters = cluster_letters(analysis)
    curve = analysis.loudness_curve
    floor = min((point.value for point in curve), default=-60.0)
    floor = max(floor, -70.0) - 2
    for section in analysis.sections:
        colour = cluster_colour(section.cluster, clusters=clusters)
        loudness_axis.axvspan(section.start, section.end, color=colour, alpha=0.22, linewidth=0)
        loudness_axis.axvline(section.start, color=colour, linewidth=1.2)
        loudness_axis.text(section.start + 0.4, 0.97, f"{section.label} [{section.cluster}]",
                           transform=loudness_axis.get_xaxis_transform(), va="top", fontsize=9,
                           fontweight="bold", color=colour, clip_on=True)
    if curve:
        times, values = [p.time for p in curve], [max(p.value, floor) for p in curve]
        loudness_axis.fill_between(times, floor, values, color="#555555", alpha=0.18, linewidth=0)
        loudness_axis.plot(times, values, color="#222222", linewidth=1.0)
        loudness_axis.set_ylim(floor, max(values) + 0.25 * (max(values) - floor + 1))
    loudness_axis.set_ylabel("loudness\n(LUFS, short-term)", fontsize=8)
    keys = narrated_key_regions(analysis)
    for order, (time, from_key, to_key) in enumerate(key_change_marks(keys)):
        for axis in (loudness_axis, key_axis):
            axis.axvline(time, color="#C00000", linestyle="--", linewidth=1.3)
        near_end = time > 0.8 * duration
        loudness_axis.text(time, 0.82 - 0.1 * (order % 2), f" {from_key} → {to_key} ", color="#C00000",
                           transform=loudness_axis.get_xaxis_transform(), fontsize=8.5, va="top",
                           ha="right" if near_end else "left",
                           bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "none", "pad": 1})

    _lane(key_axis, keys, colours=["#f3e3c3" if index % 2 else "#e5cf9f" for index in range(len(keys))],
          min_label_s=duration / 40, font=9)
    if not keys:
        key_axis.text(0.5, 0.5, "no clear key", transform=key_axis.transAxes, ha="center", va="center",
                      fontsize=9, color="#777777")
    chords = chord_regions(analysis)
    symbols = [Region(c.start, c.end, chord_symbol(c.label) or c.label) for c in chords]
    _lane(chord_axis, symbols, colours=[_chord_colour(c.label) for c in chords],
          min_label_s=duration / 70, font=7.5)

    positions = beat_positions(analysis)
    for region in vocal_regions(analysis):
        beat_axis.axvspan(region.start, region.end, ymin=0.0, ymax=0.35, color="#D55E00", alpha=0.6,
                          linewidth=0)
    beat_axis.vlines([time for time, position in positions if position != 1], 0.45, 0.75,
                     color="#555555", linewidth=0.6)
    beat_axis.vlines([time for time, position in positions if position == 1], 0.4, 1.0,
                     color="black", linewidth=1.6)
    beat_axis.text(0.002, 0.17, "vocals" if vocal_regions(analysis) else "no vocals detected",
                   transform=beat_axis.transAxes, fontsize=7.5, va="center", color="#8a3b00")

    tempo = analysis.tempo_curve
    if tempo:
        values = [p.value for p in tempo]
        # Each estimate holds until the next; the last one to the end of the song.
        tempo_axis.plot([p.time for p in tempo] + [duration], values + values[-1:], color="#0072B2",
                        linewidth=1.4, drawstyle="steps-post")
        spread = max(max(values) - min(values), 6.0)
        tempo_axis.set_ylim(min(values) - spread / 2, max(values) + spread / 2)
    if summary.bpm:
        tempo_axis.axhline(summary.bpm, color="#0072B2", linestyle=":", linewidth=1)
    tempo_axis.set_ylabel("tempo\n(BPM)", fontsize=8)

    for axis, name in ((key_axis, "key"), (chord_axis, "chords"), (beat_axis, "beats")):
        axis.set_yticks([])
        axis.set_ylim(0, 1)
        axis.set_ylabel(name, fontsize=8, rotation=0, ha="right", va="center")
    for axis in axes:
        axis.set_xlim(0, duration)
        for side in ("top", "right"):
            axis.spines[side].set_visible(False)
    step = next(step for step in (5, 10, 15, 30, 60, 120, 300, 600) if duration / step <= 16)
    tempo_axis.set_xticks([tick * step for tick in range(int(duration // step) + 1)])
    tempo_axis.set_xticklabels([format_time(tick) for tick in tempo_axis.get_xticks()])
    tempo_axis.set_xlabel("time (m:ss)")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", bbox_inches="tight")
    pyplot.close(figure)
    return buffer.getvalue()
