"""The command line as a user meets it: real processes, real files, exit codes and stderr."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from linernotes.tools.schema import SongAnalysis

ROOT = Path(__file__).resolve().parents[1]


def run_cli(*args, data_dir, timeout=600):
    env = {**os.environ, "LINERNOTES_DATA_DIR": str(data_dir), "LINERNOTES_LLM": "none"}
    env.pop("LINERNOTES_CHROMA_URL", None)
    return subprocess.run([sys.executable, "-m", "linernotes", *args], capture_output=True,
                          text=True, env=env, timeout=timeout)


def _truncated(tmp_path):
    path = tmp_path / "cut.flac"
    t = np.arange(44100 * 20) / 44100
    sf.write(path, 0.3 * np.sin(2 * np.pi * 220 * t), 44100)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    return path


BAD_INPUTS = {
    "missing": (lambda tmp: tmp / "nothing-here.mp3", "no such file"),
    "directory": (lambda tmp: tmp, "is a directory"),
    "empty": (lambda tmp: (tmp / "empty.mp3").write_bytes(b"") and None or tmp / "empty.mp3",
              "empty"),
    "text named mp3": (lambda tmp: (tmp / "lyrics.mp3").write_text("la la la\n" * 100) and None
                       or tmp / "lyrics.mp3", "not a readable audio file"),
    "truncated": (_truncated, "truncated audio"),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_is_one_line_and_a_nonzero_exit(tmp_path, case):
    make, message = BAD_INPUTS[case]
    result = run_cli("describe", str(make(tmp_path)), "--json", data_dir=tmp_path / "data")
    assert result.returncode == 2
    assert result.stdout == ""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in result.stderr


def test_over_long_file_is_refused(tmp_path):
    path = tmp_path / "long.wav"
    sf.write(path, np.zeros(8000 * 20, dtype=np.float32), 8000)
    result = run_cli("describe", str(path), "--max-duration", "10", data_dir=tmp_path / "data")
    assert result.returncode == 2 and "--max-duration" in result.stderr


def test_silence_is_described_honestly(tmp_path):
    path = tmp_path / "silence.wav"
    sf.write(path, np.zeros(44100 * 8, dtype=np.float32), 44100)
    result = run_cli("describe", str(path), "--json", "--no-store", data_dir=tmp_path / "data")
    assert result.returncode == 0, result.stderr
    analysis = SongAnalysis.model_validate_json(result.stdout)
    assert analysis.summary.silent
    assert analysis.summary.key is None and analysis.summary.bpm is None
    assert analysis.chords == [] and analysis.summary.genres == []
    assert not analysis.summary.vocals.present


def test_describe_json_on_a_rendered_song(tmp_path, demo_song_path):
    data_dir = tmp_path / "data"
    result = run_cli("describe", str(demo_song_path), "--json", data_dir=data_dir)
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)  # stdout holds nothing but the JSON
    for key in ("schema_version", "source", "summary", "beats", "downbeats", "tempo_curve",
                "chords", "key_changes", "sections", "segments", "timings", "narrative"):
        assert key in document
    for key in ("path", "sha256", "duration_s", "sample_rate", "channels", "title", "artist"):
        assert key in document["source"]
    for key in ("key", "key_confidence", "bpm", "time_signature", "loudness_lufs",
                "loudness_range_lu", "genres", "moods", "instruments", "vocals", "valence",
                "energy", "danceability"):
        assert key in document["summary"]
    for segment in document["sections"] + document["segments"]:
        for key in ("start", "end", "label", "key", "bpm", "loudness_lufs", "genres", "moods",
                    "instruments", "vocals", "caption"):
            assert key in segment
        assert segment["caption"]
    analysis = SongAnalysis.model_validate(document)
    assert len(analysis.sections) >= 3
    assert analysis.sections[0].start == 0.0
    assert analysis.sections[-1].end == pytest.approx(analysis.source.duration_s, abs=0.01)
    assert analysis.narrative is not None and analysis.narrative.verified

    # Stored by default, and the second describe comes from the cache.
    listing = run_cli("songs", data_dir=data_dir)
    assert listing.returncode == 0 and analysis.source.sha256[:12] in listing.stdout
    assert "1 songs in" in listing.stdout  # and where the store is
    again = run_cli("describe", str(demo_song_path), "--json", "--no-store", data_dir=data_dir)
    assert json.loads(again.stdout)["timings"] == document["timings"]
