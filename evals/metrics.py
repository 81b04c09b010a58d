"""Scores of one estimate against one reference, on the MIREX definitions (via mir_eval).

Both sides are an `Annotation`. On the reference, a field left `None` means the truth is
unknown and the metric is skipped; on the estimate, `None` means the system does not
produce that output (also skipped), while an empty list or a key of "X" is an answer
("no beats", "no key") and is scored as one.
"""

from __future__ import annotations

import warnings

import mir_eval
import numpy as np
from pydantic import BaseModel

from linernotes.tools.vocabulary import NO_KEY, PITCH_CLASSES, normalise_key  # noqa: F401 (re-exported)

# Tempo tolerance of MIREX Acc1/Acc2, and the octave-like factors Acc2 forgives.
TEMPO_TOLERANCE = 0.04
ACC2_FACTORS = (1.0, 2.0, 0.5, 3.0, 1.0 / 3.0)
BOUNDARY_WINDOWS_S = (0.5, 3.0)
VOICE_FRAME_S = 0.1


class Span(BaseModel):
    """A labelled time interval: a chord, a section, a stretch in one key."""

    start: float
    end: float
    label: str


class Annotation(BaseModel):
    """What one file is (reference) or what a system says it is (estimate)."""

    duration_s: float
    key: str | None = None  # "F# minor"; a bare tonic "F" on a reference whose mode is unknown
    key_spans: list[Span] | None = None  # key over time, when the truth or the system has sections
    bpm: float | None = None
    beats: list[float] | None = None
    downbeats: list[float] | None = None
    chords: list[Span] | None = None
    sections: list[Span] | None = None
    voice_active: list[tuple[float, float]] | None = None
    is_music: bool | None = None


def key_score(reference: str, estimate: str | None) -> float:
    """MIREX weighted key score: 1 same key, 0.5 fifth above, 0.3 relative, 0.2 parallel.

    A reference given as a bare tonic (mode unknown) takes the better of its two readings.
    A missing estimate counts as "no key" (0 on a tonal reference, 1 on an atonal one).
    """
    estimate = normalise_key(estimate) or NO_KEY
    if reference != NO_KEY and " " not in reference:
        return max(key_score(f"{reference} {mode}", estimate) for mode in ("major", "minor"))
    return float(mir_eval.key.weighted_score(reference, estimate))


def key_over_time(reference: list[Span], estimate: list[Span] | str | None) -> float:
    """The weighted key score averaged over time, each reference stretch by its length.

    Parameters
    ----------
    reference : list of Span
        Reference keys over time (one span for a piece in a single key).
    estimate : list of Span, str or None
        The estimated key over time, or one key for the whole piece.
    """
    total, weight = 0.0, 0.0
    for span in reference:
        if isinstance(estimate, list):
            pieces = _overlaps(span, estimate)
            covered = sum(length for length, _ in pieces)
            scored = sum(length * key_score(span.label, label) for length, label in pieces)
            # Time the estimate leaves without a key counts as "no key" there.
            scored += (span.end - span.start - covered) * key_score(span.label, None)
        else:
            scored = (span.end - span.start) * key_score(span.label, estimate)
        total += scored
        weight += span.end - span.start
    return total / weight if weight > 0 else 0.0


def _overlaps(span: Span, others: list[Span]) -> list[tuple[float, str]]:
    pieces = []
    for other in others:
        length = min(span.end, other.end) - max(span.start, other.start)
        if length > 0:
            pieces.append((length, other.label))
    return pieces


def tempo_accuracy(reference_bpm: float, estimate_bpm: float | None) -> tuple[float, float]:
    """MIREX tempo Acc1 (within 4 %) and Acc2 (within 4 % after x2, x1/2, x3, x1/3), as 0/1."""
    if estimate_bpm is None or estimate_bpm <= 0:
        return 0.0, 0.0
    def close(factor: float) -> bool:
        return abs(estimate_bpm - factor * reference_bpm) <= TEMPO_TOLERANCE * factor * reference_bpm
    return float(close(1.0)), float(any(close(factor) for factor in ACC2_FACTORS))


def beat_f_measure(reference: list[float], estimate: list[float]) -> float:
    """Beat (or downbeat) F-measure at ±70 ms, ignoring the first 5 s as MIREX does."""
    reference_beats = mir_eval.beat.trim_beats(np.asarray(reference, dtype=float))
    estimated_beats = mir_eval.beat.trim_beats(np.asarray(estimate, dtype=float))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # mir_eval warns, then scores 0, on an empty estimate
        return float(mir_eval.beat.f_measure(reference_beats, estimated_beats))


