"""The ported networks compute what madmom's own processors compute, on the same signal."""

import numpy as np
import pytest
from audio_factory import as_audio, click_track, triad

from linernotes.tools.chords import analyze_harmony
from linernotes.tools.vocabulary import chord_label, pitch_class
from linernotes.tools.madmom_shim import madmom
from linernotes.tools.rhythm import beat_activations

import madmom.features.chords  # noqa: E402  (after the shim)
import madmom.features.downbeats  # noqa: E402
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


def test_key_and_chords_match_madmom(song):
    audio, signal = song
    tonality, chords = analyze_harmony(audio)
    probabilities = madmom.features.key.CNNKeyRecognitionProcessor()(signal)
    key = tonality.network_key()
    assert key.key == madmom.features.key.key_prediction_to_label(probabilities) == "G major"
    assert key.confidence == pytest.approx(float(probabilities.max()), abs=1e-3)
    features = madmom.features.chords.CNNChordFeatureProcessor()(signal)
    reference = madmom.features.chords.CRFChordRecognitionProcessor()(features)
    # madmom spells roots with sharps (A#:maj); linernotes writes one spelling per pitch class (Bb:maj).
    assert [chord.label for chord in chords] == [_respelled(str(label)) for _, _, label in reference]
    assert [chord.start for chord in chords] == pytest.approx([s for s, _, _ in reference], abs=0.01)


def _respelled(label: str) -> str:
    if label == "N":
        return label
    root, quality = label.split(":")
    return chord_label(pitch_class(root), quality)
