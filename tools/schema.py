"""Typed results of every analysis stage, and the `SongAnalysis` they add up to.

The JSON form of `SongAnalysis` is a public contract (`describe --json`): keys are only
ever added, and `SCHEMA_VERSION` changes when one is renamed or removed.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = "1.0"
# Bumped whenever a detector changes what it returns: part of the analysis cache key.
ANALYZER_VERSION = "0.7.0"


class Tag(BaseModel):
    """A label with a score in [0, 1] (a tagger's probability, not a calibrated truth)."""

    label: str
    score: float


class Vocals(BaseModel):
    """Whether a voice sings; `type` only when a model can tell (e.g. "female", "male")."""

    present: bool
    score: float
    type: str | None = None
    # How the voice is delivered, only when the signal tells: "speech" or "singing".
    delivery: Literal["speech", "singing"] | None = None
    # Where in the span the voice is heard (start, end in s), when a model places it finer
    # than the span (speech: Silero's stretches); empty when the whole span is all we know.
    regions: list[tuple[float, float]] = []


class Source(BaseModel):
    path: str
    sha256: str
    duration_s: float
    sample_rate: int
    channels: int
    title: str | None = None
    artist: str | None = None


class TimedValue(BaseModel):
    """One point of a curve over time (tempo, loudness, energy)."""

    time: float
    value: float


class Chord(BaseModel):
    start: float
    end: float
    label: str  # mir_eval syntax: "C:maj", "A:min", "N" for no chord
    confidence: float | None = None


class KeyChange(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    time: float
    from_key: str = Field(alias="from")
    to_key: str = Field(alias="to")
    confidence: float | None = None


class KeyEstimate(BaseModel):
    """A key such as "F# minor", or None with `confidence` 0 when no key is clear."""

    key: str | None
    confidence: float
    notes: list[str] = []  # why there is no key: "silence", "no clear key", ...


class Melody(BaseModel):
    """The top voice: its range and the shape of its line."""

    lowest_note: str | None  # scientific pitch, e.g. "A3"
    highest_note: str | None
    range_semitones: int | None
    contour: Literal["rising", "falling", "arch", "valley", "flat", "wandering"] | None
    note_count: int


class RhythmResult(BaseModel):
    beats: list[float]
    downbeats: list[float]
    bpm: float | None
    bpm_confidence: float
    time_signature: str | None  # "4/4", "3/4"
    meter_confidence: float
    tempo_curve: list[TimedValue]
    notes: list[str] = []  # why a value is missing: "too short for a tempo", ...


class LoudnessResult(BaseModel):
    integrated_lufs: float | None
    loudness_range_lu: float | None
    curve: list[TimedValue]  # short-term loudness (LUFS), a point per second


class TagSummary(BaseModel):
    """What the taggers say about one stretch of audio."""

    genres: list[Tag]
    moods: list[Tag]
    instruments: list[Tag]
    vocals: Vocals


class Vibe(BaseModel):
    """vibenet's perceptual descriptors, each in [0, 1]."""

    valence: float
    energy: float
    danceability: float
    instrumentalness: float
    acousticness: float


class Summary(BaseModel):
    key: str | None
    key_confidence: float
    bpm: float | None
    bpm_confidence: float
    time_signature: str | None
    loudness_lufs: float | None
    loudness_range_lu: float | None
    genres: list[Tag]
    moods: list[Tag]
    instruments: list[Tag]
    vocals: Vocals
    valence: float | None
    energy: float | None
    danceability: float | None
    instrumentalness: float | None
    melody: Melody | None
    silent: bool
    # What kind of sound the recording is: "music", "speech", "silence" or "noise".
    verdict: Literal["music", "speech", "silence", "noise"] | None = None
    tagger: str | None = None  # which models tagged genres, moods, instruments and vocals
    notes: list[str] = []  # honest caveats: "too short for a tempo", "no clear key", ...


class Segment(BaseModel):
    """A section of the song, or a 10 s window inside one; it carries its span's features."""

    kind: Literal["section", "window"]
    index: int  # position among segments of the same kind
    section_index: int  # the section it belongs to (itself, for a section)
    start: float
    end: float
    label: str  # role: intro, verse, chorus, bridge, solo, breakdown, outro, section
    cluster: str  # repeated material shares a letter: "A", "B", "A'"...
    label_confidence: float
    key: str | None
    key_confidence: float
    bpm: float | None
    loudness_lufs: float | None
    energy: float | None  # relative loudness in [0, 1] within this song
    genres: list[Tag]
    moods: list[Tag]
    instruments: list[Tag]
    vocals: Vocals
    chords: list[str]  # distinct chord labels in order of first appearance
    caption: str = ""
    verdict: Literal["music", "speech", "silence", "noise"] | None = None  # this span's kind of sound
    # Tagger penultimate-layer vector pooled over the span: "sounds like" search in memory.
    audio_embedding: list[float] | None = None


class Narrative(BaseModel):
    """The long-form text and how far it was checked against the analysis."""

    markdown: str
    provider: str
    model: str | None
    verified: bool
    claims_checked: int
    claims_failed: int


class SongAnalysis(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    schema_version: str = SCHEMA_VERSION
    analyzer_version: str = ANALYZER_VERSION
    source: Source
    summary: Summary
    beats: list[float]
    downbeats: list[float]
    tempo_curve: list[TimedValue]
    loudness_curve: list[TimedValue]
    chords: list[Chord]
    key_changes: list[KeyChange]
    sections: list[Segment]
    segments: list[Segment]  # the 10 s windows inside the sections
    timings: dict[str, float]  # stage -> seconds
    narrative: Narrative | None = None
    audio_embedding: list[float] | None = None  # pooled over the whole song

    def to_json(self, *, include_embeddings: bool = False, indent: int | None = None) -> str:
        """The public JSON; embeddings are bulky and left out unless asked for."""
        exclude = None if include_embeddings else {
            "audio_embedding": True,
            "sections": {"__all__": {"audio_embedding"}},
            "segments": {"__all__": {"audio_embedding"}},
        }
        return self.model_dump_json(by_alias=True, exclude=exclude, indent=indent)
