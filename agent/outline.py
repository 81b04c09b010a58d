"""Plan: the structured outline a narrative is written from.

Everything here is read off the analysis; nothing is invented. One list of events (key
changes, tempo changes, entries and exits, energy turns, the climax, vocals in and out)
holds every temporal claim: the section headers, the section paragraphs and the key
moments all render from it, so they cannot disagree. Before the events are read, the
analysis is made consistent with itself: fragments are folded into their neighbours, a
key held for less than a few bars is no key change, and an instrument enters or leaves
only when it was clearly absent (or present) for a stretch before (hysteresis).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import BaseModel

from linernotes.tools.schema import Segment, SongAnalysis, Tag
from linernotes.tools.vocabulary import (
    CHUNKED_NOTE, INSTRUMENT_WORDS, VOICE_PRESENT, family_of, format_time, top_labels,
)

from linernotes.agent.harmony import chord_loop, borrowed_chords, cadence, interval_words, transposition

EventKind = Literal[
    "vocals_enter", "vocals_leave", "key_change", "tempo_change", "drop", "breakdown",
    "loudest", "quietest", "instrument_entry", "instrument_exit", "climax", "energy_rise", "energy_fall",
]
MomentKind = EventKind  # the key-moments list is a selection of the events

ShapeName = Literal["builds", "fades", "arch", "valley", "steady", "wavering"]


class Moment(BaseModel):
    """One event: when, what, in which section, and the fact already phrased."""

    time: float
    kind: EventKind
    section_index: int
    text: str  # "vocals enter", "the key moves from C major to D major"
    subject: str | None = None  # the instrument, or the key moved to


class Character(BaseModel):
    """The song as a whole."""

    title: str | None
    artist: str | None
    duration_s: float
    key: str | None
    bpm: float | None
    time_signature: str | None
    loudness_lufs: float | None
    genres: list[str]
    moods: list[str]
    instruments: list[str]
    vocals: bool
    silent: bool
    notes: list[str]
    spoken: bool = False  # the voice speaks rather than sings (Silero sure, the tagger's singing tags low)
    form: str | None = None  # "verse–chorus form with a bridge", "AABA", "through-composed"
    form_detail: str | None = None  # "the chorus comes back three times, the last a whole tone higher"
    melody: str | None = None  # "spans an octave and a fourth, from A3 to D5, in an arch"
    tempo_feel: str | None = None  # "the tempo wanders freely (rubato)"


class SectionPlan(BaseModel):
    """One section (fragments folded in) and the events inside it."""

    index: int
    label: str
    name: str  # what the prose and the heading call it: "chorus", "hushed passage"
    reference: str = ""  # how other sentences point at it: the name, with its time when the name repeats
    cluster: str
    start: float
    end: float
    key: str | None  # the key the events say it starts in
    bpm: float | None
    energy: float | None
    instruments: list[str]  # present here after hysteresis
    genres: list[str]
    moods: list[str]
    vocals: bool
    chords: list[str]  # mir_eval labels, in order of first appearance
    loop: list[str] = []  # the repeating chord cycle, as symbols
    borrowed: list[str] = []  # chords borrowed from the parallel key, as symbols
    cadence: str | None = None  # "a perfect cadence (G – C)"
    feel: str | None = None  # "half-time", "double-time"
    repeats: int | None  # index of the earlier section with the same material
    differences: list[str] = []  # how this repeat differs from the first statement
    folded: list[str] = []  # labels of the short fragments folded into it
    changes: list[str]  # the events at its start, phrased
    events: list[Moment] = []  # every event inside it, its start included
    caption: str


class Arc(BaseModel):
    """How energy, density and mood evolve over the sections."""

    shape: ShapeName | None
    energy: list[float | None]
    density: list[int]  # instruments plus voice, per section
    moods: list[str | None]


class KeySpan(BaseModel):
    start: float
    end: float
    key: str | None  # None: no key clear enough to name


class Outline(BaseModel):
    song_id: str
    character: Character
    arc: Arc
    sections: list[SectionPlan]
    events: list[Moment] = []  # every temporal fact, in time order
    moments: list[Moment]  # the ones the key-moments list shows (every key change among them)
    key_path: list[KeySpan] = []  # the key over time as the narrative tells it


def energy_shape(energy: list[float | None]) -> ShapeName | None:
    """Classify the energy curve over the sections; None when it is unknown."""
    values = np.array([value for value in energy if value is not None], dtype=float)
    if values.size < 2:
        return None
    thirds = [part.mean() for part in np.array_split(values, 3) if part.size]
    first, middle, last = thirds[0], thirds[len(thirds) // 2], thirds[-1]
    if middle > max(first, last) + 0.15:
        return "arch"
    if middle < min(first, last) - 0.15:
        return "valley"
    if last > first + 0.2:
        return "builds"
    if first > last + 0.2:
        return "fades"
    return "steady" if values.std() < 0.12 else "wavering"


def is_plural(name: str) -> bool:
    """"drums enter", "guitar enters", "bass enters": the verb agrees with the tag name."""
    return name.endswith("s") and not name.endswith("ss")


def ordinal(index: int) -> str:
    """0 -> "first", 1 -> "second" ... (for section references)."""
    words = ["first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth"]
    return words[index] if index < len(words) else f"{index + 1}th"


def describe_span(start: float, end: float) -> str:
    """`m:ss–m:ss`, the form every section heading uses."""
    return f"{format_time(start)}–{format_time(end)}"


# Time scales --------------------------------------------------------------------------

def bar_seconds(analysis: SongAnalysis) -> float:
    """Length of one bar from the tempo and metre (a 120 BPM 4/4 bar when unknown)."""
    bpm = analysis.summary.bpm or 120.0
    signature = analysis.summary.time_signature or "4/4"
    beats = int(signature.split("/")[0]) if signature.split("/")[0].isdigit() else 4
    return beats * 60.0 / bpm


# Fragments ----------------------------------------------------------------------------

def _merge_tags(parts: list[tuple[list[Tag], float]]) -> list[Tag]:
    total = sum(weight for _, weight in parts) or 1.0
    scores: dict[str, float] = {}
    for tags, weight in parts:
        for tag in tags:
            scores[tag.label] = scores.get(tag.label, 0.0) + tag.score * weight / total
    return sorted((Tag(label=label, score=score) for label, score in scores.items()), key=lambda tag: -tag.score)


def _merge(host: Segment, fragment: Segment) -> Segment:
    """`host` stretched over `fragment`: duration-weighted tags and energy, the host's role."""
    weights = [(host, host.end - host.start), (fragment, fragment.end - fragment.start)]
    total = sum(weight for _, weight in weights) or 1.0
    energies = [(part.energy, weight) for part, weight in weights if part.energy is not None]
    energy = sum(value * weight for value, weight in energies) / sum(w for _, w in energies) if energies else None
    vocals_score = sum(part.vocals.score * weight for part, weight in weights) / total
    return host.model_copy(update={
        "start": min(host.start, fragment.start),
        "end": max(host.end, fragment.end),
        "energy": energy,
        "instruments": _merge_tags([(part.instruments, weight) for part, weight in weights]),
        "moods": _merge_tags([(part.moods, weight) for part, weight in weights]),
        "genres": _merge_tags([(part.genres, weight) for part, weight in weights]),
        "vocals": host.vocals.model_copy(update={"score": vocals_score}),
        "chords": list(dict.fromkeys(host.chords + fragment.chords)) if fragment.start > host.start
        else list(dict.fromkeys(fragment.chords + host.chords)),
    })


