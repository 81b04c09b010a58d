"""Plan: the structured outline a narrative is written from.

Everything here is read off the analysis (or the segments stored in memory); nothing is
invented. The outline holds the overall character, the arc of energy, density and mood,
the sections in order with what changes at each boundary, and the key moments.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import BaseModel

from linernotes.tools.vocabulary import format_time, top_labels
from linernotes.tools.vocabulary import INSTRUMENT_WORDS, family_of
from linernotes.tools.schema import Segment, SongAnalysis, Tag

MomentKind = Literal[
    "vocals_enter", "vocals_leave", "key_change", "tempo_change", "drop", "breakdown",
    "loudest", "quietest", "instrument_entry", "climax",
]


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


class SectionPlan(BaseModel):
    """One section and what changes as it begins."""

    index: int
    label: str
    cluster: str
    start: float
    end: float
    key: str | None
    bpm: float | None
    energy: float | None
    instruments: list[str]
    genres: list[str]
    moods: list[str]
    vocals: bool
    chords: list[str]  # mir_eval labels, in order of first appearance
    repeats: int | None  # index of the earlier section with the same material
    changes: list[str]  # plain facts about the boundary: "vocals enter", "energy rises"
    caption: str


class Arc(BaseModel):
    """How energy, density and mood evolve over the sections."""

    shape: Literal["builds", "fades", "arch", "valley", "steady", "wavering"] | None
    energy: list[float | None]
    density: list[int]  # instruments plus voice, per section
    moods: list[str | None]


class Moment(BaseModel):
    time: float
    kind: MomentKind
    section_index: int
    text: str  # the fact, already phrased: "vocals enter"


class Outline(BaseModel):
    song_id: str
    character: Character
    arc: Arc
    sections: list[SectionPlan]
    moments: list[Moment]


def energy_shape(energy: list[float | None]) -> Literal["builds", "fades", "arch", "valley", "steady", "wavering"] | None:
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


def _boundary_changes(previous: SectionPlan | None, current: SectionPlan) -> list[str]:
    if previous is None:
        return []
    changes = []
    if current.repeats is not None:
        changes.append(f"material of the {ordinal(current.repeats)} section returns")
    if previous.energy is not None and current.energy is not None:
        delta = current.energy - previous.energy
        if delta >= 0.15:
            changes.append("energy rises")
        elif delta <= -0.15:
            changes.append("energy falls")
    if current.vocals and not previous.vocals:
        changes.append("vocals enter")
    elif previous.vocals and not current.vocals:
        changes.append("vocals drop out")
    if current.key and previous.key and current.key != previous.key:
        changes.append(f"key moves to {current.key}")
    if current.bpm and previous.bpm and abs(current.bpm - previous.bpm) / previous.bpm >= 0.05:
        changes.append(f"tempo shifts to {current.bpm:.0f} BPM")
    entering = [name for name in current.instruments if name not in previous.instruments]
    leaving = [name for name in previous.instruments if name not in current.instruments]
    changes += [f"{name} {'enter' if is_plural(name) else 'enters'}" for name in entering[:2]]
    changes += [f"{name} {'drop' if is_plural(name) else 'drops'} out" for name in leaving[:2]]
    return changes


def ordinal(index: int) -> str:
    """0 -> "first", 1 -> "second" ... (for section references)."""
    words = ["first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth"]
    return words[index] if index < len(words) else f"{index + 1}th"


def plan_sections(sections: list[Segment], *, tag_threshold: float = 0.1) -> list[SectionPlan]:
    """Sections in time order, each with the facts the writer may state and its boundary changes."""
    plans: list[SectionPlan] = []
    first_of_cluster: dict[str, int] = {}
    for position, section in enumerate(sorted(sections, key=lambda item: item.start)):
        cluster_root = section.cluster.rstrip("'")
        repeats = first_of_cluster.get(cluster_root)
        first_of_cluster.setdefault(cluster_root, position)
        plan = SectionPlan(
            index=position,
            label=section.label,
            cluster=section.cluster,
            start=section.start,
            end=section.end,
            key=section.key,
            bpm=section.bpm,
            energy=section.energy,
            instruments=[
                name for name in top_labels(section.instruments, threshold=tag_threshold)
                if family_of(name, INSTRUMENT_WORDS) != "voice"  # the voice is `vocals`
            ],
            genres=top_labels(section.genres, threshold=tag_threshold, limit=2),
            moods=top_labels(section.moods, threshold=tag_threshold, limit=2),
            vocals=section.vocals.present,
            chords=[label for label in section.chords if label not in ("N", "X")],
            repeats=repeats,
            changes=[],
            caption=section.caption,
        )
        plan.changes = _boundary_changes(plans[-1] if plans else None, plan)
        plans.append(plan)
    return plans


def _section_at(sections: list[SectionPlan], time: float) -> int:
    for section in sections:
        if section.start <= time < section.end:
            return section.index
    return sections[-1].index if sections else 0


def find_moments(
    analysis: SongAnalysis, sections: list[SectionPlan], *, max_moments: int = 12
) -> list[Moment]:
    """Key moments with times: vocals, key and tempo changes, drops, extremes, entries, climax."""
    moments: list[Moment] = []

    def add(time: float, kind: MomentKind, text: str) -> None:
        moments.append(Moment(time=round(time, 2), kind=kind, section_index=_section_at(sections, time), text=text))

    # Vocals: the windows give finer timing than the sections when they are there.
    spans = sorted(analysis.segments or analysis.sections, key=lambda item: item.start)
    for previous, current in zip(spans, spans[1:]):
        if current.vocals.present and not previous.vocals.present:
            add(current.start, "vocals_enter", "vocals enter")
        elif previous.vocals.present and not current.vocals.present:
            add(current.start, "vocals_leave", "vocals drop out")
    if spans and spans[0].vocals.present:
        add(spans[0].start, "vocals_enter", "vocals are there from the start")

    for change in analysis.key_changes:
        add(change.time, "key_change", f"the key moves from {change.from_key} to {change.to_key}")
    for section in sections:
        if any(change.startswith("tempo shifts") for change in section.changes):
            add(section.start, "tempo_change", f"the tempo shifts to {section.bpm:.0f} BPM")
        if section.label == "breakdown" or "energy falls" in section.changes and (section.energy or 0) < 0.35:
            add(section.start, "breakdown", "a breakdown: the energy drops away")
        elif "energy rises" in section.changes and section.index > 0 and (sections[section.index - 1].energy or 1) < 0.5:
            add(section.start, "drop", "the energy surges back")
        for change in section.changes:
            if change.endswith((" enters", " enter")) and not change.startswith("vocals"):
                name = change.rsplit(" ", 1)[0]
                add(section.start, "instrument_entry", f"{name} {'come' if is_plural(name) else 'comes'} in")

    curve = analysis.loudness_curve
    if len(curve) >= 10:
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
    energetic = [section for section in sections if section.energy is not None]
    if len(energetic) >= 3:
        peak = max(energetic, key=lambda section: section.energy)
        name = "passage" if peak.label == "section" else peak.label
        add(peak.start, "climax", f"the climax: this {name} is the most intense part of the song")

    # Keep the most telling moments when there are many, then put them back in time order.
    priority = ["climax", "key_change", "vocals_enter", "vocals_leave", "drop", "breakdown", "tempo_change",
                "loudest", "quietest", "instrument_entry"]
    moments.sort(key=lambda moment: (priority.index(moment.kind), moment.time))
    kept = moments[:max_moments]
    return sorted(kept, key=lambda moment: moment.time)


def build_outline(
    analysis: SongAnalysis,
    *,
    tag_threshold: float = 0.1,
    max_moments: int = 12,
) -> Outline:
    """The outline of one song.

    Parameters
    ----------
    analysis : SongAnalysis
        The measured facts.
    tag_threshold : float
        Tags scoring below this are not mentioned.
    max_moments : int
        At most this many key moments.
    """
    summary = analysis.summary
    plans = plan_sections(analysis.sections, tag_threshold=tag_threshold)
    instruments = top_labels(summary.instruments, threshold=tag_threshold, limit=4)
    character = Character(
        title=analysis.source.title,
        artist=analysis.source.artist,
        duration_s=analysis.source.duration_s,
        key=summary.key,
        bpm=summary.bpm,
        time_signature=summary.time_signature,
        loudness_lufs=summary.loudness_lufs,
        genres=top_labels(summary.genres, threshold=tag_threshold, limit=2),
        moods=top_labels(summary.moods, threshold=tag_threshold, limit=2),
        instruments=[name for name in instruments if family_of(name, INSTRUMENT_WORDS) != "voice"],
        vocals=summary.vocals.present,
        silent=summary.silent,
        notes=summary.notes,
    )
    arc = Arc(
        shape=energy_shape([plan.energy for plan in plans]),
        energy=[plan.energy for plan in plans],
        density=[len(plan.instruments) + int(plan.vocals) for plan in plans],
        moods=[plan.moods[0] if plan.moods else None for plan in plans],
    )
    return Outline(
        song_id=analysis.source.sha256,
        character=character,
        arc=arc,
        sections=plans,
        moments=find_moments(analysis, plans, max_moments=max_moments),
    )


def describe_span(start: float, end: float) -> str:
    """`m:ss–m:ss`, the form every section heading uses."""
    return f"{format_time(start)}–{format_time(end)}"
