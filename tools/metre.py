"""Which metrical level is the beat: keep the decoded pulse, halve it, or double it.

madmom's bar-pointer decoder (`DBNDownBeatTrackingProcessor`, 3 or 4 beats a bar here; its
tempo range is min_bpm 55 to max_bpm 215 by default, 205 being `PatternTrackingProcessor`'s)
sometimes settles on the wrong level: the tatum of piano ragtime (200 instead of 100), or
half of a fast thrash beat (95 instead of 190; above 215 it has no choice). A tempo prior
alone makes the second error worse (a log-normal prior around 120 BPM prefers 95 to 190), so
the level is chosen from what the music does at each candidate level:

1. **The backbeat.** At the beat level of drummed music, beats 2 and 4 carry the snare:
   the high band (cymbals, snare noise, above ~2.8 kHz) alternates from beat to beat while
   the kick sits on the others. At a tatum level the counted off-beats are the weak "ands";
   at half the beat level every counted beat has a snare and the kicks fall between them.
2. **The bar.** The downbeat network marks bars; a level whose beats group into audible
   bars (metre confidence) is a beat level. A fast pulse without an audible bar is a tatum
   (rag eighths: 0.17), but only if the beats halving would drop are also the weaker ones
   for the beat network: a thrash beat at 185-200 BPM has no audible 4-beat bar either
   (metre confidence about 0), yet the network marks its snare beats four times more
   strongly than its kick beats, the backbeat of principle 1.
3. **Onset density.** Doubling needs drum hits between the decoded beats (low-band kicks
   where the high band is quiet: the snare is on the decoded beats); a half-time feel has its
   backbeat at the decoded level and nothing to double into; a rag or a slow piece has soft
   subdivisions that are not hits; house's off-beat hi-hats are high band, not kicks.
4. **The beat network's own marks.** When it marks the points between decoded beats nearly
   as strongly as the beats, the faster pulse is there to be counted.

The rules, in order (4-beat or 2-beat bars only; a 3-beat bar is always kept):

- halve above 160 BPM when the bar is inaudible (metre confidence < 0.2) and the beats to
  drop get less beat activation than those kept (ratio < 0.9);
- double at 120 BPM or less when the bar is audible (>= 0.3), the decoded beats show no
  backbeat (high band within x1.5 from beat to beat), and either the points between them
  make one (kicks there: low band at least 0.6 of the beats', high band under 1/2.8 of it)
  or the beat network marks them (0.6 of the beats' activation);
- otherwise keep.

The rules return a confidence: how far the evidence sits past its threshold, scaled by the
tempo prior's preference (log-normal around 120 BPM, one octave wide) between the levels.
A tagger's "fast"/"slow" tags are no help here: musicnn's MTT "slow" reads 0.15-0.30 on
slow chorales, rubato piano and synth pop alike, and "fast" stays under 0.35 on a 170 BPM
metal song, so no hint enters the choice.

A clip too short for the decoder (fewer than 4 beats) has only the periodicity of its beat
activation: `choose_octave` picks the level among a comb filter's tempo peaks and their
octaves, by their periodic evidence times the tempo prior.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

FPS = 100
# Column layout of `rhythm.rhythm_features`: for frame sizes 1024, 2048 and 4096 (21, 45 and
# 91 log bands) a spectrogram then its positive difference. The onsets come from the
# 2048-frame difference block; its bands 0-5 lie at 43-150 Hz, 30-44 at 2.8-14 kHz.
_FEATURE_COLUMNS = 314
_DIFF_2048 = slice(2 * 21 + 45, 2 * 21 + 2 * 45)
_LOW_BANDS = slice(0, 6)
_MID_BANDS = slice(6, 30)
_HIGH_BANDS = slice(30, 45)

# Halving: only above this tempo (a slow rag at 120, oom-pah on the beat, looks like a tatum).
HALVE_ABOVE_BPM = 160.0
# ...when the decoded bars are inaudible...
NO_BAR_METER_CONFIDENCE = 0.2
# ...and the beats that halving drops get less beat activation than those it keeps.
TATUM_EVEN_ODD_RATIO = 0.9
# Doubling: only up to this tempo (the doubled one stays under 240 BPM)...
DOUBLE_BELOW_BPM = 120.0
# ...when the decoded bars are audible (doubling keeps them)...
BAR_METER_CONFIDENCE = 0.3
# ...the decoded beats show no backbeat (high band within this factor from beat to beat)...
BACKBEAT_RATIO = 1.5
# ...and the doubled grid does: between the beats, the high band is weaker by this factor
# while the low band carries a kick of at least this share of the beats' low-band strength.
DOUBLED_BACKBEAT_RATIO = 2.8
MIDPOINT_HIT_SHARE = 0.6
# Or: the beat network marks the points between the beats almost as strongly as the beats.
MIDPOINT_ACTIVATION_SHARE = 0.6
# Tempo prior: log-normal around 120 BPM with a standard deviation of one octave.
PRIOR_CENTRE_BPM = 120.0
PRIOR_OCTAVES = 1.0
# Octave choice: tempo peaks this close (relative) to a candidate or its octaves support it,
OCTAVE_TOLERANCE = 0.04
# ...those at its octaves with this weight (on rendered clips the decoder cannot track, 0.25
# turned the comb's triple-tempo errors at 60 BPM into octave ones; 1, equal weight, let the
# prior halve correct 170-200 BPM peaks).
OCTAVE_SUPPORT = 0.25


@dataclass(frozen=True)
class MetreChoice:
    """The chosen metrical level and why.

    Attributes
    ----------
    level : {"keep", "halve", "double"}
        What to do to the decoded beats.
    factor : float
        The tempo factor: 1, 0.5 or 2.
    confidence : float
        In [0, 1]: how clearly the evidence favours the choice.
    reason : str
        One sentence for `RhythmResult.notes`.
    evidence : dict
        The measured quantities the rules read (for logs and evals).
    """

    level: Literal["keep", "halve", "double"]
    factor: float
    confidence: float
    reason: str
    evidence: dict[str, float] = field(default_factory=dict)


def onset_bands(features: np.ndarray) -> np.ndarray:
    """Low (43-150 Hz), mid and high (2.8-14 kHz) onset strength per 100 fps frame.

    Parameters
    ----------
    features : np.ndarray, shape (frames, 314)
        `rhythm.rhythm_features(audio)`, the beat network's input: its spectral-flux
        columns are reused, so the onsets cost nothing beyond the network's own features.

    Returns
    -------
    np.ndarray, shape (frames, 3)
        Summed positive log-spectral difference in each band.
    """
    features = np.asarray(features, dtype=np.float32)
    if features.ndim != 2 or features.shape[1] != _FEATURE_COLUMNS:
        raise ValueError(f"expected rhythm features of shape (frames, {_FEATURE_COLUMNS}), "
                         f"got {features.shape}")
    diff = features[:, _DIFF_2048]
    return np.stack([diff[:, _LOW_BANDS].sum(axis=1), diff[:, _MID_BANDS].sum(axis=1),
                     diff[:, _HIGH_BANDS].sum(axis=1)], axis=1)


def choose_level(*, beats: np.ndarray, positions: np.ndarray, activations: np.ndarray,
                 onsets: np.ndarray) -> MetreChoice:
    """Keep, halve or double the decoded beats (see the module docstring for the rules).

    Parameters
    ----------
    beats : np.ndarray
        Decoded beat times in seconds (at least 4).
    positions : np.ndarray
        1-based position of each beat in its decoded bar.
    activations : np.ndarray, shape (frames, 2)
        The network's (beat, downbeat) activations at 100 fps.
    onsets : np.ndarray, shape (frames, 3)
        Low, mid and high onset strength at 100 fps, from `onset_bands`.

    Returns
    -------
    MetreChoice
    """
    beats = np.asarray(beats, dtype=float)
    positions = np.asarray(positions).astype(int)
    if len(beats) < 4:
        return MetreChoice("keep", 1.0, 0.0, "too few beats to choose a metrical level")
    bpm = 60.0 / float(np.median(np.diff(beats)))
    beats_per_bar = int(positions.max())
    evidence = _evidence(beats, positions, activations, onsets)
    evidence["bpm"] = bpm

    if beats_per_bar % 2 == 0 and bpm > HALVE_ABOVE_BPM:
        no_bar = evidence["meter_confidence"] < NO_BAR_METER_CONFIDENCE
        dropped_weaker = evidence["activation_even_odd"] < TATUM_EVEN_ODD_RATIO
        if no_bar and dropped_weaker:
            margin = min(1.0 - evidence["meter_confidence"] / NO_BAR_METER_CONFIDENCE,
                         1.0 - evidence["activation_even_odd"] / TATUM_EVEN_ODD_RATIO)
            return MetreChoice(
                "halve", 0.5, _confidence(margin, bpm, bpm / 2), evidence=evidence,
                reason=(f"beat level halved ({bpm:.0f} to {bpm / 2:.0f} BPM): the decoded pulse "
                        "had no audible bar and its off-beats were the weaker (tatum)"))

    if beats_per_bar % 2 == 0 and bpm <= DOUBLE_BELOW_BPM:
        bar = evidence["meter_confidence"] >= BAR_METER_CONFIDENCE
        no_backbeat = _within(evidence["high_even_odd"], BACKBEAT_RATIO)
        # Kicks between snares: low-band hits between the beats, the high band far weaker
        # there. (Off-beat hi-hats of house, high band between the beats, are no backbeat.)
        doubled_backbeat = (evidence["high_mid_beat"] <= 1.0 / DOUBLED_BACKBEAT_RATIO
                            and evidence["low_mid_beat"] >= MIDPOINT_HIT_SHARE)
        marked = evidence["activation_mid_beat"] >= MIDPOINT_ACTIVATION_SHARE
        if bar and no_backbeat and (doubled_backbeat or marked):
            why = ("drum hits between the beats make a backbeat at the doubled level"
                   if doubled_backbeat else "the beat network marks the points between the beats")
            margin = min(evidence["meter_confidence"] / BAR_METER_CONFIDENCE - 1.0,
                         _log_margin(evidence["high_mid_beat"], DOUBLED_BACKBEAT_RATIO)
                         if doubled_backbeat else
                         evidence["activation_mid_beat"] / MIDPOINT_ACTIVATION_SHARE - 1.0)
            return MetreChoice(
                "double", 2.0, _confidence(margin, bpm, 2 * bpm), evidence=evidence,
                reason=f"beat level doubled ({bpm:.0f} to {2 * bpm:.0f} BPM): {why}")

    return MetreChoice("keep", 1.0, _keep_confidence(evidence), evidence=evidence,
                       reason="decoded beat level kept")


def double_tempo(beats: np.ndarray, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A beat between each two decoded beats, in bars of the same size (half as long).

    Parameters
    ----------
    beats, positions : np.ndarray
        Beat times and their 1-based positions in bars of an even number of beats `n`.
        The doubled bars also have `n` beats: they start at the old positions 1 and n/2 + 1.

    Returns
    -------
    beats, positions : np.ndarray
    """
    beats = np.asarray(beats, dtype=float)
    positions = np.asarray(positions).astype(int)
    size = int(positions.max())
    doubled = np.empty(2 * len(beats) - 1)
    doubled[0::2] = beats
    doubled[1::2] = (beats[:-1] + beats[1:]) / 2
    new_positions = np.empty(len(doubled), dtype=int)
    new_positions[0::2] = (2 * (positions - 1)) % size + 1
    new_positions[1::2] = (2 * (positions[:-1] - 1) + 1) % size + 1
    return doubled, new_positions


