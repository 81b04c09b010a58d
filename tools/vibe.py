"""Valence, energy, danceability, instrumentalness and acousticness with vibenet.

vibenet is an EfficientNet-B0 distilled on Free Music Archive clips; its ONNX export takes a
128-band dB mel of any length and pools over time. It runs here on consecutive 10 s windows
(every span of 10 s or more holds a window centre); a span's vibe is its windows' mean.
Overlapping windows (every 5 s) cost twice as much and moved a song's means by 0.05 at most
(0.01 on most of the evalset's songs).
The mel front-end reproduces `vibenet.core.extract_mel` (importing it would pull in pydub).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files

import librosa
import numpy as np
import onnxruntime
from numpy.lib.stride_tricks import sliding_window_view
from vibenet import LIKELIHOODS, labels

from linernotes.tools.audio import Audio
from linernotes.tools.runtime import onnx_session
from linernotes.tools.schema import Vibe

SAMPLE_RATE = 16000
WINDOW_S = 10.0
HOP_S = 10.0
# Windows quieter than this (RMS, dBFS) are silence, which has no vibe.
SILENCE_DB = -60.0
# vibenet.core.extract_mel's settings.
N_FFT, HOP, WIN, N_MELS, TOP_DB = 1024, 320, 640, 128, 80.0


@dataclass
class VibeFrames:
    """vibenet's descriptors per window of a whole song.

    Attributes
    ----------
    starts : np.ndarray
        Window start times (s).
    values : dict
        Descriptor name to per-window values in [0, 1] (NaN for silent windows).
    """

    starts: np.ndarray
    values: dict[str, np.ndarray]

    def summary(self, *, start: float | None = None, end: float | None = None) -> Vibe | None:
        """Mean descriptors of the audible windows centred in the span (whole song by default).

        None when no audible window is centred in the span (a span shorter than `HOP_S`,
        or silence).
        """
        centres = self.starts + WINDOW_S / 2
        inside = (centres >= (start or 0.0)) & (centres < (np.inf if end is None else end))
        inside &= ~np.isnan(self.values["energy"])
        if not inside.any():
            return None
        return Vibe(**{name: round(float(self.values[name][inside].mean()), 3)
                       for name in Vibe.model_fields})


@lru_cache(maxsize=1)
def _session() -> onnxruntime.InferenceSession:
    model = files("vibenet.artifacts").joinpath("efficientnet_model.onnx")
    return onnx_session(model)


def vibenet_mel(samples: np.ndarray) -> np.ndarray:
    """vibenet's input: (128, frames) dB mel of a 16 kHz signal, floored 80 dB under its peak."""
    if len(samples) < WIN:
        samples = np.pad(samples, (0, WIN - len(samples)))
    frames = sliding_window_view(samples, WIN)[::HOP] * np.hanning(WIN + 1)[:-1].astype(np.float32)
    power = np.abs(np.fft.rfft(frames, n=N_FFT, axis=-1)) ** 2
    mel = _mel_filters() @ power.T.astype(np.float32)
    decibels = 10 * np.log10(np.maximum(mel, 1e-10))
    return np.maximum(decibels, decibels.max() - TOP_DB).astype(np.float32)


@lru_cache(maxsize=1)
def _mel_filters() -> np.ndarray:
    return librosa.filters.mel(sr=SAMPLE_RATE, n_fft=N_FFT, n_mels=N_MELS, fmin=0.0,
                               fmax=SAMPLE_RATE / 2).astype(np.float32)


def measure_vibe(audio: Audio) -> VibeFrames:
    """Run vibenet over consecutive 10 s windows of the whole song.

    A song shorter than a window is one window; silent windows get NaN and are skipped by
    `VibeFrames.summary`.
    """
    samples = audio.at(SAMPLE_RATE)
    window, hop = int(WINDOW_S * SAMPLE_RATE), int(HOP_S * SAMPLE_RATE)
    starts = np.arange(0, max(len(samples) - window, 0) + 1, hop)
    rows = []
    for first in starts:
        chunk = samples[first:first + window]
        if 10 * np.log10(np.mean(np.square(chunk, dtype=np.float64)) + 1e-20) <= SILENCE_DB:
            rows.append(np.full(len(labels), np.nan))
            continue
        mel = vibenet_mel(chunk)
        (logits,) = _session().run(None, {"x": mel[np.newaxis]})
        rows.append(logits[0])
    outputs = np.array(rows, dtype=np.float64).reshape(len(starts), len(labels))
    values = {}
    # As vibenet.core.InferenceResult.from_logits: likelihoods through a sigmoid, the rest clipped.
    for j, name in enumerate(labels):
        column = outputs[:, j]
        values[name] = 1 / (1 + np.exp(-column)) if name in LIKELIHOODS else np.clip(column, 0, 1)
    return VibeFrames(starts=starts / SAMPLE_RATE, values=values)


def run(audio: Audio, *, config) -> VibeFrames:
    """The vibe detector's entry: vibenet over the whole song."""
    return measure_vibe(audio)


def summary_fields(frames: VibeFrames | None) -> dict:
    """The song's valence, energy, danceability and instrumentalness as `Summary` fields."""
    vibe = frames.summary() if frames else None
    return {name: getattr(vibe, name) if vibe else None
            for name in ("valence", "energy", "danceability", "instrumentalness")}
