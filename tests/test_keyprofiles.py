"""Pitch-class profiles: chroma of synthesised tones, profile keys, and the diatonic share."""

import numpy as np

from audio_factory import as_audio, sine, triad
from linernotes.tools.keyprofiles import chroma, diatonic_share, key_correlations
from linernotes.tools.tonality import KEY_LABELS, harmonic_spectrum
from linernotes.tools.vocabulary import pitch_class


def _profile(samples: np.ndarray) -> np.ndarray:
    frames = chroma(harmonic_spectrum(as_audio(samples)).numpy())
    return frames.sum(axis=0) / frames.sum()


def test_a_sine_lands_in_its_pitch_class():
    profile = _profile(sine(440.0 * 2 ** (-9 / 12), 2.0))  # C4
    assert int(np.argmax(profile)) == pitch_class("C")


def test_white_noise_chroma_is_flat_and_not_diatonic():
    profile = _profile(np.random.default_rng(0).normal(scale=0.1, size=5 * 44100))
    assert profile.max() / profile.min() < 1.3
    assert diatonic_share(profile) < 0.7


def test_g_major_scale_profile_is_g_major():
    scale = [67, 69, 71, 72, 74, 76, 78, 79]
    samples = np.concatenate([triad((note, note + 12, note - 12), 0.5) for note in scale * 2]
                             + [triad((67, 71, 74), 2.0)])
    profile = _profile(samples)
    assert KEY_LABELS[int(np.argmax(key_correlations(profile)))] == "G major"
    assert diatonic_share(profile) > 0.75


def test_a_flat_profile_correlates_with_no_key():
    assert np.all(key_correlations(np.ones(12)) == 0.0)
