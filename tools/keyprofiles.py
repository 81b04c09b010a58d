"""Key evidence from pitch-class profiles: chroma of the shared harmonic spectrum, correlated
with the Krumhansl-Kessler and Temperley key profiles (the Krumhansl-Schmuckler method).

This is the classic method Essentia's `Key` and librosa-based estimators use; here it reads
the 8192-sample spectrum the key and chord networks already share, so it costs one matrix
product. Its scores are an independent opinion to set beside the key CNN's (see
`tools.tonality`), and its strength tells tonal music from atonal or percussive sound.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from linernotes.tools.spectrogram import SAMPLE_RATE

# Probe-tone ratings (Krumhansl & Kessler 1982) and Temperley's (2001) corpus profiles,
# tonic first.
KRUMHANSL_MAJOR = (6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88)
KRUMHANSL_MINOR = (6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17)
TEMPERLEY_MAJOR = (5.0, 2.0, 3.5, 2.0, 4.5, 4.0, 2.0, 4.5, 2.0, 3.5, 1.5, 4.0)
TEMPERLEY_MINOR = (5.0, 2.0, 3.5, 4.5, 2.0, 4.0, 2.0, 4.5, 3.5, 2.0, 1.5, 4.0)
# Chroma is read from this band: below it an 8192-point FFT cannot separate semitones.
CHROMA_FMIN = 100.0
CHROMA_FMAX = 5000.0


def chroma(spectrum: np.ndarray, *, frame_size: int = 8192) -> np.ndarray:
    """Pitch-class energy (C first) of each frame of a magnitude spectrum.

    Parameters
    ----------
    spectrum : np.ndarray, shape (frames, frame_size // 2)
        Linear magnitudes, as `tools.tonality.harmonic_spectrum` gives.
    frame_size : int
        The FFT size the spectrum was computed with.

    Returns
    -------
    np.ndarray, shape (frames, 12)
        Log-compressed energy per pitch class (unnormalised, so loudness is kept).
    """
    compressed = np.multiply(spectrum, 100.0, dtype=np.float32)
    np.log1p(compressed, out=compressed)  # in place: one copy of the spectrum, not two
    return compressed @ _chroma_bank(frame_size)


def key_correlations(profile: np.ndarray) -> np.ndarray:
    """Pearson correlation of a 12-bin pitch-class profile (C first) with each key.

    Returns
    -------
    np.ndarray, shape (24,)
        Averaged over the Krumhansl and Temperley profiles; keys in madmom's order (A major
        ... G# major, A minor ... G# minor), as `tools.tonality.KEY_LABELS`. Zeros for a
        flat profile.
    """
    profile = np.asarray(profile, dtype=np.float64)
    centred = profile - profile.mean()
    norm = np.linalg.norm(centred)
    if norm < 1e-9:
        return np.zeros(24)
    return _key_templates() @ (centred / norm)


def diatonic_share(profile: np.ndarray) -> float:
    """The largest share of a profile's energy above its floor that one diatonic scale holds.

    The floor (the lower quartile of the 12 bins) is broadband energy every pitch class
    gets; tonal music puts about 0.75 or more of the rest into seven scale notes, speech,
    birdsong and noise about 0.6-0.7 (chance is 7/12).
    """
    above = np.clip(np.asarray(profile, dtype=np.float64) - np.percentile(profile, 25), 0.0, None)
    total = above.sum()
    if total <= 0:
        return 0.0
    return float(max(above[np.roll(_DIATONIC, tonic)].sum() for tonic in range(12)) / total)


_DIATONIC = np.array([1, 0, 1, 0, 1, 1, 0, 1, 0, 1, 0, 1], dtype=bool)  # the major scale from C


@lru_cache(maxsize=None)
def _key_templates() -> np.ndarray:
    """(24, 12) centred unit templates, in madmom's key order, averaged over both profile sets."""
    rows = []
    for mode in (0, 1):
        for tonic in ((9 + step) % 12 for step in range(12)):  # madmom starts at A
            template = np.zeros(12)
            for major, minor in ((KRUMHANSL_MAJOR, KRUMHANSL_MINOR),
                                 (TEMPERLEY_MAJOR, TEMPERLEY_MINOR)):
                values = np.roll(np.asarray(major if mode == 0 else minor), tonic)
                values = values - values.mean()
                template += values / np.linalg.norm(values)
            rows.append(template / 2.0)
    return np.array(rows)


@lru_cache(maxsize=None)
def _chroma_bank(frame_size: int) -> np.ndarray:
    """(bins, 12) triangular weights from FFT bins to pitch classes.

    Each semitone's weights sum to 1, so every note counts the same however many bins it
    spans, and white noise gives a flat chroma.
    """
    frequencies = np.arange(frame_size // 2) * SAMPLE_RATE / frame_size
    inside = np.flatnonzero((frequencies >= CHROMA_FMIN) & (frequencies <= CHROMA_FMAX))
    midi = 69.0 + 12.0 * np.log2(frequencies[inside] / 440.0)
    nearest = np.round(midi).astype(int)
    weight = np.clip(1.0 - 2.0 * np.abs(midi - nearest), 1e-3, 1.0)
    per_note = np.bincount(nearest - nearest.min(), weights=weight)
    bank = np.zeros((frame_size // 2, 12), dtype=np.float32)
    bank[inside, nearest % 12] = weight / per_note[nearest - nearest.min()]
    return bank
