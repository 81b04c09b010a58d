"""A corpus of broken, odd and hostile input files, generated here, and what each one gets.

Every case gets either one clear line (`AudioError`, exit code 2 on the command line) or a
decoded signal that tells the truth about the file. Path and header errors are caught by
`probe_audio`, which reads no more than the header. Most cases stop at the decoder; the
real analysis runs only on the few whose honesty needs it (tiny files, so it stays cheap).
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
import soundfile as sf

from linernotes.tools.audio import AudioError, check_path, load_audio, probe_audio

RATE = 22050
NOBODY = 65534


def _tone(seconds: float = 2.0, *, rate: int = RATE, channels: int = 1) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    mono = 0.4 * np.sin(2 * np.pi * 330.0 * t)
    return np.stack([mono * (0.5 + 0.1 * c) for c in range(channels)], axis=1) if channels > 1 else mono


def _write(path: Path, samples: np.ndarray, *, rate: int = RATE, **options) -> Path:
    sf.write(path, samples, rate, **options)
    return path


def _cut(path: Path, fraction: float) -> Path:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * fraction)])
    return path


def _corrupt(path: Path) -> Path:
    """Overwrite 4 kB in the middle with random bytes."""
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle: middle + 4096] = np.random.default_rng(0).bytes(min(4096, len(data) - middle))
    path.write_bytes(bytes(data))
    return path


def _riff(path: Path, *, data_bytes: int, riff_bytes: int | None = None, body: bytes = b"",
          rate: int = 44100, channels: int = 1, bits: int = 16) -> Path:
    """A WAV header that declares `data_bytes` of audio, followed by `body`."""
    block = channels * bits // 8
    fmt = struct.pack("<HHIIHH", 1, channels, rate, rate * block, block, bits)
    header = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", data_bytes)
    size = riff_bytes if riff_bytes is not None else len(header) + data_bytes
    path.write_bytes(b"RIFF" + struct.pack("<I", size) + header + body)
    return path


def _two_hours(path: Path) -> Path:
    """A real 2-hour WAV of silence, written sparsely: its header and size agree, no data written."""
    data_bytes = 2 * 3600 * 8000 * 2
    _riff(path, data_bytes=data_bytes, rate=8000)
    with open(path, "r+b") as handle:
        handle.truncate(path.stat().st_size + data_bytes)
    return path


def _float_with(value: float) -> Callable[[Path], Path]:
    def make(path: Path) -> Path:
        samples = _tone(1.0).astype(np.float32)
        samples[RATE // 2: RATE // 2 + 10] = value
        return _write(path, samples, subtype="FLOAT")
    return make


def _symlink(target: str) -> Callable[[Path], Path]:
    def make(path: Path) -> Path:
        os.symlink(target, path)
        return path
    return make


def _loop(path: Path) -> Path:
    os.symlink(path.name + ".other", path)
    os.symlink(path.name, str(path) + ".other")
    return path


def _fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


@dataclass(frozen=True)
class Case:
    """A file to make, its name, and what it must get: an error containing `error`, or audio."""

    name: str
    make: Callable[[Path], Path]
    error: str | None = None  # None: must decode
    either: bool = False  # a damaged stream the decoder may recover or refuse; either is honest
    found_by_decoding: bool = False  # only the samples show it: the header probe lets it through
    duration_s: float | None = None  # for decoded cases
    channels: int = 1


def _flac(path: Path) -> Path:
    return _write(path, _tone(3.0), format="FLAC")


def _ogg(path: Path) -> Path:
    return _write(path, _tone(3.0), format="OGG", subtype="VORBIS")


def _mp3(path: Path) -> Path:
    return _write(path, _tone(3.0), format="MP3", subtype="MPEG_LAYER_III")


CASES = [
    Case("zero bytes.wav", lambda p: (p.write_bytes(b""), p)[1], error="empty"),
    Case("zero bytes.mp3", lambda p: (p.write_bytes(b""), p)[1], error="empty"),
    Case("missing.flac", lambda p: p, error="no such file"),
    *[Case(f"mp3 cut at {int(f * 100)} %.mp3", lambda p, f=f: _cut(_mp3(p), f), either=True)
      for f in (0.02, 0.3, 0.6, 0.9)],
    Case("mp3 corrupted mid-stream.mp3", lambda p: _corrupt(_mp3(p)), either=True),
    Case("flac cut in its header.flac", lambda p: _cut(_flac(p), 0.001), error="not a readable audio file"),
    *[Case(f"flac cut at {int(f * 100)} %.flac", lambda p, f=f: _cut(_flac(p), f), error="truncated")
      for f in (0.33, 0.6, 0.9)],
    Case("flac corrupted mid-stream.flac", lambda p: _corrupt(_flac(p)), either=True),
    *[Case(f"ogg cut at {int(f * 100)} %.ogg", lambda p, f=f: _cut(_ogg(p), f), error="truncated")
      for f in (0.33, 0.66, 0.95)],
    Case("ogg cut in its header.ogg", lambda p: _cut(_ogg(p), 0.01), error="truncated"),
    Case("ogg corrupted mid-stream.ogg", lambda p: _corrupt(_ogg(p)), either=True),
    Case("wav cut in half.wav", lambda p: _cut(_write(p, _tone(3.0)), 0.5), error="truncated"),
    Case("a wav named .mp3.mp3", lambda p: _write(p, _tone(), format="WAV"), duration_s=2.0),
    Case("a flac named .wav.wav", lambda p: _write(p, _tone(), format="FLAC"), duration_s=2.0),
    Case("text named .flac.flac", lambda p: (p.write_text("la la la\n" * 200), p)[1],
         error="not a readable audio file"),
    Case("random bytes.wav", lambda p: (p.write_bytes(np.random.default_rng(1).bytes(50_000)), p)[1],
         error="not a readable audio file"),
    Case("random bytes.flac", lambda p: (p.write_bytes(np.random.default_rng(2).bytes(50_000)), p)[1],
         error="not a readable audio file"),
    Case("random bytes.mp3", lambda p: (p.write_bytes(np.random.default_rng(3).bytes(50_000)), p)[1],
         either=True),
    Case("riff claiming 4 GB.wav", lambda p: _riff(p, data_bytes=0xFFFFFFF0, riff_bytes=0xFFFFFFFF,
                                                   body=bytes(4000)), error="truncated"),
    Case("riff without fmt.wav", lambda p: (p.write_bytes(b"RIFF\xff\xff\xff\xffWAVEdata\xff\xff\xff\x7f"
                                                          + bytes(1000)), p)[1],
         error="not a readable audio file"),
    Case("riff with zero channels.wav", lambda p: _riff(p, data_bytes=1000, channels=0, body=bytes(1000)),
         error="not a readable audio file"),
    Case("one sample.wav", lambda p: _write(p, np.array([0.1])), error="too short to analyse"),
    Case("100 ms.wav", lambda p: _write(p, _tone(0.1)), error="too short to analyse"),
    Case("1 s.wav", lambda p: _write(p, _tone(1.0)), duration_s=1.0),
    Case("8 kHz.wav", lambda p: _write(p, _tone(rate=8000), rate=8000), duration_s=2.0),
    Case("192 kHz.wav", lambda p: _write(p, _tone(rate=192000), rate=192000), duration_s=2.0),
    Case("6 channels.wav", lambda p: _write(p, _tone(channels=6)), duration_s=2.0, channels=6),
    *[Case(f"{subtype}.wav", lambda p, s=subtype: _write(p, _tone(), subtype=s), duration_s=2.0)
      for subtype in ("PCM_U8", "PCM_16", "PCM_24", "PCM_32", "FLOAT", "DOUBLE")],
    Case("float with NaN.wav", _float_with(np.nan), error="NaN or infinite", found_by_decoding=True),
    Case("float with inf.wav", _float_with(np.inf), error="NaN or infinite", found_by_decoding=True),
    Case("DC offset.wav", lambda p: _write(p, 0.5 + 0.3 * _tone()), duration_s=2.0),
    Case("clipped.wav", lambda p: _write(p, np.clip(4.0 * _tone(), -1.0, 1.0)), duration_s=2.0),
    Case("silence.wav", lambda p: _write(p, np.zeros(2 * RATE)), duration_s=2.0),
    Case("white noise.wav", lambda p: _write(p, np.random.default_rng(4).uniform(-1, 1, 2 * RATE)),
         duration_s=2.0),
    Case("two hours.wav", _two_hours, error="over the 30:00 limit"),
    Case("Ünïcødé ♪ 曲.wav", lambda p: _write(p, _tone()), duration_s=2.0),
    Case("a name with  spaces .wav", lambda p: _write(p, _tone()), duration_s=2.0),
    Case("-leading dash.wav", lambda p: _write(p, _tone()), duration_s=2.0),
    Case("a directory.wav", lambda p: (p.mkdir(), p)[1], error="is a directory"),
    Case("dangling link.wav", _symlink("/nonexistent/target.wav"), error="broken symbolic link"),
    Case("link loop.wav", _loop, error="symbolic link loop"),
    Case("a fifo.wav", _fifo, error="not a regular file"),
    Case("needs ffmpeg.m4a", lambda p: (p.write_bytes(bytes(100)), p)[1],
         error="needs ffmpeg" if not shutil.which("ffmpeg") else "not a readable audio file"),
]


def test_the_corpus_is_large_enough():
    assert len(CASES) >= 40 and len({case.name for case in CASES}) == len(CASES)


@pytest.fixture
def made(tmp_path, request) -> tuple[Case, Path]:
    case = request.param
    return case, case.make(tmp_path / case.name)


def _one_line(error: AudioError) -> str:
    text = str(error)
    assert text and "\n" not in text and "Traceback" not in text
    return text


@pytest.mark.parametrize("made", CASES, ids=[case.name for case in CASES], indirect=True)
def test_each_case_gets_one_line_or_honest_audio(made):
    case, path = made
    if case.error:
        # The header probe alone tells path and format errors (the CLI calls it before any model loads).
        if case.found_by_decoding:
            probe_audio(path)
        else:
            with pytest.raises(AudioError) as raised:
                probe_audio(path)
            assert case.error in _one_line(raised.value)
            if "limit" not in case.error:  # the path check is the probe without a duration limit
                with pytest.raises(AudioError, match=case.error.split()[0]):
                    check_path(path)
        with pytest.raises(AudioError) as decoded:
            load_audio(path)
        assert case.error in _one_line(decoded.value)
        return
    try:
        audio = load_audio(path)
    except AudioError as error:
        assert case.either, f"{case.name} should decode: {error}"
        _one_line(error)
        return
    assert np.all(np.isfinite(audio.samples))
    assert audio.duration_s >= 0.5
    if case.duration_s is not None:
        assert audio.duration_s == pytest.approx(case.duration_s, abs=0.05)
        assert audio.channels == case.channels
    else:
        # A damaged stream that still decodes is never reported longer than what was written.
        assert audio.duration_s <= 3.05


def test_an_unreadable_file_is_refused_for_a_normal_user(tmp_path):
    """Run as `nobody` (root reads everything): the file exists but cannot be opened."""
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        pytest.skip("needs root to drop to the nobody user with setpriv")
    folder = Path(tempfile.mkdtemp(prefix="linernotes-unreadable-"))
    try:
        folder.chmod(0o755)
        locked = _write(folder / "locked.wav", _tone())
        locked.chmod(0o000)
        data_dir = folder / "data"
        data_dir.mkdir(mode=0o777)
        data_dir.chmod(0o777)
        env = {"PATH": os.environ["PATH"], "LINERNOTES_DATA_DIR": str(data_dir), "HOME": str(data_dir),
               "LINERNOTES_LLM": "none"}
        result = subprocess.run(
            ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
             sys.executable, "-m", "linernotes", "describe", str(locked)],
            capture_output=True, text=True, env=env, cwd=folder, timeout=120)
        if "Permission denied" in result.stderr and "python" in result.stderr.lower():
            pytest.skip("the nobody user cannot run this interpreter")
        assert result.returncode == 2, result.stderr
        assert result.stderr.strip() == f"linernotes: {locked}: permission denied (the file is not readable)"
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# The command line: the same errors, one line each, exit code 2, before any heavy import,
# and nothing left in the cache or the store.

CLI_CASES = ["zero bytes.mp3", "missing.flac", "flac cut at 33 %.flac", "ogg cut at 33 %.ogg",
             "random bytes.wav", "riff claiming 4 GB.wav", "one sample.wav", "needs ffmpeg.m4a",
             "a directory.wav", "link loop.wav", "a fifo.wav"]
_HEAVY = ("torch", "chromadb", "langchain_core", "librosa", "onnxruntime")


def _cli_in_a_fresh_interpreter(arguments: list[str], *, data_dir: Path) -> subprocess.CompletedProcess:
    """Run the CLI, then print which heavy modules it had imported."""
    script = ("import sys\nfrom linernotes.main import linernotes_command\n"
              f"code = linernotes_command({arguments!r})\n"
              f"print(sorted(name for name in {_HEAVY!r} if name in sys.modules))\n"
              "sys.exit(code)\n")
    env = {**os.environ, "LINERNOTES_DATA_DIR": str(data_dir), "LINERNOTES_LLM": "none"}
    env.pop("LINERNOTES_CHROMA_URL", None)
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env,
                          timeout=120)


@pytest.mark.parametrize("name", CLI_CASES)
def test_the_command_line_refuses_with_one_line_before_loading_models(tmp_path, name):
    case = next(case for case in CASES if case.name == name)
    path = case.make(tmp_path / case.name)
    data_dir = tmp_path / "data"
    result = _cli_in_a_fresh_interpreter(["describe", "--", str(path)], data_dir=data_dir)
    assert result.returncode == 2
    assert result.stdout.strip() == "[]"  # no heavy module was imported: the answer is immediate
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("linernotes: ") and case.error in lines[0]
    assert not (data_dir / "cache").exists() or not any((data_dir / "cache").iterdir())
    assert not (data_dir / "store").exists()


def test_the_two_hour_file_is_refused_by_default_and_its_limit_can_be_raised(tmp_path):
    from linernotes.tools.audio import analysis_memory_bytes

    path = _two_hours(tmp_path / "two hours.wav")
    with pytest.raises(AudioError, match=r"2:00:00 long, over the 30:00 limit \(raise it with "
                                         r"--max-duration 7200 to analyse it in chunks\)"):
        check_path(path, max_duration_s=30 * 60.0)
    unlimited = probe_audio(path, max_duration_s=3 * 3600.0, memory_budget_bytes=2**50)
    assert unlimited.duration_s == pytest.approx(7200.0)
    # Analysed in chunks, two hours need about what one chunk does: an 8 GiB machine will do.
    assert probe_audio(path, max_duration_s=3 * 3600.0, memory_budget_bytes=8 * 2**30).duration_s == 7200.0
    needed = analysis_memory_bytes(7200.0, chunk_s=600.0)
    assert needed - analysis_memory_bytes(1800.0, chunk_s=600.0) < 0.5 * 2**30
    assert needed < analysis_memory_bytes(7200.0, chunk_s=7200.0) / 3
    with pytest.raises(AudioError, match=r"analysing 2:00:00 of audio needs about \d+\.\d GiB of memory, "
                                         r"over the 1\.0 GiB budget"):
        probe_audio(path, max_duration_s=3 * 3600.0, memory_budget_bytes=2**30)
    result = _cli_in_a_fresh_interpreter(["describe", str(path)], data_dir=tmp_path / "data")
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2 and len(lines) == 1 and "over the 30:00 limit" in lines[0]
    assert "--max-duration 7200 to analyse it in chunks" in lines[0]


# Honest analyses: the few cases whose result needs the real engine (tiny files, one process).

@pytest.fixture(scope="module")
def analysed(tmp_path_factory):
    from linernotes import analyze
    from linernotes.tools.analyze import AnalysisConfig

    folder = tmp_path_factory.mktemp("honest")
    names = ["1 s.wav", "silence.wav", "DC offset.wav", "white noise.wav", "clipped.wav"]
    config = AnalysisConfig(use_cache=False)
    results = {}
    for name in names:
        case = next(case for case in CASES if case.name == name)
        results[name] = analyze(case.make(folder / name), config=config)
    return results


def test_a_one_second_file_is_analysed_not_called_silent(analysed):
    summary = analysed["1 s.wav"].summary
    assert not summary.silent
    assert summary.bpm is None and any("short" in note for note in summary.notes)
    assert analysed["1 s.wav"].source.duration_s == pytest.approx(1.0, abs=0.05)


def test_silence_and_a_bare_dc_offset_are_not_music(analysed):
    assert analysed["silence.wav"].summary.silent
    for name in ("1 s.wav", "DC offset.wav", "white noise.wav", "clipped.wav"):
        assert not analysed[name].summary.silent, name


def test_noise_has_no_key_and_clipping_is_loud(analysed):
    assert analysed["white noise.wav"].summary.key is None
    assert analysed["white noise.wav"].chords == [] or all(
        chord.label == "N" for chord in analysed["white noise.wav"].chords)
    clipped, tone = analysed["clipped.wav"].summary, analysed["DC offset.wav"].summary
    assert clipped.loudness_lufs is not None and tone.loudness_lufs is not None
    assert clipped.loudness_lufs > tone.loudness_lufs
