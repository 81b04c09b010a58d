"""Decoding: any supported file to one mono float32 signal at the analysis rate.

The whole song is decoded once, in blocks, straight to mono at `ANALYSIS_RATE`; the
other rates the models need are derived from that single copy on demand and cached.
A stretch of a file can be decoded alone (`load_audio(start_s=..., length_s=...)`): the
long-form mode (`tools.longform`) analyses a long file chunk by chunk that way.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import stat
import subprocess
import sys
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from linernotes.tools.settings import LONGFORM_OVERLAP_S, MAX_DURATION_S, chunk_plan, chunk_seconds

ANALYSIS_RATE = 44100
_BLOCK_FRAMES = 1 << 18
# Formats libsndfile cannot read; ffmpeg decodes them when it is installed.
_SAMPLE_BYTES = {"PCM_U8": 1, "PCM_16": 2, "PCM_24": 3, "PCM_32": 4, "FLOAT": 4, "DOUBLE": 8}
_FFMPEG_SUFFIXES = {".m4a", ".aac", ".mp4", ".wma", ".opus", ".webm", ".mka"}
# Shorter files are refused: no detector measures anything in less (a tempo needs beats).
MIN_DURATION_S = 0.5
# An Ogg page is at most 65,307 bytes: the last page starts within this tail.
_OGG_TAIL_BYTES = 1 << 17
# How many frames at the end of a stream the probe decodes to see that it is whole.
_TAIL_FRAMES = 1024
# Peak resident memory of an analysis, measured with evals/bench_long.py (the CLI, 2026-12-02):
# 1185 MiB for 4 minutes decoded whole, 1475 MiB for 12 minutes in 6-minute chunks, 1854 MiB
# for 30 minutes in 10-minute chunks: about 1000 MiB (models) plus 100 MiB per minute decoded
# at once, which the long-form mode caps at one chunk, plus what each minute of the file adds
# whatever the chunk (the spliced frames: beats, key evidence, tag patches), at most 4 MiB
# (905 MiB for 4 minutes in 2-minute chunks, 938 MiB for 12). Rounded up, to stay above.
_ANALYSIS_BASE_BYTES = 1000 * 2**20
_ANALYSIS_BYTES_PER_MINUTE = 100 * 2**20
_FRAME_BYTES_PER_MINUTE = 4 * 2**20
# Share of the machine's memory an analysis may plan to use.
_MEMORY_SHARE = 0.8


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
    offset_s: float = 0.0  # where these samples start in the file (a chunk of a long file)
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


def check_path(path: str | Path, *, max_duration_s: float | None = None) -> Path:
    """The path, if it names a readable audio file with a sound header; else an `AudioError`.

    Cheap (a few system calls and the header, see `probe_audio`): the command line calls it
    before any model loads. The duration limit is checked only when `max_duration_s` is given.
    """
    return probe_audio(path, max_duration_s=max_duration_s).path


def _check_file(path: str | Path) -> Path:
    """The path, if it names a readable non-empty regular file; else an `AudioError`."""
    path = Path(path)
    try:
        status = path.stat()
    except FileNotFoundError:
        if path.is_symlink():
            raise AudioError(f"{path}: broken symbolic link (its target does not exist)") from None
        raise AudioError(f"{path}: no such file") from None
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise AudioError(f"{path}: symbolic link loop") from None
        raise AudioError(f"{path}: cannot be opened ({error.strerror})") from None
    if stat.S_ISDIR(status.st_mode):
        raise AudioError(f"{path}: is a directory, not an audio file")
    if not stat.S_ISREG(status.st_mode):
        raise AudioError(f"{path}: not a regular file (a pipe, socket or device cannot be analysed)")
    if status.st_size == 0:
        raise AudioError(f"{path}: the file is empty")
    if not os.access(path, os.R_OK):
        raise AudioError(f"{path}: permission denied (the file is not readable)")
    return path


@dataclass(frozen=True)
class AudioInfo:
    """What a file's header says, read without decoding."""

    path: Path
    format: str  # libsndfile's name: "WAV", "FLAC", "OGG", "MP3"...; "ffmpeg" when ffmpeg decodes
    sample_rate: int
    channels: int
    duration_s: float | None  # None when only decoding can tell