def fold_fragments(sections: list[Segment], *, min_s: float) -> tuple[list[Segment], list[list[str]]]:
    """Sections with every one shorter than `min_s` folded into its neighbour.

    A fragment joins the previous section (the first section, the next one); the host keeps
    its role. Returns the sections and, per section, the labels folded into it.
    """
    ordered = sorted(sections, key=lambda item: item.start)
    folded: list[list[str]] = [[] for _ in ordered]
    while len(ordered) > 1:
        lengths = [section.end - section.start for section in ordered]
        shortest = int(np.argmin(lengths))
        if lengths[shortest] >= min_s:
            break
        host = shortest - 1 if shortest > 0 else 1
        ordered[host] = _merge(ordered[host], ordered[shortest])
        folded[host] += [ordered[shortest].label] + folded[shortest]
        del ordered[shortest], folded[shortest]
    return ordered, folded


# The key path -------------------------------------------------------------------------

def key_path(
    analysis: SongAnalysis,
    *,
    boundaries: list[tuple[float, str | None]],
    min_span_s: float,
    snap_s: float,
    min_confidence: float = 0.5,
) -> list[KeySpan]:
    """The key over time, consistent with the sections and without keys held too briefly.

    A key detector lags a modulation by a bar or two: a change within `snap_s` of a section
    boundary moves onto it (onto the boundary whose section the detector also hears in the
    new key, when two are near). A change below `min_confidence` starts a stretch of no
    clear key. A span shorter than `min_span_s` joins the longer of its neighbours, and
    neighbours in the same key merge.

    Parameters
    ----------
    analysis : SongAnalysis
    boundaries : list of (time, key)
        Each section's start after the first, with the key the section's own estimate has.
    min_span_s, snap_s, min_confidence : float
    """
    duration = analysis.source.duration_s
    changes = sorted(analysis.key_changes, key=lambda change: change.time)
    if not changes and analysis.summary.key is None:
        return []
    first = changes[0].from_key if changes else analysis.summary.key
    first_known = first == analysis.summary.key and analysis.summary.key_confidence >= min_confidence * 0.5
    starts: list[tuple[float, str | None]] = []
    for change in changes:
        time = _snapped(change.time, change.to_key, boundaries, within_s=snap_s)
        # The song's key, surely measured over the whole song, is known wherever the path returns to it.
        known = (change.confidence is None or change.confidence >= min_confidence
                 or (change.to_key == analysis.summary.key and analysis.summary.key_confidence >= min_confidence))
        starts = [start for start in starts if start[0] < time]  # a later change on the same boundary wins
        if 0 < time < duration:
            starts.append((time, change.to_key if known else None))
    spans = [KeySpan(start=0.0, end=duration, key=first if first_known or not changes else None)]
    for time, key in starts:
        spans[-1].end = time
        spans.append(KeySpan(start=time, end=duration, key=key))
    spans = _merge_same(spans)
    while len(spans) > 1:
        lengths = [span.end - span.start for span in spans]
        shortest = int(np.argmin(lengths))
        if lengths[shortest] >= min_span_s:
            break
        if shortest == 0:
            spans[1].start = spans[0].start
        elif shortest == len(spans) - 1 or lengths[shortest - 1] >= lengths[shortest + 1]:
            spans[shortest - 1].end = spans[shortest].end
        else:
            spans[shortest + 1].start = spans[shortest].start
        del spans[shortest]
        spans = _merge_same(spans)
    return spans


