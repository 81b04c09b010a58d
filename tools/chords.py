"""Timed major/minor chord labels from madmom's CNN features and CRF decoder.

The CNN (ported to torch, see `tools.nn`) turns the 10 fps log spectrogram into 128
learned features per frame; madmom's linear-chain CRF decodes them into 24 major/minor
chords plus "N" (no chord).
"""

from __future__ import annotations

import numpy as np
import torch

from linernotes.tools import spectrogram
from linernotes.tools.audio import Audio
from linernotes.tools.nn import chord_crf, chord_feature_network, run_convolutional
from linernotes.tools.runtime import release_freed_memory
from linernotes.tools.schema import Chord
from linernotes.tools.vocabulary import chord_label
from linernotes.tools.tonality import SPECTRUM_FPS, Tonality, analyze_tonality, harmonic_spectrum

# madmom's class order: 0-11 major from A, 12-23 minor, 24 no chord.
_ROOT_A = 9
# The CNN looks 11 frames either side; madmom pads the spectrogram by that much.
_CONTEXT = 11
# Input frames the feature network's valid convolutions consume (its output is 20 shorter;
# two of the 22 padded frames survive, for the superframe average).
_NETWORK_CONTEXT = 20
# Output frames per network call.
_BLOCK_FRAMES = 512


def recognize_chords(audio: Audio, *, spectrum: torch.Tensor | None = None) -> list[Chord]:
    """Chords in mir_eval syntax ("C:maj", "A:min", "N"), consecutive and covering the song.

    Parameters
    ----------
    audio : Audio
    spectrum : torch.Tensor, optional
        `tools.tonality.harmonic_spectrum(audio)`, when the caller already has it.
    """
    if spectrum is None:
        spectrum = harmonic_spectrum(audio)
    spec = spectrogram.log_filtered(spectrum, frame_size=8192, num_bands=24, fmin=60,
                                    fmax=2600, norm_filters=True)
    if len(spec) == 0:
        return []
    padded = torch.nn.functional.pad(spec, (0, 0, _CONTEXT, _CONTEXT))
    # Per frame, the 128 feature maps averaged over all bins, (frames + 2, 128): the network
    # runs a block of frames at a time, each block with the context its valid convolutions
    # eat, since the whole song's 32-map activations were 26 MB a layer (the values match).
    rows = len(padded) - _NETWORK_CONTEXT
    per_frame = torch.cat([
        run_convolutional(chord_feature_network(),
                          padded[first:min(first + _BLOCK_FRAMES, rows) + _NETWORK_CONTEXT]).mean(dim=1)
        for first in range(0, rows, _BLOCK_FRAMES)])
    # madmom's superframes: average three consecutive frames and all bins.
    features = (per_frame[:-2] + per_frame[1:-1] + per_frame[2:]).numpy() / 3.0
    crf = chord_crf()
    classes = crf.process(features.astype(np.float64))
    scores = _frame_confidence(features, crf, classes)
    return _segments(classes, scores, duration_s=audio.duration_s)


def analyze_harmony(audio: Audio, *, noncommercial_models: bool = True
                    ) -> tuple[Tonality, list[Chord]]:
    """Key evidence and chords from one shared spectrum (cheaper than calling both).

    With `noncommercial_models` False (licence-clean mode) madmom's key and chord networks
    (CC BY-NC-SA weights) are left out: the key comes from the profiles alone, and there
    are no chords here (`tools.detectors` takes licence-clean mode's chords from `tools.lvchords`).
    """
    spectrum = harmonic_spectrum(audio)
    tonality = analyze_tonality(audio, spectrum=spectrum, use_network=noncommercial_models)
    release_freed_memory()  # the key network's and the chroma's working memory
    chords = recognize_chords(audio, spectrum=spectrum) if noncommercial_models else []
    return tonality, chords


def _label(class_id: int) -> str:
    if class_id == 24:
        return "N"
    return chord_label(_ROOT_A + class_id % 12, "maj" if class_id < 12 else "min")


def _frame_confidence(features: np.ndarray, crf, classes: np.ndarray) -> np.ndarray:
    """Per-frame softmax probability of the decoded class under the CRF's unary scores."""
    unary = features @ crf.W + crf.c
    unary -= unary.max(axis=1, keepdims=True)
    probabilities = np.exp(unary)
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    return probabilities[np.arange(len(classes)), classes]


def _segments(classes: np.ndarray, scores: np.ndarray, *, duration_s: float) -> list[Chord]:
    starts = np.concatenate([[0], np.flatnonzero(np.diff(classes)) + 1])
    ends = np.concatenate([starts[1:], [len(classes)]])
    chords = []
    for first, last in zip(starts, ends):
        chords.append(Chord(
            start=round(first / SPECTRUM_FPS, 3),
            end=round(min(last / SPECTRUM_FPS, duration_s), 3),
            label=_label(int(classes[first])),
            confidence=round(float(scores[first:last].mean()), 3),
        ))
    return chords
