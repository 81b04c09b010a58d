"""Typed results of the store's queries: what a song or a segment looks like once stored."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel


class SongRecord(BaseModel):
    """One song of the library: its headline facts, summary text and record counts."""

    id: str  # the audio's sha256
    title: str | None
    artist: str | None
    path: str
    duration_s: float
    key: str | None
    bpm: float | None
    time_signature: str | None
    loudness_lufs: float | None
    genres: list[str]  # top labels, best first
    moods: list[str]
    instruments: list[str]
    vocals: bool
    analyzer_version: str
    section_count: int
    window_count: int
    stored_at: float  # Unix time of the write
    summary: str  # the text that `songs_like` searches

    @property
    def display_name(self) -> str:
        """Title (with artist when known), else the file name."""
        if self.title:
            return f"{self.artist} - {self.title}" if self.artist else self.title
        return self.path.replace("\\", "/").rsplit("/", 1)[-1]


class SegmentRecord(BaseModel):
    """A stored section or 10 s window, with the features its record carries."""

    id: str
    song_id: str
    kind: Literal["section", "window"]
    index: int
    section_index: int
    start: float
    end: float
    label: str  # the role of its section: verse, chorus, ...
    cluster: str
    key: str | None
    bpm: float | None
    loudness_lufs: float | None
    energy: float | None
    vocals: bool
    genres: list[str]
    moods: list[str]
    instruments: list[str]
    chords: list[str]
    caption: str
    document: str  # caption plus compact features: the text that is searched


class SegmentHit(BaseModel):
    """A segment found by a search; smaller `distance` is nearer (cosine distance, 0 to 2)."""

    segment: SegmentRecord
    distance: float


class SongHit(BaseModel):
    """A song found by a search; smaller `distance` is nearer (cosine distance, 0 to 2)."""

    song: SongRecord
    distance: float