def chord_scores(reference: list[Span], estimate: list[Span]) -> dict[str, float]:
    """Chord symbol recall, duration-weighted, under the `majmin`, `sevenths` and `mirex` comparisons.

    The estimate is clipped and padded with "N" to the reference's span, as mir_eval does.
    """
    reference_intervals, reference_labels = _intervals(reference)
    estimate_intervals, estimate_labels = _intervals(estimate) if estimate else (
        np.array([[reference_intervals[0, 0], reference_intervals[-1, 1]]]), ["N"])
    estimate_intervals, estimate_labels = mir_eval.util.adjust_intervals(
        estimate_intervals, estimate_labels, reference_intervals.min(), reference_intervals.max(),
        mir_eval.chord.NO_CHORD, mir_eval.chord.NO_CHORD)
    intervals, reference_merged, estimate_merged = mir_eval.util.merge_labeled_intervals(
        reference_intervals, reference_labels, estimate_intervals, estimate_labels)
    durations = mir_eval.util.intervals_to_durations(intervals)
    scores = {}
    for name in ("majmin", "sevenths", "mirex"):
        comparison = getattr(mir_eval.chord, name)(reference_merged, estimate_merged)
        scores[f"chords_{name}"] = float(mir_eval.chord.weighted_accuracy(comparison, durations))
    return scores


def _intervals(spans: list[Span]) -> tuple[np.ndarray, list[str]]:
    return np.array([[span.start, span.end] for span in spans], dtype=float), [
        span.label for span in spans]


def boundary_hit_rates(reference: list[Span], estimate: list[Span]) -> dict[str, float]:
    """Section boundary F-measure (hit rate) at ±0.5 s and ±3 s.

    The piece's own start and end are left out (mir_eval's `trim`): they are free to find.
    """
    reference_intervals, _ = _intervals(reference)
    estimate_intervals, _ = _intervals(estimate) if estimate else (
        np.array([[reference_intervals[0, 0], reference_intervals[-1, 1]]]), [])
    scores = {}
    for window in BOUNDARY_WINDOWS_S:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # an estimate with no inner boundary scores 0
            _, _, f_measure = mir_eval.segment.detection(
                reference_intervals, estimate_intervals, window=window, trim=True)
        scores[f"boundaries_f@{window:g}s"] = float(f_measure)
    return scores


def voice_frames(intervals: list[tuple[float, float]], *, duration_s: float,
                 frame_s: float = VOICE_FRAME_S) -> np.ndarray:
    """Boolean voice activity on a grid of `frame_s` frames, judged at each frame's centre."""
    centres = (np.arange(int(np.ceil(duration_s / frame_s))) + 0.5) * frame_s
    active = np.zeros(len(centres), dtype=bool)
    for start, end in intervals:
        active |= (centres >= start) & (centres < end)
    return active


def voice_scores(reference: list[tuple[float, float]], estimate: list[tuple[float, float]], *,
                 duration_s: float) -> dict[str, float]:
    """Frame accuracy and F-measure of voice activity on a 0.1 s grid."""
    truth = voice_frames(reference, duration_s=duration_s)
    said = voice_frames(estimate, duration_s=duration_s)
    hits = float(np.sum(truth & said))
    precision = hits / said.sum() if said.any() else 0.0
    recall = hits / truth.sum() if truth.any() else 0.0
    f_measure = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return {"vocals_accuracy": float(np.mean(truth == said)), "vocals_f": float(f_measure)}


def score(reference: Annotation, estimate: Annotation) -> dict[str, float]:
    """Every metric the reference and the estimate both allow, by name.

    Keys: key_weighted, key_none (atonal control), tempo_acc1, tempo_acc2, beats_f,
    downbeats_f, chords_majmin, chords_sevenths, chords_mirex, boundaries_f@0.5s, boundaries_f@3s,
    vocals_accuracy, vocals_f, music_correct.
    """
    scores: dict[str, float] = {}
    reference_keys = reference.key_spans or (
        [Span(start=0.0, end=reference.duration_s, label=reference.key)] if reference.key else None)
    # A sectioned reference is compared with the estimate's keys over time when it has them.
    estimate_keys = (estimate.key_spans if reference.key_spans and estimate.key_spans
                     else estimate.key)
    if reference_keys and (estimate.key_spans is not None or estimate.key is not None):
        name = "key_none" if reference_keys[0].label == NO_KEY else "key_weighted"
        scores[name] = key_over_time(reference_keys, estimate_keys)
    if reference.bpm is not None and (estimate.bpm is not None or estimate.beats is not None):
        scores["tempo_acc1"], scores["tempo_acc2"] = tempo_accuracy(reference.bpm, estimate.bpm)
    if reference.beats is not None and estimate.beats is not None:
        scores["beats_f"] = beat_f_measure(reference.beats, estimate.beats)
    if reference.downbeats is not None and estimate.downbeats is not None:
        scores["downbeats_f"] = beat_f_measure(reference.downbeats, estimate.downbeats)
    if reference.chords and estimate.chords is not None:
        scores |= chord_scores(reference.chords, estimate.chords)
    if reference.sections and estimate.sections is not None:
        scores |= boundary_hit_rates(reference.sections, estimate.sections)
    if reference.voice_active is not None and estimate.voice_active is not None:
        scores |= voice_scores(reference.voice_active, estimate.voice_active,
                               duration_s=reference.duration_s)
    if reference.is_music is not None and estimate.is_music is not None:
        scores["music_correct"] = float(reference.is_music == estimate.is_music)
    return scores
