"""`linernotes eval speed`: real-time factors per stage, cold and warm, beside the peers.

The engine runs in a fresh process (interpreter start, imports and model loading included:
what `describe song.mp3` costs), analysing the song twice: the first call is the cold run,
the second the warm one. Essentia's MusicExtractor and madmom's processors run standalone
on the same file, each in its own process, and are reported as ratios to linernotes.
"""

from __future__ import annotations

import importlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import soundfile as sf
from pydantic import BaseModel

from linernotes.tools import settings
from linernotes.tools.audio import load_audio

TARGET_DURATION_S = 240.0
TARGET_WALL_S = 30.0  # the engine issue's budget for a 4-minute song on 2 cores
# A load above this per core means other processes competed with the timed ones.
BUSY_LOAD_PER_CORE = 0.5
REPO_ROOT = Path(__file__).resolve().parents[1]


class StageTiming(BaseModel):
    stage: str
    cold_s: float
    warm_s: float | None
    cold_rtf: float
    warm_rtf: float | None


class PeerTiming(BaseModel):
    """A peer's whole process on the same file; `ratio` = its wall time / linernotes' cold wall."""

    peer: str
    wall_s: float
    rtf: float
    ratio: float
    peak_rss_mb: float
    stages: dict[str, float] = {}


class BenchRow(BaseModel):
    """One figure from another benchmark module (memory, narrative, chat)."""

    benchmark: str
    measure: str
    value: float
    unit: str
    note: str = ""


class SpeedReport(BaseModel):
    kind: str = "speed"
    command: str
    audio: str
    duration_s: float
    cpu_count: int
    load_average: float  # the machine's 1-minute load when the run began: other work skews timings
    created: str
    cold_wall_s: float  # the whole process: start-up, imports, model loading, analysis
    cold_rtf: float
    warm_total_s: float
    warm_rtf: float
    peak_rss_mb: float
    stages: list[StageTiming]
    peers: list[PeerTiming]
    benchmarks: list[BenchRow] = []
    notes: list[str] = []

    def to_json(self) -> str:
        return self.model_dump_json(indent=2)


def evalset_root() -> Path:
    """The evalset: `$LINERNOTES_EVALSET`, else `../shared/evalset` beside the repository."""
    return Path(os.environ.get(settings.EVALSET_ENV) or REPO_ROOT.parent / "shared" / "evalset")


def default_song() -> Path:
    """The evalset's full song closest to 4 minutes, else the demo song rendered to a temp file."""
    candidates = sorted((evalset_root() / "debian").glob("*.ogg"))
    if candidates:
        durations = {path: sf.info(str(path)).duration for path in candidates}
        return min(candidates, key=lambda path: abs(durations[path] - TARGET_DURATION_S))
    from linernotes.tools.synth import render_demo_song

    path = Path(tempfile.mkdtemp(prefix="linernotes-speed-")) / "demo.flac"
    render_demo_song(path)
    return path


