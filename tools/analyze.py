"""The analysis engine's steps: whole-song passes computed once, then sliced per segment.

These are plain functions; the describe graph (`agent/graph.py`) is the one orchestration
that chains them (`cached_analysis`, `run_song_passes`, `plan_segments`, `summarize`,
`describe_segment`, `assemble_analysis`), and `linernotes.analyze` runs that same graph.
"""

from __future__ import annotations

import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Literal

import numpy as np
from pydantic import BaseModel

from linernotes.tools import cache, detectors
from linernotes.tools.audio import Audio, check_path, file_sha256
from linernotes.tools.detectors import SECTIONS, SILENCE, Detector, single_section
from linernotes.tools.runtime import one_thread_per_worker, release_freed_memory
from linernotes.tools.settings import MAX_DURATION_S
from linernotes.tools.schema import Segment, Source, SongAnalysis, Summary
from linernotes.tools.structure import SectionSpan

Progress = Callable[[str, float], None]


@dataclass(frozen=True)
class AnalysisConfig:
    """What changes an analysis; read by the engine and by the describe graph's nodes."""

    window_s: float = 10.0
    essentia_models: str | None = None
    max_duration_s: float = MAX_DURATION_S
    use_cache: bool = True
    workers: int = 2
    # False: licence-clean mode, without madmom's CC BY-NC-SA model files (rhythm from
    # Essentia, key from profiles, no downbeats or metre).
    noncommercial_models: bool = True

    def cache_tag(self) -> str:
        licence = "" if self.noncommercial_models else "-clean"
        return f"w{self.window_s:g}-{'ess' if self.essentia_models else 'musicnn'}{licence}"


class SegmentSpan(BaseModel):
    """Where a segment lies and what role it plays; its features come from `describe_segment`."""

    kind: Literal["section", "window"]
    index: int
    section_index: int
    start: float
    end: float
    label: str
    cluster: str
    label_confidence: float


@dataclass
class SongPasses:
    """Every detector's whole-song frames (None for one that did not run), kept for slicing."""

    audio: Audio
    frames: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def silent(self) -> bool:
        return bool(self.frames.get(SILENCE))

    @property
    def sections(self) -> list[SectionSpan]:
        return self.frames.get(SECTIONS) or single_section(self.audio.duration_s)


def cached_analysis(path: str | Path, *, config: AnalysisConfig) -> SongAnalysis | None:
    """The cached analysis of the file's audio content, with `source.path` set to `path`."""
    if not config.use_cache:
        return None
    cached = cache.load(file_sha256(check_path(path)), config.cache_tag())
    if cached is None:
        return None
    source = cached.source.model_copy(update={"path": str(path)})
    return cached.model_copy(update={"source": source})


def run_song_passes(
    audio: Audio, *, config: AnalysisConfig = AnalysisConfig(), progress: Progress | None = None
) -> SongPasses:
    """Run every detector of `tools.detectors.DETECTORS` once over the song, on `workers` threads.

    A detector starts once the detectors it needs have finished, in the registry's order
    (longest first, so the workers finish together). On a silent recording only the
    detectors marked `on_silence` run; the others get frames None.
    """
    passes = SongPasses(audio=audio)

    def timed(detector: Detector):
        start = time.perf_counter()
        frames = detector.run(audio, config=config, **{name: passes.frames[name] for name in detector.needs})
        passes.timings[detector.name] = time.perf_counter() - start
        if progress:
            progress(detector.name, len(passes.timings) / len(detectors.DETECTORS))
        return frames

    def ready(detector: Detector) -> bool:
        needs = detector.needs if detector.on_silence else (*detector.needs, SILENCE)
        return all(name in passes.frames for name in needs)

    pending, running = list(detectors.DETECTORS), {}
    with one_thread_per_worker(), ThreadPoolExecutor(max_workers=config.workers) as pool:
        while pending or running:
            startable = [detector for detector in pending if ready(detector)]
            for detector in startable:
                pending.remove(detector)
                if passes.silent and not detector.on_silence:
                    passes.frames[detector.name] = None
                else:
                    running[pool.submit(timed, detector)] = detector
            if not running:
                if pending and not startable:
                    raise ValueError(f"detectors need unknown detectors: {[d.name for d in pending]}")
                continue
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                passes.frames[running.pop(future).name] = future.result()
            release_freed_memory()  # the finished detectors' intermediates, before the next start
    return passes


def plan_segments(passes: SongPasses, *, window_s: float = 10.0) -> list[SegmentSpan]:
    """Sections, then windows of about `window_s` seconds splitting each section evenly."""
    spans: list[SegmentSpan] = []
    windows: list[SegmentSpan] = []
    for section_index, section in enumerate(passes.sections):
        shared = dict(section_index=section_index, label=section.label, cluster=section.cluster,
                      label_confidence=section.label_confidence)
        spans.append(SegmentSpan(kind="section", index=section_index,
                                 start=section.start, end=section.end, **shared))
        count = max(1, round((section.end - section.start) / window_s))
        edges = np.linspace(section.start, section.end, count + 1)
        for start, end in zip(edges[:-1], edges[1:]):
            windows.append(SegmentSpan(kind="window", index=len(windows),
                                       start=float(start), end=float(end), **shared))
    return spans + windows


def describe_segment(passes: SongPasses, span: SegmentSpan) -> Segment:
    """The features of one span, sliced from the whole-song passes (caption left empty)."""
    fields: dict[str, Any] = {}
    for detector in detectors.DETECTORS:
        fields |= detector.segment(passes.frames.get(detector.name), span)
    return Segment(**span.model_dump(), **fields)


def summarize(passes: SongPasses) -> Summary:
    """The whole-song summary, with every detector's caveats in its notes."""
    fields: dict[str, Any] = {}
    notes: list[str] = []
    for detector in detectors.DETECTORS:
        frames = passes.frames.get(detector.name)
        fields |= detector.summary(frames)
        notes += detector.notes(frames)
    return Summary(**fields, notes=list(dict.fromkeys(notes)))


def assemble_analysis(
    passes: SongPasses, sections: list[Segment], windows: list[Segment], *, summary: Summary
) -> SongAnalysis:
    """Put the measured song together into its public form (`summary` from `summarize`)."""
    fields: dict[str, Any] = {}
    for detector in detectors.DETECTORS:
        fields |= detector.song(passes.frames.get(detector.name))
    return SongAnalysis(
        source=_source(passes.audio), summary=summary, sections=sections, segments=windows,
        timings={stage: round(seconds, 3) for stage, seconds in passes.timings.items()}, **fields,
    )


def _source(audio: Audio) -> Source:
    return Source(path=audio.path, sha256=audio.sha256, duration_s=round(audio.duration_s, 3),
                  sample_rate=audio.native_rate, channels=audio.channels,
                  title=audio.title, artist=audio.artist)
