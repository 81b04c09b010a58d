"""Beats, downbeats, metre and tempo from madmom's joint beat/downbeat BLSTM.

The network (a torch/numpy port of madmom's 8-member ensemble, see `tools.nn`) gives a
beat and a downbeat activation per 10 ms frame; madmom's dynamic Bayesian network then
decodes them, choosing between 3 and 4 beats per bar by likelihood. (Decoding at 50 fps
would be seven times faster, but its integer beat intervals are too coarse above ~150 BPM:
a 170 BPM song came out at half tempo.)

The decoder sometimes counts the wrong metrical level: piano ragtime's running eighths come
out at 200 BPM, and thrash at 190 BPM can come out at 95. `tools.metre` chooses the level
from the network's own evidence: a fast pulse is halved only when it has no audible bar and
the beats halving would drop are the weaker ones, and a pulse at or below 120 BPM with kicks
(or network-marked beats) between its beats is doubled.

A clip too short for the bar-pointer decoder (it finds fewer than 4 beats, e.g. a 5 s
trumpet loop whose pulse fades after 3 s) gets a tempo from the activation's periodicity
instead: madmom's comb-filter tempo histogram, its octave chosen by `metre.choose_octave`.
Such a tempo has no beats, bars or curve, and a confidence under 0.3.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch
from scipy.signal import find_peaks

from linernotes.tools.audio import Audio
from linernotes.tools.madmom_shim import madmom  # first: makes the submodule import below work
import madmom.features.downbeats  # noqa: E402
import madmom.features.tempo  # noqa: E402
from linernotes.tools import metre, spectrogram  # noqa: E402
from linernotes.tools.nn import downbeat_ensemble  # noqa: E402
from linernotes.tools.runtime import release_freed_memory  # noqa: E402
from linernotes.tools.schema import RhythmResult, TimedValue  # noqa: E402
from linernotes.tools.viterbi import sparse_viterbi  # noqa: E402

FPS = 100
MIN_DURATION_S = 2.0
# Beats per bar the decoder may choose between, and the metre names they give.
BEATS_PER_BAR = (3, 4)
_METRES = {2: "2/4", 3: "3/4", 4: "4/4"}
# Beat activations below this everywhere: no pulse to speak of.
MIN_PEAK_ACTIVATION = 0.05
# Beats per side of the running median that smooths the tempo curve.
TEMPO_SMOOTHING_BEATS = 4
# Tempo from periodicity (decoder failed): the comb filter's range (madmom's default is
# 40-250 BPM; 240 keeps a doubled 120 in range and is the `choose_octave` ceiling)...
PERIODICITY_BPM = (40.0, 240.0)
# ...only for clips up to this long: 9 beats at the decoder's slowest 55 BPM, so a longer
# recording the decoder cannot track has no steady pulse (rendered 8 s clips all decode)...
PERIODICITY_MAX_S = 10.0
# ...with at least this many onsets the network marks: two intervals to agree on a period
# (a lone click would otherwise get the comb's 181.8 BPM).
MIN_PULSE_ONSETS = 3
# ...and its confidence at most: under the 0.3 at which the verdict counts a pulse as music
# and the agent states a tempo without "probably", since no beat was tracked.
PERIODICITY_MAX_CONFIDENCE = 0.25


def rhythm_features(audio: Audio) -> np.ndarray:
    """madmom's multi-resolution spectral-flux input of the downbeat network, (frames, 314)."""
    samples = audio.at(spectrogram.SAMPLE_RATE)
    parts = []
    for frame_size, bands in ((1024, 3), (2048, 6), (4096, 12)):
        spec = spectrogram.log_filtered_stft(samples, frame_size=frame_size, fps=FPS, num_bands=bands,
                                             fmin=30, fmax=17000, norm_filters=True)
        parts.append(spectrogram.positive_difference(spec, frame_size=frame_size, fps=FPS))
        del spec
    features = torch.cat(parts, dim=1).numpy()
    del parts
    release_freed_memory()  # the spectra's blocks, before the network's own working memory
    return features


def beat_activations(audio: Audio) -> np.ndarray:
    """Per-frame (100 fps) probabilities of (beat, downbeat), as madmom's `RNNDownBeatProcessor`."""
    return activations_from_features(rhythm_features(audio))


def activations_from_features(features: np.ndarray) -> np.ndarray:
    """`beat_activations` from the network's input, `rhythm_features(audio)`, when the caller has it."""
    return downbeat_ensemble()(features)[:, 1:]


