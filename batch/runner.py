"""Run a batch: skip the songs already done, describe the rest in worker processes (each
loads the models once and keeps them), write each song's outputs and the manifest as it ends."""

from __future__ import annotations

import logging
import multiprocessing
import os
import queue
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from linernotes.batch.job import DescribeOptions, SongJob, SongResult, run_job
from linernotes.batch.manifest import Entry, is_done, load_manifest, save_manifest
from linernotes.tools.schema import ANALYZER_VERSION

log = logging.getLogger("linernotes")

Stage = Callable[[str, str, float], None]  # (song name, stage, fraction)


@dataclass
class BatchOutcome:
    results: list[SongResult] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def failed(self) -> list[SongResult]:
        return [result for result in self.results if result.status == "failed"]


def plan_jobs(jobs: list[SongJob], *, options: DescribeOptions) -> tuple[list[SongJob], list[SongResult]]:
    """The jobs still to run, and the songs skipped because their outputs are done (resume)."""
    from linernotes.tools.audio import AudioError, check_path, file_sha256

    if options.output_dir is None or not options.use_cache:
        return jobs, []
    folder = Path(options.output_dir)
    manifest = load_manifest(folder)
    pending, skipped = [], []
    for job in jobs:
        try:
            sha256 = file_sha256(check_path(job.path))
        except (AudioError, OSError):
            pending.append(job)  # the job reports the error itself
            continue
        if is_done(manifest.get(job.name), folder=folder, sha256=sha256, formats=list(options.formats),
                   narrative=options.narrative):
            skipped.append(SongResult(job=job, status="skipped", sha256=sha256))
        else:
            pending.append(job)
    return pending, skipped


class OutputWriter:
    """Writes each finished song's files into the output folder and records it in the manifest."""

    def __init__(self, options: DescribeOptions) -> None:
        self.options = options
        self.folder = Path(options.output_dir) if options.output_dir else None
        self.entries = load_manifest(self.folder) if self.folder else {}

    def write(self, result: SongResult) -> None:
        if self.folder is None or result.status != "done":
            return
        from linernotes.exports.formats import write_outputs

        written = write_outputs(result.files, stem=self.folder / result.job.name)
        self.entries[result.job.name] = Entry(
            source=result.job.path, sha256=result.sha256 or "", analyzer_version=ANALYZER_VERSION,
            formats=list(self.options.formats), files=[path.name for path in written],
            narrative=self.options.narrative)
        save_manifest(self.folder, self.entries)
        result.files = {}  # written: free the bytes


def run_batch(jobs: list[SongJob], *, options: DescribeOptions, processes: int = 1,
              on_stage: Stage | None = None, on_result: Callable[[SongResult], None] | None = None,
              ray_address: str | None = None) -> BatchOutcome:
    """Describe `jobs`, skipping finished ones; `processes` workers, or Ray when `ray_address` is set
    ("auto", an address, or "" for a local Ray)."""
    started = time.perf_counter()
    pending, skipped = plan_jobs(jobs, options=options)
    outcome = BatchOutcome(results=list(skipped))
    writer = OutputWriter(options)

    def finished(result: SongResult) -> None:
        for warning in result.warnings:
            log.warning("%s: %s", result.job.name, warning)
        writer.write(result)
        outcome.results.append(result)
        if result.status == "failed":
            log.error("%s failed: %s", result.job.name, result.error)
        if on_result:
            on_result(result)

    for result in skipped:
        if on_result:
            on_result(result)
    if pending:
        if ray_address is not None:
            from linernotes.batch.ray_runner import run_on_ray

            run_on_ray(pending, options=options, address=ray_address, on_result=finished)
        elif processes <= 1 or len(pending) == 1:
            for job in pending:
                finished(run_job(job, options=options,
                                 progress=(lambda stage, fraction, name=job.name: on_stage(name, stage, fraction))
                                 if on_stage else None))
        else:
            _run_in_processes(pending, options=options, processes=processes, on_stage=on_stage, on_result=finished)
    order = {job.name: position for position, job in enumerate(jobs)}
    outcome.results.sort(key=lambda result: order[result.job.name])
    outcome.seconds = time.perf_counter() - started
    return outcome


# Worker processes ----------------------------------------------------------------------

_stages: "queue.Queue | None" = None


def _start_worker(stages, threads: int, level: int) -> None:
    """Runs once in each worker, before torch loads: its thread share of the cores, the run's log level."""
    global _stages
    _stages = stages
    log.setLevel(level)
    for variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[variable] = str(threads)


def _worker_job(job: SongJob, options: DescribeOptions) -> SongResult:
    def report(stage: str, fraction: float) -> None:
        if _stages is not None:
            _stages.put((job.name, stage, fraction))

    return run_job(job, options=options, progress=report)


def _run_in_processes(jobs: list[SongJob], *, options: DescribeOptions, processes: int,
                      on_stage: Stage | None, on_result: Callable[[SongResult], None]) -> None:
    context = multiprocessing.get_context("spawn")  # no fork after threads and native libraries
    threads = max(1, (os.cpu_count() or 1) // processes)
    with context.Manager() as manager:
        stages = manager.Queue()
        with ProcessPoolExecutor(max_workers=processes, mp_context=context, initializer=_start_worker,
                                 initargs=(stages, threads, log.getEffectiveLevel())) as pool:
            running = {pool.submit(_worker_job, job, options): job for job in jobs}
            while running:
                done, _ = wait(running, timeout=0.25, return_when=FIRST_COMPLETED)
                _drain(stages, on_stage)
                for future in done:
                    job = running.pop(future)
                    try:
                        result = future.result()
                    except Exception as error:  # a worker that died (killed, out of memory)
                        result = SongResult(job=job, status="failed", error=f"worker failed: {error}")
                    on_result(result)


def _drain(stages, on_stage: Stage | None) -> None:
    while True:
        try:
            name, stage, fraction = stages.get_nowait()
        except queue.Empty:
            return
        if on_stage:
            on_stage(name, stage, fraction)
