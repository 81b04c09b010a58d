"""Tempo from the pulse's periodicity, for clips too short for the beat decoder."""

import numpy as np
import pytest

from audio_factory import RATE, as_audio, click_track
from linernotes.tools import rhythm


def _phrase(bpm: float, *, phrase_s: float = 1.5, seconds: float = 5.0) -> np.ndarray:
    """Clicks for `phrase_s` seconds, then silence: a loop whose pulse dies away early."""
    clicks = click_track(bpm, phrase_s)
    return np.concatenate([clicks, np.zeros(int((seconds - phrase_s) * RATE), dtype=np.float32)])


@pytest.mark.parametrize("bpm", [100, 120])
def test_a_short_click_phrase_gets_its_tempo_from_periodicity(bpm):
    audio = as_audio(_phrase(bpm))
    # The premise: the bar-pointer decoder cannot track this clip.
    assert len(rhythm._decoder()(rhythm.beat_activations(audio))) < 4
    result = rhythm.track_rhythm(audio)
    assert result.bpm == pytest.approx(bpm, rel=0.04)
    # No beats, bars or curve are invented, and the tempo is not stated as sure.
    assert result.beats == [] and result.downbeats == [] and result.tempo_curve == []
    assert result.time_signature is None and result.meter_confidence == 0.0
    assert 0.0 < result.bpm_confidence < 0.3
    assert any("periodicity" in note for note in result.notes)


def test_a_clip_the_decoder_tracks_never_reaches_the_fallback(monkeypatch):
    def fail(activations):
        raise AssertionError("periodicity fallback used on a trackable clip")

    monkeypatch.setattr(rhythm, "periodicity_tempo", fail)
    result = rhythm.track_rhythm(as_audio(click_track(120, 8.0)))
    assert result.bpm == pytest.approx(120, rel=0.01)
    assert len(result.beats) >= 4
    assert not any("periodicity" in note for note in result.notes)


def test_silence_after_the_network_still_has_no_tempo():
    result = rhythm.periodicity_tempo(np.zeros((500, 2)))
    assert result.bpm is None and result.bpm_confidence == 0.0


def _impulses(bpm: float, seconds: float) -> np.ndarray:
    """Beat activations (frames, 2) marking every beat at `bpm`, as the network would."""
    activations = np.zeros((int(seconds * rhythm.FPS), 2))
    activations[np.round(np.arange(0.3, seconds, 60.0 / bpm) * rhythm.FPS).astype(int), 0] = 0.5
    return activations


def test_periodicity_fires_only_for_short_clips():
    """A 10 s-plus recording the decoder cannot track has no steady pulse to report."""
    assert rhythm.periodicity_tempo(_impulses(100, 6.0)).bpm == pytest.approx(100, rel=0.04)
    long = rhythm.periodicity_tempo(_impulses(100, 12.0))
    assert long.bpm is None and long.notes == ["too few beats for a tempo"]


def test_two_onsets_are_no_pulse():
    activations = _impulses(100, 5.0)
    activations[int(1.5 * rhythm.FPS):] = 0.0  # beats at 0.3 and 0.9 s only
    assert rhythm.periodicity_tempo(activations).bpm is None
