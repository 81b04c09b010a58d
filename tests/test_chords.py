"""Chord labels of a synthesised triad sequence, scored like mir_eval's majmin overlap."""

import numpy as np

from linernotes.tools.chords import analyze_harmony, recognize_chords
from audio_factory import as_audio
from linernotes.tools.vocabulary import pitch_class

RATE = 44100


def triad(root: str, quality: str, *, seconds: float = 2.0) -> np.ndarray:
    midi_root = 48 + pitch_class(root)
    notes = [midi_root - 12, midi_root, midi_root + (4 if quality == "maj" else 3), midi_root + 7]
    t = np.arange(int(seconds * RATE)) / RATE
    tone = sum(np.sin(2 * np.pi * 440.0 * 2 ** ((n - 69) / 12) * h * t) / h
               for n in notes for h in range(1, 5))
    return 0.1 * tone * np.minimum(1.0, np.minimum(t, t[-1] - t) / 0.02)



def overlap(chords, truth: list[tuple[float, float, str]], *, step: float = 0.01) -> float:
    """Fraction of the reference time where the estimated label equals the reference."""
    hits = total = 0
    for start, end, label in truth:
        for time in np.arange(start, end, step):
            estimate = next((c.label for c in chords if c.start <= time < c.end), None)
            hits += estimate == label
            total += 1
    return hits / total


SEQUENCE = ["C:maj", "F:maj", "G:maj", "A:min"] * 2


def test_triad_sequence_gives_its_labels():
    chords = recognize_chords(as_audio(np.concatenate([triad(*c.split(":")) for c in SEQUENCE])))
    truth = [(2.0 * i, 2.0 * i + 2.0, label) for i, label in enumerate(SEQUENCE)]
    assert overlap(chords, truth) > 0.85
    assert {c.label for c in chords if c.end - c.start > 0.5} == set(SEQUENCE)


def test_chords_are_contiguous_and_cover_the_song():
    audio = as_audio(np.concatenate([triad(*c.split(":")) for c in SEQUENCE]))
    tonality, chords = analyze_harmony(audio)
    assert chords[0].start == 0.0
    assert abs(chords[-1].end - audio.duration_s) < 0.11
    assert all(a.end == b.start for a, b in zip(chords, chords[1:]))
    assert all(0.0 <= c.confidence <= 1.0 for c in chords)
    assert tonality.key().key in {"C major", "A minor"}


def test_silence_is_no_chord():
    chords = recognize_chords(as_audio(np.zeros(5 * RATE)))
    assert [c.label for c in chords] == ["N"]
