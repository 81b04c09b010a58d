"""`linernotes eval accuracy DIR`: linernotes and its peers, scored on the same ground truth.

Every file of an evalset folder is analysed by linernotes (cache off) and by each peer,
and every metric its truth allows is computed (see `evals.metrics.score`).

What counts as linernotes saying "music": its music / speech / silence / noise verdict
(`tools.verdict`) on the whole recording is "music". Essentia's peer says "music" when RhythmExtractor2013's confidence is
"good" (above 1.5, its documented threshold); librosa and madmom give no such answer.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import numpy as np
from pydantic import BaseModel

from linernotes.evals.groundtruth import GroundTruth, discover
from linernotes.evals.metrics import NO_KEY, Annotation, Span, score
from linernotes.evals.peers import PEERS, peer_annotations
from linernotes.tools.schema import SongAnalysis

ENGINE = "linernotes"
# The engine's modes as systems of the table: the default, and licence-clean mode
# (`AnalysisConfig(noncommercial_models=False)`: no madmom model files).
ENGINES = {"default": ENGINE, "clean": f"{ENGINE}-clean"}
METRICS = (
    "key_weighted", "key_none", "tempo_acc1", "tempo_acc2", "beats_f", "downbeats_f",
    "chords_majmin", "chords_sevenths", "chords_mirex", "boundaries_f@0.5s", "boundaries_f@3s",
    "vocals_accuracy", "vocals_f", "music_correct",
)

Progress = Callable[[str, float], None]


class AccuracyRow(BaseModel):
    """One system's scores on one file; a metric is absent when the truth or system lacks it."""

    file: str  # folder/name inside the evalset
    system: str
    scores: dict[str, float]
    seconds: float | None = None  # linernotes' analysis time; peers are timed by `eval speed`
    error: str | None = None


class MetricSummary(BaseModel):
    system: str
    metric: str
    mean: float
    files: int


class AccuracyReport(BaseModel):
    kind: str = "accuracy"
    command: str
    directory: str
    systems: list[str]
    created: str
    rows: list[AccuracyRow]
    summary: list[MetricSummary]
    notes: list[str] = []

    def to_json(self) -> str:
        return self.model_dump_json(indent=2)


def annotation_from_analysis(analysis: SongAnalysis) -> Annotation:
    """What a linernotes analysis claims, in the form the metrics compare."""
    summary = analysis.summary
    return Annotation(
        duration_s=analysis.source.duration_s,
        key=summary.key or NO_KEY,
        key_spans=[Span(start=s.start, end=s.end, label=s.key or NO_KEY) for s in analysis.sections],
        bpm=summary.bpm,
        beats=analysis.beats,
        downbeats=analysis.downbeats,
        chords=[Span(start=c.start, end=c.end, label=c.label) for c in analysis.chords],
        sections=[Span(start=s.start, end=s.end, label=s.label) for s in analysis.sections],
        # Where a window places its voice finer than the window (speech), that is the claim.
        voice_active=[region for w in analysis.segments if w.vocals.present
                      for region in (w.vocals.regions or [(w.start, w.end)])],
        is_music=says_music(analysis),
    )


def says_music(analysis: SongAnalysis) -> bool:
    """linernotes' music-or-not answer: its verdict (`tools.verdict`) is "music"."""
    return analysis.summary.verdict == "music"


