"""madmom's input features, computed with torch so they match madmom's processors.

madmom frames the signal in numpy (float64 FFTs, a copy per frame); the same
framing, window, filterbank and log compression are done here with one batched
`torch.fft.rfft`, which is several times faster on long songs. madmom still builds
the filterbanks, so the bands are exactly those the networks were trained on.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from functools import lru_cache

import numpy as np
import torch

from linernotes.tools.madmom_shim import madmom

SAMPLE_RATE = 44100
# Samples per block of frames transformed at once (4 MB of float32).
_BLOCK_VALUES = 1 << 20


def stft_magnitude(samples: np.ndarray, *, frame_size: int, fps: float) -> torch.Tensor:
    """Magnitude spectrogram framed exactly as madmom's `FramedSignalProcessor`.

    Frame `i` is centred on sample ``int(i * hop)``, zero-padded at the edges; there are
    ``ceil(len / hop)`` frames and ``frame_size // 2`` bins (no Nyquist bin), under a
    symmetric Hann window.

    Returns
    -------
    torch.Tensor, shape (num_frames, frame_size // 2), float32
    """
    num_frames = _num_frames(samples, fps)
    magnitude = torch.empty((num_frames, frame_size // 2), dtype=torch.float32)
    for first, block in _magnitude_blocks(samples, frame_size=frame_size, fps=fps):
        magnitude[first:first + len(block)] = block
    return magnitude


def log_filtered_stft(samples: np.ndarray, *, frame_size: int, fps: float, num_bands: int,
                      fmin: float, fmax: float, norm_filters: bool,
                      unique_filters: bool = True) -> torch.Tensor:
    """`log_filtered(stft_magnitude(samples, ...), ...)` without the whole magnitude spectrogram.

    Each block of frames is filtered as soon as it is transformed, so only the (frames, bands)
    result is kept: a 4-minute song's 4096-sample magnitude alone is 170 MB. The values are
    those of the two-step form (the same products, row by row).
    """
    bank = _filterbank(frame_size, num_bands, fmin, fmax, norm_filters, unique_filters)
    filtered = torch.empty((_num_frames(samples, fps), bank.shape[1]), dtype=torch.float32)
    for first, block in _magnitude_blocks(samples, frame_size=frame_size, fps=fps):
        filtered[first:first + len(block)] = torch.log10(1.0 + block @ bank)
    return filtered


def _num_frames(samples: np.ndarray, fps: float) -> int:
    return math.ceil(len(samples) / _hop(fps))


def _hop(fps: float) -> int:
    hop = SAMPLE_RATE / fps
    if hop != int(hop):
        raise ValueError(f"fps {fps} gives a fractional hop size")
    return int(hop)


def _magnitude_blocks(samples: np.ndarray, *, frame_size: int, fps: float
                      ) -> Iterator[tuple[int, torch.Tensor]]:
    """(first frame, magnitudes) of consecutive blocks of frames of `stft_magnitude`."""
    hop = _hop(fps)
    num_frames = _num_frames(samples, fps)
    signal = torch.from_numpy(np.ascontiguousarray(samples, dtype=np.float32))
    # Windowed frames and their complex spectra are four times the output's size: a block
    # of frames at a time keeps them small (a 4-minute song's 4096-sample STFT took 0.9 GB).
    block = max(1, _BLOCK_VALUES // frame_size)
    for first in range(0, num_frames, block):
        count = min(block, num_frames - first)
        # The block's stretch of the signal, zero-padded as madmom pads the whole signal
        # (frame_size // 2 before it): padding the whole song would copy it.
        start = first * hop - frame_size // 2
        stretch = torch.zeros((count - 1) * hop + frame_size, dtype=torch.float32)
        low, high = max(start, 0), min(start + len(stretch), len(signal))
        if high > low:
            stretch[low - start:high - start] = signal[low:high]
        frames = stretch.unfold(0, frame_size, hop)
        spectrum = torch.fft.rfft(frames * _hann(frame_size), dim=1)
        yield first, spectrum[:, : frame_size // 2].abs()


def log_filtered(magnitude: torch.Tensor, *, frame_size: int, num_bands: int, fmin: float,
                 fmax: float, norm_filters: bool, unique_filters: bool = True) -> torch.Tensor:
    """``log10(1 + magnitude @ filterbank)`` with madmom's logarithmic filterbank."""
    bank = _filterbank(frame_size, num_bands, fmin, fmax, norm_filters, unique_filters)
    return torch.log10(1.0 + magnitude @ bank)


def positive_difference(spectrogram: torch.Tensor, *, frame_size: int, fps: float) -> torch.Tensor:
    """madmom's `SpectrogramDifference` (diff_ratio 0.5, positive diffs) stacked after the input."""
    lag = _diff_frames(frame_size, SAMPLE_RATE / fps)
    diff = torch.zeros_like(spectrogram)
    diff[lag:] = (spectrogram[lag:] - spectrogram[:-lag]).clamp_min(0.0)
    return torch.cat([spectrogram, diff], dim=1)


@lru_cache(maxsize=None)
def _hann(frame_size: int) -> torch.Tensor:
    return torch.from_numpy(np.hanning(frame_size).astype(np.float32))


@lru_cache(maxsize=None)
def _filterbank(frame_size: int, num_bands: int, fmin: float, fmax: float,
                norm_filters: bool, unique_filters: bool) -> torch.Tensor:
    frequencies = madmom.audio.stft.fft_frequencies(frame_size // 2, SAMPLE_RATE)
    bank = madmom.audio.filters.LogarithmicFilterbank(frequencies, num_bands=num_bands, fmin=fmin, fmax=fmax,
                                 norm_filters=norm_filters, unique_filters=unique_filters)
    return torch.from_numpy(np.asarray(bank, dtype=np.float32))


def _diff_frames(frame_size: int, hop: float) -> int:
    window = np.hanning(frame_size)
    first_above_half = int(np.argmax(window > 0.5 * window.max()))
    return int(max(1, round((frame_size / 2 - first_above_half) / hop)))
