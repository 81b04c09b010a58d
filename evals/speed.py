"""`linernotes eval speed`: linernotes beside Essentia's MusicExtractor, both as cold processes.

The engine runs in a fresh process (interpreter start, imports and model loading included:
what `describe song.mp3` costs), analysing the song twice: the first call is the cold run,
the second the warm one. Essentia's MusicExtractor and madmom's processors run standalone
on the same file, each in its own process, in the same run. The headline figure is the
engine's cold wall time over MusicExtractor's (target: at most 1.5, with at most 1 GB of
peak memory, for a 4-minute song). Each process's user and system CPU time is reported too:
on a busy machine they move less than wall times do.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
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
# The engine issue's targets for a 4-minute song: wall time against MusicExtractor's, and memory.
TARGET_RATIO = 1.5
TARGET_PEAK_MB = 1024.0
MUSIC_EXTRACTOR = "essentia-music-extractor"
# A load above this per core means other processes competed with the timed ones.
BUSY_LOAD_PER_CORE = 0.5
REPO_ROOT = Path(__file__).resolve().parents[1]


class StageTiming(BaseModel):
    stage: str
    cold_s: float
    warm_s: float | None
    cold_rtf: float
    warm_rtf: float | None


class ProcessTiming(BaseModel):
    """One system's whole cold process on the song (medians when it ran more than once)."""

    system: str
    wall_s: float
    rtf: float
    user_s: float
    system_s: float  # kernel time: high when threads oversubscribe the cores
    peak_rss_mb: float
    ratio_to_music_extractor: float | None  # wall time / MusicExtractor's wall time
    stages: dict[str, float] = {}


class SpeedReport(BaseModel):
    kind: str = "speed"
    command: str
    audio: str
    duration_s: float
    cpu_count: int
    load_average: float  # the machine's 1-minute load when the run began: other work skews timings
    created: str
    repeats: int
    cold_wall_s: float  # the whole process: start-up, imports, model loading, analysis
    cold_rtf: float
    warm_total_s: float
    warm_rtf: float
    peak_rss_mb: float
    ratio_to_music_extractor: float | None  # the headline: linernotes' cold wall / MusicExtractor's
    stages: list[StageTiming]
    processes: list[ProcessTiming]
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


def run_speed(*, audio: str | Path | None = None, peers: bool = True, repeats: int = 1) -> SpeedReport:
    """Time the engine (cold and warm, per stage) and the peers on the same song.

    Parameters
    ----------
    audio : str or Path, optional
        The song to time; by default the evalset song closest to 4 minutes, else the
        rendered demo song.
    peers : bool
        Also time Essentia's MusicExtractor and madmom's processors standalone; without
        them there is no ratio.
    repeats : int
        Cold processes per system, interleaved (MusicExtractor, linernotes, madmom, ...);
        the report gives their medians.
    """
    load_average = os.getloadavg()[0]
    path = Path(audio) if audio is not None else default_song()
    duration_s = load_audio(path).duration_s
    systems = ["engine", *([MUSIC_EXTRACTOR, "madmom"] if peers else [])]
    runs: dict[str, list[dict]] = {system: [] for system in systems}
    for _ in range(repeats):
        for system in systems[1:2] + systems[:1] + systems[2:]:  # MusicExtractor, engine, madmom
            runs[system].append(_child(system, path))
    engine = _median_run(runs["engine"])
    reference = _median_run(runs[MUSIC_EXTRACTOR])["wall_s"] if peers else None
    processes = [_process_timing(system, _median_run(runs[system]), duration_s=duration_s,
                                 reference_wall_s=reference) for system in systems]
    ratio = processes[0].ratio_to_music_extractor
    cold, warm = engine["result"]["cold"], engine["result"]["warm"]
    stages = [
        StageTiming(stage=stage, cold_s=seconds, warm_s=warm.get(stage), cold_rtf=seconds / duration_s,
                    warm_rtf=warm[stage] / duration_s if stage in warm else None)
        for stage, seconds in cold.items()
    ]
    notes = [
        "cold = a fresh `python` process (start-up, imports and model loading included); warm = a "
        "second analysis in that process. Stage times overlap: detectors run side by side.",
        f"Target for a 4-minute song: at most {TARGET_RATIO:g}x MusicExtractor's wall time, "
        f"at most {TARGET_PEAK_MB:.0f} MB peak memory.",
    ]
    if ratio is not None and duration_s >= 0.9 * TARGET_DURATION_S and ratio > TARGET_RATIO:
        notes.append(f"over target: {ratio:.2f}x MusicExtractor's wall time")
    if processes[0].peak_rss_mb > TARGET_PEAK_MB:
        notes.append(f"over target: {processes[0].peak_rss_mb:.0f} MB peak memory")
    if load_average > BUSY_LOAD_PER_CORE * (os.cpu_count() or 1):
        notes.append(f"the machine was busy (load {load_average:.1f} on {os.cpu_count()} cores): "
                     "wall times are slower and noisier than on an idle machine; compare ratios")
    return SpeedReport(
        command="linernotes eval speed" + (f" --audio {audio}" if audio else "")
        + ("" if peers else " --no-peers") + (f" --repeats {repeats}" if repeats != 1 else ""),
        audio=str(path),
        duration_s=round(duration_s, 2),
        cpu_count=os.cpu_count() or 1,
        load_average=round(load_average, 2),
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        repeats=repeats,
        cold_wall_s=processes[0].wall_s,
        cold_rtf=processes[0].rtf,
        warm_total_s=warm["total"],
        warm_rtf=warm["total"] / duration_s,
        peak_rss_mb=processes[0].peak_rss_mb,
        ratio_to_music_extractor=ratio,
        stages=stages,
        processes=processes,
        notes=notes,
    )


