"""How analyses become Chroma records: documents, metadata and back to typed records."""

from __future__ import annotations

from memory_factory import make_analysis

from linernotes.memory.documents import (
    segment_document,
    segment_metadata,
    stored_segment,
    song_metadata,
    song_record,
    song_summary_text,
)


def test_segment_document_holds_caption_and_features():
    analysis = make_analysis(name="doc", key="E minor", bpm=98.0, vocals=True)
    solo = analysis.sections[1]
    document = segment_document(solo)
    caption, features = document.split("\n")
    assert caption == "a distorted guitar solo (section 1)"
    assert features.startswith("solo 0:15-0:30; E minor; 98 BPM; -11 LUFS; vocals; rock")
    assert "chords C:maj G:maj" in features


def test_metadata_leaves_out_missing_values_and_round_trips():
    analysis = make_analysis(name="meta", instruments=())
    window = analysis.segments[0].model_copy(update={"key": None, "bpm": None})
    metadata = segment_metadata("song", window)
    assert "key" not in metadata and "bpm" not in metadata and "instruments" not in metadata
    assert stored_segment(metadata) == window.model_copy(update={"audio_embedding": None})


def test_song_summary_and_record():
    analysis = make_analysis(name="summary", title="Night Drive", key="A minor", bpm=120.0,
                             genres=("synthwave", "pop"), vocals=False)
    text = song_summary_text(analysis)
    assert text.splitlines()[:3] == [
        "Night Drive", "0:30, A minor, 120 BPM, 4/4, instrumental", "Genres: synthwave, pop"
    ]
    record = song_record("id", song_metadata(analysis), text)
    assert (record.display_name, record.genres, record.window_count) == (
        "Night Drive", ["synthwave", "pop"], 3
    )
