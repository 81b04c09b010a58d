"""The timeline's lanes derived from an analysis, shared by every writer: key regions, vocal
regions, beat positions in the bar and one colour per section cluster."""

from __future__ import annotations

from dataclasses import dataclass

from linernotes.tools.schema import SongAnalysis

# Colour-blind-safe (Okabe–Ito), one per cluster letter; repeats of a letter share its colour.
NO_CLEAR_KEY = "no clear key"
CLUSTER_COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#999999")


@dataclass(frozen=True)
class Region:
    """A labelled stretch of the song, in seconds."""

    start: float
    end: float
    label: str


def cluster_colour(cluster: str, *, clusters: list[str]) -> str:
    """The colour of a section cluster ("A", "A'" share one) among the song's `clusters`."""
    return CLUSTER_COLOURS[clusters.index(cluster.rstrip("'")) % len(CLUSTER_COLOURS)]


def cluster_letters(analysis: SongAnalysis) -> list[str]:
    """The song's distinct cluster letters, primes folded, in order of first appearance."""
    letters: list[str] = []
    for section in analysis.sections:
        letter = section.cluster.rstrip("'")
        if letter not in letters:
            letters.append(letter)
    return letters


def section_regions(analysis: SongAnalysis) -> list[Region]:
    return [Region(section.start, section.end, section.label) for section in analysis.sections]


def chord_regions(analysis: SongAnalysis) -> list[Region]:
    return [Region(chord.start, chord.end, chord.label) for chord in analysis.chords]


def key_regions(analysis: SongAnalysis) -> list[Region]:
    """The key from the start to each modulation and on; empty when the song has no clear key."""
    duration = analysis.source.duration_s
    changes = sorted(analysis.key_changes, key=lambda change: change.time)
    first = changes[0].from_key if changes else analysis.summary.key
    if first is None:
        return []
    regions, start, key = [], 0.0, first
    for change in changes:
        if change.time > start:
            regions.append(Region(start, change.time, key))
        start, key = change.time, change.to_key
    regions.append(Region(start, duration, key))
    return regions


def narrated_key_regions(analysis: SongAnalysis) -> list[Region]:
    """The key over time as the narrative tells it (`agent.outline`): brief or unsure stretches
    are folded away, and a stretch with no clear key is labelled so. The views a reader sets
    beside the prose (the picture, the HTML page) draw these; JAMS and .lab keep the measured path.
    """
    from linernotes.agent.outline import build_outline

    return [Region(span.start, span.end, span.key or NO_CLEAR_KEY) for span in build_outline(analysis).key_path]


def key_change_marks(regions: list[Region]) -> list[tuple[float, str, str]]:
    """(time, from, to) at each border between two regions of `regions`."""
    return [(after.start, before.label, after.label) for before, after in zip(regions, regions[1:])]


def vocal_regions(analysis: SongAnalysis) -> list[Region]:
    """Where a voice sings: consecutive windows (else sections) with vocals, merged."""
    spans = analysis.segments or analysis.sections
    regions: list[Region] = []
    for span in sorted(spans, key=lambda item: item.start):
        if not span.vocals.present:
            continue
        if regions and span.start - regions[-1].end < 0.5:
            regions[-1] = Region(regions[-1].start, span.end, "vocals")
        else:
            regions.append(Region(span.start, span.end, "vocals"))
    return regions


def beat_positions(analysis: SongAnalysis) -> list[tuple[float, int]]:
    """Every beat with its position in the bar (1 on a downbeat); beats before the first
    downbeat count back from the bar length the metre gives."""
    beats, downbeats = analysis.beats, sorted(analysis.downbeats)
    if not beats:
        return []
    signature = analysis.summary.time_signature
    per_bar = int(signature.split("/")[0]) if signature and signature.split("/")[0].isdigit() else 4
    downbeat_set = {round(time, 3) for time in downbeats}
    first = next((index for index, time in enumerate(beats) if round(time, 3) in downbeat_set), 0)
    positions: list[tuple[float, int]] = []
    position = 1
    for index, time in enumerate(beats):
        if index < first:
            position = (index - first) % per_bar + 1
        elif index == first or round(time, 3) in downbeat_set:
            position = 1
        else:
            position += 1
        positions.append((time, position))
    return positions