def _snapped(time: float, key: str, boundaries: list[tuple[float, str | None]], *, within_s: float) -> float:
    near = [(boundary, own) for boundary, own in boundaries if abs(boundary - time) <= within_s]
    if not near:
        return time
    return min(near, key=lambda item: (item[1] != key, abs(item[0] - time)))[0]


def _merge_same(spans: list[KeySpan]) -> list[KeySpan]:
    merged: list[KeySpan] = []
    for span in spans:
        if merged and merged[-1].key == span.key:
            merged[-1].end = span.end
        else:
            merged.append(span.model_copy())
    return merged


def key_at(path: list[KeySpan], time: float) -> str | None:
    for span in path:
        if span.start <= time < span.end:
            return span.key
    return path[-1].key if path else None


# Arrangement with hysteresis ------------------------------------------------------------

def presence_runs(
    states: list[bool | None], durations: list[float], *, min_run_s: float
) -> list[bool]:
    """Per-section presence, without flicker.

    `states` is True (clearly present), False (clearly absent) or None (in between, which
    keeps the state around it). A run shorter than `min_run_s` between two runs of the other
    state is absorbed by them, so a brief dip is not an exit and a blip is not an entry.
    """
    known = [state for state in states if state is not None]
    if not known:
        return [False] * len(states)
    filled: list[bool] = []
    current = known[0]
    for state in states:
        current = current if state is None else state
        filled.append(current)
    changed = True
    while changed:
        changed = False
        runs = _runs(filled)
        for position, (start, end, value) in enumerate(runs):
            inner = 0 < position < len(runs) - 1
            if inner and sum(durations[start:end]) < min_run_s:
                filled[start:end] = [not value] * (end - start)
                changed = True
                break
    return filled