def track_rhythm(audio: Audio) -> RhythmResult:
    """Beats, downbeats, metre, global tempo and tempo curve of a song.

    Returns `bpm` None (confidence 0, with a note) for audio under 2 s or without a pulse;
    a tempo without beats (see `periodicity_tempo`) when the decoder finds under 4 beats in
    a clip of at most 10 s.
    """
    if audio.duration_s < MIN_DURATION_S:
        return _no_pulse(f"too short for a tempo (under {MIN_DURATION_S:g} s)")
    features = rhythm_features(audio)
    onsets = metre.onset_bands(features)  # from the network's own input: no extra spectrum
    activations = activations_from_features(features)
    del features
    if activations.max() < MIN_PEAK_ACTIVATION:
        return _no_pulse("no steady pulse detected")
    decoded = _decoder()(activations)
    if len(decoded) < 4:
        return periodicity_tempo(activations)
    beats, positions = decoded[:, 0], decoded[:, 1].astype(int)
    # The metrical level: the decoder may count the tatum (rag) or half the beat (thrash).
    choice = metre.choose_level(beats=beats, positions=positions, activations=activations, onsets=onsets)
    if choice.level == "halve":
        beats, positions = half_tempo(beats, positions)
    elif choice.level == "double":
        beats, positions = metre.double_tempo(beats, positions)
    result = rhythm_from_beats(beats, positions, activations)
    if choice.level != "keep":
        result.notes.append(choice.reason)
    return result


def periodicity_tempo(activations: np.ndarray) -> RhythmResult:
    """A tempo from the periodicity of the beat activation, for clips the decoder cannot track.

    madmom's comb-filter tempo histogram of the summed (beat, downbeat) activation gives
    tempo peaks; `metre.choose_octave` picks the metrical level. No beats are placed (the
    decoder could not place them), so beats, downbeats, metre and tempo curve stay empty.

    Parameters
    ----------
    activations : np.ndarray, shape (frames, 2)
        The network's (beat, downbeat) activations at 100 fps.

    Returns
    -------
    RhythmResult
        `bpm` None for activations over `PERIODICITY_MAX_S`, with under `MIN_PULSE_ONSETS`
        marked onsets, or without a histogram peak; else a confidence of at most
        `PERIODICITY_MAX_CONFIDENCE`, scaled by how clearly the level wins.
    """
    beatness = activations.sum(axis=1)  # the beat column excludes downbeats
    # Padded: a beat on the clip's first frame counts too.
    onsets, _ = find_peaks(np.pad(beatness, 1), height=MIN_PEAK_ACTIVATION,
                           distance=int(60.0 * FPS / PERIODICITY_BPM[1]))
    if len(beatness) > PERIODICITY_MAX_S * FPS or len(onsets) < MIN_PULSE_ONSETS:
        return _no_pulse("too few beats for a tempo")
    tempi = _tempo_estimator()(beatness)
    if not np.isfinite(tempi[0, 0]):
        return _no_pulse("too few beats for a tempo")
    bpm, share = metre.choose_octave(tempi, min_bpm=PERIODICITY_BPM[0], max_bpm=PERIODICITY_BPM[1])
    # share runs 0.5 (a rival level as likely) to 1: the confidence runs 0 to the cap.
    confidence = PERIODICITY_MAX_CONFIDENCE * (2.0 * share - 1.0)
    return RhythmResult(
        beats=[], downbeats=[], bpm=round(bpm, 2), bpm_confidence=round(confidence, 3),
        time_signature=None, meter_confidence=0.0, tempo_curve=[],
        notes=["tempo from the pulse's periodicity: the clip is too short to track beats"])


def run(audio: Audio, *, config) -> RhythmResult:
    """The registry's entry: madmom's networks, or Essentia's tracker in licence-clean mode.

    madmom's model files are CC BY-NC-SA; with `config.noncommercial_models` False the
    beats come from Essentia's `RhythmExtractor2013` (AGPL code, no model files), which
    finds no downbeats or metre.
    """
    if config.noncommercial_models:
        return track_rhythm(audio)
    return track_rhythm_essentia(audio)


def track_rhythm_essentia(audio: Audio) -> RhythmResult:
    """Beats and tempo from Essentia's multi-feature beat tracker; no downbeats, no metre."""
    if audio.duration_s < MIN_DURATION_S:
        return _no_pulse(f"too short for a tempo (under {MIN_DURATION_S:g} s)")
    from linernotes.tools.essentia_models import essentia_standard

    es = essentia_standard()  # without TensorFlow's CUDA notices

    samples = np.ascontiguousarray(audio.at(spectrogram.SAMPLE_RATE), dtype=np.float32)
    _, beats, confidence, _, _ = es.RhythmExtractor2013(method="multifeature")(samples)
    beats = np.asarray(beats, dtype=float)
    if len(beats) < 4:
        return _no_pulse("too few beats for a tempo")
    intervals = np.diff(beats)
    regular = float(np.mean(np.abs(intervals / np.median(intervals) - 1.0) < 0.1))
    # Essentia's confidence runs 0 to 5.32, above 3.5 "excellent" (its documentation).
    bpm_confidence = float(np.clip(confidence / 5.32, 0.0, 1.0)) * regular
    return RhythmResult(
        beats=[round(float(t), 3) for t in beats], downbeats=[],
        bpm=round(60.0 / float(np.median(intervals)), 2), bpm_confidence=round(bpm_confidence, 3),
        time_signature=None, meter_confidence=0.0, tempo_curve=tempo_curve(beats),
        notes=["licence-clean mode: Essentia's beat tracker, which finds no downbeats or metre"])