def probe_audio(
    path: str | Path,
    *,
    max_duration_s: float | None = MAX_DURATION_S,
    min_duration_s: float = MIN_DURATION_S,
    memory_budget_bytes: int | None = None,
) -> AudioInfo:
    """Check a file from its header alone: readable, a known format, not too short or long, whole.

    Reads the header (and, for Ogg, the last page), so a bad file is told in milliseconds,
    before anything heavy loads. Decoding (`load_audio`) makes the same checks again on the
    samples themselves. `max_duration_s` None: no limit. With a duration limit, the memory
    an analysis of this length needs (`analysis_memory_bytes`) is checked against
    `memory_budget_bytes`, by default `memory_budget()`.

    Raises
    ------
    AudioError
        For a path that is not a readable file, an unknown or corrupt format, a header that
        promises more data than the file holds, or a duration outside the limits.
    """
    path = _check_file(path)
    if path.suffix.lower() in _FFMPEG_SUFFIXES:
        if not shutil.which("ffmpeg"):
            raise AudioError(f"{path}: this format needs ffmpeg, which is not installed "
                             "(apt-get install ffmpeg)")
        return _probe_ffmpeg(path, max_duration_s=max_duration_s, min_duration_s=min_duration_s,
                             memory_budget_bytes=memory_budget_bytes)
    try:
        with _quiet_stderr():
            info = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError, TypeError):
        if _starts_with(path, b"OggS") and not _ogg_ends_properly(path):
            raise AudioError(f"{path}: truncated audio, the Ogg stream stops without its end mark "
                             "(the file was cut short)") from None
        if shutil.which("ffmpeg"):
            return _probe_ffmpeg(path, max_duration_s=max_duration_s, min_duration_s=min_duration_s,
                                 memory_budget_bytes=memory_budget_bytes)
        raise AudioError(f"{path}: not a readable audio file "
                         "(unrecognised format or corrupt data)") from None
    if info.samplerate <= 0 or info.channels <= 0:
        raise AudioError(f"{path}: not a readable audio file (no sample rate or channels in its header)")
    frames = info.frames
    if info.format == "WAV":
        frame_bytes = _SAMPLE_BYTES.get(info.subtype, 0) * info.channels
        declared = _declared_wav_bytes(path) // frame_bytes if frame_bytes else 0
        if declared:
            raise AudioError(f"{path}: truncated audio, the header promises "
                             f"{_clock(declared / info.samplerate)} but the file holds "
                             f"{_clock(frames / info.samplerate)}")
    if info.format == "OGG" and not _ogg_ends_properly(path):
        raise AudioError(f"{path}: truncated audio, the Ogg stream stops without its end mark "
                         f"after {_clock(frames / info.samplerate)} (the file was cut short)")
    if info.format not in ("WAV", "MP3", "OGG") and frames > 0 and not _last_frames_decode(path, frames):
        raise AudioError(f"{path}: truncated audio, the header promises "
                         f"{_clock(frames / info.samplerate)} but the end of the stream is missing")
    duration_s = frames / info.samplerate if frames > 0 else None
    if duration_s is not None:
        if max_duration_s is not None:
            _check_duration(path, duration_s, max_duration_s)
            _check_memory(path, duration_s, memory_budget_bytes or memory_budget())
        _check_not_too_short(path, duration_s, min_duration_s)
    return AudioInfo(path=path, format=info.format, sample_rate=info.samplerate,
                     channels=info.channels, duration_s=duration_s)


def _probe_ffmpeg(path: Path, *, max_duration_s, min_duration_s, memory_budget_bytes) -> AudioInfo:
    """What ffprobe reads of a file libsndfile cannot: its first audio stream, or an `AudioError`."""
    command = ["ffprobe", "-v", "error", "-select_streams", "a:0", "-show_entries",
               "stream=sample_rate,channels:format=duration", "-of", "default=noprint_wrappers=1", str(path)]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        raise AudioError(f"{path}: not a readable audio file (ffprobe could not read it)") from None
    fields = dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)
    rate, channels = fields.get("sample_rate", ""), fields.get("channels", "")
    if result.returncode != 0 or not (rate.isdigit() and int(rate) > 0 and channels.isdigit() and int(channels) > 0):
        raise AudioError(f"{path}: not a readable audio file (unrecognised format or corrupt data)")
    try:
        duration_s = float(fields.get("duration", ""))
    except ValueError:
        duration_s = None
    if duration_s is not None:
        if max_duration_s is not None:
            _check_duration(path, duration_s, max_duration_s)
            _check_memory(path, duration_s, memory_budget_bytes or memory_budget())
        _check_not_too_short(path, duration_s, min_duration_s)
    return AudioInfo(path=path, format="ffmpeg", sample_rate=int(rate), channels=int(channels),
                     duration_s=duration_s)


