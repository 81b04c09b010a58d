"""`describe PATH... --ray ADDRESS` on a local Ray cluster the test starts (2 CPUs, 127.0.0.1),
writing the songs to a real Chroma server and the outputs to the driver's folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import soundfile as sf

from linernotes.tools.synth import render_demo_song

ray = pytest.importorskip("ray", reason="ray is not installed (pip install 'linernotes[ray]')")


@pytest.fixture
def cluster(tmp_path, monkeypatch):
    """A local Ray head on 127.0.0.1 with 2 CPUs; its workers get this test's data dir."""
    monkeypatch.setenv("LINERNOTES_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("LINERNOTES_LLM", "none")
    context = ray.init(num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.1")
    yield context.address_info["address"]
    ray.shutdown()


def test_ray_batch_fills_one_chroma_server(tmp_path, cluster, server_url):
    from linernotes.memory.store import SongStore

    shared = SongStore(url=server_url)
    for collection in shared._client.list_collections():  # the test server is ours alone
        shared._client.delete_collection(collection.name)
    songs = tmp_path / "songs"
    songs.mkdir()
    render_demo_song(songs / "one.flac", duration_s=20.0)
    samples, rate = sf.read(songs / "one.flac")
    sf.write(songs / "two.flac", 0.5 * samples, rate)  # other audio: a song of its own in the store
    out = tmp_path / "out"
    env = {**os.environ, "LINERNOTES_DATA_DIR": str(tmp_path / "data"), "LINERNOTES_LLM": "none"}
    result = subprocess.run(
        [sys.executable, "-m", "linernotes", "describe", str(songs), "--ray", cluster, "--store-url", server_url,
         "--output-dir", str(out), "--format", "json,jams"],
        capture_output=True, text=True, env=env, timeout=900)
    assert result.returncode == 0, result.stderr + result.stdout
    assert "2 described" in result.stdout
    for name in ("one", "two"):
        assert json.loads((out / f"{name}.json").read_text())["narrative"]["verified"]
    stored = {song.display_name for song in SongStore(url=server_url).list_songs()}
    assert len(stored) == 2, (stored, result.stderr)


def test_ray_without_a_server_is_refused(tmp_path):
    song = tmp_path / "one.flac"
    render_demo_song(song, duration_s=5.0)
    env = {k: v for k, v in os.environ.items() if k != "LINERNOTES_CHROMA_URL"}
    result = subprocess.run([sys.executable, "-m", "linernotes", "describe", str(song), "--ray"],
                            capture_output=True, text=True, env={**env, "LINERNOTES_DATA_DIR": str(tmp_path)})
    assert result.returncode == 2 and "--store-url" in result.stderr