def tempo_prior(bpm: float) -> float:
    """Log-normal tempo prior (unnormalised, 1 at 120 BPM, one octave standard deviation)."""
    return float(np.exp(-0.5 * (np.log2(bpm / PRIOR_CENTRE_BPM) / PRIOR_OCTAVES) ** 2))


def choose_octave(tempi: np.ndarray, *, min_bpm: float, max_bpm: float) -> tuple[float, float]:
    """The metrical level of a pulse known only by its periodicity.

    Every tempo peak, halved, kept and doubled (within [min_bpm, max_bpm]), is a candidate.
    Its evidence is the strength of the peaks at it, plus `OCTAVE_SUPPORT` times that of the
    peaks at its double and half (a pulse at T resonates at its subdivision and half-bar
    too, but less than at T); its score is that evidence times `tempo_prior`. So the prior
    moves the level off the strongest peak only when an octave has support of its own.

    Parameters
    ----------
    tempi : np.ndarray, shape (n, 2)
        Tempo peaks (BPM) and their relative strengths, as madmom's `detect_tempo` returns.
    min_bpm, max_bpm : float
        The range the peaks were searched in; candidates stay inside it.

    Returns
    -------
    bpm : float
        The best-scoring candidate (of those within `OCTAVE_TOLERANCE` of it, the one that
        comes from the strongest peak).
    share : float
        In [0.5, 1]: its score over its own plus the best candidate's that is no octave of it.
    """
    tempi = np.asarray(tempi, dtype=float).reshape(-1, 2)
    peaks, strengths = tempi[:, 0], tempi[:, 1]
    candidates = np.concatenate([peaks / 2, peaks, peaks * 2])
    sources = np.tile(strengths, 3)  # the strength of the peak each candidate comes from
    inside = (candidates >= min_bpm) & (candidates <= max_bpm)
    candidates, sources = candidates[inside], sources[inside]
    evidence = np.array([strengths[_near(peaks, bpm)].sum() + OCTAVE_SUPPORT * (
        strengths[_near(peaks, 2 * bpm)].sum() + strengths[_near(peaks, bpm / 2)].sum())
        for bpm in candidates])
    scores = evidence * np.array([tempo_prior(bpm) for bpm in candidates])
    best = int(np.argmax(scores))
    # The alternative: the best candidate in another octave family (ratios like 3:2).
    family = np.zeros(len(candidates), dtype=bool)
    for factor in (0.5, 1.0, 2.0):
        family |= _near(candidates, factor * candidates[best])
    rival = float(scores[~family].max()) if np.any(~family) else 0.0
    share = float(scores[best] / (scores[best] + rival))
    # Candidates within the tolerance are one hypothesis (the prior would pull it towards
    # 120 BPM by up to 4 %): report the one from the strongest peak.
    same = _near(candidates, candidates[best])
    return float(candidates[same][np.argmax(sources[same])]), share


