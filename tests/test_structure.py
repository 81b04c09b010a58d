import numpy as np
from audio_factory import as_audio, click_track, noise, triad

from linernotes.tools.analyze import AnalysisConfig
from linernotes.tools.detectors import DETECTORS, SECTIONS
from linernotes.tools.schema import RhythmResult
from linernotes.tools.structure import segment_sections
from linernotes.tools.tagging import TagFrames


def _three_part_piece():
    """Loud C major with clicks, quiet A minor pads, loud C major again: 16 s each at 120 BPM."""
    loud = triad((60, 64, 67), 16.0, amplitude=0.5) + click_track(120.0, 16.0)
    quiet = triad((57, 60, 64), 16.0, amplitude=0.05) + noise(16.0, amplitude=0.002)
    samples = np.concatenate([loud, quiet, loud])
    beats = list(np.arange(0.0, 48.0, 0.5))
    return as_audio(samples), beats, beats[::4]


def test_loud_quiet_loud_gives_three_sections_at_the_changes():
    audio, beats, downbeats = _three_part_piece()
    sections = segment_sections(audio, beats=beats, downbeats=downbeats)
    assert len(sections) == 3
    assert abs(sections[1].start - 16.0) <= 2.0 and abs(sections[2].start - 32.0) <= 2.0
    assert sections[0].cluster == sections[2].cluster != sections[1].cluster


def test_sections_cover_the_song_without_gaps():
    audio, beats, downbeats = _three_part_piece()
    sections = segment_sections(audio, beats=beats, downbeats=downbeats)
    assert sections[0].start == 0.0 and sections[-1].end == audio.duration_s
    assert all(a.end == b.start for a, b in zip(sections, sections[1:]))
    assert all(0.0 <= s.label_confidence <= 1.0 for s in sections)


def test_demo_song_boundaries_clusters_and_roles(demo_song, demo_loudness):
    audio, plan = demo_song
    sections = segment_sections(audio, beats=plan.beats, downbeats=plan.downbeats,
                                loudness=demo_loudness)
    truth = [section.start for section in plan.sections[1:]]
    found = [section.start for section in sections[1:]]
    hits = sum(any(abs(t - f) <= 3.0 for f in found) for t in truth)
    assert hits >= len(truth) - 1 and len(found) <= len(truth) + 1

    def at(time):
        return next(s for s in sections if s.start <= time < s.end)

    choruses = [at(s.start + 4.0) for s in plan.sections if s.label == "chorus"]
    assert len({c.cluster.rstrip("'") for c in choruses}) == 1
    assert choruses[0].cluster == choruses[1].cluster  # same key: no prime
    assert choruses[2].cluster == choruses[0].cluster + "'"  # a tone up: transposed repeat
    assert all(c.label == "chorus" for c in choruses)
    assert at(2.0).label == "intro" and at(plan.sections[-1].start + 2.0).label == "outro"
    assert at(plan.sections[1].start + 4.0).label == "verse"


def test_silence_is_one_section():
    audio = as_audio(np.zeros(44100 * 30, dtype=np.float32))
    sections = segment_sections(audio, beats=[], downbeats=[])
    assert len(sections) == 1
    assert sections[0].label == "section" and sections[0].label_confidence == 0.0
    assert sections[0].end == audio.duration_s


def test_without_beats_a_fixed_grid_still_finds_the_change():
    audio, _, _ = _three_part_piece()
    sections = segment_sections(audio, beats=[], downbeats=[])
    assert len(sections) == 3
    assert abs(sections[1].start - 16.0) <= 4.0 and abs(sections[2].start - 32.0) <= 4.0


def test_embeddings_join_the_features():
    """Embeddings that split the piece in two move a boundary to where they change."""
    audio, beats, downbeats = _three_part_piece()
    times = np.arange(0.5, 48.0, 1.0)
    embeddings = np.where((times < 24.0)[:, None], [[1.0, 0.0]], [[0.0, 1.0]]) * 10
    plain = segment_sections(audio, beats=beats, downbeats=downbeats)
    joined = segment_sections(audio, beats=beats, downbeats=downbeats,
                              embeddings=embeddings, embedding_times=times)
    assert not any(abs(s.start - 24.0) < 1.0 for s in plain)
    assert any(abs(s.start - 24.0) < 1.0 for s in joined)


def test_a_long_gradual_piece_is_still_split():
    """Two minutes of one slowly brightening chord: no sharp change, yet no 2-minute block."""
    seconds = 120.0
    t = np.arange(int(seconds * 44100)) / 44100
    brightness = t / seconds
    samples = triad((60, 64, 67), seconds, amplitude=0.2) * (1 - 0.5 * brightness) \
        + 0.2 * brightness * np.sin(2 * np.pi * 1568.0 * t) + click_track(120.0, seconds)
    beats = list(np.arange(0.0, seconds, 0.5))
    sections = segment_sections(as_audio(samples.astype(np.float32)), beats=beats,
                                downbeats=beats[::4], max_section_s=48.0)
    assert len(sections) >= 3
    assert all(s.end - s.start <= 48.0 + 2.0 for s in sections)


def test_a_quiet_opening_that_returns_at_the_end_is_no_chorus():
    quiet = triad((60, 64, 67), 16.0, amplitude=0.05) + click_track(120.0, 16.0, amplitude=0.05)
    loud = triad((57, 60, 64), 16.0, amplitude=0.5) + click_track(120.0, 16.0)
    samples = np.concatenate([quiet, loud, quiet])
    beats = list(np.arange(0.0, 48.0, 0.5))
    sections = segment_sections(as_audio(samples), beats=beats, downbeats=beats[::4])
    assert [s.cluster for s in sections] == ["A", "B", "A"]
    assert "chorus" not in [s.label for s in sections]
    assert (sections[0].label, sections[-1].label) == ("intro", "outro")


def test_the_sections_detector_splits_a_song_with_beats_but_no_downbeats():
    """Licence-clean mode's tracker finds beats only: bars of four beats still carry sections."""
    audio, beats, _ = _three_part_piece()
    rhythm = RhythmResult(beats=beats, downbeats=[], bpm=120.0, bpm_confidence=0.9,
                          time_signature=None, meter_confidence=0.0, tempo_curve=[])
    tags = TagFrames(starts=np.arange(0.0, 48.0, 3.0), patch_s=3.0, scores={},
                     embeddings=np.zeros((16, 4)), audible=np.ones(16, dtype=bool),
                     backend="musicnn")
    structure = next(d for d in DETECTORS if d.name == SECTIONS)
    sections = structure.run(audio, config=AnalysisConfig(noncommercial_models=False),
                             rhythm=rhythm, tags=tags, loudness=None)
    assert len(sections) == 3
    assert abs(sections[1].start - 16.0) <= 2.0 and abs(sections[2].start - 32.0) <= 2.0
