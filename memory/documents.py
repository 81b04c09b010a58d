"""How an analysis becomes Chroma records (ids, documents, metadata) and back.

Pure functions only: no client here. A segment's metadata holds the fields filters need
(`None` values left out: Chroma cannot store them) and the `Segment` itself as JSON, so that
a query returns the analysis's own shape.
"""

from __future__ import annotations

import time
from typing import Any

from linernotes.memory.records import SongRecord
from linernotes.tools.schema import Segment, SongAnalysis, Tag
from linernotes.tools.vocabulary import format_time, top_labels

TOP_TAGS = 3
# The metadata field that holds the whole segment.
SEGMENT_JSON = "segment"


class OutdatedRecord(LookupError):
    """A stored record lacks what this version reads back."""


def segment_id(song_id: str, segment: Segment) -> str:
    return f"{song_id}:{segment.kind}:{segment.index}"


def _labels(tags: list[Tag], *, top: int = TOP_TAGS) -> list[str]:
    return top_labels(tags, limit=top)


def _without_empty(values: dict[str, Any]) -> dict[str, Any]:
    # Chroma stores neither None nor empty lists.
    return {name: value for name, value in values.items() if value is not None and value != []}


def segment_document(segment: Segment) -> str:
    """The searched text of a segment: its caption, then its features in a compact line."""
    facts = [f"{segment.label} {format_time(segment.start)}-{format_time(segment.end)}"]
    if segment.key:
        facts.append(segment.key)
    if segment.bpm:
        facts.append(f"{segment.bpm:.0f} BPM")
    if segment.loudness_lufs is not None:
        facts.append(f"{segment.loudness_lufs:.0f} LUFS")
    facts.append("vocals" if segment.vocals.present else "instrumental")
    for labels in (_labels(segment.genres), _labels(segment.moods), _labels(segment.instruments)):
        if labels:
            facts.append(", ".join(labels))
    if segment.chords:
        facts.append("chords " + " ".join(segment.chords[:8]))
    features = "; ".join(facts)
    return f"{segment.caption.strip()}\n{features}" if segment.caption.strip() else features


def segment_metadata(song_id: str, segment: Segment) -> dict[str, Any]:
    return _without_empty({
        "song_id": song_id,
        "kind": segment.kind,
        "index": segment.index,
        "section_index": segment.section_index,
        "start": float(segment.start),
        "end": float(segment.end),
        "label": segment.label,
        "cluster": segment.cluster,
        "key": segment.key,
        "bpm": segment.bpm,
        "loudness_lufs": segment.loudness_lufs,
        "energy": segment.energy,
        "vocals": segment.vocals.present,
        "genres": _labels(segment.genres),
        "moods": _labels(segment.moods),
        "instruments": _labels(segment.instruments),
        "chords": segment.chords,
        SEGMENT_JSON: segment.model_dump_json(exclude={"audio_embedding"}),
    })


def song_summary_text(analysis: SongAnalysis) -> str:
    """The searched text of a song: headline facts, then the narrative's opening if any."""
    summary = analysis.summary
    source = analysis.source
    name = source.title or source.path.replace("\\", "/").rsplit("/", 1)[-1]
    lines = [f"{name} by {source.artist}" if source.artist else name]
    facts = [format_time(source.duration_s)]
    if summary.key:
        facts.append(summary.key)
    if summary.bpm:
        facts.append(f"{summary.bpm:.0f} BPM")
    if summary.time_signature:
        facts.append(summary.time_signature)
    facts.append("with vocals" if summary.vocals.present else "instrumental")
    lines.append(", ".join(facts))
    for title, tags in (("Genres", summary.genres), ("Moods", summary.moods),
                        ("Instruments", summary.instruments)):
        if tags:
            lines.append(f"{title}: {', '.join(_labels(tags, top=5))}")
    sections = [section.label for section in analysis.sections]
    if sections:
        lines.append("Form: " + " ".join(sections))
    if analysis.narrative:
        # The embedder reads about 256 word pieces; the opening is what it will see.
        lines.append(analysis.narrative.markdown.strip()[:1000])
    return "\n".join(lines)


def song_metadata(analysis: SongAnalysis) -> dict[str, Any]:
    summary = analysis.summary
    source = analysis.source
    return _without_empty({
        "title": source.title,
        "artist": source.artist,
        "path": source.path,
        "duration_s": float(source.duration_s),
        "key": summary.key,
        "bpm": summary.bpm,
        "time_signature": summary.time_signature,
        "loudness_lufs": summary.loudness_lufs,
        "genres": _labels(summary.genres),
        "moods": _labels(summary.moods),
        "instruments": _labels(summary.instruments),
        "vocals": summary.vocals.present,
        "analyzer_version": analysis.analyzer_version,
        "section_count": len(analysis.sections),
        "window_count": len(analysis.segments),
        "stored_at": time.time(),
    })


def song_record(song_id: str, metadata: dict[str, Any], document: str) -> SongRecord:
    """A stored song record as a `SongRecord`."""
    return SongRecord(**{
        "id": song_id,
        "title": metadata.get("title"),
        "artist": metadata.get("artist"),
        "path": metadata["path"],
        "duration_s": metadata["duration_s"],
        "key": metadata.get("key"),
        "bpm": metadata.get("bpm"),
        "time_signature": metadata.get("time_signature"),
        "loudness_lufs": metadata.get("loudness_lufs"),
        "genres": metadata.get("genres", []),
        "moods": metadata.get("moods", []),
        "instruments": metadata.get("instruments", []),
        "vocals": metadata["vocals"],
        "analyzer_version": metadata["analyzer_version"],
        "section_count": metadata["section_count"],
        "window_count": metadata["window_count"],
        "stored_at": metadata["stored_at"],
        "summary": document,
    })


def stored_segment(metadata: dict[str, Any]) -> Segment:
    """The `Segment` a stored segment record holds (without its audio embedding)."""
    if SEGMENT_JSON not in metadata:
        raise OutdatedRecord(f"song {metadata['song_id'][:12]} was stored by an older linernotes: "
                             "describe it again")
    return Segment.model_validate_json(metadata[SEGMENT_JSON])
