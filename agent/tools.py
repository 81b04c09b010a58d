"""LangChain tools with typed schemas over the analysis and the memory.

The same tools serve the describe pipeline (its writer may look facts up while writing)
and the chat agent. Each factory closes over what the tools read: one `SongAnalysis`, or
a `SongStore`. Results are compact JSON-like text, short enough for a small model.
"""

from __future__ import annotations

import json
from typing import Callable

from langchain_core.tools import BaseTool, StructuredTool
from pydantic import BaseModel, Field

from linernotes.memory.records import SegmentHit, SegmentRecord, SongHit, SongRecord
from linernotes.memory.store import SongStore
from linernotes.tools.schema import Segment, SongAnalysis, Tag
from linernotes.tools.vocabulary import format_time


def _labels(tags: list[Tag], *, limit: int = 3) -> list[str]:
    return [tag.label for tag in sorted(tags, key=lambda tag: tag.score, reverse=True)][:limit]


def segment_facts(segment: Segment) -> dict:
    """A segment's features, as the tools report them."""
    return {
        "label": segment.label, "section_index": segment.section_index,
        "start": format_time(segment.start), "end": format_time(segment.end), "key": segment.key,
        "bpm": round(segment.bpm) if segment.bpm else None,
        "energy": round(segment.energy, 2) if segment.energy is not None else None,
        "instruments": _labels(segment.instruments), "genres": _labels(segment.genres, limit=2),
        "moods": _labels(segment.moods, limit=2), "vocals": segment.vocals.present,
        "chords": segment.chords[:6], "caption": segment.caption,
    }


