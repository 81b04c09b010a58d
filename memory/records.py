"""Typed results of the store's queries: a song of the library, and search hits with scores.

Segments come back as the analysis's own `Segment`; a hit adds the song it belongs to and
how near it is.
"""

from __future__ import annotations

from pydantic import BaseModel

from linernotes.tools.schema import Segment


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


class SegmentHit(BaseModel):
    """A section or window found by a search, with its song's id.

    `score` is the cosine similarity of the query and the segment, 1 for identical, higher
    is nearer.
    """

    song_id: str
    segment: Segment
    score: float


class SongHit(BaseModel):
    """A song found by a search; `score` is a cosine similarity, higher is nearer."""

    song: SongRecord
    score: float
