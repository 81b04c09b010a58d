"""The ported networks compute what madmom's own processors compute, on the same signal."""

import numpy as np
import pytest
from audio_factory import as_audio, click_track, triad

from linernotes.tools.madmom_shim import madmom
from linernotes.tools.rhythm import beat_activations
from linernotes.tools.tonality import analyze_tonality

import madmom.features.downbeats  # noqa: E402  (after the shim)
import madmom.features.key  # noqa: E402


@pytest.fixture(scope="module")
def song():
    """Twelve seconds of triads (G, C, D, G) over a 100 BPM click."""
    chords = [triad(notes, 3.0, amplitude=0.3) for notes in
              ((55, 59, 62), (60, 64, 67), (62, 66, 69), (55, 59, 62))]
    samples = np.concatenate(chords) + click_track(100.0, 12.0, amplitude=0.5)
    audio = as_audio(samples.astype(np.float32))
    return audio, madmom.audio.signal.Signal(audio.samples, sample_rate=audio.sample_rate)


def test_beat_and_downbeat_activations_match_madmom(song):
    audio, signal = song
    reference = madmom.features.downbeats.RNNDownBeatProcessor()(signal)
    ours = beat_activations(audio)
    assert ours.shape == reference.shape
    assert np.abs(ours - reference).max() < 1e-4


def test_key_matches_madmom(song):
    audio, signal = song
    probabilities = madmom.features.key.CNNKeyRecognitionProcessor()(signal)
    key = analyze_tonality(audio).network_key()
    assert key.key == madmom.features.key.key_prediction_to_label(probabilities) == "G major"
    assert key.confidence == pytest.approx(float(probabilities.max()), abs=1e-3)
