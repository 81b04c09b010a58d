"""Tempo, beats, downbeats and metre of synthesised click tracks."""

import numpy as np
import pytest

from linernotes.tools.rhythm import track_rhythm
from audio_factory import as_audio

RATE = 44100



def click_track(*, bpm: float, beats_per_bar: int, seconds: float = 24.0,
                start: float = 0.5) -> np.ndarray:
    """A drum-machine pattern: a kick and a new bass note on each bar's first beat,
    hi-hat clicks on the others, so the bar is marked as music marks it."""
    signal = np.zeros(int(seconds * RATE))
    rng = np.random.default_rng(1)
    length = int(0.2 * RATE)
    t = np.arange(length) / RATE
    hat = rng.normal(size=length) * np.exp(-t / 0.01)
    kick = np.sin(2 * np.pi * np.cumsum(50 + 100 * np.exp(-t / 0.03)) / RATE) * np.exp(-t / 0.08)
    beat = 60.0 / bpm
    for index, time in enumerate(np.arange(start, seconds - 0.2, beat)):
        begin = int(time * RATE)
        sound = 0.3 * hat
        if index % beats_per_bar == 0:
            bar = index // beats_per_bar
            bass_hz = (110.0, 146.8, 98.0, 130.8)[bar % 4]
            sustain = np.arange(int(beats_per_bar * beat * RATE * 0.9)) / RATE
            bass = 0.3 * np.sin(2 * np.pi * bass_hz * sustain) * np.exp(-sustain / 0.8)
            end = min(len(signal), begin + len(bass))
            signal[begin:end] += bass[: end - begin]
            sound = sound + kick
        end = min(len(signal), begin + length)
        signal[begin:end] += sound[: end - begin]
    return 0.5 * signal


def test_120_bpm_click_track_is_120_bpm():
    result = track_rhythm(as_audio(click_track(bpm=120, beats_per_bar=4)))
    assert result.bpm == pytest.approx(120, abs=1)
    assert np.allclose(np.diff(result.beats), 0.5, atol=0.02)
    assert all(p.value == pytest.approx(120, abs=2) for p in result.tempo_curve)
    assert result.bpm_confidence > 0.3


@pytest.mark.parametrize("bpm", [75, 140])
def test_slow_and_fast_click_tracks_keep_their_tempo(bpm):
    """Within 1 %: a decoder at 50 fps, with its coarse beat intervals, gave 142.9 for 140."""
    result = track_rhythm(as_audio(click_track(bpm=bpm, beats_per_bar=4)))
    assert result.bpm == pytest.approx(bpm, rel=0.01)


@pytest.mark.parametrize("beats_per_bar,metre", [(4, "4/4"), (3, "3/4")])
def test_accented_clicks_give_downbeats_every_bar(beats_per_bar, metre):
    result = track_rhythm(as_audio(click_track(bpm=120, beats_per_bar=beats_per_bar)))
    assert result.time_signature == metre
    beat_index = {round(b, 2): i for i, b in enumerate(result.beats)}
    downbeat_indices = [beat_index[round(d, 2)] for d in result.downbeats]
    assert set(np.diff(downbeat_indices)) == {beats_per_bar}
    # The accented clicks are the downbeats: at 0.5 s + k bars.
    bar = beats_per_bar * 0.5
    assert all(abs((d - 0.5) / bar - round((d - 0.5) / bar)) * bar < 0.05 for d in result.downbeats)


def test_beat_activations_from_features_match_those_from_audio():
    from linernotes.tools.rhythm import activations_from_features, beat_activations, rhythm_features

    audio = as_audio(click_track(bpm=120, beats_per_bar=4, seconds=3.0))
    from_audio = beat_activations(audio)
    assert from_audio.shape[1] == 2 and from_audio.max() > 0.3
    assert np.array_equal(activations_from_features(rhythm_features(audio)), from_audio)


def test_silence_has_no_tempo():
    result = track_rhythm(as_audio(np.zeros(10 * RATE)))
    assert result.bpm is None and result.bpm_confidence == 0.0
    assert result.beats == [] and result.notes


def test_under_two_seconds_has_no_tempo():
    result = track_rhythm(as_audio(click_track(bpm=120, beats_per_bar=4, seconds=1.5)))
    assert result.bpm is None and result.notes


def test_half_tempo_keeps_the_downbeats_and_halves_the_bar():
    from linernotes.tools.rhythm import half_tempo

    beats = np.arange(16) * 0.3  # 200 BPM eighths in 4-count bars
    positions = np.tile([1, 2, 3, 4], 4)
    halved, halved_positions = half_tempo(beats, positions)
    assert np.allclose(np.diff(halved), 0.6)  # 100 BPM
    assert list(halved_positions[:4]) == [1, 2, 1, 2]
    assert set(halved[halved_positions == 1]) == set(beats[positions == 1])


def test_licence_clean_rhythm_comes_from_essentia_without_downbeats():
    from linernotes.tools.analyze import AnalysisConfig
    from linernotes.tools.rhythm import run

    result = run(as_audio(click_track(bpm=120, beats_per_bar=4)),
                 config=AnalysisConfig(noncommercial_models=False))
    assert result.bpm == pytest.approx(120, rel=0.02)
    assert result.downbeats == [] and result.time_signature is None
    assert any("licence-clean" in note for note in result.notes)


def test_tempo_curve_follows_72_116_72_within_a_bar():
    """Clicks at 72, then 116, then 72 BPM (20 s each): away from a change by more than a
    bar, the curve reads that stretch's tempo."""
    rng = np.random.default_rng(1)
    length = int(0.2 * RATE)
    t = np.arange(length) / RATE
    hat = rng.normal(size=length) * np.exp(-t / 0.01)
    kick = np.sin(2 * np.pi * np.cumsum(50 + 100 * np.exp(-t / 0.03)) / RATE) * np.exp(-t / 0.08)
    clicks, time, changes = [], 0.5, []
    for bpm in (72, 116, 72):
        changes.append(time)
        end = time + 20.0
        while time < end:
            clicks.append(time)
            time += 60.0 / bpm
    signal = np.zeros(int((time + 1.0) * RATE))
    for index, click in enumerate(clicks):
        begin = int(click * RATE)
        sound = 0.3 * hat + (kick if index % 4 == 0 else 0.0)
        signal[begin:begin + length] += sound
    result = track_rhythm(as_audio(0.5 * signal))
    bar_s = 4 * 60.0 / 72
    for point in result.tempo_curve:
        if min(abs(point.time - change) for change in changes[1:]) <= bar_s:
            continue
        expected = 116 if changes[1] <= point.time < changes[2] else 72
        assert point.value == pytest.approx(expected, rel=0.03), point
