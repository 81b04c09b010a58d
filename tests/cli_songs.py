"""Small song files whose analyses are already cached, and the CLI run on them.

`describe` on such a file skips the engine (a cache hit) and does the rest for real: the
narrative, the store write, the output. Crash and race tests use it to stay cheap.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile as sf
from agent_fixtures import song_analysis

from linernotes.tools.schema import SongAnalysis


def cached_song(folder: Path, *, name: str, data_dir: Path, frequency: float = 220.0) -> SongAnalysis:
    """Write `folder/name.wav` (2 s, its own content) and cache the fixture analysis under its hash."""
    from linernotes.tools import cache
    from linernotes.tools.analyze import AnalysisConfig
    from linernotes.tools.audio import file_sha256

    path = folder / f"{name}.wav"
    sf.write(path, 0.3 * np.sin(2 * np.pi * frequency * np.arange(22050 * 2) / 22050), 22050)
    analysis = song_analysis()
    analysis = analysis.model_copy(update={"source": analysis.source.model_copy(
        update={"sha256": file_sha256(path), "path": str(path), "title": name})})
    previous = os.environ.get("LINERNOTES_DATA_DIR")
    os.environ["LINERNOTES_DATA_DIR"] = str(data_dir)
    try:
        cache.save(analysis, AnalysisConfig().cache_tag())
    finally:
        if previous is None:
            os.environ.pop("LINERNOTES_DATA_DIR")
        else:
            os.environ["LINERNOTES_DATA_DIR"] = previous
    return analysis


def cli_env(data_dir: Path, *, chroma_url: str | None = None) -> dict[str, str]:
    env = {**os.environ, "LINERNOTES_DATA_DIR": str(data_dir), "LINERNOTES_LLM": "none"}
    env.pop("LINERNOTES_CHROMA_URL", None)
    if chroma_url:
        env["LINERNOTES_CHROMA_URL"] = chroma_url
    return env


def describe_with(prelude: str, arguments: list[str], *, env: dict[str, str]) -> subprocess.Popen:
    """Start `linernotes` in a new interpreter after running `prelude` (e.g. a patch that kills it)."""
    tests = str(Path(__file__).resolve().parent)
    script = (f"import sys\nsys.path.insert(0, {tests!r})\n{prelude}\n"
              "from linernotes.main import linernotes_command\n"
              f"sys.exit(linernotes_command({arguments!r}))\n")
    return subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)
