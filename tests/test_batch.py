"""`describe PATH...` over a folder, as a user runs it: worker processes, every output format,
a failure that does not stop the batch, the manifest and a resume that skips finished songs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jams
import pytest
import soundfile as sf

from linernotes.batch.inputs import collect_songs, output_names
from linernotes.tools.audio import AudioError
from linernotes.tools.synth import render_demo_song

FORMATS = "json,md,jams,lab,png,html"


def run_cli(*args, data_dir, cwd=None, timeout=900):
    env = {**os.environ, "LINERNOTES_DATA_DIR": str(data_dir), "LINERNOTES_LLM": "none"}
    env.pop("LINERNOTES_CHROMA_URL", None)
    return subprocess.run([sys.executable, "-m", "linernotes", *args], capture_output=True, text=True,
                          env=env, timeout=timeout, cwd=cwd)


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    """Two short rendered songs in nested folders, a text file named .mp3, and a data dir."""
    root = tmp_path_factory.mktemp("library")
    (root / "songs" / "disc 2").mkdir(parents=True)
    render_demo_song(root / "songs" / "first.flac", duration_s=36.0)
    samples, rate = sf.read(root / "songs" / "first.flac")
    sf.write(root / "songs" / "disc 2" / "second.wav", 0.5 * samples, rate)  # other audio, other song
    (root / "songs" / "disc 2" / "broken.mp3").write_text("not audio\n" * 50)
    (root / "songs" / "cover.jpg").write_bytes(b"\xff\xd8 not a song")
    return root


def test_collect_songs_walks_folders_and_globs(library, tmp_path):
    songs = library / "songs"
    found = collect_songs([str(songs)])
    assert [path.name for path in found] == ["broken.mp3", "second.wav", "first.flac"]  # sorted by path
    assert [path.name for path in collect_songs([str(songs / "**" / "*.wav"), str(songs / "first.flac")])] == \
        ["second.wav", "first.flac"]
    assert collect_songs([str(songs / "first.flac"), str(songs)])[0].name == "first.flac"  # each once
    with pytest.raises(AudioError, match="is a directory with no audio files"):
        collect_songs([str(tmp_path)])
    with pytest.raises(AudioError, match="matches no audio file"):
        collect_songs([str(songs / "*.ogg")])
    assert output_names([Path("a/x.wav"), Path("b/x.flac"), Path("y.mp3")]) == ["x", "x-2", "y"]


def test_batch_in_two_processes_writes_every_format_and_resumes(library):
    data_dir, out = library / "data", library / "out"
    first = run_cli("describe", str(library / "songs"), "--output-dir", str(out), "--format", FORMATS,
                    "-j", "2", data_dir=data_dir)
    assert first.returncode == 1, first.stderr  # one song failed, so the batch did not all succeed
    assert "broken" in first.stdout and "failed" in first.stdout  # the summary table lists it
    assert "broken failed:" in first.stderr and "not a readable audio file" in first.stderr
    assert "Traceback" not in first.stderr
    for name in ("first", "second"):
        for suffix in (".json", ".md", ".jams", ".chords.lab", ".sections.lab", ".keys.lab", ".beats.lab",
                       ".png", ".html"):
            assert (out / f"{name}{suffix}").stat().st_size > 0, f"{name}{suffix}"
        analysis = json.loads((out / f"{name}.json").read_text())
        assert analysis["narrative"]["verified"]
        assert (out / f"{name}.md").read_text().startswith("# ")
        jams.load(str(out / f"{name}.jams"), validate=True)
        assert (out / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "../songs/disc%202/second.wav" in (out / "second.html").read_text()
    manifest = json.loads((out / "linernotes-manifest.json").read_text())["songs"]
    assert set(manifest) == {"first", "second"}  # the failure is not recorded as done

    (library / "songs" / "disc 2" / "broken.mp3").unlink()
    stamps = {path.name: path.stat().st_mtime_ns for path in out.iterdir()}
    again = run_cli("describe", str(library / "songs"), "--output-dir", str(out), "--format", FORMATS,
                    data_dir=data_dir)
    assert again.returncode == 0, again.stderr
    assert again.stdout.count("skipped") == 2 and "2 already done" in again.stdout
    assert {path.name: path.stat().st_mtime_ns for path in out.iterdir()
            if path.name != "linernotes-manifest.json"} == \
        {name: stamp for name, stamp in stamps.items() if name != "linernotes-manifest.json"}

    # Asking for a format not written yet redoes the songs (from the analysis cache).
    more = run_cli("describe", str(library / "songs"), "--output-dir", str(out), "--format", "json,rich",
                   "--no-store", "-v", data_dir=data_dir)
    assert more.returncode == 0, more.stderr
    report = (out / "first.txt").read_text()
    assert "Captions" in report and "timings:" in report and "\x1b[" not in report  # plain text, no colour codes


def test_single_file_outputs_follow_the_extension(library):
    data_dir, song = library / "data", library / "songs" / "first.flac"
    notes = library / "notes.md"
    result = run_cli("describe", str(song), "-o", str(notes), "--no-store", data_dir=data_dir)
    assert result.returncode == 0, result.stderr
    assert notes.read_text().startswith("# ") and not notes.read_text().lstrip().startswith("{")
    stem = library / "both"
    result = run_cli("describe", str(song), "-o", str(stem), "--format", "jams,lab", "--no-store",
                     data_dir=data_dir)
    assert result.returncode == 0, result.stderr
    assert (library / "both.jams").exists() and (library / "both.chords.lab").exists()
    refused = run_cli("describe", str(song), "--format", "png", data_dir=data_dir)
    assert refused.returncode == 2 and "-o FILE or --output-dir" in refused.stderr
    unknown = run_cli("describe", str(song), "--format", "pdf", data_dir=data_dir)
    assert unknown.returncode == 2 and "unknown format 'pdf'" in unknown.stderr


def test_cached_song_reuses_its_narrative_and_no_narrative_skips_it(library):
    data_dir, song = library / "data", library / "songs" / "first.flac"
    first = run_cli("describe", str(song), "--json", "--no-store", data_dir=data_dir)
    assert first.returncode == 0, first.stderr
    result = run_cli("describe", str(song), "--json", "--no-store", "-v", data_dir=data_dir)
    assert result.returncode == 0, result.stderr
    assert "reused the narrative" in result.stderr
    assert json.loads(result.stdout)["narrative"] == json.loads(first.stdout)["narrative"]
    assert json.loads(result.stdout)["narrative"]["verified"]
    bare = run_cli("describe", str(song), "--json", "--no-store", "--no-narrative", data_dir=data_dir)
    assert bare.returncode == 0 and json.loads(bare.stdout)["narrative"] is None


def test_config_file_sets_defaults_and_a_broken_one_is_one_line(library):
    data_dir, song = library / "data", library / "songs" / "first.flac"
    config = library / "linernotes.toml"
    config.write_text('[describe]\nformat = "md"\nstore_songs = false\n')
    result = run_cli("describe", str(song), "--config", str(config), "--quiet", data_dir=data_dir)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("# ") and result.stderr == ""
    (data_dir / "linernotes.toml").write_text('llm = "none"\n[describe]\nformat = "json"\nnarrative = false\n')
    default = run_cli("describe", str(song), "--no-store", data_dir=data_dir)
    assert json.loads(default.stdout)["narrative"] is None
    flag_wins = run_cli("describe", str(song), "--no-store", "--format", "md", data_dir=data_dir)
    assert flag_wins.stdout.startswith("\n") or flag_wins.stdout.strip() == ""  # md of no narrative
    (data_dir / "linernotes.toml").write_text("format = [unclosed\n")
    broken = run_cli("describe", str(song), data_dir=data_dir)
    lines = [line for line in broken.stderr.splitlines() if line.strip()]
    assert broken.returncode == 2 and len(lines) == 1 and "not valid TOML" in lines[0]
    (data_dir / "linernotes.toml").unlink()


def test_a_kept_narrative_is_not_reused_once_the_writer_changes(tmp_path, monkeypatch):
    from agent_fixtures import song_analysis

    from linernotes.agent.api import narrate
    from linernotes.batch import narratives

    monkeypatch.setenv("LINERNOTES_DATA_DIR", str(tmp_path))
    analysis = narrate(song_analysis(), llm="none")
    narratives.save_narrative(analysis, provider="none|")
    assert narratives.load_narrative(analysis, provider="none|") == analysis.narrative
    assert len(narratives.writer_fingerprint()) == 64
    monkeypatch.setattr(narratives, "writer_fingerprint", lambda: "another version of the writer")
    assert narratives.load_narrative(analysis, provider="none|") is None