def _near(values: np.ndarray, target: float) -> np.ndarray:
    return np.abs(values / target - 1.0) <= OCTAVE_TOLERANCE


def _evidence(beats, positions, activations, onsets) -> dict[str, float]:
    activations = np.asarray(activations, dtype=float)
    onsets = np.asarray(onsets, dtype=float)
    midpoints = (beats[:-1] + beats[1:]) / 2
    odd = positions % 2 == 1  # the downbeat and the bar's middle: what halving keeps
    beatness = activations.sum(axis=1)  # the beat column excludes downbeats
    at_beats, at_mid = peak_at(beatness, beats), peak_at(beatness, midpoints)
    evidence = {
        "meter_confidence": _meter_confidence(activations[:, 1], beats, positions),
        "activation_even_odd": _ratio(at_beats[~odd], at_beats[odd]),
        "activation_mid_beat": _ratio(at_mid, at_beats),
    }
    for column, band in enumerate(("low", "mid", "high")):
        strength = onsets[:, column]
        on_beats, on_mid = peak_at(strength, beats), peak_at(strength, midpoints)
        evidence[f"{band}_even_odd"] = _ratio(on_beats[~odd], on_beats[odd])
        evidence[f"{band}_mid_beat"] = _ratio(on_mid, on_beats)
    return {name: round(float(value), 4) for name, value in evidence.items()}


