"""Benchmark of a long file: refused by default, analysed in bounded memory when allowed.

Writes a long WAV (the demo song rendered once, repeated in blocks to the wanted length, so
the file is real music throughout and never held in memory whole), then:

- times the default refusal (the header probe against the 30-minute limit);
- runs `linernotes.analyze` on it in a fresh process with the limit raised, and reports that
  process's peak resident memory (ru_maxrss) and wall time, next to the size of the decoded
  signal (mono float32 at the analysis rate) for scale.

Run: ``python -m linernotes.evals.bench_long [--minutes 120] [--folder DIR]``. A 2-hour
analysis takes many minutes on a laptop CPU.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from linernotes.tools.audio import ANALYSIS_RATE, AudioError, probe_audio
from linernotes.tools.settings import MAX_DURATION_S
from linernotes.tools.synth import render_demo_song

RATE = 22050
_ANALYSE = """
import json, sys, time
from linernotes import analyze
from linernotes.tools.analyze import AnalysisConfig
started = time.perf_counter()
analysis = analyze(sys.argv[1], config=AnalysisConfig(max_duration_s=float(sys.argv[2]), use_cache=False))
print(json.dumps({"seconds": time.perf_counter() - started, "sections": len(analysis.sections),
                  "windows": len(analysis.segments), "duration_s": analysis.source.duration_s}))
"""


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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=120.0)
    parser.add_argument("--folder", type=Path, default=None, help="where to write the long file")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(dir=args.folder) as folder:
        path = write_long_song(Path(folder) / "long.wav", minutes=args.minutes)
        started = time.perf_counter()
        try:
            probe_audio(path, max_duration_s=MAX_DURATION_S)
            refusal = "not refused (shorter than the limit)"
        except AudioError as error:
            refusal = f"refused in {1000 * (time.perf_counter() - started):.1f} ms: {error}"
        print(f"default limit: {refusal}")
        limit = args.minutes * 60 + 60
        process = subprocess.run([sys.executable, "-c", _ANALYSE, str(path), str(limit)],
                                 capture_output=True, text=True)
        if process.returncode != 0:
            print(process.stderr.strip().splitlines()[-1] if process.stderr.strip() else "analysis failed")
            sys.exit(1)
        result = json.loads(process.stdout.strip().splitlines()[-1])
        peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        signal_mib = args.minutes * 60 * ANALYSIS_RATE * 4 / 2**20
        print(f"{args.minutes:g} min analysed in {result['seconds']:.0f} s: {result['sections']} sections, "
              f"{result['windows']} windows")
        print(f"peak RSS {peak_mib:.0f} MiB (decoded signal alone: {signal_mib:.0f} MiB)")


if __name__ == "__main__":
    main()