def _runs(values: list[bool]) -> list[tuple[int, int, bool]]:
    runs: list[tuple[int, int, bool]] = []
    for position, value in enumerate(values):
        if runs and runs[-1][2] == value:
            runs[-1] = (runs[-1][0], position + 1, value)
        else:
            runs.append((position, position + 1, value))
    return runs


def _tag_score(tags: list[Tag], label: str) -> float:
    return next((tag.score for tag in tags if tag.label == label), 0.0)


def _instrument_state(score: float, *, threshold: float, margin: float) -> bool | None:
    if score >= threshold + margin:
        return True
    if score < threshold:
        return False
    return None


def _vocal_state(section: Segment) -> bool | None:
    if section.vocals.present:
        return True
    return False if section.vocals.score < VOICE_PRESENT - 0.1 else None


# Form ---------------------------------------------------------------------------------

_FORM_LABELS = ("verse", "chorus", "bridge")


def name_form(sections: list[SectionPlan]) -> tuple[str | None, str | None]:
    """The form from the clustered sections, and how the main refrain comes back."""
    if len(sections) < 2:
        return None, None
    labels = [section.label for section in sections]
    roots = [section.cluster.rstrip("'") for section in sections]
    core = [root for root, label in zip(roots, labels) if label not in ("intro", "outro")] or roots
    letters = _letters(core)
    if "verse" in labels and "chorus" in labels:
        form = "verse–chorus form" + (" with a bridge" if "bridge" in labels else "")
    elif len(set(core)) == len(core) and len(core) >= 3:
        form = "through-composed: no section's material comes back"
    elif len(set(core)) == 1:
        form = "strophic: one section's material, repeated"
    elif len(letters) <= 8:
        form = f"{letters} form"
    else:
        form = None
    refrain = "chorus" if "chorus" in labels else None
    detail = _refrain_detail(sections, refrain) if refrain else None
    return form, detail


def _letters(roots: list[str]) -> str:
    names: dict[str, str] = {}
    for root in roots:
        names.setdefault(root, "ABCDEFGHIJ"[min(len(names), 9)])
    return "".join(names[root] for root in roots)


def _refrain_detail(sections: list[SectionPlan], label: str) -> str | None:
    statements = [section for section in sections if section.label == label]
    if len(statements) < 2:
        return None
    count = {2: "twice", 3: "three times", 4: "four times", 5: "five times"}.get(len(statements),
                                                                                 f"{len(statements)} times")
    detail = f"the {label} is heard {count}"
    first, last = statements[0], statements[-1]
    step = transposition(first.key, last.key)
    if step:
        detail += f", the last {interval_words(step)}"
    elif first.energy is not None and last.energy is not None and last.energy - first.energy >= 0.15:
        detail += ", the last the loudest"
    return detail


def descriptive_name(section: Segment, *, position: int, count: int, energy: float | None) -> str:
    """A name for a section structure analysis could not name: "hushed interlude", "closing passage".

    Energy words, not mood words: "quiet" and "loud" are the taggers' moods, checked as such.
    """
    if section.label != "section":
        return section.label
    if energy is not None and energy < 0.25:  # the writer's "hushed" (`writer.energy_word`)
        return "hushed interlude" if 0 < position < count - 1 else "hushed passage"
    if energy is not None and energy > 0.75:
        return "driving passage"
    if position == 0:
        return "opening passage"
    if position == count - 1:
        return "closing passage"
    return "middle passage"


# Building -----------------------------------------------------------------------------

def _section_at(sections: list[SectionPlan], time: float) -> int:
    for section in sections:
        if section.start <= time < section.end:
            return section.index
    return sections[-1].index if sections else 0


def _differences(first: SectionPlan, repeat: SectionPlan) -> list[str]:
    differences = []
    step = transposition(first.key, repeat.key)
    if step:
        differences.append(f"{interval_words(step)}, in {repeat.key}")
    if first.energy is not None and repeat.energy is not None:
        if repeat.energy - first.energy >= 0.12:
            differences.append(f"louder than at {format_time(first.start)}")
        elif first.energy - repeat.energy >= 0.12:
            differences.append(f"quieter than at {format_time(first.start)}")
    added = [name for name in repeat.instruments if name not in first.instruments]
    dropped = [name for name in first.instruments if name not in repeat.instruments]
    if added and not dropped:
        differences.append(f"fuller, with {' and '.join(added[:2])} added")
    elif dropped and not added:
        differences.append(f"thinner, without {' and '.join(dropped[:2])}")
    return differences