def _meter_confidence(downbeat: np.ndarray, beats: np.ndarray, positions: np.ndarray) -> float:
    # As `rhythm.rhythm_from_beats`: downbeat activation on the downbeats against the others.
    strength = peak_at(downbeat, beats)
    on = strength[positions == 1].mean() if np.any(positions == 1) else 0.0
    off = strength[positions != 1].mean() if np.any(positions != 1) else 0.0
    return max(float((on - off) / (on + off)), 0.0) if on + off > 0 else 0.0


def peak_at(signal: np.ndarray, times: np.ndarray, *, radius: int = 3) -> np.ndarray:
    """The peak of a 100 fps `signal` within `radius` frames of each time (seconds)."""
    frames = np.round(np.asarray(times) * FPS).astype(int)
    windows = frames[:, None] + np.arange(-radius, radius + 1)
    return signal[np.clip(windows, 0, len(signal) - 1)].max(axis=1)


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> float:
    top = float(np.mean(numerator)) if len(numerator) else 0.0
    bottom = float(np.mean(denominator)) if len(denominator) else 0.0
    return top / bottom if bottom > 1e-9 else (1.0 if top <= 1e-9 else 1e3)


def _within(ratio: float, factor: float) -> bool:
    return 1.0 / factor <= ratio <= factor


def _log_margin(ratio: float, factor: float) -> float:
    """How far past the factor a ratio lies, in octaves of the factor (0 at the threshold)."""
    return abs(np.log(max(ratio, 1e-9))) / np.log(factor) - 1.0


def _confidence(margin: float, from_bpm: float, to_bpm: float) -> float:
    # Evidence margin, tempered when the prior prefers where the beats came from.
    strength = 0.5 + 0.5 * np.tanh(2.0 * margin)  # 0.5 at a rule's threshold
    # The prior only tempers: a change it disfavours (190 from 95) keeps less confidence.
    prior_share = tempo_prior(to_bpm) / (tempo_prior(to_bpm) + tempo_prior(from_bpm))
    return round(float(strength * min(1.0, 2.0 * prior_share)), 3)


def _keep_confidence(evidence: dict[str, float]) -> float:
    # Bars audible or a backbeat at the decoded level: the level is well supported.
    support = max(evidence["meter_confidence"] / BAR_METER_CONFIDENCE,
                  _log_margin(evidence["high_even_odd"], BACKBEAT_RATIO) + 1.0)
    return round(float(np.clip(0.5 + 0.5 * np.tanh(support - 0.5), 0.0, 1.0)), 3)
