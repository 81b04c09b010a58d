"""Decoding: any supported file to one mono float32 signal at the analysis rate.

The whole song is decoded once, in blocks, straight to mono at `ANALYSIS_RATE`; the
other rates the models need are derived from that single copy on demand and cached.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from linernotes.tools.settings import MAX_DURATION_S

ANALYSIS_RATE = 44100
_BLOCK_FRAMES = 1 << 18
# Formats libsndfile cannot read; ffmpeg decodes them when it is installed.
_SAMPLE_BYTES = {"PCM_U8": 1, "PCM_16": 2, "PCM_24": 3, "PCM_32": 4, "FLOAT": 4, "DOUBLE": 8}
_FFMPEG_SUFFIXES = {".m4a", ".aac", ".mp4", ".wma", ".opus", ".webm", ".mka"}


class AudioError(ValueError):
    """Input that cannot be analysed; the message is one line meant for the user."""


@dataclass
class Audio:
    """A decoded song: mono samples at `sample_rate`, plus facts about the file."""

    samples: np.ndarray
    sample_rate: int
    path: str
    sha256: str
    channels: int
    native_rate: int
    title: str | None = None
    artist: str | None = None
    _resampled: dict[int, np.ndarray] = field(default_factory=dict, repr=False)

    @property
    def duration_s(self) -> float:
        return len(self.samples) / self.sample_rate

    def at(self, sample_rate: int) -> np.ndarray:
        """The signal at another rate, resampled once and cached."""
        if sample_rate == self.sample_rate:
            return self.samples
        if sample_rate not in self._resampled:
            self._resampled[sample_rate] = soxr.resample(
                self.samples, self.sample_rate, sample_rate
            ).astype(np.float32)
        return self._resampled[sample_rate]


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def check_path(path: str | Path) -> Path:
    """The path, if it names a non-empty file; else an `AudioError` saying what is wrong."""
    path = Path(path)
    if not path.exists():
        raise AudioError(f"{path}: no such file")
    if path.is_dir():
        raise AudioError(f"{path}: is a directory, not an audio file")
    if path.stat().st_size == 0:
        raise AudioError(f"{path}: the file is empty")
    return path


def load_audio(
    path: str | Path,
    *,
    sample_rate: int = ANALYSIS_RATE,
    max_duration_s: float = MAX_DURATION_S,
) -> Audio:
    """Decode an audio file to mono float32 at `sample_rate`.

    Parameters
    ----------
    path : str or Path
        mp3, wav, flac, ogg, aiff (and m4a/aac and other ffmpeg formats when ffmpeg is on PATH).
    sample_rate : int
        Rate of the returned signal.
    max_duration_s : float
        Longer files are refused before decoding, with an error saying how to raise the limit.

    Raises
    ------
    AudioError
        For a missing, empty, unreadable, truncated or over-long file.
    """
    path = check_path(path)
    sha256 = file_sha256(path)
    if path.suffix.lower() in _FFMPEG_SUFFIXES:
        samples, native_rate, channels, tags = _decode_ffmpeg(path, sample_rate, max_duration_s)
    else:
        samples, native_rate, channels, tags = _decode_soundfile(path, sample_rate, max_duration_s)
    if samples.size == 0:
        raise AudioError(f"{path}: contains no audio samples")
    if not np.all(np.isfinite(samples)):
        raise AudioError(f"{path}: decoded audio contains invalid (NaN or infinite) samples")
    return Audio(
        samples=samples,
        sample_rate=sample_rate,
        path=str(path),
        sha256=sha256,
        channels=channels,
        native_rate=native_rate,
        title=tags.get("title") or path.stem,
        artist=tags.get("artist"),
    )


def _check_duration(path: Path, duration_s: float, max_duration_s: float) -> None:
    if duration_s > max_duration_s:
        raise AudioError(
            f"{path}: {_clock(duration_s)} long, over the {_clock(max_duration_s)} limit "
            "(raise it with --max-duration SECONDS)"
        )


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _decode_soundfile(path: Path, sample_rate: int, max_duration_s: float):
    try:
        with _quiet_stderr():
            handle = sf.SoundFile(str(path))
    except (sf.LibsndfileError, RuntimeError, TypeError):
        if shutil.which("ffmpeg"):
            return _decode_ffmpeg(path, sample_rate, max_duration_s)
        raise AudioError(f"{path}: not a readable audio file "
                         "(unrecognised format or corrupt data)") from None
    with handle, _quiet_stderr():
        native_rate, channels, expected = handle.samplerate, handle.channels, handle.frames
        info_format = handle.format
        frame_bytes = _SAMPLE_BYTES.get(handle.subtype, 0) * channels
        if expected > 0:
            _check_duration(path, expected / native_rate, max_duration_s)
        tags = {key: value for key, value in handle.copy_metadata().items() if value}
        resampler = soxr.ResampleStream(native_rate, sample_rate, 1, dtype="float32")
        pieces, decoded = [], 0
        try:
            while True:
                block = handle.read(_BLOCK_FRAMES, dtype="float32", always_2d=True)
                done = len(block) < _BLOCK_FRAMES
                decoded += len(block)
                if decoded / native_rate > max_duration_s:
                    _check_duration(path, decoded / native_rate, max_duration_s)
                pieces.append(resampler.resample_chunk(block.mean(axis=1), last=done))
                if done:
                    break
        except (sf.LibsndfileError, RuntimeError) as error:
            raise AudioError(f"{path}: corrupt audio, decoding failed after "
                             f"{_clock(decoded / native_rate)} ({error})") from None
    # libsndfile quietly shortens a cut WAV; its header still says how much data there was.
    if info_format == "WAV" and frame_bytes:
        expected = max(expected, _declared_wav_bytes(path) // frame_bytes)
    # mp3 lengths from headers are estimates; other formats state theirs exactly.
    tolerance = 0.9 if info_format == "MP3" else 0.98
    if expected > 0 and decoded < tolerance * expected:
        raise AudioError(
            f"{path}: truncated audio, the header promises {_clock(expected / native_rate)} "
            f"but only {_clock(decoded / native_rate)} could be decoded"
        )
    return np.concatenate(pieces).astype(np.float32), native_rate, channels, tags


@contextmanager
def _quiet_stderr():
    """Silence what the C decoders print themselves (mpg123's resync notes): errors are ours."""
    sys.stderr.flush()
    saved = os.dup(2)
    with open(os.devnull, "w") as devnull:
        os.dup2(devnull.fileno(), 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _declared_wav_bytes(path: Path) -> int:
    """The data size a RIFF header declares, when the file holds less than that; else 0."""
    with open(path, "rb") as handle:
        head = handle.read(1 << 16)
    position = head.find(b"data", 12)
    if head[:4] != b"RIFF" or position < 0 or position + 8 > len(head):
        return 0
    declared = int.from_bytes(head[position + 4: position + 8], "little")
    available = path.stat().st_size - (position + 8)
    return declared if declared > available else 0


def _decode_ffmpeg(path: Path, sample_rate: int, max_duration_s: float):
    if not shutil.which("ffmpeg"):
        raise AudioError(f"{path}: this format needs ffmpeg, which is not installed "
                         "(apt-get install ffmpeg)")
    command = ["ffmpeg", "-v", "error", "-nostdin", "-i", str(path), "-t", str(max_duration_s + 1),
               "-ac", "1", "-ar", str(sample_rate), "-f", "f32le", "-"]
    result = subprocess.run(command, capture_output=True)
    if result.returncode != 0 or not result.stdout:
        reason = result.stderr.decode(errors="replace").strip().splitlines()
        raise AudioError(f"{path}: not a readable audio file ({reason[-1] if reason else 'no audio'})")
    samples = np.frombuffer(result.stdout, dtype=np.float32).copy()
    _check_duration(path, len(samples) / sample_rate, max_duration_s)
    return samples, sample_rate, _ffprobe_channels(path), {}


def _ffprobe_channels(path: Path) -> int:
    if not shutil.which("ffprobe"):
        return 1
    result = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "a:0", "-show_entries", "stream=channels",
         "-of", "csv=p=0", str(path)], capture_output=True, text=True)
    return int(result.stdout.strip() or 1)
