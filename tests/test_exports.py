"""The output writers on a hand-built analysis whose every fact is known: JAMS (validated by
the jams package), .lab (read back by mir_eval), the PNG timeline and the HTML page."""

from __future__ import annotations

import io

import jams
import mir_eval
import numpy as np
import pytest
from agent_fixtures import song_analysis

from linernotes.exports.formats import FormatError, format_of, parse_formats, render_file
from linernotes.exports.html_page import html_page
from linernotes.exports.jams_file import jams_key, jams_text
from linernotes.exports.lab import lab_files
from linernotes.exports.lanes import (
    CLUSTER_COLOURS, beat_positions, key_change_marks, key_regions, narrated_key_regions, vocal_regions,
)
from linernotes.exports.timeline_png import timeline_png
from linernotes.tools.schema import KeyChange, Narrative


@pytest.fixture(scope="module")
def analysis():
    return song_analysis()


def test_format_names_and_extensions():
    assert parse_formats("json, md,png") == ["json", "md", "png"]
    assert parse_formats("markdown,md") == ["md"]
    with pytest.raises(FormatError, match="unknown format 'pdf'"):
        parse_formats("json,pdf")
    assert [format_of(__import__("pathlib").Path(name)) for name in ("a.md", "b.JAMS", "c.html", "d.out")] == \
        ["md", "jams", "html", None]


def test_lanes(analysis):
    assert [(r.start, r.end, r.label) for r in key_regions(analysis)] == [(0.0, 40.0, "C major"),
                                                                         (40.0, 60.0, "A minor")]
    assert [(r.start, r.end) for r in vocal_regions(analysis)] == [(20.0, 60.0)]
    positions = beat_positions(analysis)
    assert [position for _, position in positions[:9]] == [1, 2, 3, 4, 1, 2, 3, 4, 1]
    assert all(position == 1 for time, position in positions if time % 2.0 == 0)


def test_the_views_beside_the_prose_show_the_narrated_key_path(analysis, tmp_path):
    """A 2 s flicker to G major is in the measured path (JSON, JAMS, .lab) but is no event:
    the picture and the HTML page show the key path the narrative tells."""
    flicker = [KeyChange(time=20.0, from_key="C major", to_key="G major", confidence=0.7),
               KeyChange(time=22.0, from_key="G major", to_key="C major", confidence=0.7),
               *analysis.key_changes]
    flickering = analysis.model_copy(update={"key_changes": flicker})
    assert [r.label for r in key_regions(flickering)] == ["C major", "G major", "C major", "A minor"]
    narrated = narrated_key_regions(flickering)
    assert [(r.start, r.end, r.label) for r in narrated] == [(0.0, 40.0, "C major"), (40.0, 60.0, "A minor")]
    assert key_change_marks(narrated) == [(40.0, "C major", "A minor")]
    page = html_page(flickering, html_dir=tmp_path)
    assert "0:40 C major → A minor" in page and "G major" not in page


def test_beats_before_the_first_downbeat_count_back(analysis):
    late = analysis.model_copy(update={"downbeats": [1.0 + 2.0 * bar for bar in range(29)]})
    assert [position for _, position in beat_positions(late)[:4]] == [3, 4, 1, 2]


def test_jams_is_valid_and_carries_every_lane(analysis, tmp_path):
    path = tmp_path / "song.jams"
    path.write_text(jams_text(analysis))
    document = jams.load(str(path), validate=True, strict=True)
    by_namespace = {}
    for annotation in document.annotations:
        by_namespace.setdefault(annotation.namespace, []).append(annotation)
    assert set(by_namespace) == {"beat", "tempo", "key_mode", "chord", "segment_open", "tag_open"}
    assert document.file_metadata.duration == 60.0 and document.file_metadata.title == "Fixture Song"
    [beats] = by_namespace["beat"]
    assert len(beats.data) == 120 and [obs.value for obs in beats.data][:5] == [1, 2, 3, 4, 1]
    [tempo] = by_namespace["tempo"]
    assert tempo.data[0].value == 120.0
    [keys] = by_namespace["key_mode"]
    assert [(obs.time, obs.value) for obs in keys.data] == [(0.0, "C:major"), (40.0, "A:minor")]
    [chords] = by_namespace["chord"]
    assert [obs.value for obs in chords.data] == [chord.label for chord in analysis.chords]
    intervals, labels = chords.to_interval_values()
    mir_eval.chord.validate(labels, labels)  # Harte labels mir_eval reads
    [sections] = by_namespace["segment_open"]
    assert [obs.value for obs in sections.data] == ["intro", "verse", "chorus"]
    tags = {annotation.sandbox.category: annotation for annotation in by_namespace["tag_open"]}
    assert [obs.value for obs in tags["genre"].data] == ["pop", "rock"]
    assert [obs.value for obs in tags["instrument"].data] == ["piano", "drums", "bass", "guitar"]
    assert [(obs.time, obs.duration) for obs in tags["vocals"].data] == [(20.0, 40.0)]


