"""The analysis engine's steps: whole-song passes computed once, then sliced per segment.

These are plain functions; the describe graph (`agent/graph.py`) is the one orchestration
that chains them (`cached_analysis`, `run_song_passes`, `plan_segments`, `summarize`,
`describe_segment`, `assemble_analysis`), and `linernotes.analyze` runs that same graph.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Literal

import numpy as np
from pydantic import BaseModel

from linernotes.tools import cache
from linernotes.tools.audio import Audio, check_path, file_sha256
from linernotes.tools.chords import analyze_harmony
from linernotes.tools.loudness import is_silent, measure_loudness, span_loudness
from linernotes.tools.melody import MelodyFrames, transcribe_melody
from linernotes.tools.rhythm import track_rhythm
from linernotes.tools.settings import MAX_DURATION_S
from linernotes.tools.schema import (
    Chord,
    LoudnessResult,
    RhythmResult,
    Segment,
    Source,
    SongAnalysis,
    Summary,
    TagSummary,
    Vocals,
)
from linernotes.tools.structure import SectionSpan, segment_sections
from linernotes.tools.tagging import TagFrames, tag_audio
from linernotes.tools.tonality import Tonality
from linernotes.tools.vibe import VibeFrames, measure_vibe

# Shorter clips get no tempo, metre or sections: too few beats to measure honestly.
MIN_RHYTHM_S = 2.0

Progress = Callable[[str, float], None]


@dataclass(frozen=True)
class AnalysisConfig:
    """What changes an analysis; read by the engine and by the describe graph's nodes."""

    window_s: float = 10.0
    essentia_models: str | None = None
    max_duration_s: float = MAX_DURATION_S
    use_cache: bool = True
    workers: int = 2

    def cache_tag(self) -> str:
        return f"w{self.window_s:g}-{'ess' if self.essentia_models else 'musicnn'}"


class SegmentSpan(BaseModel):
    """Where a segment lies and what role it plays; its features come from `describe_segment`."""

    kind: Literal["section", "window"]
    index: int
    section_index: int
    start: float
    end: float
    label: str
    cluster: str
    label_confidence: float


@dataclass
class SongPasses:
    """Everything the whole-song passes measured, kept for slicing per segment."""

    audio: Audio
    loudness: LoudnessResult
    silent: bool
    rhythm: RhythmResult | None
    tonality: Tonality | None
    chords: list[Chord]
    tags: TagFrames | None
    vibe: VibeFrames | None
    melody: MelodyFrames | None
    sections: list[SectionSpan]
    timings: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def cached_analysis(path: str | Path, *, config: AnalysisConfig) -> SongAnalysis | None:
    """The cached analysis of the file's audio content, with `source.path` set to `path`."""
    if not config.use_cache:
        return None
    cached = cache.load(file_sha256(check_path(path)), config.cache_tag())
    if cached is None:
        return None
    source = cached.source.model_copy(update={"path": str(path)})
    return cached.model_copy(update={"source": source})


