"""Shared fixtures: the rendered demo song, made once per test session, and a Chroma server."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

import pytest
from audio_factory import as_audio

from linernotes.tools.loudness import measure_loudness
from linernotes.tools.synth import render_demo_song


@pytest.fixture(scope="session")
def demo_song():
    """(audio, plan) of the demo song: intro, verse, chorus … outro at 112 BPM."""
    samples, plan = render_demo_song()
    return as_audio(samples, sample_rate=plan.sample_rate), plan


@pytest.fixture(scope="session")
def demo_song_path(tmp_path_factory):
    """The demo song written as FLAC, for tests that run the command line."""
    path = tmp_path_factory.mktemp("songs") / "demo.flac"
    render_demo_song(path)
    return path


@pytest.fixture(scope="session")
def demo_loudness(demo_song):
    audio, _ = demo_song
    return measure_loudness(audio)


SERVER_SCRIPT = Path(__file__).resolve().parents[1] / ".ci" / "chroma_server.sh"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def server_url():
    """A real Chroma server: CI's (`$LINERNOTES_TEST_CHROMA_URL`), else one started for the session."""
    url = os.environ.get("LINERNOTES_TEST_CHROMA_URL")
    if url:
        yield url
        return
    port = str(_free_port())
    started = subprocess.run([str(SERVER_SCRIPT), "start", port], capture_output=True, text=True)
    assert started.returncode == 0, started.stderr
    yield started.stdout.strip()
    subprocess.run([str(SERVER_SCRIPT), "stop", port], check=True)
