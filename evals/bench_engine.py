"""Rhythm, key and chord engine against madmom's own processors: accuracy and seconds.

    python -m evals.bench_engine FILE [FILE ...] [--madmom]

For each file: our detectors' wall time and results; with --madmom, madmom's
processors used directly on the same signal (slow), and how far the two agree. Where a
`NAME.gt.json` lies beside the audio, beat/downbeat F-measure (mir_eval), tempo, key
and majmin chord overlap against it are printed too.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import mir_eval
import numpy as np

from tools.audio import load_audio
from tools.chords import analyze_harmony
from tools.madmom_shim import madmom  # first: makes the submodule imports below work
import madmom.features.chords  # noqa: E402
import madmom.features.downbeats  # noqa: E402
import madmom.features.key  # noqa: E402
from tools.rhythm import FPS, beat_activations, track_rhythm  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+")
    parser.add_argument("--madmom", action="store_true", help="also run madmom's processors")
    args = parser.parse_args()
    for path in args.files:
        bench(path, with_madmom=args.madmom)


def bench(path: str, *, with_madmom: bool) -> None:
    audio = load_audio(path)
    truth = _ground_truth(path)
    print(f"\n== {path} ({audio.duration_s:.0f} s)")
    started = time.perf_counter()
    rhythm = track_rhythm(audio)
    rhythm_s = time.perf_counter() - started
    started = time.perf_counter()
    tonality, chords = analyze_harmony(audio)
    key = tonality.key()
    changes = tonality.changes(downbeats=rhythm.downbeats)
    harmony_s = time.perf_counter() - started
    print(f"ours   rhythm {rhythm_s:5.1f} s  key+chords {harmony_s:5.1f} s  "
          f"bpm {rhythm.bpm} {rhythm.time_signature}  key {key.key} ({key.confidence})")
    print("       key changes", [(c.time, c.from_key, c.to_key) for c in changes])
    _score("ours  ", truth, rhythm.beats, rhythm.downbeats, rhythm.bpm, key.key,
           [(c.start, c.end, c.label) for c in chords])
    if with_madmom:
        _bench_madmom(audio, truth)


def _bench_madmom(audio, truth: dict) -> None:
    signal = madmom.audio.signal.Signal(audio.samples, sample_rate=audio.sample_rate)
    started = time.perf_counter()
    activations = madmom.features.downbeats.RNNDownBeatProcessor()(signal)
    decoded = madmom.features.downbeats.DBNDownBeatTrackingProcessor(
        beats_per_bar=[3, 4], fps=FPS)(activations)
    rhythm_s = time.perf_counter() - started
    started = time.perf_counter()
    key_probabilities = madmom.features.key.CNNKeyRecognitionProcessor()(signal)
    key_s = time.perf_counter() - started
    started = time.perf_counter()
    features = madmom.features.chords.CNNChordFeatureProcessor()(signal)
    chords = madmom.features.chords.CRFChordRecognitionProcessor()(features)
    chords_s = time.perf_counter() - started
    key = madmom.features.key.key_prediction_to_label(key_probabilities)
    beats = decoded[:, 0] if len(decoded) else np.zeros(0)
    downbeats = beats[decoded[:, 1] == 1] if len(decoded) else beats
    bpm = 60.0 / np.median(np.diff(beats)) if len(beats) > 1 else None
    print(f"madmom rhythm {rhythm_s:5.1f} s  key {key_s:5.1f} s  chords {chords_s:5.1f} s  "
          f"bpm {bpm and round(bpm, 2)}  key {key} ({key_probabilities.max():.3f})")
    ours = beat_activations(audio)
    print(f"       activation max |ours - madmom| {np.abs(ours - activations).max():.2e}")
    _score("madmom", truth, list(beats), list(downbeats), bpm, key,
           [(float(s), float(e), str(label)) for s, e, label in chords])


def _score(name: str, truth: dict, beats, downbeats, bpm, key, chords) -> None:
    if not truth:
        return
    parts = []
    if "beats_s" in truth:
        parts.append(f"beat F {_f_measure(truth['beats_s'], beats):.3f}")
    # symbolic/ lists downbeats as {"measure", "time"}; measure 0 is a pickup.
    reference_downbeats = truth.get("downbeats_s") or [
        d["time"] for d in truth.get("downbeats", []) if d["measure"] > 0]
    if reference_downbeats:
        parts.append(f"downbeat F {_f_measure(reference_downbeats, downbeats):.3f}")
    if isinstance(truth.get("tempo_bpm"), (int, float)) and bpm:
        ratio = bpm / truth["tempo_bpm"]
        parts.append(f"tempo {'ok' if abs(ratio - 1) < 0.04 else 'x2/÷2' if min(abs(ratio - 2), abs(ratio - 0.5)) < 0.04 else 'wrong'}")
    if isinstance(truth.get("key"), str):
        parts.append(f"key {key} vs {truth['key']}")
    if truth.get("chords"):
        parts.append(f"chord majmin {_chord_overlap(truth['chords'], chords):.3f}")
    print(f"{name} vs truth: " + ", ".join(parts))


def _f_measure(reference, estimate) -> float:
    return mir_eval.beat.f_measure(np.asarray(reference, float), np.asarray(estimate, float))


def _chord_overlap(reference: list[dict], estimate: list[tuple]) -> float:
    ref_intervals = np.array([[c["start"], c["end"]] for c in reference])
    ref_labels = [c["label"] for c in reference]
    est_intervals = np.array([[s, e] for s, e, _ in estimate])
    est_labels = [label for _, _, label in estimate]
    est_intervals, est_labels = mir_eval.util.adjust_intervals(
        est_intervals, est_labels, ref_intervals.min(), ref_intervals.max(),
        mir_eval.chord.NO_CHORD, mir_eval.chord.NO_CHORD)
    intervals, ref_labels, est_labels = mir_eval.util.merge_labeled_intervals(
        ref_intervals, ref_labels, est_intervals, est_labels)
    durations = mir_eval.util.intervals_to_durations(intervals)
    comparisons = mir_eval.chord.majmin(ref_labels, est_labels)
    return float(mir_eval.chord.weighted_accuracy(comparisons, durations))


def _ground_truth(path: str) -> dict:
    candidate = Path(path).with_suffix(".gt.json")
    return json.loads(candidate.read_text()) if candidate.exists() else {}


if __name__ == "__main__":
    main()