def run_speed(
    *,
    audio: str | Path | None = None,
    peers: bool = True,
    benchmarks: list[str] = [],
) -> SpeedReport:
    """Time the engine per stage, cold and warm, and the peers on the same song.

    Parameters
    ----------
    audio : str or Path, optional
        The song to time; by default the evalset song closest to 4 minutes, else the
        rendered demo song.
    peers : bool
        Also time Essentia's MusicExtractor and madmom's processors standalone.
    benchmarks : list of str
        Other benchmark modules to run, by name: "memory" runs `evals.bench_memory`'s
        `run_benchmark(audio=...)`, which returns `BenchRow`s.
    """
    load_average = os.getloadavg()[0]
    path = Path(audio) if audio is not None else default_song()
    duration_s = load_audio(path).duration_s
    engine, _ = _child("engine", path)
    cold, warm = engine["cold"], engine["warm"]
    engine_wall = engine["cold_wall_s"]
    stages = [
        StageTiming(stage=stage, cold_s=seconds, warm_s=warm.get(stage),
                    cold_rtf=seconds / duration_s,
                    warm_rtf=warm[stage] / duration_s if stage in warm else None)
        for stage, seconds in cold.items()
    ]
    peer_rows = []
    if peers:
        for peer in ("essentia-music-extractor", "madmom"):
            result, wall = _child(peer, path)
            peer_rows.append(PeerTiming(peer=peer, wall_s=wall, rtf=wall / duration_s,
                                        ratio=wall / engine_wall,
                                        peak_rss_mb=result["peak_rss_mb"],
                                        stages=result.get("stages", {})))
    bench_rows = [row for name in benchmarks for row in _benchmark(name, path)]
    notes = [f"cold = a fresh `python` process (start-up, imports and model loading included); "
             f"warm = a second analysis in that process. Target: {TARGET_WALL_S:g} s wall for "
             f"4 minutes on 2 cores."]
    # Start-up and model loading do not shrink with the song: judge the target on 4 minutes only.
    if duration_s >= 0.9 * TARGET_DURATION_S and engine_wall > TARGET_WALL_S * duration_s / TARGET_DURATION_S:
        notes.append(f"over target: {engine_wall:.1f} s cold for {duration_s:.0f} s of audio")
    if load_average > BUSY_LOAD_PER_CORE * (os.cpu_count() or 1):
        notes.append(f"the machine was busy (load {load_average:.1f} on {os.cpu_count()} cores): "
                     "timings are slower than on an idle machine")
    return SpeedReport(
        command="linernotes eval speed" + (f" --audio {audio}" if audio else "")
        + ("" if peers else " --no-peers"),
        audio=str(path),
        duration_s=round(duration_s, 2),
        cpu_count=os.cpu_count() or 1,
        load_average=round(load_average, 2),
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        cold_wall_s=engine_wall,
        cold_rtf=engine_wall / duration_s,
        warm_total_s=warm["total"],
        warm_rtf=warm["total"] / duration_s,
        peak_rss_mb=engine["peak_rss_mb"],
        stages=stages,
        peers=peer_rows,
        benchmarks=bench_rows,
        notes=notes,
    )


def _benchmark(name: str, path: Path) -> list[BenchRow]:
    module = importlib.import_module(f"evals.bench_{name}")
    return [BenchRow.model_validate(row) for row in module.run_benchmark(audio=path)]


def _child(task: str, path: Path) -> tuple[dict, float]:
    """Run one timing task in a fresh interpreter; its JSON result and its wall time."""
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "linernotes.evals.speed", task, str(path), str(time.time())],
                            capture_output=True, text=True, cwd=REPO_ROOT)
    wall = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"speed task {task!r} failed:\n{result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1]), round(wall, 2)


def _engine_task(path: Path, spawned_at: float) -> dict:
    from linernotes.agent.describe import analyze
    from linernotes.tools.analyze import AnalysisConfig

    config = AnalysisConfig(use_cache=False)
    cold = analyze(path, config=config).timings
    # From the parent's spawn to the first result: start-up, imports and model loading.
    cold_wall_s = round(time.time() - spawned_at, 2)
    warm = analyze(path, config=config).timings
    return {"cold": cold, "warm": warm, "cold_wall_s": cold_wall_s}


def _music_extractor_task(path: Path, spawned_at: float) -> dict:
    import essentia.standard as es

    started = time.perf_counter()
    es.MusicExtractor()(str(path))
    return {"stages": {"music_extractor": round(time.perf_counter() - started, 3)}}


def _madmom_task(path: Path, spawned_at: float) -> dict:
    from linernotes.evals.peers import run_madmom

    started = time.perf_counter()
    audio = load_audio(path)
    decode_s = time.perf_counter() - started
    started = time.perf_counter()
    run_madmom(audio)
    return {"stages": {"decode": round(decode_s, 3),
                       "processors": round(time.perf_counter() - started, 3)}}


_TASKS = {"engine": _engine_task, "essentia-music-extractor": _music_extractor_task,
          "madmom": _madmom_task}


if __name__ == "__main__":
    task, song, spawned_at = sys.argv[1], Path(sys.argv[2]), float(sys.argv[3])
    output = _TASKS[task](song, spawned_at)
    output["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(json.dumps(output))