def test_jams_key_spelling():
    assert jams_key("F# minor") == "F#:minor" and jams_key("Bb major") == "Bb:major"
    assert jams_key("no key") is None


def test_lab_files_read_back_with_mir_eval(analysis, tmp_path):
    files = lab_files(analysis)
    for part, text in files.items():
        (tmp_path / f"song.{part}.lab").write_text(text)
    intervals, labels = mir_eval.io.load_labeled_intervals(str(tmp_path / "song.chords.lab"), delimiter="\t")
    assert labels == [chord.label for chord in analysis.chords]
    assert np.allclose(intervals[:, 0], [chord.start for chord in analysis.chords])
    intervals, labels = mir_eval.io.load_labeled_intervals(str(tmp_path / "song.sections.lab"), delimiter="\t")
    assert labels == ["intro", "verse", "chorus"] and intervals[-1, 1] == 60.0
    _, labels = mir_eval.io.load_labeled_intervals(str(tmp_path / "song.keys.lab"), delimiter="\t")
    for label in labels:
        mir_eval.key.validate_key(label)
    times, positions = mir_eval.io.load_delimited(str(tmp_path / "song.beats.lab"), [float, int], delimiter="\t")
    assert times == analysis.beats and positions[:5] == [1, 2, 3, 4, 1]


def test_render_file_names_every_output(analysis, tmp_path):
    assert set(render_file(analysis, "lab", html_dir=tmp_path)) == {".chords.lab", ".sections.lab", ".keys.lab",
                                                                   ".beats.lab"}
    assert render_file(analysis, "json", html_dir=tmp_path)[".json"].startswith(b"{")


def test_png_timeline_shows_every_section_colour_and_the_key_change(analysis):
    from matplotlib import image

    picture = image.imread(io.BytesIO(timeline_png(analysis)), format="png")
    height, width = picture.shape[:2]
    assert width > 1200 and height > 600
    pixels = (picture[..., :3] * 255).round().astype(int).reshape(-1, 3)

    def present(colour: str) -> bool:
        rgb = np.array([int(colour[i:i + 2], 16) for i in (1, 3, 5)])
        return bool((np.abs(pixels - rgb).max(axis=1) <= 2).any())

    assert all(present(colour) for colour in CLUSTER_COLOURS[:3])  # three clusters: A, B, C
    assert present("#C00000")  # the key change's line
    assert not present(CLUSTER_COLOURS[3])  # no fourth cluster


def test_html_escapes_text_from_the_file_and_links_the_audio(analysis, tmp_path):
    hostile = analysis.model_copy(update={
        "source": analysis.source.model_copy(update={"title": "<script>alert(1)</script>",
                                                     "path": str(tmp_path / "music" / "a song.wav")}),
        "narrative": Narrative(markdown="# T\n\nAt 0:15 <img src=x onerror=alert(2)> the verse.",
                               provider="none", model=None, verified=True, claims_checked=1, claims_failed=0),
    })
    page = html_page(hostile, html_dir=tmp_path / "notes")
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<img" not in page and "&lt;img src=x" in page
    assert 'src="../music/a%20song.wav"' in page
    for section in analysis.sections:
        assert f'data-t="{section.start:.3f}"' in page
    assert page.count("<script>") == 1  # only the page's own script


def test_html_embeds_the_audio_when_asked(analysis, tmp_path):
    audio = tmp_path / "song.wav"
    audio.write_bytes(b"RIFF0000WAVE")
    embedded = analysis.model_copy(update={"source": analysis.source.model_copy(update={"path": str(audio)})})
    page = html_page(embedded, html_dir=tmp_path, embed_audio=True)
    assert 'src="data:audio/' in page and ';base64,UklGRjAwMDBXQVZF"' in page
    assert str(audio) not in page
