"""Batch throughput: songs per minute for `describe --output-dir` with one process, `-j 2` and Ray,
and the cost of a resume over the finished folder (the issue's target: at most 5 % of the first run).

Each mode runs the real command line in a fresh process with a fresh data directory (nothing
cached), so interpreter start, imports and model loading are in the figures, as they are for a
user. Run it as `python -m linernotes.evals.bench_batch [SONG_OR_FOLDER ...]`; by default it
takes the evalset's short score renders (symbolic/ and synthetic/, 33–72 s each).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from linernotes.batch.inputs import collect_songs
from linernotes.tools import settings

DEFAULT_FOLDERS = ("symbolic", "synthetic")
MODES = {"-j 1": ["-j", "1"], "-j 2": ["-j", "2"], "ray": ["--ray"]}  # ray: a local Ray on all CPUs


def _describe(songs: list[Path], *, out: Path, data_dir: Path, extra: list[str]) -> float:
    env = {**os.environ, settings.DATA_DIR_ENV: str(data_dir), settings.LLM_ENV: "none"}
    env.pop(settings.CHROMA_URL_ENV, None)
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "linernotes", "describe", *map(str, songs), "--output-dir",
                             str(out), "--no-store", "--quiet", *extra], env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"describe {' '.join(extra)} failed: {result.stderr.strip()[-400:]}")
    return seconds


def run(songs: list[Path], *, modes: list[str]) -> dict:
    """Each mode's wall seconds and songs per minute, and the resume's share of the first run."""
    figures: dict = {"songs": len(songs), "cores": os.cpu_count(), "load_before": os.getloadavg()[0], "modes": {}}
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as scratch:
        root = Path(scratch)
        for mode in modes:
            out, data_dir = root / f"out-{len(figures['modes'])}", root / f"data-{len(figures['modes'])}"
            seconds = _describe(songs, out=out, data_dir=data_dir, extra=MODES[mode])
            figures["modes"][mode] = {"seconds": round(seconds, 1), "songs_per_minute": round(len(songs) / seconds * 60, 2)}
            print(f"{mode}: {figures['modes'][mode]}", file=sys.stderr, flush=True)
            if mode == modes[0]:
                resume = _describe(songs, out=out, data_dir=data_dir, extra=MODES[mode])
                figures["resume"] = {"seconds": round(resume, 2), "share_of_first_run": round(resume / seconds, 4)}
                print(f"resume: {figures['resume']}", file=sys.stderr, flush=True)
            shutil.rmtree(data_dir, ignore_errors=True)
    figures["load_after"] = os.getloadavg()[0]
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", help="songs or folders (default: the evalset's score renders)")
    parser.add_argument("--modes", default=",".join(MODES), help=f"comma-separated among: {', '.join(MODES)}")
    parser.add_argument("--limit", type=int, default=None, help="at most this many songs")
    args = parser.parse_args(argv)
    evalset = Path(os.environ.get(settings.EVALSET_ENV, "/work/shared/evalset"))
    songs = collect_songs(args.paths or [str(evalset / folder) for folder in DEFAULT_FOLDERS])[: args.limit]
    print(json.dumps(run(songs, modes=[mode.strip() for mode in args.modes.split(",")]), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