def build_outline(
    analysis: SongAnalysis,
    *,
    tag_threshold: float = 0.1,
    tag_margin: float = 0.1,
    max_moments: int = 12,
    min_key_bars: float = 4.0,
    min_section_bars: float = 3.0,
    min_absence_bars: float = 8.0,
) -> Outline:
    """The outline of one song: consistent sections, the event list and the key moments.

    Parameters
    ----------
    analysis : SongAnalysis
        The measured facts.
    tag_threshold : float
        Tags scoring below this are absent and not mentioned.
    tag_margin : float
        An instrument is present only from `tag_threshold + tag_margin`; between the two it
        keeps the state it had (hysteresis).
    max_moments : int
        At most this many key moments (key changes are always kept).
    min_key_bars : float
        A key held for fewer bars is no key change.
    min_section_bars : float
        Sections shorter than this (and than half the median section) are folded into a neighbour.
    min_absence_bars : float
        An instrument or the voice enters or leaves only after this many bars of the other state.
    """
    summary = analysis.summary
    bar_s = bar_seconds(analysis)
    raw = sorted(analysis.sections, key=lambda item: item.start)
    median = float(np.median([s.end - s.start for s in raw])) if raw else 0.0
    sections, folded = fold_fragments(raw, min_s=min(max(min_section_bars * bar_s, 6.0), 0.5 * median))
    path = key_path(analysis, boundaries=[(section.start, section.key) for section in sections[1:]],
                    min_span_s=max(min_key_bars * bar_s, 6.0), snap_s=max(2 * bar_s, 3.0) + 0.25)
    durations = [section.end - section.start for section in sections]
    min_run_s = max(min_absence_bars * bar_s, 16.0)

    song_instruments = [name for name in top_labels(summary.instruments, threshold=tag_threshold, limit=6)
                        if family_of(name, INSTRUMENT_WORDS) != "voice"]
    candidates = list(dict.fromkeys(song_instruments + [
        tag.label for section in sections for tag in section.instruments
        if tag.score >= tag_threshold + tag_margin and family_of(tag.label, INSTRUMENT_WORDS) != "voice"]))
    presence = {name: presence_runs(
        [_instrument_state(_tag_score(section.instruments, name), threshold=tag_threshold, margin=tag_margin)
         for section in sections], durations, min_run_s=min_run_s) for name in candidates}
    vocals = presence_runs([_vocal_state(section) for section in sections], durations, min_run_s=min_run_s)

    plans: list[SectionPlan] = []
    first_of_cluster: dict[str, int] = {}
    first_of_label: dict[str, int] = {}
    for position, section in enumerate(sections):
        root = section.cluster.rstrip("'")
        # Same material: the same cluster, or the same named role (a transposed chorus is a new cluster).
        repeats = first_of_cluster.get(root)
        if repeats is None and section.label not in ("section", "intro", "outro"):
            repeats = first_of_label.get(section.label)
        first_of_cluster.setdefault(root, position)
        first_of_label.setdefault(section.label, position)
        plan = SectionPlan(
            index=position, label=section.label,
            name=descriptive_name(section, position=position, count=len(sections), energy=section.energy),
            cluster=section.cluster, start=section.start, end=section.end,
            key=key_at(path, section.start + 1e-6), bpm=section.bpm, energy=section.energy,
            instruments=[name for name in candidates if presence[name][position]],
            genres=top_labels(section.genres, threshold=tag_threshold, limit=2),
            moods=top_labels(section.moods, threshold=tag_threshold, limit=2),
            vocals=vocals[position],
            chords=[label for label in section.chords if label not in ("N", "X")],
            repeats=repeats, folded=folded[position], changes=[], caption=section.caption,
        )
        timeline = [chord.label for chord in analysis.chords
                    if chord.start >= section.start - 0.5 and chord.end <= section.end + 0.5]
        plan.loop = chord_loop(timeline)
        plan.borrowed = borrowed_chords(timeline, plan.key)
        plan.cadence = cadence(timeline, plan.key)
        if section.bpm and summary.bpm:
            ratio = section.bpm / summary.bpm
            plan.feel = "half-time" if abs(ratio - 0.5) < 0.05 else "double-time" if abs(ratio - 2) < 0.1 else None
        plans.append(plan)
    _name_unique(plans)
    for plan in plans:
        if plan.repeats is not None:
            plan.differences = _differences(plans[plan.repeats], plan)

    events = find_events(analysis, plans, path=path)
    for plan in plans:
        plan.events = [event for event in events if event.section_index == plan.index]
        plan.changes = [event.text for event in plan.events
                        if abs(event.time - plan.start) < 0.01 and event.kind not in ("loudest", "quietest", "climax")
                        and plan.index > 0]
    # Repeats are matched within a chunk only: a long file's form is not known across its seams.
    chunked = any(note.startswith(CHUNKED_NOTE) for note in summary.notes)
    form, form_detail = name_form(plans) if not chunked else (None, None)
    character = Character(
        title=analysis.source.title, artist=analysis.source.artist, duration_s=analysis.source.duration_s,
        key=summary.key, bpm=summary.bpm, time_signature=summary.time_signature,
        loudness_lufs=summary.loudness_lufs,
        genres=top_labels(summary.genres, threshold=tag_threshold, limit=2),
        moods=top_labels(summary.moods, threshold=tag_threshold, limit=2),
        instruments=[name for name in song_instruments[:4]
                     if any(presence.get(name, [False]))] or song_instruments[:4],
        vocals=any(vocals) if sections else summary.vocals.present,
        spoken=summary.vocals.delivery == "speech",
        silent=summary.silent, notes=summary.notes, form=form, form_detail=form_detail,
        melody=_melody_words(analysis), tempo_feel=_tempo_feel(analysis),
    )
    arc = Arc(
        shape=energy_shape([plan.energy for plan in plans]),
        energy=[plan.energy for plan in plans],
        density=[len(plan.instruments) + int(plan.vocals) for plan in plans],
        moods=[plan.moods[0] if plan.moods else None for plan in plans],
    )
    return Outline(song_id=analysis.source.sha256, character=character, arc=arc, sections=plans,
                   events=events, moments=select_moments(events, max_moments=max_moments), key_path=path)