def run_song_passes(
    audio: Audio, *, config: AnalysisConfig = AnalysisConfig(), progress: Progress | None = None
) -> SongPasses:
    """Run every whole-song detector once, the independent ones side by side on `workers` threads."""
    timings: dict[str, float] = {}
    notes: list[str] = []

    def timed(name, function, *args, **kwargs):
        start = time.perf_counter()
        result = function(*args, **kwargs)
        timings[name] = time.perf_counter() - start
        if progress:
            progress(name, len(timings) / 8)
        return result

    loudness = timed("loudness", measure_loudness, audio)
    silent = is_silent(audio, loudness=loudness)
    if silent:
        notes.append("the recording is silent: no key, tempo, chords or tags to measure")
        return SongPasses(audio=audio, loudness=loudness, silent=True, rhythm=None, tonality=None,
                          chords=[], tags=None, vibe=None, melody=None,
                          sections=_single_section(audio), timings=timings, notes=notes)
    rhythmic = audio.duration_s >= MIN_RHYTHM_S
    if not rhythmic:
        notes.append(f"shorter than {MIN_RHYTHM_S:g} s: too short to measure tempo, metre or sections")
    # Longest first, so the two workers finish together.
    with ThreadPoolExecutor(max_workers=config.workers) as pool:
        rhythm = pool.submit(timed, "rhythm", track_rhythm, audio) if rhythmic else None
        tags = pool.submit(timed, "tags", tag_audio, audio, essentia_models=config.essentia_models)
        melody = pool.submit(timed, "melody", transcribe_melody, audio)
        vibe = pool.submit(timed, "vibe", measure_vibe, audio)
        harmony = pool.submit(timed, "key+chords", analyze_harmony, audio)
        tonality, chords = harmony.result()
        passes = SongPasses(
            audio=audio, loudness=loudness, silent=False,
            rhythm=rhythm.result() if rhythm else None, tonality=tonality,
            chords=chords, tags=tags.result(), vibe=vibe.result(),
            melody=melody.result(), sections=[], timings=timings, notes=notes,
        )
    if passes.rhythm is not None and passes.rhythm.downbeats:
        tags = passes.tags
        passes.sections = timed(
            "structure", segment_sections, audio, beats=passes.rhythm.beats,
            downbeats=passes.rhythm.downbeats, embeddings=tags.embeddings,
            embedding_times=tags.starts + tags.patch_s / 2, loudness=loudness,
        )
    else:
        passes.sections = _single_section(audio)
    return passes


def _single_section(audio: Audio) -> list[SectionSpan]:
    return [SectionSpan(start=0.0, end=audio.duration_s, cluster="A", label="section",
                        label_confidence=0.0)]


def plan_segments(passes: SongPasses, *, window_s: float = 10.0) -> list[SegmentSpan]:
    """Sections, then windows of about `window_s` seconds splitting each section evenly."""
    spans: list[SegmentSpan] = []
    windows: list[SegmentSpan] = []
    for section_index, section in enumerate(passes.sections):
        shared = dict(section_index=section_index, label=section.label, cluster=section.cluster,
                      label_confidence=section.label_confidence)
        spans.append(SegmentSpan(kind="section", index=section_index,
                                 start=section.start, end=section.end, **shared))
        count = max(1, round((section.end - section.start) / window_s))
        edges = np.linspace(section.start, section.end, count + 1)
        for start, end in zip(edges[:-1], edges[1:]):
            windows.append(SegmentSpan(kind="window", index=len(windows),
                                       start=float(start), end=float(end), **shared))
    return spans + windows


def describe_segment(passes: SongPasses, span: SegmentSpan) -> Segment:
    """The features of one span, sliced from the whole-song passes (caption left empty)."""
    start, end = span.start, span.end
    key = passes.tonality.key(start=start, end=end) if passes.tonality else None
    tags = passes.tags.summary(start=start, end=end) if passes.tags else _no_tags()
    return Segment(
        **span.model_dump(),
        key=key.key if key else None,
        key_confidence=key.confidence if key else 0.0,
        bpm=_span_bpm(passes.rhythm, start, end),
        loudness_lufs=span_loudness(passes.loudness, start=start, end=end),
        energy=_relative_energy(passes.loudness, start, end),
        genres=tags.genres,
        moods=tags.moods,
        instruments=tags.instruments,
        vocals=tags.vocals,
        chords=_span_chords(passes.chords, start, end),
        audio_embedding=passes.tags.embedding(start=start, end=end) if passes.tags else None,
    )


