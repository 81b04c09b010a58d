"""The same batch on Ray: one actor per CPU of the cluster, each holding its loaded models,
pulls songs until none are left; the outputs come back to the driver, which writes them.
Songs go to a Chroma server (`--store-url` / `$LINERNOTES_CHROMA_URL`) that every node reaches."""

from __future__ import annotations

import os
from typing import Callable

from linernotes.batch.job import DescribeOptions, SongJob, SongResult, run_job


class SongDescriber:
    """A Ray actor: the engine's models load on its first song and stay for the rest."""

    def __init__(self, options: DescribeOptions) -> None:
        os.environ.setdefault("OMP_NUM_THREADS", "1")
        self.options = options

    def describe(self, job: SongJob) -> SongResult:
        return run_job(job, options=self.options)


def run_on_ray(jobs: list[SongJob], *, options: DescribeOptions, address: str,
               on_result: Callable[[SongResult], None]) -> None:
    """Describe `jobs` on the Ray cluster at `address` ("" starts a local one)."""
    import ray
    from ray.util import ActorPool

    if not ray.is_initialized():
        # The workers see the driver's linernotes settings (LLM, store, data dir); secrets stay behind.
        forwarded = {name: value for name, value in os.environ.items()
                     if name.startswith("LINERNOTES_") or name == "OPENAI_BASE_URL"}
        ray.init(address=address or None, include_dashboard=False, log_to_driver=False,
                 runtime_env={"env_vars": forwarded})
    cpus = int(ray.cluster_resources().get("CPU", 1))
    actor = ray.remote(num_cpus=1)(SongDescriber)
    actors = [actor.remote(options) for _ in range(max(1, min(cpus, len(jobs))))]
    for result in ActorPool(actors).map_unordered(lambda describer, job: describer.describe.remote(job), jobs):
        on_result(result)
    for describer in actors:
        ray.kill(describer)