def run_accuracy(
    directory: str | Path,
    *,
    peers: list[str] = list(PEERS),
    engines: tuple[str, ...] = ("default",),
    limit: int | None = None,
    progress: Progress | None = None,
) -> AccuracyReport:
    """Score linernotes and the peers on every annotated file of an evalset folder.

    Parameters
    ----------
    directory : str or Path
        A folder of audio files each beside a `NAME.gt.json`, searched recursively.
    peers : list of str
        Any of "essentia", "librosa", "madmom"; their results are cached by file hash.
    engines : tuple of str
        The linernotes modes to score (`ENGINES`: "default", "clean"), each analysed by
        `linernotes.analyze` with the cache off; empty for the peers alone.
    limit : int, optional
        Score only the first `limit` files.
    progress : callable, optional
        Called as ``progress(message, fraction_done)``.
    """
    unknown = set(peers) - set(PEERS)
    if unknown:
        raise ValueError(f"unknown peers {sorted(unknown)}; choose from {', '.join(PEERS)}")
    if set(engines) - set(ENGINES):
        raise ValueError(f"unknown engine modes {sorted(set(engines) - set(ENGINES))}; choose from {', '.join(ENGINES)}")
    truths = discover(directory, limit=limit)
    systems = [ENGINES[mode] for mode in engines] + list(peers)
    rows: list[AccuracyRow] = []
    for index, truth in enumerate(truths):
        if progress:
            progress(truth.label, index / max(len(truths), 1))
        rows += [_engine_row(truth, mode=mode) for mode in engines]
        rows += [_peer_row(truth, peer) for peer in peers]
    if progress:
        progress("done", 1.0)
    command = f"linernotes eval accuracy {directory}" + (
        f" --peers {','.join(peers)}" if peers else " --peers none") + (
        f" --limit {limit}" if limit is not None else "") + (
        f" --engines {','.join(engines)}" if tuple(engines) != ("default",) else "")
    return AccuracyReport(
        command=command,
        directory=str(directory),
        systems=systems,
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        rows=rows,
        summary=summarize(rows, systems=systems),
        notes=_notes(truths),
    )


def _engine_row(truth: GroundTruth, *, mode: str = "default") -> AccuracyRow:
    from linernotes.agent.describe import analyze
    from linernotes.tools.analyze import AnalysisConfig

    system = ENGINES[mode]
    started = time.perf_counter()
    try:
        analysis = analyze(truth.audio_path, config=AnalysisConfig(
            use_cache=False, noncommercial_models=mode != "clean"))
    except Exception as error:  # one failing file is a result to report, not a reason to stop
        return AccuracyRow(file=truth.label, system=system, scores={},
                           error=f"{type(error).__name__}: {error}")
    estimate = annotation_from_analysis(analysis)
    return AccuracyRow(file=truth.label, system=system,
                       scores=score(truth.annotation, estimate),
                       seconds=round(time.perf_counter() - started, 2))


def _peer_row(truth: GroundTruth, peer: str) -> AccuracyRow:
    # No time here: peers usually come from the disk cache (`eval speed` times them).
    estimate = peer_annotations(truth.audio_path, peers=[peer])[peer]
    return AccuracyRow(file=truth.label, system=peer,
                       scores=score(truth.annotation, estimate))


def summarize(rows: list[AccuracyRow], *, systems: list[str]) -> list[MetricSummary]:
    """Each system's mean of each metric over the files where it applies."""
    summary = []
    for system in systems:
        for metric in METRICS:
            values = [row.scores[metric] for row in rows
                      if row.system == system and metric in row.scores]
            if values:
                summary.append(MetricSummary(system=system, metric=metric,
                                             mean=float(np.mean(values)), files=len(values)))
    return summary


def _notes(truths: list[GroundTruth]) -> list[str]:
    notes = [
        "key_weighted: MIREX weighted score (1 same, 0.5 fifth, 0.3 relative, 0.2 parallel), "
        "averaged over time against the truth's per-section keys where it has them; a truth "
        "naming only a tonic takes its better mode.",
        "key_none: 1 when the system reports no key on an atonal piece (negative control).",
        "tempo: Acc1 within 4 %, Acc2 also forgives x2, x1/2, x3, x1/3; beats and downbeats: "
        "F-measure at ±70 ms after the first 5 s (mir_eval); chords: duration-weighted recall; "
        "boundaries: hit-rate F-measure at ±0.5 s and ±3 s, track start and end excluded.",
        "vocals: the 10 s windows' `vocals.present` (narrowed to `vocals.regions` where a window "
        "places its voice, as for speech) on a 0.1 s grid against `voice_active`.",
        "music_correct: linernotes says music when its verdict (music / speech / silence / "
        "noise) is music; Essentia's peer when RhythmExtractor2013 confidence > 1.5.",
    ]
    skipped = [t.label for t in truths
               if not _scorable(t.annotation)]
    if skipped:
        notes.append("no scorable truth beyond music-or-not: " + ", ".join(skipped))
    return notes


def _scorable(annotation: Annotation) -> bool:
    return any(getattr(annotation, field) is not None for field in (
        "key", "key_spans", "bpm", "beats", "downbeats", "chords", "sections", "voice_active"))