def _name_unique(plans: list[SectionPlan]) -> None:
    """Descriptive names that repeat get their time: "the quiet interlude at 2:13"."""
    for plan in plans:
        repeated = plan.label == "section" and sum(other.name == plan.name for other in plans) > 1
        plan.reference = f"{plan.name} at {format_time(plan.start)}" if repeated else plan.name


_INTERVAL_NAMES = {0: "a unison", 1: "a semitone", 2: "a whole tone", 3: "a minor third", 4: "a major third",
                   5: "a fourth", 6: "a tritone", 7: "a fifth", 8: "a minor sixth", 9: "a major sixth",
                   10: "a minor seventh", 11: "a major seventh", 12: "an octave"}


def _melody_words(analysis: SongAnalysis) -> str | None:
    melody = analysis.summary.melody
    if not melody or not melody.lowest_note or not melody.highest_note or melody.range_semitones is None:
        return None
    span = melody.range_semitones
    octaves, rest = divmod(span, 12)
    if octaves and rest:
        width = f"{'an octave' if octaves == 1 else f'{octaves} octaves'} and {_INTERVAL_NAMES[rest]}"
    else:
        width = _INTERVAL_NAMES[span] if span <= 12 else f"{octaves} octaves"
    contour = {"rising": ", climbing as it goes", "falling": ", falling as it goes",
               "arch": ", rising to its peak and falling back", "valley": ", dipping in the middle",
               "flat": ", keeping close to one pitch", "wandering": ""}.get(melody.contour or "wandering", "")
    return f"the melody spans {width}, from {melody.lowest_note} up to {melody.highest_note}{contour}"


def _tempo_feel(analysis: SongAnalysis) -> str | None:
    values = np.array([point.value for point in analysis.tempo_curve if point.value > 0])
    if values.size < 8 or not analysis.summary.bpm:
        return None
    spread = float(np.std(values) / np.mean(values))
    return "the tempo breathes freely, rubato rather than metronomic" if spread > 0.08 else None


