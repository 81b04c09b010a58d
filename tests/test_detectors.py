"""The detector registry: one list says what runs and where it lands; a new detector plugs in there."""

from __future__ import annotations

import dataclasses
import keyword

import numpy as np
from audio_factory import RATE, as_audio, sine

from linernotes.tools import analyze, detectors
from linernotes.tools.detectors import DETECTORS, Detector
from linernotes.tools.schema import Segment, SongAnalysis, Summary


@dataclasses.dataclass
class PeakFrames:
    """The toy detector's frames: the peak level of each second."""

    peaks: np.ndarray

    def at(self, *, start: float = 0.0, end: float | None = None) -> float:
        return round(float(self.peaks[int(start):None if end is None else int(np.ceil(end))].max()), 3)


def peak_run(audio, *, config) -> PeakFrames:
    seconds = len(audio.samples) // audio.sample_rate
    return PeakFrames(peaks=np.abs(audio.samples[:seconds * audio.sample_rate]).reshape(seconds, -1).max(axis=1))


class PeakSegment(Segment):
    peak: float | None = None


class PeakSummary(Summary):
    peak: float | None = None


class PeakAnalysis(SongAnalysis):
    peaks: list[float] = []


# Frames are None where the detector did not run (a silent recording).
PEAK = Detector(
    "peak", run=peak_run,
    segment=lambda frames, span: {"peak": frames.at(start=span.start, end=span.end) if frames else None},
    summary=lambda frames: {"peak": frames.at() if frames else None},
    song=lambda frames: {"peaks": [round(float(p), 3) for p in frames.peaks] if frames else []},
    notes=lambda frames: ["peak: clipping"] if frames and frames.at() >= 1.0 else [],
)


def _analysis(audio, *, config=analyze.AnalysisConfig(use_cache=False)):
    passes = analyze.run_song_passes(audio, config=config)
    spans = analyze.plan_segments(passes, window_s=2.0)
    segments = [analyze.describe_segment(passes, span) for span in spans]
    return passes, analyze.assemble_analysis(
        passes, [s for s in segments if s.kind == "section"], [s for s in segments if s.kind == "window"],
        summary=analyze.summarize(passes))


def _without_models() -> list[Detector]:
    """The registry with every model-based detector (those that need nothing) as not run."""
    return [detector if detector.needs or detector.on_silence
            else dataclasses.replace(detector, run=lambda audio, **_: None)
            for detector in DETECTORS]


def test_a_toy_detector_added_to_the_registry_lands_in_segments_summary_and_song(monkeypatch):
    """Adding a detector: its module (here `peak_run`), its schema fields, and one registry line."""
    monkeypatch.setattr(detectors, "DETECTORS", [*_without_models(), PEAK])
    monkeypatch.setattr(analyze, "Segment", PeakSegment)
    monkeypatch.setattr(analyze, "Summary", PeakSummary)
    monkeypatch.setattr(analyze, "SongAnalysis", PeakAnalysis)
    loud_then_quiet = np.concatenate([sine(440.0, 4.0, amplitude=0.8), sine(440.0, 4.0, amplitude=0.1)])
    passes, analysis = _analysis(as_audio(loud_then_quiet))
    assert "peak" in passes.timings
    assert analysis.summary.peak == 0.8 and "peak: clipping" not in analysis.summary.notes
    assert analysis.peaks == [0.8] * 4 + [0.1] * 4
    windows = analysis.segments
    assert [w.peak for w in windows] == [0.8, 0.8, 0.1, 0.1]
    # The detectors that did not run land as "nothing measured".
    assert analysis.summary.key is None and analysis.summary.bpm is None and analysis.chords == []
    assert windows[0].genres == [] and not windows[0].vocals.present


def test_a_detector_gets_the_frames_it_needs_and_silence_skips_it(monkeypatch):
    seen = {}

    def needs_peak(audio, *, config, peak):
        seen["peak"] = peak
        return peak.at()

    follower = Detector("follower", run=needs_peak, needs=("peak",))
    monkeypatch.setattr(detectors, "DETECTORS", [*_without_models(), PEAK, follower])
    passes, _ = _analysis(as_audio(sine(440.0, 3.0, amplitude=0.5)))
    assert passes.frames["follower"] == 0.5 and seen["peak"] is passes.frames["peak"]
    passes, analysis = _analysis(as_audio(np.zeros(3 * RATE, dtype=np.float32)))
    assert passes.silent and passes.frames["follower"] is None and passes.frames["peak"] is None
    assert analysis.summary.silent and len(analysis.sections) == 1


def test_the_registry_is_well_formed():
    names = [detector.name for detector in DETECTORS]
    assert len(set(names)) == len(names)
    assert all(name.isidentifier() and not keyword.iskeyword(name) for name in names)
    for position, detector in enumerate(DETECTORS):
        assert set(detector.needs) <= set(names[:position]), detector.name
    assert {detectors.SILENCE, detectors.SECTIONS} <= set(names)


def test_every_landing_writes_only_schema_fields():
    """With no frames (a detector that did not run), every landing still names real fields."""
    span = analyze.SegmentSpan(kind="window", index=0, section_index=0, start=0.0, end=1.0,
                               label="section", cluster="A", label_confidence=0.0)
    for detector in DETECTORS:
        if detector.on_silence and not detector.needs:
            continue  # always runs, never lands None
        assert set(detector.segment(None, span)) <= set(Segment.model_fields), detector.name
        assert set(detector.summary(None)) <= set(Summary.model_fields), detector.name
        assert set(detector.song(None)) <= set(SongAnalysis.model_fields), detector.name