def summarize(passes: SongPasses) -> Summary:
    """The whole-song summary."""
    key = passes.tonality.key() if passes.tonality else None
    tags = passes.tags.summary() if passes.tags else _no_tags()
    vocals = _song_vocals(passes, tags.vocals)
    vibe = passes.vibe.summary() if passes.vibe else None
    rhythm = passes.rhythm
    notes = list(dict.fromkeys([
        *passes.notes, *(passes.tags.notes if passes.tags else []),
        *(f"key: {note}" for note in (key.notes if key else [])),
        *(f"tempo: {note}" for note in (rhythm.notes if rhythm else [])),
    ]))
    return Summary(
        key=key.key if key else None,
        key_confidence=key.confidence if key else 0.0,
        bpm=rhythm.bpm if rhythm else None,
        bpm_confidence=rhythm.bpm_confidence if rhythm else 0.0,
        time_signature=rhythm.time_signature if rhythm else None,
        loudness_lufs=passes.loudness.integrated_lufs,
        loudness_range_lu=passes.loudness.loudness_range_lu,
        genres=tags.genres,
        moods=tags.moods,
        instruments=tags.instruments,
        vocals=vocals,
        valence=vibe.valence if vibe else None,
        energy=vibe.energy if vibe else None,
        danceability=vibe.danceability if vibe else None,
        instrumentalness=vibe.instrumentalness if vibe else None,
        melody=passes.melody.melody() if passes.melody else None,
        silent=passes.silent,
        tagger=passes.tags.backend if passes.tags else None,
        notes=notes,
    )


def assemble_analysis(
    passes: SongPasses, sections: list[Segment], windows: list[Segment], *, summary: Summary
) -> SongAnalysis:
    """Put the measured song together into its public form (`summary` from `summarize`)."""
    rhythm = passes.rhythm
    downbeats = rhythm.downbeats if rhythm else None
    return SongAnalysis(
        source=_source(passes.audio),
        summary=summary,
        beats=rhythm.beats if rhythm else [],
        downbeats=rhythm.downbeats if rhythm else [],
        tempo_curve=rhythm.tempo_curve if rhythm else [],
        loudness_curve=passes.loudness.curve,
        chords=passes.chords,
        key_changes=passes.tonality.changes(downbeats=downbeats) if passes.tonality else [],
        sections=sections,
        segments=windows,
        timings={stage: round(seconds, 3) for stage, seconds in passes.timings.items()},
        audio_embedding=passes.tags.embedding() if passes.tags else None,
    )


def _song_vocals(passes: SongPasses, whole_song: Vocals) -> Vocals:
    """A song has a voice when any of its sections has one, so summary and sections agree."""
    if whole_song.present or passes.tags is None:
        return whole_song
    by_section = [passes.tags.summary(start=s.start, end=s.end).vocals for s in passes.sections]
    strongest = max(by_section, key=lambda vocals: vocals.score, default=whole_song)
    return strongest if strongest.present else whole_song


def _source(audio: Audio) -> Source:
    return Source(path=audio.path, sha256=audio.sha256, duration_s=round(audio.duration_s, 3),
                  sample_rate=audio.native_rate, channels=audio.channels,
                  title=audio.title, artist=audio.artist)


def _no_tags() -> TagSummary:
    return TagSummary(genres=[], moods=[], instruments=[], vocals=Vocals(present=False, score=0.0))


def _span_bpm(rhythm: RhythmResult | None, start: float, end: float) -> float | None:
    """Local tempo from the beats inside the span; the song's tempo when too few fall inside."""
    if rhythm is None or rhythm.bpm is None:
        return None
    beats = np.array([b for b in rhythm.beats if start <= b < end])
    if len(beats) < 5:
        return rhythm.bpm
    return round(float(60.0 / np.median(np.diff(beats))), 1)


def _relative_energy(loudness: LoudnessResult, start: float, end: float) -> float | None:
    """Where the span's loudness sits between the song's quiet (5th) and loud (95th) percentiles."""
    values = np.array([point.value for point in loudness.curve if np.isfinite(point.value)])
    span = span_loudness(loudness, start=start, end=end)
    if span is None or len(values) < 2:
        return None
    low, high = np.percentile(values, [5, 95])
    if high - low < 1e-6:
        return 0.5
    return round(float(np.clip((span - low) / (high - low), 0.0, 1.0)), 3)


def _span_chords(chords: list[Chord], start: float, end: float) -> list[str]:
    """Chords heard in the span, in order; one that only grazes its edge does not count."""
    labels: list[str] = []
    for chord in chords:
        overlap = min(chord.end, end) - max(chord.start, start)
        if overlap >= min(1.0, 0.5 * (chord.end - chord.start)) and chord.label != "N" \
                and chord.label not in labels:
            labels.append(chord.label)
    return labels