def find_events(analysis: SongAnalysis, sections: list[SectionPlan], *, path: list[KeySpan]) -> list[Moment]:
    """Every temporal fact of the song, in time order, each in the section it falls in."""
    events: list[Moment] = []

    def add(time: float, kind: EventKind, text: str, subject: str | None = None) -> None:
        events.append(Moment(time=round(time, 2), kind=kind, section_index=_section_at(sections, time),
                             text=text, subject=subject))

    known = [span for span in path if span.key]
    for previous, current in zip(known, known[1:]):
        add(current.start, "key_change", f"the key moves from {previous.key} to {current.key}", current.key)
    for previous, current in zip(sections, sections[1:]):
        if current.vocals and not previous.vocals:
            add(current.start, "vocals_enter", "vocals enter")
        elif previous.vocals and not current.vocals:
            add(current.start, "vocals_leave", "vocals drop out")
        for name in current.instruments:
            if name not in previous.instruments:
                add(current.start, "instrument_entry", f"{name} {'enter' if is_plural(name) else 'enters'}", name)
        for name in previous.instruments:
            if name not in current.instruments:
                add(current.start, "instrument_exit", f"{name} {'drop' if is_plural(name) else 'drops'} out", name)
    _tempo_events(sections, add)
    _energy_events(sections, add)
    _loudness_events(analysis, add)
    order = {kind: position for position, kind in enumerate(EventKind.__args__)}
    return sorted(events, key=lambda event: (event.time, order[event.kind]))


def _tempo_events(sections: list[SectionPlan], add) -> None:
    stated = next((section.bpm for section in sections if section.bpm), None)
    for section in sections[1:]:
        if section.bpm and stated and abs(section.bpm - stated) / stated >= 0.08 and section.feel is None:
            add(section.start, "tempo_change", f"the tempo shifts to {section.bpm:.0f} BPM")
            stated = section.bpm


def _energy_events(sections: list[SectionPlan], add) -> None:
    for previous, current in zip(sections, sections[1:]):
        if previous.energy is None or current.energy is None:
            continue
        delta = current.energy - previous.energy
        if current.label == "breakdown" or (delta <= -0.25 and current.energy < 0.35):
            add(current.start, "breakdown", "a breakdown: the energy drops away")
        elif delta >= 0.25 and previous.energy < 0.5:
            add(current.start, "drop", "the energy surges back")
        elif delta >= 0.15:
            add(current.start, "energy_rise", "the energy rises")
        elif delta <= -0.15:
            add(current.start, "energy_fall", "the energy falls")
    energetic = [section for section in sections if section.energy is not None]
    if len(energetic) >= 3:
        peak = max(energetic, key=lambda section: section.energy)
        add(peak.start, "climax", f"the climax: the {peak.reference} is the most intense part of the song")


def _loudness_events(analysis: SongAnalysis, add) -> None:
    curve = analysis.loudness_curve
    if len(curve) < 10:
        return
    values = np.array([point.value for point in curve])
    loudest = int(np.argmax(values))
    add(curve[loudest].time, "loudest", f"the loudest point ({values[loudest]:.0f} LUFS)")
    # The quietest moment inside the song, not the silence at its edges.
    margin = max(1, len(curve) // 20)
    interior = values[margin:-margin]
    audible = np.where(interior > -60, interior, np.inf)
    if np.isfinite(audible).any():
        quietest = margin + int(np.argmin(audible))
        add(curve[quietest].time, "quietest", f"the quietest point ({values[quietest]:.0f} LUFS)")


_MOMENT_PRIORITY = ["key_change", "climax", "vocals_enter", "vocals_leave", "drop", "breakdown", "tempo_change",
                    "loudest", "quietest", "instrument_entry", "instrument_exit"]


def select_moments(events: list[Moment], *, max_moments: int = 12) -> list[Moment]:
    """The most telling events for the key-moments list, in time order; every key change stays."""
    ranked = sorted((event for event in events if event.kind in _MOMENT_PRIORITY),
                    key=lambda event: (_MOMENT_PRIORITY.index(event.kind), event.time))
    keys = [event for event in ranked if event.kind == "key_change"]
    rest = [event for event in ranked if event.kind != "key_change"]
    kept = keys + rest[:max(0, max_moments - len(keys))]
    return sorted(kept, key=lambda event: event.time)