def _dump(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


# Analysis tools -------------------------------------------------------------------------

class SectionQuery(BaseModel):
    section_index: int = Field(description="Position of the section, 0 for the first")


class TimeQuery(BaseModel):
    time_s: float = Field(description="A time in the song in seconds, e.g. 45 for 0:45")


class NoArguments(BaseModel):
    pass


def analysis_tools(analysis: SongAnalysis, *, captioner: Callable[[Segment], str] | None = None) -> list[BaseTool]:
    """Feature tools over one song's analysis: a section's facts, the segment at a time, a caption.

    Parameters
    ----------
    analysis : SongAnalysis
    captioner : callable, optional
        Writes a caption from a segment's features; when given, a `caption_section` tool is added.
    """
    sections = sorted(analysis.sections, key=lambda section: section.start)
    windows = sorted(analysis.segments, key=lambda window: window.start)

    def section_facts(section_index: int) -> str:
        if not 0 <= section_index < len(sections):
            return _dump({"error": f"no section {section_index}; the song has {len(sections)}"})
        return _dump(segment_facts(sections[section_index]))

    def segment_at_time(time_s: float) -> str:
        found = next((window for window in windows + sections if window.start <= time_s < window.end), None)
        return _dump(segment_facts(found) if found else {"error": f"no segment at {time_s:.1f} s"})

    def song_facts() -> str:
        summary = analysis.summary
        return _dump({
            "duration": format_time(analysis.source.duration_s), "key": summary.key,
            "bpm": round(summary.bpm) if summary.bpm else None, "time_signature": summary.time_signature,
            "genres": _labels(summary.genres, limit=2), "moods": _labels(summary.moods, limit=2),
            "instruments": _labels(summary.instruments, limit=4), "vocals": summary.vocals.present,
            "sections": [f"{section.label} {format_time(section.start)}-{format_time(section.end)}" for section in sections],
            "key_changes": [f"{format_time(change.time)} {change.from_key} -> {change.to_key}"
                            for change in analysis.key_changes],
        })

    tools = [
        StructuredTool.from_function(song_facts, name="song_facts", args_schema=NoArguments,
                                     description="Key, tempo, genres, moods, instruments and sections of the song."),
        StructuredTool.from_function(section_facts, name="section_facts", args_schema=SectionQuery,
                                     description="Measured features of one section: span, key, BPM, instruments, chords, mood."),
        StructuredTool.from_function(segment_at_time, name="segment_at_time", args_schema=TimeQuery,
                                     description="Measured features of the 10-second window playing at a time."),
    ]
    if captioner is not None:
        def caption_section(section_index: int) -> str:
            if not 0 <= section_index < len(sections):
                return f"no section {section_index}"
            return captioner(sections[section_index])

        tools.append(StructuredTool.from_function(
            caption_section, name="caption_section", args_schema=SectionQuery,
            description="A one-sentence caption of a section, written from its features."))
    return tools


# Memory tools ---------------------------------------------------------------------------

class SongQuery(BaseModel):
    song: str = Field(description="Song id, title or file name")


class SongTimeQuery(BaseModel):
    song: str = Field(description="Song id, title or file name")
    time_s: float = Field(description="A time in the song in seconds, e.g. 45 for 0:45")


class SongSectionQuery(BaseModel):
    song: str = Field(description="Song id, title or file name")
    section_index: int = Field(description="Position of the section, 0 for the first")


class TextSearch(BaseModel):
    query: str = Field(description="What to look for, in words, e.g. 'quiet piano with vocals'")
    song: str | None = Field(default=None, description="Only this song; default the whole library")
    k: int = Field(default=5, description="How many results")


class DescriptionQuery(BaseModel):
    description: str = Field(description="A description of the wanted music")
    k: int = Field(default=5, description="How many results")


class SimilarQuery(BaseModel):
    song: str = Field(description="Song id, title or file name")
    k: int = Field(default=5, description="How many results")


class PathQuery(BaseModel):
    path: str = Field(description="Path of an audio file to describe and store")


def _song_line(record: SongRecord) -> dict:
    return {"song": record.display_name, "id": record.id[:12], "duration": format_time(record.duration_s),
            "key": record.key, "bpm": round(record.bpm) if record.bpm else None, "genres": record.genres[:2],
            "moods": record.moods[:2], "instruments": record.instruments[:4], "vocals": record.vocals}


def _segment_line(record: SegmentRecord) -> dict:
    return {"song_id": record.song_id[:12], "kind": record.kind, "section_index": record.section_index,
            "label": record.label, "start": format_time(record.start), "end": format_time(record.end), "key": record.key,
            "bpm": round(record.bpm) if record.bpm else None, "instruments": record.instruments[:4],
            "moods": record.moods[:2], "vocals": record.vocals, "chords": record.chords[:6],
            "caption": record.caption}


def _segment_hits(hits: list[SegmentHit]) -> str:
    return _dump([{**_segment_line(hit.segment), "distance": round(hit.distance, 3)} for hit in hits])


def _song_hits(hits: list[SongHit]) -> str:
    return _dump([{**_song_line(hit.song), "distance": round(hit.distance, 3)} for hit in hits])


def memory_tools(store: SongStore, *, describe_file: Callable[[str], str] | None = None) -> list[BaseTool]:
    """Tools over the song library; with `describe_file`, also one that describes a new file."""

    def list_songs() -> str:
        return _dump([_song_line(record) for record in store.list_songs()])

    def song_summary(song: str) -> str:
        record = store.get_song(song)
        if record is None:
            return _dump({"error": f"no stored song matches {song!r}"})
        return _dump({**_song_line(record), "summary": record.summary, "sections": record.section_count})

    def segment_at(song: str, time_s: float) -> str:
        record = store.segment_at(song, time_s)
        return _dump(_segment_line(record) if record else {"error": f"nothing at {time_s:.1f} s in {song!r}"})

    def section_segments(song: str, section_index: int) -> str:
        return _dump([_segment_line(record) for record in store.section_segments(song, section_index)])

    def search_segments(query: str, song: str | None = None, k: int = 5) -> str:
        return _segment_hits(store.search_segments(query, song=song, k=k))

    def similar_songs(song: str, k: int = 5) -> str:
        return _song_hits(store.similar_songs(song, k=k))

    def songs_like(description: str, k: int = 5) -> str:
        return _song_hits(store.songs_like(description, k=k))

    tools = [
        StructuredTool.from_function(list_songs, name="list_songs", args_schema=NoArguments,
                                     description="All songs in the library with key, tempo, genres and moods."),
        StructuredTool.from_function(song_summary, name="song_summary", args_schema=SongQuery,
                                     description="The stored summary of one song."),
        StructuredTool.from_function(segment_at, name="segment_at", args_schema=SongTimeQuery,
                                     description="What plays at a given time of a song."),
        StructuredTool.from_function(section_segments, name="section_segments", args_schema=SongSectionQuery,
                                     description="The section and its 10-second windows."),
        StructuredTool.from_function(search_segments, name="search_segments", args_schema=TextSearch,
                                     description="Find passages by meaning, e.g. 'distorted guitar solo'."),
        StructuredTool.from_function(similar_songs, name="similar_songs", args_schema=SimilarQuery,
                                     description="Songs in the library that sound like a given song."),
        StructuredTool.from_function(songs_like, name="songs_like", args_schema=DescriptionQuery,
                                     description="Songs in the library matching a description."),
    ]
    if describe_file is not None:
        tools.append(StructuredTool.from_function(
            describe_file, name="describe_file", args_schema=PathQuery,
            description="Analyse a new audio file, store it, and return its summary."))
    return tools
