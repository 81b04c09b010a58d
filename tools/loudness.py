"""Loudness after ITU-R BS.1770-4 / EBU R128: integrated LUFS, loudness range, a curve.

The K-weighting filters are derived for any sample rate (the bilinear-transform design
libebur128 uses), so the analysis rate needs no resampling. BS.1770 sums the K-weighted
power of each channel; `Audio` is a mono downmix, which reads low on wide stereo (by up
to 3 LU for uncorrelated channels), so a file with more channels is read again, channel
by channel in blocks, from disk. Only where the file cannot be read that way is the
mono mix scaled by the channel count (exact for channels carrying the same signal).
"""

from __future__ import annotations

import numpy as np
import soundfile
from scipy import signal

from linernotes.tools.audio import Audio
from linernotes.tools.schema import LoudnessResult, TimedValue

ABSOLUTE_GATE_LUFS = -70.0
SILENCE_PEAK_DBFS = -60.0
_BLOCK_S = 0.1  # gating blocks are built from 100 ms sub-blocks
_MOMENTARY_BLOCKS = 4  # 400 ms, BS.1770 gating block
_SHORT_TERM_BLOCKS = 30  # 3 s, EBU Tech 3341 short-term window
_RELATIVE_GATE_LU = -10.0  # integrated loudness (BS.1770-4)
_RANGE_GATE_LU = -20.0  # loudness range (EBU Tech 3342)
_OFFSET_DB = -0.691  # cancels the K-filter's gain at 997 Hz


def measure_loudness(audio: Audio) -> LoudnessResult:
    """Integrated loudness, loudness range and a short-term loudness curve.

    Parameters
    ----------
    audio : Audio
        The decoded song; `audio.channels` scales the mono downmix back to the file's
        channel count (see the module docstring).

    Returns
    -------
    LoudnessResult
        `integrated_lufs` and `loudness_range_lu` are None when every block is below the
        −70 LUFS absolute gate (silence) or the signal is shorter than one gating block.
        `curve` has a point per second: the short-term (3 s) loudness centred on
        `time`, floored at −70 LUFS, the absolute gate.
    """
    powers = _channel_powers(audio)
    if powers is None:
        powers = _subblock_powers(audio) * max(audio.channels, 1)
    return loudness_from_powers(powers, duration_s=audio.duration_s)


def loudness_from_powers(powers: np.ndarray, *, duration_s: float) -> LoudnessResult:
    """`measure_loudness`'s result from the K-weighted power of each 100 ms sub-block.

    Parameters
    ----------
    powers : np.ndarray
        Mean-square K-weighted power per consecutive 100 ms sub-block, summed over channels
        (as `weighted_block_powers` gives), for the whole recording.
    duration_s : float
        The recording's length: the curve has a point per whole second of it.
    """
    momentary = _loudness(_moving_mean(powers, _MOMENTARY_BLOCKS, step=1))
    short_term = _loudness(_moving_mean(powers, _SHORT_TERM_BLOCKS, step=1))
    return LoudnessResult(
        integrated_lufs=_gated_mean(momentary, relative_gate_lu=_RELATIVE_GATE_LU),
        loudness_range_lu=_loudness_range(short_term[::10]),  # EBU 3342 allows 1 Hz or finer
        curve=_curve(powers, duration_s=duration_s),
    )


