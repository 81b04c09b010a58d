import shutil
import subprocess

import numpy as np
import pytest
import soundfile as sf

from linernotes.tools.audio import ANALYSIS_RATE, AudioError, load_audio


def _tone(seconds=1.0, rate=48000, channels=2, frequency=440.0):
    t = np.arange(int(seconds * rate)) / rate
    mono = 0.5 * np.sin(2 * np.pi * frequency * t)
    return np.stack([mono] * channels, axis=1) if channels > 1 else mono


@pytest.mark.parametrize("suffix,subtype", [
    (".wav", "PCM_16"), (".flac", "PCM_16"), (".ogg", "VORBIS"), (".mp3", "MPEG_LAYER_III"),
    (".aiff", "PCM_16"),
])
def test_formats_decode_to_mono_at_the_analysis_rate(tmp_path, suffix, subtype):
    path = tmp_path / f"tone{suffix}"
    sf.write(path, _tone(seconds=2.0, rate=48000, channels=2), 48000, subtype=subtype)
    audio = load_audio(path)
    assert audio.sample_rate == ANALYSIS_RATE
    assert audio.samples.ndim == 1 and audio.samples.dtype == np.float32
    assert audio.channels == 2 and audio.native_rate == 48000
    assert audio.duration_s == pytest.approx(2.0, abs=0.06)  # mp3 adds encoder padding
    # The tone survives: its spectrum peaks at 440 Hz.
    spectrum = np.abs(np.fft.rfft(audio.samples[: ANALYSIS_RATE]))
    assert np.argmax(spectrum) == pytest.approx(440, abs=2)


def test_multichannel_and_odd_rates(tmp_path):
    path = tmp_path / "six.wav"
    sf.write(path, _tone(seconds=1.0, rate=22050, channels=6), 22050)
    audio = load_audio(path)
    assert audio.channels == 6 and audio.native_rate == 22050
    assert audio.duration_s == pytest.approx(1.0, abs=0.01)
    assert len(audio.at(16000)) == pytest.approx(16000, abs=2)


def test_tags_and_hash(tmp_path):
    path = tmp_path / "tagged.flac"
    with sf.SoundFile(path, "w", 44100, 1) as handle:
        handle.title, handle.artist = "Test Title", "Test Artist"
        handle.write(_tone(channels=1, rate=44100))
    audio = load_audio(path)
    assert (audio.title, audio.artist) == ("Test Title", "Test Artist")
    assert len(audio.sha256) == 64


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="m4a needs ffmpeg")
def test_m4a_through_ffmpeg(tmp_path):
    wav, m4a = tmp_path / "tone.wav", tmp_path / "tone.m4a"
    sf.write(wav, _tone(seconds=2.0, rate=44100, channels=2), 44100)
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(wav), str(m4a)], check=True)
    audio = load_audio(m4a)
    assert audio.channels == 2
    assert audio.duration_s == pytest.approx(2.0, abs=0.1)


def _truncated_wav(tmp_path):
    path = tmp_path / "cut.wav"
    sf.write(path, _tone(seconds=3.0, channels=1, rate=44100), 44100)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


@pytest.mark.parametrize("make,message", [
    (lambda p: p / "missing.mp3", "no such file"),
    (lambda p: p, "is a directory"),
    (lambda p: (p / "empty.wav").write_bytes(b"") and None or p / "empty.wav", "empty"),
    (lambda p: (p / "notes.mp3").write_text("just some text\n" * 50) and None or p / "notes.mp3",
     "not a readable audio file"),
    (_truncated_wav, "truncated"),
])
def test_bad_input_raises_one_clear_line(tmp_path, make, message):
    with pytest.raises(AudioError) as raised:
        load_audio(make(tmp_path))
    text = str(raised.value)
    assert message in text and "\n" not in text


def test_over_long_files_are_refused_before_decoding(tmp_path):
    path = tmp_path / "long.wav"
    sf.write(path, _tone(seconds=5.0, channels=1, rate=8000), 8000)
    with pytest.raises(AudioError, match="over the 0:03 limit"):
        load_audio(path, max_duration_s=3.0)