def half_tempo(beats: np.ndarray, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every other beat, keeping the downbeats, with positions renumbered in half-size bars.

    Parameters
    ----------
    beats, positions : np.ndarray
        Beat times and their 1-based positions in bars of an even number of beats.
    """
    keep = positions % 2 == 1  # positions 1, 3, ...: the downbeat and the bar's middle
    return beats[keep], (positions[keep] + 1) // 2


def rhythm_from_beats(beats: np.ndarray, positions: np.ndarray, activations: np.ndarray
                      ) -> RhythmResult:
    """Summarise decoded beats (times, 1-based position in the bar) as a `RhythmResult`.

    Parameters
    ----------
    beats : np.ndarray
        Beat times in seconds.
    positions : np.ndarray
        Position of each beat in its bar, 1 for a downbeat.
    activations : np.ndarray, shape (frames, 2)
        The network's (beat, downbeat) activations the beats were decoded from.
    """
    intervals = np.diff(beats)
    bpm = 60.0 / float(np.median(intervals))
    # Confidence: how strongly the network marks the beats, times how regular they are.
    at_beats = metre.peak_at(activations.sum(axis=1), beats)
    regular = np.mean(np.abs(intervals / np.median(intervals) - 1.0) < 0.1)
    bpm_confidence = float(np.clip(np.mean(at_beats), 0, 1) * regular)

    beats_per_bar = int(positions.max())
    downbeats = beats[positions == 1]
    # Metre confidence: how much more the network marks downbeats than other beats.
    downbeat_strength = metre.peak_at(activations[:, 1], beats)
    on = downbeat_strength[positions == 1].mean() if downbeats.size else 0.0
    off = downbeat_strength[positions != 1].mean()
    meter_confidence = float((on - off) / (on + off)) if on + off > 0 else 0.0
    return RhythmResult(
        beats=[round(float(t), 3) for t in beats],
        downbeats=[round(float(t), 3) for t in downbeats],
        bpm=round(bpm, 2),
        bpm_confidence=round(bpm_confidence, 3),
        time_signature=_METRES.get(beats_per_bar),
        meter_confidence=round(max(meter_confidence, 0.0), 3),
        tempo_curve=tempo_curve(beats, downbeats=downbeats),
    )


def tempo_curve(beats: np.ndarray, *, downbeats: np.ndarray | None = None) -> list[TimedValue]:
    """Local tempo (BPM), a running median over about two bars, one point per bar.

    Points sit at the downbeats when there are any, else at every fourth beat.
    """
    intervals = np.diff(beats)
    half = TEMPO_SMOOTHING_BEATS
    local = np.array([
        np.median(intervals[max(0, i - half): i + half + 1]) for i in range(len(intervals))
    ])
    times = downbeats if downbeats is not None and downbeats.size else beats[::4]
    # Tempo at a time: the smoothed interval that starts at the nearest beat at or before it.
    index = np.clip(np.searchsorted(beats, times, side="right") - 1, 0, len(local) - 1)
    return [TimedValue(time=round(float(t), 3), value=round(60.0 / float(local[i]), 2))
            for t, i in zip(times, index)]


def _no_pulse(note: str) -> RhythmResult:
    return RhythmResult(beats=[], downbeats=[], bpm=None, bpm_confidence=0.0,
                        time_signature=None, meter_confidence=0.0, tempo_curve=[],
                        notes=[note])


@lru_cache(maxsize=None)
def _tempo_estimator():
    low, high = PERIODICITY_BPM
    histogram = madmom.features.tempo.CombFilterTempoHistogramProcessor(min_bpm=low, max_bpm=high, fps=FPS)
    return madmom.features.tempo.TempoEstimationProcessor(method=None, histogram_processor=histogram,
                                                          fps=FPS)


@lru_cache(maxsize=None)
def _decoder():
    # Decoded sparsely: the same path as madmom's, without its 1.2 GB back-pointer table.
    return sparse_viterbi(madmom.features.downbeats.DBNDownBeatTrackingProcessor(
        beats_per_bar=list(BEATS_PER_BAR), fps=FPS))