def analysis_memory_bytes(duration_s: float, *, chunk_s: float | None = None) -> int:
    """About how much memory analysing `duration_s` of audio takes at its peak (measured).

    A file longer than `chunk_s` (default `settings.chunk_seconds()`) is analysed in
    chunks (`tools.longform`), so only one chunk and its overlaps are decoded at a time:
    beyond that length the need grows only by the whole-song frames kept per chunk.
    """
    chunk_s = chunk_seconds() if chunk_s is None else chunk_s
    if duration_s <= chunk_s:
        decoded_s = duration_s
    else:  # the longest stretch decoded at once: an inner chunk and its overlap on both sides
        decoded_s = chunk_plan(duration_s, chunk_s=chunk_s)[1] + 2 * LONGFORM_OVERLAP_S
    return int(_ANALYSIS_BASE_BYTES + decoded_s / 60.0 * _ANALYSIS_BYTES_PER_MINUTE
               + duration_s / 60.0 * _FRAME_BYTES_PER_MINUTE)


def memory_budget() -> int:
    """The memory an analysis may plan to use: 80 % of the machine's physical memory."""
    return int(_MEMORY_SHARE * os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))


def _check_memory(path: Path, duration_s: float, budget_bytes: int) -> None:
    needed = analysis_memory_bytes(duration_s)
    if needed > budget_bytes:
        raise AudioError(f"{path}: analysing {_clock(duration_s)} of audio needs about "
                         f"{needed / 2**30:.1f} GiB of memory, over the {budget_bytes / 2**30:.1f} GiB "
                         "budget (80 % of this machine's memory): set a shorter chunk length "
                         "(LINERNOTES_CHUNK_SECONDS) or use a larger machine")


def _check_not_too_short(path: Path, duration_s: float, min_duration_s: float) -> None:
    if duration_s < min_duration_s:
        raise AudioError(f"{path}: too short to analyse ({duration_s * 1000:.3g} ms; "
                         f"at least {min_duration_s:g} s is needed)")


def _starts_with(path: Path, magic: bytes) -> bool:
    with open(path, "rb") as handle:
        return handle.read(len(magic)) == magic


def _last_frames_decode(path: Path, frames: int) -> bool:
    """Whether the stream's last frames can be reached and decoded (a cut FLAC cannot)."""
    try:
        with _quiet_stderr(), sf.SoundFile(str(path)) as handle:
            handle.seek(max(0, frames - _TAIL_FRAMES))
            return len(handle.read(_TAIL_FRAMES)) > 0
    except (sf.LibsndfileError, RuntimeError):
        return False


def _ogg_ends_properly(path: Path) -> bool:
    """Whether the last Ogg page of the file carries the end-of-stream flag."""
    size = path.stat().st_size
    with open(path, "rb") as handle:
        handle.seek(max(0, size - _OGG_TAIL_BYTES))
        tail = handle.read()
    position = tail.rfind(b"OggS")
    if position < 0 or position + 27 > len(tail):
        return False
    # A page header: flags at byte 5 (0x04 marks a stream's last page), then at byte 26 the
    # count of segments, whose lengths follow; the page body is their sum.
    segments = tail[position + 26]
    table = tail[position + 27: position + 27 + segments]
    whole = len(table) == segments and position + 27 + segments + sum(table) <= len(tail)
    return whole and bool(tail[position + 5] & 0x04)


