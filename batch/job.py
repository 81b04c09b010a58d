"""Describing one song of a batch (in whatever process runs it) and rendering its outputs."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from linernotes.tools.schema import SongAnalysis

log = logging.getLogger("linernotes")


@dataclass(frozen=True, kw_only=True)
class DescribeOptions:
    """What every song of a run is described with; plain values, so it crosses processes."""

    formats: tuple[str, ...] = ()
    output_dir: str | None = None
    llm: str | None = None
    narrative: bool = True
    store: bool = True
    store_path: str | None = None
    store_url: str | None = None
    essentia_models: str | None = None
    noncommercial_models: bool = True
    max_duration_s: float | None = None
    use_cache: bool = True
    embed_audio: bool = False
    workers: int = 2  # threads for one song's passes


@dataclass(frozen=True)
class SongJob:
    path: str
    name: str  # the outputs' file-name stem


@dataclass
class SongResult:
    """What became of one song: its outputs' bytes travel back to the process that writes them."""

    job: SongJob
    status: str  # "done", "skipped" or "failed"
    seconds: float = 0.0
    sha256: str | None = None
    error: str | None = None
    files: dict[str, bytes] = field(default_factory=dict)
    key: str | None = None
    bpm: float | None = None
    sections: int = 0
    narrative_reused: bool = False
    warnings: list[str] = field(default_factory=list)  # told by the process that writes the outputs


def describe_with_narrative(path: str, *, options: DescribeOptions,
                            progress: Callable[[str, float], None] | None = None,
                            warn: Callable[[str], None] = log.warning) -> tuple[SongAnalysis, bool]:
    """Describe a song; a narrative written before for the same analysis and provider is reused.

    Returns the analysis and whether its narrative was reused.
    """
    from linernotes.agent.describe import describe
    from linernotes.batch.narratives import load_narrative, provider_key, save_narrative
    from linernotes.tools.analyze import AnalysisConfig, cached_analysis
    from linernotes.tools.settings import MAX_DURATION_S

    config = AnalysisConfig(essentia_models=options.essentia_models, use_cache=options.use_cache,
                            noncommercial_models=options.noncommercial_models,
                            max_duration_s=options.max_duration_s or MAX_DURATION_S, workers=options.workers)
    common = dict(config=config, llm=options.llm, store=options.store, store_path=options.store_path,
                  store_url=options.store_url, progress=progress, warn=warn)
    provider = provider_key(options.llm) if options.narrative else ""
    cached = cached_analysis(path, config=config) if options.narrative else None
    reused = load_narrative(cached, provider=provider) if cached is not None else None
    if reused is not None:
        analysis = describe(path, narrative=False, **common)
        return analysis.model_copy(update={"narrative": reused}), True
    analysis = describe(path, narrative=options.narrative, **common)
    if options.narrative and options.use_cache:
        save_narrative(analysis, provider=provider)
    return analysis, False


def run_job(job: SongJob, *, options: DescribeOptions,
            progress: Callable[[str, float], None] | None = None) -> SongResult:
    """Describe one song and render its outputs; a failure is a result, never an exception."""
    from linernotes.exports.formats import render_file
    from linernotes.tools.audio import check_path, file_sha256

    started = time.perf_counter()
    warnings: list[str] = []
    try:
        sha256 = file_sha256(check_path(job.path))
        analysis, reused = describe_with_narrative(job.path, options=options, progress=progress,
                                                   warn=warnings.append)
        html_dir = Path(options.output_dir) if options.output_dir else Path.cwd()
        files: dict[str, bytes] = {}
        for output_format in options.formats:
            files.update(render_file(analysis, output_format, html_dir=html_dir, embed_audio=options.embed_audio))
    except Exception as error:  # one song's failure is listed; the batch goes on
        log.debug("%s failed", job.path, exc_info=True)
        message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        return SongResult(job=job, status="failed", seconds=time.perf_counter() - started, error=message,
                          warnings=warnings)
    return SongResult(job=job, status="done", seconds=time.perf_counter() - started, sha256=sha256, files=files,
                      key=analysis.summary.key, bpm=analysis.summary.bpm, sections=len(analysis.sections),
                      narrative_reused=reused, warnings=warnings)