def _median_run(runs: list[dict]) -> dict:
    """The run with the median wall time."""
    return sorted(runs, key=lambda run: run["wall_s"])[(len(runs) - 1) // 2]


def _process_timing(system: str, run: dict, *, duration_s: float, reference_wall_s: float | None
                    ) -> ProcessTiming:
    result = run["result"]
    return ProcessTiming(
        system="linernotes" if system == "engine" else system,
        wall_s=run["wall_s"], rtf=run["wall_s"] / duration_s, user_s=run["user_s"],
        system_s=run["system_s"], peak_rss_mb=result["peak_rss_mb"],
        ratio_to_music_extractor=round(run["wall_s"] / reference_wall_s, 2) if reference_wall_s else None,
        stages=result.get("stages", {}),
    )


def _child(task: str, path: Path) -> dict:
    """Run one timing task in a fresh interpreter: its JSON result, wall, user and system time."""
    started = time.perf_counter()
    completed = subprocess.run([sys.executable, "-m", "linernotes.evals.speed", task, str(path), str(time.time())],
                               capture_output=True, text=True, cwd=REPO_ROOT)
    wall = time.perf_counter() - started
    if completed.returncode != 0:
        raise RuntimeError(f"speed task {task!r} failed:\n{completed.stderr[-2000:]}")
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    # The engine's process goes on to a warm analysis: its cold figures end at the first result.
    return {"result": result, "wall_s": round(result.get("cold_wall_s", wall), 2),
            "user_s": result["user_s"], "system_s": result["system_s"]}


def _usage() -> dict:
    """This process's CPU times and peak memory so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {"user_s": round(usage.ru_utime, 2), "system_s": round(usage.ru_stime, 2),
            "peak_rss_mb": round(usage.ru_maxrss / 1024, 1)}


def _engine_task(path: Path, spawned_at: float) -> dict:
    from linernotes.agent.describe import analyze
    from linernotes.tools.analyze import AnalysisConfig

    config = AnalysisConfig(use_cache=False)
    cold = analyze(path, config=config).timings
    # From the parent's spawn to the first result: start-up, imports and model loading.
    cold_wall_s = round(time.time() - spawned_at, 2)
    cold_usage = _usage()
    warm = analyze(path, config=config).timings
    return {"cold": cold, "warm": warm, "cold_wall_s": cold_wall_s, **cold_usage}


def _music_extractor_task(path: Path, spawned_at: float) -> dict:
    from linernotes.tools.essentia_models import essentia_standard

    es = essentia_standard()  # without TensorFlow's CUDA notices
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


_TASKS = {"engine": _engine_task, MUSIC_EXTRACTOR: _music_extractor_task, "madmom": _madmom_task}


if __name__ == "__main__":
    task, song, spawned = sys.argv[1], Path(sys.argv[2]), float(sys.argv[3])
    output = _TASKS[task](song, spawned)
    print(json.dumps({**_usage(), **output}))