def weighted_block_powers(blocks, *, sos: np.ndarray, state: np.ndarray, size: int):
    """K-weighted power per `size`-sample sub-block, summed over channels, block by block.

    Parameters
    ----------
    blocks : iterable of np.ndarray, shape (frames, channels)
        Consecutive stretches of a recording (e.g. `soundfile.blocks(..., always_2d=True)`).
    sos : np.ndarray
        `k_weighting(sample_rate)`.
    state : np.ndarray, shape (channels, 2, 2)
        The filters' state, updated in place so a later call continues the same stream.
    size : int
        Samples per sub-block (100 ms); a block's remainder shorter than that is dropped.

    Yields
    ------
    np.ndarray
        One power per whole sub-block of each block.
    """
    for block in blocks:
        usable = len(block) // size * size
        if usable == 0:
            return
        summed = np.zeros(usable // size)
        for channel in range(block.shape[1]):
            weighted, state[channel] = signal.sosfilt(sos, block[:usable, channel], zi=state[channel])
            summed += np.mean(weighted.reshape(-1, size) ** 2, axis=1)
        yield summed


def span_loudness(result: LoudnessResult, *, start: float, end: float) -> float | None:
    """Loudness (LUFS) of the span [start, end), energy-averaged from the curve.

    Curve points at the −70 LUFS floor are left out as silence; None when no point of
    the curve lies in the span above the floor.
    """
    levels = np.array([
        point.value for point in result.curve
        if start <= point.time < end and point.value > ABSOLUTE_GATE_LUFS
    ])
    if levels.size == 0:
        return None
    return float(10.0 * np.log10(np.mean(10.0 ** (levels / 10.0))))


def is_silent(audio: Audio, *, loudness: LoudnessResult | None = None) -> bool:
    """True when the peak is below −60 dBFS or nothing passes the −70 LUFS gate."""
    peak = float(np.max(np.abs(audio.samples))) if audio.samples.size else 0.0
    if peak <= 10.0 ** (SILENCE_PEAK_DBFS / 20.0):
        return True
    loudness = loudness or measure_loudness(audio)
    return loudness.integrated_lufs is None or loudness.integrated_lufs < ABSOLUTE_GATE_LUFS


def k_weighting(sample_rate: int) -> np.ndarray:
    """The two BS.1770 K-weighting biquads (high shelf, then high pass) as `sos`."""
    k = np.tan(np.pi * 1681.974450955533 / sample_rate)
    q = 0.7071752369554196
    gain = 10.0 ** (3.999843853973347 / 20.0)
    band = gain ** 0.4996667741545416
    a0 = 1.0 + k / q + k * k
    shelf = [(gain + band * k / q + k * k) / a0, 2.0 * (k * k - gain) / a0,
             (gain - band * k / q + k * k) / a0, 1.0, 2.0 * (k * k - 1.0) / a0,
             (1.0 - k / q + k * k) / a0]
    k = np.tan(np.pi * 38.13547087602444 / sample_rate)
    q = 0.5003270373238773
    a0 = 1.0 + k / q + k * k
    highpass = [1.0, -2.0, 1.0, 1.0, 2.0 * (k * k - 1.0) / a0, (1.0 - k / q + k * k) / a0]
    return np.array([shelf, highpass])


def _subblock_powers(audio: Audio, *, block_s: float = 10.0) -> np.ndarray:
    """Mean square of the K-weighted signal in consecutive 100 ms sub-blocks.

    Filtered in `block_s` blocks, as the channels are: no float64 copy of the whole song.
    """
    size = int(round(_BLOCK_S * audio.sample_rate))
    step = size * int(round(block_s / _BLOCK_S))
    mono = audio.samples.reshape(-1, 1)
    sos = k_weighting(audio.sample_rate)
    blocks = (mono[start:start + step] for start in range(0, len(mono), step))
    powers = list(weighted_block_powers(blocks, sos=sos, state=np.zeros((1, sos.shape[0], 2)), size=size))
    return np.concatenate(powers) if powers else np.zeros(0)


def _channel_powers(audio: Audio, *, block_s: float = 10.0) -> np.ndarray | None:
    """Per 100 ms sub-block, the K-weighted power summed over the file's channels.

    None for a mono recording (the decoded samples are exact) and for a file soundfile
    cannot read. Only the decoded span (`audio.duration_s`) is measured; the channels
    are filtered in `block_s` blocks so a long file is never held whole in float64.
    """
    if audio.channels < 2:
        return None
    try:
        info = soundfile.info(audio.path)
    except (RuntimeError, soundfile.LibsndfileError, TypeError, OSError):
        return None
    size = int(round(_BLOCK_S * info.samplerate))
    frames = min(info.frames, int(round(audio.duration_s * info.samplerate)))
    count = frames // size
    if count == 0 or info.channels < 2:
        return None
    sos = k_weighting(info.samplerate)
    state = np.zeros((info.channels, sos.shape[0], 2))
    try:
        blocks = soundfile.blocks(audio.path, blocksize=size * int(block_s / _BLOCK_S),
                                  frames=count * size, dtype="float64", always_2d=True)
        powers = list(weighted_block_powers(blocks, sos=sos, state=state, size=size))
    except (RuntimeError, soundfile.LibsndfileError):
        return None
    return np.concatenate(powers) if powers else None


def _moving_mean(values: np.ndarray, width: int, *, step: int) -> np.ndarray:
    if len(values) < width:
        return np.empty(0)
    sums = np.cumsum(np.concatenate([[0.0], values]))
    return (sums[width:] - sums[:-width])[::step] / width


def _loudness(power: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return _OFFSET_DB + 10.0 * np.log10(power)


def _gated_mean(levels: np.ndarray, *, relative_gate_lu: float) -> float | None:
    """BS.1770 two-stage gating: absolute −70 LUFS, then relative to the gated mean."""
    kept = levels[levels > ABSOLUTE_GATE_LUFS]
    if kept.size == 0:
        return None
    relative = _energy_mean(kept) + relative_gate_lu
    return _energy_mean(kept[kept > relative])


def _loudness_range(levels: np.ndarray) -> float | None:
    kept = levels[levels > ABSOLUTE_GATE_LUFS]
    if kept.size == 0:
        return None
    kept = kept[kept > _energy_mean(kept) + _RANGE_GATE_LU]
    low, high = np.percentile(kept, [10, 95])
    return float(high - low)


def _energy_mean(levels: np.ndarray) -> float:
    return float(10.0 * np.log10(np.mean(10.0 ** (levels / 10.0))))


def _curve(powers: np.ndarray, *, duration_s: float) -> list[TimedValue]:
    """Short-term loudness at each whole second, over the 3 s centred on it (clipped at ends)."""
    half = _SHORT_TERM_BLOCKS // 2
    curve = []
    for second in range(int(np.floor(duration_s)) + 1):
        centre = int(round(second / _BLOCK_S))
        window = powers[max(centre - half, 0): centre + half]
        if window.size == 0:
            continue
        level = float(_loudness(np.array([window.mean()]))[0])
        curve.append(TimedValue(time=float(second), value=max(level, ABSOLUTE_GATE_LUFS)))
    return curve
