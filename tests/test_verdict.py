"""Music / speech / silence / noise verdicts on synthesised sound."""

import numpy as np

from audio_factory import as_audio, sine, triad
from linernotes.tools.loudness import is_silent, measure_loudness
from linernotes.tools.tonality import analyze_tonality
from linernotes.tools.verdict import SoundKinds, high_band_share

RATE = 44100
C_MAJOR_CADENCE = [(60, 64, 67), (65, 69, 72), (67, 71, 74), (60, 64, 67)]


def _verdict(samples: np.ndarray, *, start=None, end=None) -> str:
    audio = as_audio(samples)
    loudness = measure_loudness(audio)
    silent = is_silent(audio, loudness=loudness)
    kinds = SoundKinds(silent=silent, loudness=loudness, rhythm=None,
                       tonality=None if silent else analyze_tonality(audio), tags=None,
                       high_share=high_band_share(audio.at(16000), rate=16000))
    return kinds.at(start=start, end=end)


def test_chords_are_music():
    chords = np.concatenate([triad(notes, 2.0) for notes in C_MAJOR_CADENCE * 3])
    assert _verdict(chords) == "music"


def test_white_noise_is_noise_not_a_song():
    assert _verdict(np.random.default_rng(0).normal(scale=0.1, size=20 * RATE)) == "noise"


def test_silence_is_silence():
    assert _verdict(np.zeros(10 * RATE)) == "silence"


def test_a_silent_span_of_music_is_silence():
    chords = np.concatenate([triad(notes, 2.0) for notes in C_MAJOR_CADENCE * 2])
    samples = np.concatenate([np.zeros(8 * RATE, dtype=np.float32), chords])
    assert _verdict(samples, start=0.0, end=6.0) == "silence"
    assert _verdict(samples, start=8.0, end=24.0) == "music"


def test_high_band_share_tells_a_low_voice_band_from_a_chirp_band():
    low = sine(220.0, 3.0, sample_rate=16000)
    high = sine(4000.0, 3.0, sample_rate=16000)
    assert np.all(high_band_share(low, rate=16000) < 0.1)
    assert np.all(high_band_share(high, rate=16000) > 0.9)
