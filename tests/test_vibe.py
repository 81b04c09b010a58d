"""vibenet descriptors per window, pooled per span."""

import numpy as np
import pytest

from linernotes.tools.vibe import measure_vibe, vibenet_mel
from audio_factory import as_audio

RATE = 44100



def test_mel_matches_vibenet_front_end():
    core = pytest.importorskip("vibenet.core")
    rng = np.random.default_rng(0)
    samples = (0.3 * np.sin(2 * np.pi * 440 * np.arange(32000) / 16000)
               + 0.01 * rng.standard_normal(32000)).astype(np.float32)
    reference = core.extract_mel(samples, 16000)
    ours = vibenet_mel(samples)
    assert ours.shape == reference.shape == (128, 99)
    np.testing.assert_allclose(ours, reference, atol=1e-3)


@pytest.fixture(scope="module")
def quiet_then_loud():
    rng = np.random.default_rng(2)
    quiet = 0.02 * np.sin(2 * np.pi * 220 * np.arange(10 * RATE) / RATE)
    loud = 0.8 * np.clip(rng.standard_normal(10 * RATE), -1.2, 1.2)
    loud *= (np.arange(len(loud)) % (RATE // 4)) < RATE // 20  # drum-like bursts, 4 a second
    return measure_vibe(as_audio(np.concatenate([quiet, loud])))


def test_loud_noise_bursts_have_more_energy_than_a_quiet_sine(quiet_then_loud):
    # Window centres sit at 5 and 15 s, one in each part.
    quiet, loud = quiet_then_loud.summary(end=7), quiet_then_loud.summary(start=12)
    assert quiet is not None and loud is not None
    assert loud.energy > quiet.energy + 0.2
    for vibe in (quiet, loud):
        assert all(0 <= value <= 1 for value in vibe.model_dump().values())


def test_span_without_a_window_centre_has_no_vibe(quiet_then_loud):
    assert quiet_then_loud.summary(start=0.5, end=3.0) is None


def test_silence_has_no_vibe():
    assert measure_vibe(as_audio(np.zeros(12 * RATE))).summary() is None
