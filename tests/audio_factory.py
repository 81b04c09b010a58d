"""Small numpy synthesis helpers for tests: tones, triads, click tracks, noise."""

from __future__ import annotations

import numpy as np

from linernotes.tools.audio import Audio

RATE = 44100


def as_audio(samples: np.ndarray, *, sample_rate: int = RATE, channels: int = 1) -> Audio:
    """Wrap samples as a decoded song, as `load_audio` would return it."""
    return Audio(samples=np.asarray(samples, dtype=np.float32), sample_rate=sample_rate,
                 path="synthetic", sha256="0" * 64, channels=channels, native_rate=sample_rate)


def sine(frequency: float, duration_s: float, *, amplitude: float = 1.0,
         sample_rate: int = RATE) -> np.ndarray:
    t = np.arange(int(duration_s * sample_rate)) / sample_rate
    return (amplitude * np.sin(2 * np.pi * frequency * t)).astype(np.float32)


def triad(midi_notes: tuple[int, int, int], duration_s: float, *, amplitude: float = 0.3,
          sample_rate: int = RATE) -> np.ndarray:
    """Three notes with a few harmonics each, like a soft organ chord."""
    frequencies = [440.0 * 2.0 ** ((note - 69) / 12.0) for note in midi_notes]
    chord = sum(sine(f * harmonic, duration_s, amplitude=1.0 / harmonic, sample_rate=sample_rate)
                for f in frequencies for harmonic in (1, 2, 3))
    return (amplitude * chord / np.max(np.abs(chord))).astype(np.float32)


def click_track(bpm: float, duration_s: float, *, amplitude: float = 0.8,
                sample_rate: int = RATE) -> np.ndarray:
    """Short decaying 1 kHz clicks on every beat."""
    signal = np.zeros(int(duration_s * sample_rate), dtype=np.float32)
    click = sine(1000.0, 0.03, amplitude=amplitude, sample_rate=sample_rate)
    click *= np.exp(-np.arange(len(click)) / (0.005 * sample_rate)).astype(np.float32)
    for beat in np.arange(0.0, duration_s, 60.0 / bpm):
        start = int(beat * sample_rate)
        piece = click[: len(signal) - start]
        signal[start: start + len(piece)] += piece
    return signal


def noise(duration_s: float, *, amplitude: float = 0.1, seed: int = 0,
          sample_rate: int = RATE) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (amplitude * rng.standard_normal(int(duration_s * sample_rate))).astype(np.float32)
