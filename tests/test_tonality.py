"""Key of synthesised triad progressions, modulation location, and no key for silence/noise."""

import numpy as np
import pytest

from linernotes.tools.tonality import analyze_tonality
from audio_factory import as_audio
from linernotes.tools.vocabulary import pitch_class

RATE = 44100



def triad(root: str, quality: str, *, seconds: float = 2.0, octave: int = 4) -> np.ndarray:
    """An additive-synth triad (root in `octave`, plus the root an octave below), 4 harmonics."""
    midi_root = 12 * (octave + 1) + pitch_class(root)
    third = 4 if quality == "maj" else 3
    notes = [midi_root - 12, midi_root, midi_root + third, midi_root + 7]
    t = np.arange(int(seconds * RATE)) / RATE
    tone = np.zeros_like(t)
    for note in notes:
        frequency = 440.0 * 2 ** ((note - 69) / 12)
        for harmonic in range(1, 5):
            tone += np.sin(2 * np.pi * frequency * harmonic * t) / harmonic
    envelope = np.minimum(1.0, np.minimum(t, t[-1] - t) / 0.02)  # no clicks
    return 0.1 * tone * envelope


def progression(chords: list[str], *, seconds: float = 2.0) -> np.ndarray:
    return np.concatenate([triad(*chord.split(":"), seconds=seconds) for chord in chords])


C_CADENCE = ["C:maj", "F:maj", "G:maj", "C:maj"]
D_CADENCE = ["D:maj", "G:maj", "A:maj", "D:maj"]


def test_c_major_cadence_is_c_major():
    estimate = analyze_tonality(as_audio(progression(C_CADENCE * 3))).key()
    assert estimate.key == "C major"
    assert estimate.confidence > 0.5


def test_a_minor_progression_is_a_minor():
    chords = ["A:min", "D:min", "E:maj", "A:min"] * 3
    assert analyze_tonality(as_audio(progression(chords))).key().key == "A minor"


def test_modulation_to_d_major_is_located_within_a_bar():
    # One chord per 2 s bar: 24 s of C major, then 24 s of D major.
    tonality = analyze_tonality(as_audio(progression(C_CADENCE * 3 + D_CADENCE * 3)))
    downbeats = list(np.arange(0.0, 48.0, 2.0))
    changes = tonality.changes(downbeats=downbeats)
    assert [(c.from_key, c.to_key) for c in changes] == [("C major", "D major")]
    assert abs(changes[0].time - 24.0) <= 2.0
    assert tonality.key(start=0, end=24).key == "C major"
    assert tonality.key(start=24, end=48).key == "D major"


def test_silence_has_no_key():
    estimate = analyze_tonality(as_audio(np.zeros(10 * RATE))).key()
    assert estimate.key is None and estimate.confidence == 0.0
    assert estimate.notes


def test_white_noise_has_no_clear_key():
    noise = np.random.default_rng(0).normal(scale=0.1, size=20 * RATE)
    estimate = analyze_tonality(as_audio(noise)).key()
    assert estimate.key is None and estimate.confidence == 0.0


@pytest.mark.parametrize("start,end", [(0.0, 8.0), (8.0, 16.0)])
def test_key_of_a_span_reads_only_that_span(start, end):
    tonality = analyze_tonality(as_audio(np.concatenate([np.zeros(8 * RATE),
                                                         progression(C_CADENCE)])))
    estimate = tonality.key(start=start, end=end)
    assert estimate.key == (None if start == 0.0 else "C major")


def test_licence_clean_key_comes_from_the_profiles_alone():
    tonality = analyze_tonality(as_audio(progression(C_CADENCE * 3)), use_network=False)
    assert not tonality.logits.any()
    assert tonality.key().key == "C major"
