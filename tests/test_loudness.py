import numpy as np
import pytest
from audio_factory import as_audio, noise, sine

from linernotes.tools.loudness import is_silent, measure_loudness, span_loudness


def test_full_scale_997hz_sine_is_minus_3_lufs_in_mono():
    result = measure_loudness(as_audio(sine(997.0, 10.0)))
    assert result.integrated_lufs == pytest.approx(-3.01, abs=0.05)


def test_a_stereo_file_counts_both_channels():
    mono = measure_loudness(as_audio(sine(997.0, 10.0)))
    stereo = measure_loudness(as_audio(sine(997.0, 10.0), channels=2))
    assert stereo.integrated_lufs - mono.integrated_lufs == pytest.approx(3.01, abs=0.05)


def test_a_stereo_file_is_measured_per_channel_not_from_the_mono_mix(tmp_path):
    """A full-scale 997 Hz sine on the left only is -3.01 LUFS (BS.1770 sums channel powers);
    its mono mix, at half amplitude, would read 3 LU lower even after the channel scaling."""
    import soundfile

    left = sine(997.0, 10.0)
    path = tmp_path / "left-only.wav"
    soundfile.write(path, np.stack([left, np.zeros_like(left)], axis=1), 44100, subtype="FLOAT")
    audio = as_audio(0.5 * left, channels=2)
    audio.path = str(path)
    assert measure_loudness(audio).integrated_lufs == pytest.approx(-3.01, abs=0.05)


def test_20_db_quieter_is_20_lu_lower():
    loud = measure_loudness(as_audio(noise(10.0, amplitude=0.2)))
    quiet = measure_loudness(as_audio(noise(10.0, amplitude=0.02)))
    assert loud.integrated_lufs - quiet.integrated_lufs == pytest.approx(20.0, abs=0.1)


def test_k_weighting_discounts_low_frequencies():
    low = measure_loudness(as_audio(sine(40.0, 10.0, amplitude=0.5)))
    mid = measure_loudness(as_audio(sine(1000.0, 10.0, amplitude=0.5)))
    assert mid.integrated_lufs - low.integrated_lufs > 3.0


def test_steady_signal_has_no_range_and_alternating_levels_do():
    steady = measure_loudness(as_audio(noise(20.0, amplitude=0.1)))
    assert steady.loudness_range_lu < 0.5
    alternating = np.concatenate([noise(10.0, amplitude=0.3, seed=1),
                                  noise(10.0, amplitude=0.03, seed=2)])
    assert measure_loudness(as_audio(alternating)).loudness_range_lu == pytest.approx(20.0, abs=2.0)


def test_curve_has_a_point_per_second_following_the_level():
    signal = np.concatenate([noise(10.0, amplitude=0.3), noise(10.0, amplitude=0.03)])
    result = measure_loudness(as_audio(signal))
    assert [point.time for point in result.curve] == [float(s) for s in range(21)]
    assert result.curve[5].value - result.curve[15].value == pytest.approx(20.0, abs=0.5)


def test_span_loudness_averages_energy_of_the_span():
    signal = np.concatenate([noise(10.0, amplitude=0.3), noise(10.0, amplitude=0.03)])
    result = measure_loudness(as_audio(signal))
    loud = span_loudness(result, start=2.0, end=8.0)
    quiet = span_loudness(result, start=12.0, end=18.0)
    assert loud - quiet == pytest.approx(20.0, abs=0.5)
    # An energy mean sits near the louder half, not halfway in decibels.
    assert span_loudness(result, start=2.0, end=18.0) > loud - 4.0
    assert span_loudness(result, start=30.0, end=40.0) is None


def test_silence_is_silent_and_music_is_not():
    silence = as_audio(np.zeros(44100 * 5, dtype=np.float32))
    result = measure_loudness(silence)
    assert result.integrated_lufs is None and result.loudness_range_lu is None
    assert all(point.value == -70.0 for point in result.curve)
    assert is_silent(silence)
    assert is_silent(as_audio(sine(440.0, 5.0, amplitude=1e-4)))
    assert not is_silent(as_audio(sine(440.0, 5.0, amplitude=0.1)))


def test_shorter_than_a_gating_block_has_no_integrated_loudness():
    result = measure_loudness(as_audio(sine(440.0, 0.3, amplitude=0.5)))
    assert result.integrated_lufs is None


def test_demo_song_choruses_are_louder_than_intro_and_bridge(demo_song, demo_loudness):
    _, plan = demo_song
    level = {section.label: span_loudness(demo_loudness, start=section.start, end=section.end)
             for section in plan.sections}
    assert level["chorus"] - level["intro"] > 6.0
    assert level["chorus"] - level["bridge"] > 6.0
