"""Shared fixtures: the rendered demo song, made once per test session."""

from __future__ import annotations

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
