"""Key of synthesised triad progressions, modulation location, and no key for silence, noise,
drums and atonal music."""

import numpy as np
import pytest

from linernotes.tools.synth import (render_atonal_passage, render_percussion_passage,
                                    render_tonal_passage)
from linernotes.tools.tonality import MAX_KEY_ENTROPY, Tonality, analyze_tonality
from audio_factory import as_audio
from linernotes.tools.vocabulary import normalise_key, pitch_class

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


# --- No clear key for atonal and percussive material (issue 11) ---------------------------


@pytest.mark.parametrize("register,seed", [(48, 3), (60, 4), (72, 5)])
def test_twelve_tone_rows_have_no_key(register, seed):
    samples, plan = render_atonal_passage(kind="twelve-tone", register=register, seed=seed,
                                          duration_s=20.0)
    tonality = analyze_tonality(as_audio(samples))
    estimate = tonality.key()
    assert plan.key is None
    assert estimate.key is None and estimate.confidence == 0.0 and estimate.notes
    assert tonality.changes() == []


def test_a_drum_pattern_has_no_key():
    samples, _ = render_percussion_passage(kind="drums", duration_s=20.0, seed=1)
    estimate = analyze_tonality(as_audio(samples)).key()
    assert estimate.key is None and estimate.confidence == 0.0 and estimate.notes


@pytest.mark.parametrize("tonic,scale,instrument", [
    (2, "major", "piano"), (10, "major", "organ"), (9, "harmonic minor", "strings"),
    (0, "harmonic minor", "piano"), (7, "major", "lead")])
def test_tonal_passages_keep_their_key(tonic, scale, instrument):
    samples, plan = render_tonal_passage(tonic=tonic, scale=scale, instrument=instrument,
                                         chromatic=True, duration_s=20.0, seed=tonic)
    estimate = analyze_tonality(as_audio(samples)).key()
    assert normalise_key(estimate.key) == normalise_key(plan.key)
    assert estimate.confidence > 0.3


def test_only_the_tonal_half_of_a_song_has_a_key():
    tonal, plan = render_tonal_passage(tonic=2, scale="major", duration_s=24.0, seed=2)
    drums, _ = render_percussion_passage(kind="drums", duration_s=24.0, seed=2)
    tonality = analyze_tonality(as_audio(np.concatenate([tonal, drums])))
    assert tonality.key(start=0.0, end=24.0).key == "D major"
    after = tonality.key(start=24.0, end=48.0)
    assert after.key is None and after.notes
    assert tonality.key().key == "D major"  # drums do not make the song keyless
    assert tonality.changes() == []


def _tonality_from(logits: np.ndarray, *, scale: list[int] = (0, 2, 4, 5, 7, 9, 11)) -> Tonality:
    """Evidence whose chroma holds `scale` (C major by default) throughout, its CNN `logits`."""
    steps = len(logits)
    notes = list(scale)
    scale = np.zeros(12)
    scale[notes] = 1.0
    return Tonality(logits=logits, level=np.ones(steps), duration_s=steps * 1.6,
                    pitch_classes=np.tile(scale, (steps, 1)), pitch_weight=np.full(steps, 7.0))


def test_a_spread_cnn_posterior_reads_atonal_unless_the_chroma_has_a_key():
    rng = np.random.default_rng(0)
    # About 2 nats of entropy per step (uniform is 3.18): pitched, no key the CNN can hold.
    spread = rng.normal(scale=0.8, size=(20, 24))
    chromatic = _tonality_from(spread, scale=[0, 1, 2, 4, 5, 6, 7, 9, 11])  # no key fits well
    assert chromatic.key_entropy(0, 20)[0] > MAX_KEY_ENTROPY
    assert chromatic.key().key is None and "atonal" in chromatic.key().notes[0]
    # The same unsure CNN over a plain C major scale: the profiles still hold the key.
    assert _tonality_from(spread).key().key == "C major"
    sure = spread.copy()
    sure[:, 3] += 6.0  # the CNN sure of C major
    assert _tonality_from(sure, scale=[0, 1, 2, 4, 5, 6, 7, 9, 11]).key().key == "C major"


def test_licence_clean_mode_is_not_judged_by_the_missing_cnn():
    tonality = _tonality_from(np.zeros((20, 24)))
    assert tonality.key_entropy(0, 20)[1] == 0
    assert tonality.key().key == "C major"
