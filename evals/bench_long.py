"""Benchmark of long files: refused by default, analysed in bounded memory when allowed.

Writes long WAVs (the demo song rendered once, repeated in blocks to each wanted length, so
the file is real music throughout and never held in memory whole), then:

- times the default refusal (the header probe against the 30-minute limit) and shows its line;
- runs the real command line on each file in a fresh process, with the limit raised,
  ``describe FILE --max-duration N --no-narrative --no-store --no-cache --json -q``, and
  reports that process's own peak resident memory (``wait4``'s ``ru_maxrss``), its CPU time
  and its wall time, next to how many chunks the long-form mode cut it into
  (`tools.longform`) and the size of the decoded signal (mono float32 at the analysis rate).

``--chunk-seconds`` sets the chunk length for the runs (`LINERNOTES_CHUNK_SECONDS`); a
length longer than the files analyses them whole, the way to see what chunking saves.

Run: ``python -m linernotes.evals.bench_long --minutes 4 12 30 [--chunk-seconds 600] [--folder DIR]``.
A 2-hour file (``--minutes 120``) takes many minutes of CPU.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import soundfile as sf

from linernotes.tools.audio import ANALYSIS_RATE, AudioError, analysis_memory_bytes, probe_audio
from linernotes.tools.settings import CHUNK_ENV, MAX_DURATION_S, chunk_seconds
from linernotes.tools.synth import render_demo_song

RATE = 22050


def write_long_song(path: Path, *, minutes: float) -> Path:
    """The demo song repeated to `minutes`, written block by block as 16-bit mono WAV."""
    song, _ = render_demo_song(sample_rate=RATE)
    wanted = int(minutes * 60 * RATE)
    with sf.SoundFile(path, "w", samplerate=RATE, channels=1, subtype="PCM_16") as out:
        written = 0
        while written < wanted:
            block = song[: wanted - written]
            out.write(block)
            written += len(block)
    return path


def measure_cli(path: Path, *, max_duration_s: float, env: dict[str, str]) -> dict:
    """One `describe` run in a fresh process: its exit code, peak RSS (MiB), CPU and wall seconds."""
    command = [sys.executable, "-m", "linernotes", "describe", str(path), "--max-duration", f"{max_duration_s:g}",
               "--no-narrative", "--no-store", "--no-cache", "--json", "-q"]
    started = time.perf_counter()
    with tempfile.TemporaryFile() as stdout, tempfile.TemporaryFile() as stderr:
        process = subprocess.Popen(command, stdout=stdout, stderr=stderr, env=env)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - started
        stdout.seek(0)
        stderr.seek(0)
        output, errors = stdout.read(), stderr.read().decode(errors="replace").strip()
    result = {"command": " ".join(command), "code": process.returncode, "peak_mib": usage.ru_maxrss / 1024,
              "cpu_s": usage.ru_utime + usage.ru_stime, "wall_s": wall,
              "error": errors.splitlines()[-1] if errors and process.returncode else None}
    if process.returncode in (0, 3) and output.strip():
        analysis = json.loads(output)
        result |= {"sections": len(analysis["sections"]), "windows": len(analysis["segments"]),
                   "notes": [note for note in analysis["summary"]["notes"] if note.startswith("long file")]}
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, nargs="+", default=[4.0, 12.0, 30.0])
    parser.add_argument("--chunk-seconds", type=float, default=None,
                        help=f"long-form chunk length (default ${CHUNK_ENV}, else {chunk_seconds():g})")
    parser.add_argument("--folder", type=Path, default=None, help="where to write the long files")
    args = parser.parse_args(argv)
    chunk_s = chunk_seconds(args.chunk_seconds)
    env = {**os.environ, CHUNK_ENV: f"{chunk_s:g}", "LINERNOTES_LLM": "none"}
    print(f"chunk length {chunk_s:g} s; python {sys.executable}")
    print(f"{'minutes':>8} {'chunks':>6} {'peak RSS MiB':>12} {'budget MiB':>10} {'signal MiB':>10} "
          f"{'CPU s':>7} {'wall s':>7}  sections/windows")
    if args.folder:
        args.folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=args.folder) as folder:
        for minutes in args.minutes:
            path = write_long_song(Path(folder) / f"long-{minutes:g}min.wav", minutes=minutes)
            started = time.perf_counter()
            try:
                probe_audio(path, max_duration_s=MAX_DURATION_S)
                refusal = "not refused (shorter than the default limit)"
            except AudioError as error:
                refusal = f"refused in {1000 * (time.perf_counter() - started):.1f} ms: {error}"
            seconds = minutes * 60
            result = measure_cli(path, max_duration_s=seconds + 60, env=env)
            chunks = max(1, -(-seconds // chunk_s)) if seconds > chunk_s else 1
            budget_mib = analysis_memory_bytes(seconds, chunk_s=chunk_s) / 2**20
            signal_mib = seconds * ANALYSIS_RATE * 4 / 2**20
            if result["code"] not in (0, 3):
                print(f"{minutes:>8g} failed (exit {result['code']}): {result['error']}")
                continue
            print(f"{minutes:>8g} {chunks:>6.0f} {result['peak_mib']:>12.0f} {budget_mib:>10.0f} {signal_mib:>10.0f} "
                  f"{result['cpu_s']:>7.0f} {result['wall_s']:>7.0f}  "
                  f"{result.get('sections')}/{result.get('windows')}")
            print(f"         default limit: {refusal}")
            print(f"         command: {result['command']}", flush=True)


if __name__ == "__main__":
    main()
