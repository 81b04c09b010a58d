"""Measured facts of one song at a time, in a span, or over the whole song.

Pure functions over a `SongAnalysis`, shared by the deterministic answerer and the chat's
tools, so that both say the same thing. A fact below its confidence floor is returned with
`uncertain=True`, and the answer says so.
"""

from __future__ import annotations

from pydantic import BaseModel

from linernotes.tools.schema import Segment, SongAnalysis
from linernotes.tools.vocabulary import INSTRUMENT_WORDS, chord_symbol, family_of, top_labels

# Below these, a measured value is reported as uncertain.
KEY_CONFIDENCE = 0.35
TEMPO_CONFIDENCE = 0.3
LABEL_CONFIDENCE = 0.4
# A voice detected with a lower score than this is reported as possible, not certain.
VOICE_SURE = 0.8
TAG_FLOOR = 0.1  # tags weaker than this are not mentioned
# Relative tempo change between sections that counts as a change of tempo.
TEMPO_CHANGE = 0.06


class Fact(BaseModel):
    """One measured value, with the span it holds for."""

    value: str | float | bool | list[str] | None
    start: float
    end: float
    uncertain: bool = False


class Event(BaseModel):
    """Something that happens at a time: a key change, a tempo change, an entry or exit."""

    time: float
    what: str  # "key", "tempo", "vocals in", "vocals out", "drums in", ...
    before: str | None = None
    after: str | None = None
    uncertain: bool = False


def sections(analysis: SongAnalysis) -> list[Segment]:
    return sorted(analysis.sections, key=lambda section: section.start)


def windows(analysis: SongAnalysis) -> list[Segment]:
    return sorted(analysis.segments, key=lambda window: window.start)


def _covering(spans: list[Segment], time_s: float) -> Segment | None:
    inside = [span for span in spans if span.start <= time_s < span.end]
    if inside:
        return inside[-1]
    if spans and time_s >= spans[-1].end - 1e-6 and time_s <= spans[-1].end + 1.0:
        return spans[-1]
    return None


def section_at(analysis: SongAnalysis, time_s: float) -> Segment | None:
    """The section playing at `time_s`."""
    return _covering(sections(analysis), time_s)


def window_at(analysis: SongAnalysis, time_s: float) -> Segment | None:
    """The 10 s window playing at `time_s`, else its section."""
    return _covering(windows(analysis), time_s) or section_at(analysis, time_s)


# A key change this close to a section boundary, into the key that section was measured in,
# is placed on the boundary: the key tracker's smoothing lags a modulation by a few seconds.
SNAP_S = 6.0


def change_time(analysis: SongAnalysis, time_s: float, to_key: str | None) -> float:
    """A key change's time, moved to the section boundary it belongs to (see `SNAP_S`)."""
    near = [section for section in sections(analysis)
            if section.key == to_key and abs(section.start - time_s) <= SNAP_S and section.start > 0]
    return min(near, key=lambda section: abs(section.start - time_s)).start if near else time_s


def key_timeline(analysis: SongAnalysis) -> list[tuple[float, str | None, float | None]]:
    """(start, key, confidence) of each stretch of one key, from the key changes."""
    changes = sorted(analysis.key_changes, key=lambda change: change.time)
    if not changes:
        return [(0.0, analysis.summary.key, analysis.summary.key_confidence)]
    timeline = [(0.0, changes[0].from_key, changes[0].confidence)]
    timeline += [(change_time(analysis, change.time, change.to_key), change.to_key, change.confidence)
                 for change in changes]
    return timeline


def key_in(analysis: SongAnalysis, start: float, end: float) -> Fact:
    """The key over [start, end): its section's key inside one section, else the key that holds longest."""
    section = section_at(analysis, (start + end) / 2)
    inside = section is not None and section.start - 1.0 <= start and end <= section.end + 1.0
    # A modulation inside the section: its one key does not hold throughout, the key track does.
    split = section is not None and any(section.start + 2.0 < event.time < section.end - 2.0
                                        for event in key_changes(analysis))
    if (inside and section.key and not split) or not analysis.key_changes:
        key = section.key if section and section.key else analysis.summary.key
        confidence = section.key_confidence if section and section.key else analysis.summary.key_confidence
        return Fact(value=key, start=start, end=end, uncertain=key is None or confidence < KEY_CONFIDENCE)
    timeline = key_timeline(analysis)
    bounds = [point[0] for point in timeline[1:]] + [analysis.source.duration_s]
    overlap: dict[str | None, float] = {}
    confidence: dict[str | None, float] = {}
    for (stretch_start, key, certainty), stretch_end in zip(timeline, bounds):
        shared = min(end, stretch_end) - max(start, stretch_start)
        if shared > 0 or (start == end and stretch_start <= start < stretch_end):
            overlap[key] = overlap.get(key, 0.0) + max(shared, 1e-3)
            confidence[key] = certainty or 0.0
    if not overlap:
        return Fact(value=analysis.summary.key, start=start, end=end, uncertain=True)
    key = max(overlap, key=overlap.get)
    return Fact(value=key, start=start, end=end, uncertain=key is None or confidence[key] < KEY_CONFIDENCE)


def key_at(analysis: SongAnalysis, time_s: float) -> Fact:
    return key_in(analysis, time_s, time_s)


def tempo_in(analysis: SongAnalysis, start: float, end: float) -> Fact:
    """The tempo over [start, end): the section's beat tempo, else the song's."""
    summary = analysis.summary
    uncertain = summary.bpm is None or summary.bpm_confidence < TEMPO_CONFIDENCE
    section = section_at(analysis, (start + end) / 2)
    bpm = section.bpm if section and section.bpm else summary.bpm
    return Fact(value=round(bpm, 1) if bpm else None, start=start, end=end, uncertain=uncertain)