def load_audio(
    path: str | Path,
    *,
    sample_rate: int = ANALYSIS_RATE,
    max_duration_s: float = MAX_DURATION_S,
    start_s: float = 0.0,
    length_s: float | None = None,
    sha256: str | None = None,
) -> Audio:
    """Decode an audio file, or a stretch of it, to mono float32 at `sample_rate`.

    Parameters
    ----------
    path : str or Path
        mp3, wav, flac, ogg, aiff (and m4a/aac and other ffmpeg formats when ffmpeg is on PATH).
    sample_rate : int
        Rate of the returned signal.
    max_duration_s : float
        Longer files are refused before decoding, with an error saying how to raise the limit.
    start_s, length_s : float
        Decode only `length_s` seconds from `start_s` (None: to the end); `Audio.offset_s`
        keeps `start_s`. libsndfile formats seek, ffmpeg formats are cut by ffmpeg.
    sha256 : str, optional
        The file's digest when the caller has it already (each chunk of a long file).

    Raises
    ------
    AudioError
        For a missing, empty, unreadable, truncated or over-long file.
    """
    path = probe_audio(path, max_duration_s=max_duration_s).path
    sha256 = sha256 or file_sha256(path)
    span = (max(0.0, start_s), length_s)
    if path.suffix.lower() in _FFMPEG_SUFFIXES:
        samples, native_rate, channels, tags = _decode_ffmpeg(path, sample_rate, max_duration_s, span)
    else:
        samples, native_rate, channels, tags = _decode_soundfile(path, sample_rate, max_duration_s, span)
    if samples.size == 0:
        raise AudioError(f"{path}: contains no audio samples")
    _check_not_too_short(path, samples.size / sample_rate, MIN_DURATION_S)
    invalid = ~np.isfinite(samples)
    if invalid.any():
        first = int(np.argmax(invalid)) / sample_rate
        raise AudioError(f"{path}: {int(invalid.sum())} of {samples.size} decoded samples are NaN "
                         f"or infinite (the first at {_clock(first)}): the file holds invalid data")
    return Audio(
        samples=samples,
        sample_rate=sample_rate,
        path=str(path),
        sha256=sha256,
        channels=channels,
        native_rate=native_rate,
        title=tags.get("title") or path.stem,
        artist=tags.get("artist"),
        offset_s=span[0],
    )


def _check_duration(path: Path, duration_s: float, max_duration_s: float) -> None:
    if duration_s > max_duration_s:
        # Minutes rounded up: the limit the user can type to have it analysed (in chunks).
        allowed = int(np.ceil(duration_s / 60.0)) * 60
        raise AudioError(
            f"{path}: {_clock(duration_s)} long, over the {_clock(max_duration_s)} limit "
            f"(raise it with --max-duration {allowed} to analyse it in chunks)"
        )


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _decode_soundfile(path: Path, sample_rate: int, max_duration_s: float,
                      span: tuple[float, float | None] = (0.0, None)):
    try:
        with _quiet_stderr():
            handle = sf.SoundFile(str(path))
    except (sf.LibsndfileError, RuntimeError, TypeError):
        if shutil.which("ffmpeg"):
            return _decode_ffmpeg(path, sample_rate, max_duration_s, span)
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
        first = int(round(span[0] * native_rate))
        wanted = None if span[1] is None else int(round(span[1] * native_rate))
        pieces, decoded = [], 0
        try:
            if first:
                handle.seek(first)
            while True:
                size = _BLOCK_FRAMES if wanted is None else min(_BLOCK_FRAMES, wanted - decoded)
                block = handle.read(size, dtype="float32", always_2d=True)
                done = len(block) < size or (wanted is not None and decoded + len(block) >= wanted)
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
    if first or wanted is not None:  # a stretch: what of it the file should hold
        expected = max(0, expected - first) if wanted is None else min(wanted, max(0, expected - first))
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


def _decode_ffmpeg(path: Path, sample_rate: int, max_duration_s: float,
                   span: tuple[float, float | None] = (0.0, None)):
    if not shutil.which("ffmpeg"):
        raise AudioError(f"{path}: this format needs ffmpeg, which is not installed "
                         "(apt-get install ffmpeg)")
    # -ss before -i seeks the input (decoding from the nearest point, then exact); -t cuts.
    seek = ["-ss", f"{span[0]:.6f}"] if span[0] > 0 else []
    length = max_duration_s + 1 if span[1] is None else span[1]
    command = ["ffmpeg", "-v", "error", "-nostdin", *seek, "-i", str(path), "-t", f"{length:.6f}",
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