def tempo_at(analysis: SongAnalysis, time_s: float) -> Fact:
    """The local tempo at a time: the tempo curve's nearest point, else the section's tempo."""
    curve = analysis.tempo_curve
    if len(curve) > 1:
        point = min(curve, key=lambda point: abs(point.time - time_s))
        if abs(point.time - time_s) <= 10.0:
            summary = analysis.summary
            return Fact(value=round(point.value, 1), start=time_s, end=time_s,
                        uncertain=summary.bpm_confidence < TEMPO_CONFIDENCE)
    return tempo_in(analysis, time_s, time_s)


def chords_in(analysis: SongAnalysis, start: float, end: float) -> Fact:
    """Distinct chord symbols over [start, end), in order of appearance."""
    labels = [chord.label for chord in analysis.chords if chord.start < max(end, start + 1e-3) and chord.end > start]
    symbols = list(dict.fromkeys(filter(None, map(chord_symbol, labels))))
    return Fact(value=symbols, start=start, end=end)


def instruments_of(segment: Segment) -> list[str]:
    return top_labels(segment.instruments, threshold=TAG_FLOOR, limit=4)


def has_instrument(segment: Segment, family: str) -> bool:
    """Whether a segment's tags name an instrument of this family ("drums", "guitar")."""
    if family == "voice":
        return segment.vocals.present
    return any(family_of(tag.label, INSTRUMENT_WORDS) == family for tag in segment.instruments if tag.score >= TAG_FLOOR)


def spans_in(analysis: SongAnalysis, start: float, end: float) -> list[Segment]:
    """The windows overlapping [start, end) (the section when the song has no windows)."""
    found = [window for window in windows(analysis) if window.start < end and window.end > start]
    return found or [section for section in sections(analysis) if section.start < end and section.end > start]


def loudness_in(analysis: SongAnalysis, start: float, end: float) -> Fact:
    """Mean short-term loudness (LUFS) over [start, end)."""
    points = [point.value for point in analysis.loudness_curve if start <= point.time < max(end, start + 1.0)]
    points = [value for value in points if value > -70]
    if points:
        return Fact(value=round(sum(points) / len(points), 1), start=start, end=end)
    segment = window_at(analysis, start)
    return Fact(value=segment.loudness_lufs if segment else None, start=start, end=end)


def loudness_extreme(analysis: SongAnalysis, *, loudest: bool) -> Fact | None:
    """The loudest (or quietest, ignoring silence) second of the song."""
    points = [point for point in analysis.loudness_curve if point.value > -70]
    if not points:
        return None
    point = max(points, key=lambda point: point.value) if loudest else min(points, key=lambda point: point.value)
    return Fact(value=round(point.value, 1), start=point.time, end=point.time)


def key_changes(analysis: SongAnalysis) -> list[Event]:
    """The modulations; a change out of a section whose key was unclear is the key settling, not one."""
    events = _key_events(analysis)
    return [event for event in events if not _settles(analysis, event)]


def _settles(analysis: SongAnalysis, event: Event) -> bool:
    """Whether the change leaves the opening section while its key was still unclear."""
    before = section_at(analysis, max(event.time - 0.5, 0.0))
    return before is not None and before.index == 0 and before.key_confidence < KEY_CONFIDENCE


def _key_events(analysis: SongAnalysis) -> list[Event]:
    return [Event(time=change_time(analysis, change.time, change.to_key), what="key", before=change.from_key, after=change.to_key,
                  uncertain=(change.confidence or 0.0) < KEY_CONFIDENCE) for change in analysis.key_changes]


def tempo_changes(analysis: SongAnalysis) -> list[Event]:
    """Where the tempo of one section differs from the previous by more than `TEMPO_CHANGE`."""
    events = []
    ordered = [section for section in sections(analysis) if section.bpm]
    for previous, section in zip(ordered, ordered[1:]):
        if abs(section.bpm - previous.bpm) > TEMPO_CHANGE * previous.bpm and not _octave(section.bpm, previous.bpm):
            events.append(Event(time=_tempo_change_time(analysis, section.start, previous.bpm, section.bpm),
                                what="tempo", before=f"{previous.bpm:.0f} BPM", after=f"{section.bpm:.0f} BPM"))
    return events


def _tempo_change_time(analysis: SongAnalysis, boundary: float, before: float, after: float) -> float:
    """Where the tempo curve near a section boundary first sits nearer the new tempo than the old."""
    near = [point for point in analysis.tempo_curve if abs(point.time - boundary) <= 10.0]
    for point in sorted(near, key=lambda point: point.time):
        if abs(point.value - after) < abs(point.value - before):
            return point.time
    return boundary


def _octave(first: float, second: float) -> bool:
    """Half or double tempo: a beat tracker's octave error, not a change of tempo."""
    ratio = max(first, second) / min(first, second)
    return abs(ratio - 2.0) < 0.1


def entries_and_exits(analysis: SongAnalysis, family: str) -> list[Event]:
    """When an instrument family (or "voice") comes in and drops out, window by window."""
    events, playing = [], False
    for window in windows(analysis) or sections(analysis):
        now = has_instrument(window, family)
        if now != playing:
            events.append(Event(time=window.start, what=f"{family} {'in' if now else 'out'}"))
            playing = now
    return events


def song_duration(analysis: SongAnalysis) -> float:
    return analysis.source.duration_s


def has_key_change(analysis: SongAnalysis) -> bool:
    return bool(analysis.key_changes)


def has_tempo_change(analysis: SongAnalysis) -> bool:
    return bool(tempo_changes(analysis))
