"""Long-form mode: a file longer than one chunk, analysed chunk by chunk in bounded memory.

The file is cut into consecutive chunks of about `settings.chunk_seconds()` (10 minutes by
default), each decoded alone (`load_audio(start_s=..., length_s=...)`) with
`LONGFORM_OVERLAP_S` of context on each side, and run through the same whole-song passes
as a song (`tools.analyze.run_song_passes`). Of each chunk only its detectors' frames are
kept, cut to the chunk's own stretch (the overlap is discarded) and shifted to file time;
the frames of all chunks are then spliced into the frames of one whole-song `SongPasses`.
Every later engine step (`plan_segments`, `describe_segment`, `summarize`,
`assemble_analysis`) runs unchanged on those spliced frames, so the song's key, key
changes, tags and verdict come from the whole file's evidence by the same rules as for a
song analysed whole.

Where splicing is not the whole-song computation, it says so in `summary.notes`: the tempo
is the duration-weighted median of the chunks' tempos, section boundaries at the seams are
seams, and repeated material is only matched within a chunk. Loudness is exact: the 100 ms
K-weighted block powers are accumulated over the whole file (the filter state carried from
one chunk to the next), and BS.1770 gating runs over all of them.

Chunks start on an 8 s grid (`LONGFORM_GRID_S`): whole key-evidence steps (1.6 s),
loudness blocks (0.1 s) and seconds, so spliced frames sit where the whole song's would.
"""

from __future__ import annotations

import ctypes
import dataclasses
import gc
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import soundfile
from scipy import signal

from linernotes.tools import detectors, melody, rhythm, speech, tagging, tonality, verdict, vibe
from linernotes.tools.analyze import AnalysisConfig, Progress, SongPasses, run_song_passes, summarize
from linernotes.tools.audio import Audio, file_sha256, load_audio, probe_audio
from linernotes.tools.loudness import k_weighting, loudness_from_powers, weighted_block_powers
from linernotes.tools.schema import Chord, LoudnessResult, RhythmResult, Summary
from linernotes.tools.settings import LONGFORM_GRID_S, LONGFORM_OVERLAP_S, chunk_plan, chunk_seconds
from linernotes.tools.structure import SectionSpan
from linernotes.tools.vocabulary import CHUNKED_NOTE

_BLOCK_S = 0.1  # BS.1770's gating blocks are built from 100 ms sub-blocks (as tools.loudness)
# A piece of a section left at a seam shorter than this joins its neighbour in the chunk.
_MIN_SECTION_S = 4.0
_SEAM_EPSILON_S = 1e-6


@dataclass(frozen=True)
class LongFile:
    """A file to analyse in chunks: what its header says, read before anything decodes."""

    path: str
    duration_s: float
    chunk_s: float


@dataclass(frozen=True)
class Chunk:
    """One chunk: its own stretch [start, end) of the file, and the wider stretch decoded."""

    index: int
    start: float
    end: float  # math.inf for the last chunk: it runs to wherever the file's audio ends
    decode_start: float
    decode_length: float | None  # None: to the end of the file


@dataclass
class LongAudio:
    """The facts about a chunked file that the analysis's `Source` reads (no samples kept)."""

    path: str
    sha256: str
    duration_s: float
    sample_rate: int
    channels: int
    native_rate: int
    title: str | None = None
    artist: str | None = None
    offset_s: float = 0.0


@dataclass
class LongPasses(SongPasses):
    """Whole-song frames spliced from the chunks', with how the file was cut."""

    chunks: list[Chunk] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class _ChunkFrames:
    """What is kept of an analysed chunk: its frames, in chunk time, and where it lies."""

    chunk: Chunk
    end: float  # the chunk's end in file time (the last one's from its decoded length)
    frames: dict[str, Any]
    timings: dict[str, float]

    @property
    def offset(self) -> float:
        return self.chunk.decode_start

    @property
    def start(self) -> float:
        return self.chunk.start

    @property
    def length(self) -> float:
        return self.end - self.chunk.start

    def inside(self, times: np.ndarray) -> np.ndarray:
        """Which of these file times fall in the chunk's own stretch."""
        return (times >= self.start - _SEAM_EPSILON_S) & (times < self.end - _SEAM_EPSILON_S)


def long_file(path: str | Path, *, config: AnalysisConfig, chunk_s: float | None = None) -> LongFile | None:
    """The file as a `LongFile` when it is longer than one chunk, else None (analyse it whole).

    Raises
    ------
    AudioError
        As `probe_audio`: an unreadable file, or one over `config.max_duration_s` or the memory budget.
    """
    info = probe_audio(path, max_duration_s=config.max_duration_s)
    chunk_s = chunk_seconds(chunk_s)
    if info.duration_s is None or info.duration_s <= chunk_s:
        return None  # a length only decoding can tell: decoded whole, under the duration limit
    return LongFile(path=str(path), duration_s=info.duration_s, chunk_s=chunk_s)


def plan_chunks(duration_s: float, *, chunk_s: float, overlap_s: float = LONGFORM_OVERLAP_S) -> list[Chunk]:
    """Equal chunks of at most about `chunk_s`, on the grid, each decoded with `overlap_s` either side."""
    count, core = chunk_plan(duration_s, chunk_s=chunk_s)
    overlap_s = math.ceil(overlap_s / LONGFORM_GRID_S) * LONGFORM_GRID_S
    chunks: list[Chunk] = []
    for index in range(count):
        start = index * core
        last = index == count - 1 or (index + 1) * core >= duration_s
        decode_start = max(0.0, start - overlap_s)
        chunks.append(Chunk(index=index, start=float(start), end=math.inf if last else float(start + core),
                            decode_start=float(decode_start),
                            decode_length=None if last else float(start + core + overlap_s - decode_start)))
        if last:
            break
    return chunks


def run_long_passes(long: LongFile, *, config: AnalysisConfig = AnalysisConfig(),
                    progress: Progress | None = None) -> LongPasses:
    """Every chunk through `run_song_passes`, one at a time, spliced into whole-song frames.

    Only one chunk's audio is held at a time; its frames are small (beats, key evidence
    every 1.6 s, tag patches), so memory stays about that of analysing one chunk.
    """
    sha256 = file_sha256(long.path)
    chunks = plan_chunks(long.duration_s, chunk_s=long.chunk_s)
    meter: _PowerMeter | None = None
    kept: list[_ChunkFrames] = []
    facts: dict[str, Any] = {}
    for chunk in chunks:
        started = time.perf_counter()
        audio = load_audio(long.path, max_duration_s=config.max_duration_s, start_s=chunk.decode_start,
                           length_s=chunk.decode_length, sha256=sha256)
        decoded_s = time.perf_counter() - started
        if meter is None:
            meter = _PowerMeter(long.path, channels=audio.channels)
            facts = dict(channels=audio.channels, native_rate=audio.native_rate, title=audio.title,
                         artist=audio.artist)
        end = chunk.end if math.isfinite(chunk.end) else chunk.decode_start + audio.duration_s
        meter.add(audio, start=chunk.start, end=end)
        # tools.loudness re-reads a multichannel file's channels from disk from its start,
        # not from this chunk's: the chunk's own passes read the decoded mono mix instead.
        # The song's loudness is measured exactly over all channels by `meter`.
        chunk_audio = dataclasses.replace(audio, channels=1, _resampled={})
        del audio
        passes = run_song_passes(chunk_audio, config=config, progress=_chunk_progress(progress, chunk, len(chunks)))
        kept.append(_ChunkFrames(chunk=chunk, end=end, frames=passes.frames,
                                 timings={"decode": decoded_s, **passes.timings}))
        del passes, chunk_audio
        _release_memory()
    duration_s = kept[-1].end
    audio = LongAudio(path=long.path, sha256=sha256, duration_s=duration_s, sample_rate=meter.rate,
                      **facts)
    frames, notes = _splice(kept, loudness=meter.result(duration_s=duration_s), audio=audio, config=config)
    timings: dict[str, float] = {}
    for part in kept:
        for stage, seconds in part.timings.items():
            timings[stage] = timings.get(stage, 0.0) + seconds
    notes = [_chunk_note(kept), *notes]
    return LongPasses(audio=audio, frames=frames, timings=timings, chunks=chunks, notes=notes)


def _release_memory() -> None:
    """Free the chunk's signal and copies, and hand the freed heap back to the system.

    Without the trim, glibc keeps the freed pages of each chunk's many mid-sized buffers:
    measured between four chunks of 40 s, 830-1000 MiB resident untrimmed, 790 MiB each
    time trimmed.
    """
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass  # not glibc: its allocator returns memory its own way


def long_summary(passes: LongPasses) -> Summary:
    """`summarize` of the spliced frames, with how the file was cut and merged in its notes."""
    summary = summarize(passes)
    return summary.model_copy(update={"notes": list(dict.fromkeys([*summary.notes, *passes.notes]))})


def _chunk_progress(progress: Progress | None, chunk: Chunk, count: int) -> Progress | None:
    if progress is None:
        return None
    return lambda stage, fraction: progress(f"chunk {chunk.index + 1}/{count}: {stage}",
                                            (chunk.index + fraction) / count)


def _chunk_note(kept: list[_ChunkFrames]) -> str:
    seams = ", ".join(_clock(part.start) for part in kept[1:])
    return (f"{CHUNKED_NOTE} analysed in {len(kept)} chunks of about {_clock(kept[0].length)} each, to keep "
            f"memory bounded; section boundaries at the chunk seams ({seams}) are seams, not heard "
            "changes, and repeated material is matched within a chunk only")


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


# Loudness over the whole file ---------------------------------------------------------------

class _PowerMeter:
    """The K-weighted power of each 100 ms block of the file, chunk after chunk.

    As `tools.loudness.measure_loudness` on the whole file: a multichannel file that
    libsndfile reads is measured channel by channel from disk, anything else from the
    decoded mono mix scaled by the channel count. The filter state runs on across chunks,
    so the blocks are the whole file's.
    """

    def __init__(self, path: str, *, channels: int) -> None:
        self.path, self.channels = path, channels
        self.from_disk = None
        if channels >= 2:
            try:
                info = soundfile.info(path)
                if info.channels >= 2:
                    self.from_disk = info
            except (RuntimeError, soundfile.LibsndfileError, TypeError, OSError):
                self.from_disk = None
        self.rate: int | None = None
        self.state: np.ndarray | None = None
        self.powers: list[np.ndarray] = []

    def add(self, audio: Audio, *, start: float, end: float) -> None:
        """Measure [start, end) of the file (`audio` holds at least that stretch)."""
        if self.from_disk is not None:
            self._add_from_disk(start=start, end=end)
            self.rate = self.rate or audio.sample_rate
            return
        self.rate = audio.sample_rate
        size = int(round(_BLOCK_S * audio.sample_rate))
        first = int(round((start - audio.offset_s) * audio.sample_rate))
        last = min(len(audio.samples), int(round((end - audio.offset_s) * audio.sample_rate)))
        samples = audio.samples[first:last].astype(np.float64)
        sos = k_weighting(audio.sample_rate)
        if self.state is None:
            self.state = np.zeros((sos.shape[0], 2))
        weighted, self.state = signal.sosfilt(sos, samples, zi=self.state)
        count = len(weighted) // size
        self.powers.append(np.mean(weighted[: count * size].reshape(count, size) ** 2, axis=1)
                           * max(self.channels, 1))

    def _add_from_disk(self, *, start: float, end: float) -> None:
        info = self.from_disk
        size = int(round(_BLOCK_S * info.samplerate))
        first = int(round(start * info.samplerate))
        last = min(info.frames, int(round(end * info.samplerate)))
        count = max(0, last - first) // size
        sos = k_weighting(info.samplerate)
        if self.state is None:
            self.state = np.zeros((info.channels, sos.shape[0], 2))
        if count == 0:
            return
        blocks = soundfile.blocks(self.path, blocksize=size * 100, start=first, frames=count * size,
                                  dtype="float64", always_2d=True)
        self.powers += weighted_block_powers(blocks, sos=sos, state=self.state, size=size)

    def result(self, *, duration_s: float) -> LoudnessResult:
        """Integrated loudness, range and curve from all the blocks, as for a song decoded whole."""
        powers = np.concatenate(self.powers) if self.powers else np.empty(0)
        return loudness_from_powers(powers, duration_s=duration_s)


# Splicing the chunks' frames ----------------------------------------------------------------

# Detectors whose `run` only combines other detectors' frames: run again on the spliced ones.
_DERIVED = ("key_changes", "vocals")


def _splice(kept: list[_ChunkFrames], *, loudness: LoudnessResult, audio: LongAudio,
            config: AnalysisConfig) -> tuple[dict[str, Any], list[str]]:
    """The whole-song frames of every detector in the registry, and notes on how they were merged.

    A detector this module cannot splice gets frames None (as one that did not run) and a note.
    """
    notes: list[str] = []
    silent = all(bool(part.frames.get(detectors.SILENCE)) for part in kept) or loudness.integrated_lufs is None
    frames: dict[str, Any] = {"loudness": loudness, detectors.SILENCE: silent,
                              detectors.SECTIONS: _merge_sections(kept)}
    if not silent:
        frames.update(rhythm=_merge_rhythm(kept), tags=_merge_tags(kept, notes), harmony=_merge_harmony(kept),
                      melody=_merge_melody(kept), vibe=_merge_vibe(kept), speech=_merge_speech(kept))
        if frames["rhythm"] is not None and frames["rhythm"].bpm is not None and len(kept) > 1:
            notes.append("tempo: the duration-weighted median of the chunks' tempos")
    frames["verdict"] = _merge_kinds(kept, frames, notes)
    for detector in detectors.DETECTORS:
        if detector.name in _DERIVED and (detector.on_silence or not silent) \
                and all(name in frames for name in detector.needs):
            frames[detector.name] = detector.run(audio, config=config,
                                                 **{name: frames[name] for name in detector.needs})
        elif detector.name not in frames:
            frames[detector.name] = None
            if not all(part.frames.get(detector.name) is None for part in kept):
                notes.append(f"{detector.name}: not merged across the chunks, so left out")
    return frames, notes


def _present(kept: list[_ChunkFrames], name: str) -> list[tuple[_ChunkFrames, Any]]:
    return [(part, part.frames.get(name)) for part in kept if part.frames.get(name) is not None]


def _splice_times(parts: list[np.ndarray]) -> list[float]:
    """Consecutive chunks' event times as one list; at a seam, an event closer to the last
    one kept than half the local period is the same event seen by both chunks."""
    merged: list[float] = []
    for times in parts:
        times = list(times)
        if merged and times and len(merged) >= 2:
            period = float(np.median(np.diff(merged[-8:])))
            while times and times[0] - merged[-1] < 0.5 * period:
                times.pop(0)
        merged += times
    return [round(float(value), 3) for value in merged]


def _weighted_median(values: list[float], weights: list[float]) -> float:
    order = np.argsort(values)
    cumulative = np.cumsum(np.asarray(weights)[order])
    return float(np.asarray(values)[order][np.searchsorted(cumulative, cumulative[-1] / 2)])


def _merge_rhythm(kept: list[_ChunkFrames]) -> RhythmResult | None:
    present = _present(kept, "rhythm")
    if not present:
        return None
    beats = _splice_times([_shifted(part, result.beats) for part, result in present])
    downbeats = _splice_times([_shifted(part, result.downbeats) for part, result in present])
    paced = [(result.bpm, part.length) for part, result in present if result.bpm is not None]
    total = sum(part.length for part, _ in present)
    meters: dict[str, float] = {}
    for part, result in present:
        if result.time_signature:
            meters[result.time_signature] = meters.get(result.time_signature, 0.0) + part.length
    meter = max(meters, key=meters.get) if meters else None
    in_meter = [(result.meter_confidence, part.length) for part, result in present
                if result.time_signature == meter and meter is not None]
    notes = [f"{note} ({_clock(part.start)}–{_clock(part.end)})" for part, result in present for note in result.notes]
    curve = rhythm.tempo_curve(np.array(beats), downbeats=np.array(downbeats)) if len(beats) >= 2 else []
    return RhythmResult(
        beats=beats, downbeats=downbeats,
        bpm=round(_weighted_median(*zip(*paced)), 2) if paced else None,
        bpm_confidence=round(sum(result.bpm_confidence * part.length for part, result in present) / total, 3),
        time_signature=meter,
        meter_confidence=round(sum(c * w for c, w in in_meter) / sum(w for _, w in in_meter), 3) if in_meter else 0.0,
        tempo_curve=curve, notes=list(dict.fromkeys(notes)))


def _shifted(part: _ChunkFrames, times: list[float]) -> np.ndarray:
    shifted = np.asarray(times, dtype=float) + part.offset
    return shifted[part.inside(shifted)]


def _merge_sections(kept: list[_ChunkFrames]) -> list[SectionSpan]:
    """The chunks' sections cut to their own stretches; clusters renamed so that no two chunks
    share a letter (their material was never compared), and an intro or outro at a seam unnamed."""
    merged: list[SectionSpan] = []
    names: dict[tuple[int, str], str] = {}
    for part in kept:
        pieces = []
        for section in part.frames.get(detectors.SECTIONS) or []:
            start = max(section.start + part.offset, part.start)
            end = min(section.end + part.offset, part.end)
            if end - start > _SEAM_EPSILON_S:
                pieces.append(section.model_copy(update={"start": start, "end": end}))
        if not pieces:
            pieces = detectors.single_section(part.end - part.start)
        while len(pieces) > 1 and pieces[0].end - pieces[0].start < _MIN_SECTION_S:
            pieces = [pieces[1].model_copy(update={"start": pieces[0].start}), *pieces[2:]]
        while len(pieces) > 1 and pieces[-1].end - pieces[-1].start < _MIN_SECTION_S:
            pieces = [*pieces[:-2], pieces[-2].model_copy(update={"end": pieces[-1].end})]
        pieces[0] = pieces[0].model_copy(update={"start": part.start})
        pieces[-1] = pieces[-1].model_copy(update={"end": part.end})
        for position, section in enumerate(pieces):
            base = section.cluster.rstrip("'")
            if (part.chunk.index, base) not in names:
                names[(part.chunk.index, base)] = _letters(len(names))
            update: dict[str, Any] = {"cluster": names[(part.chunk.index, base)] + section.cluster[len(base):]}
            at_seam = (position == 0 and part is not kept[0]) or (position == len(pieces) - 1 and part is not kept[-1])
            if at_seam and section.label in ("intro", "outro"):
                update |= {"label": "section", "label_confidence": 0.2}
            merged.append(section.model_copy(update=update))
    return merged


def _letters(index: int) -> str:
    """A, B, ... Z, AA, AB, ...: cluster names for any number of distinct materials."""
    name = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        name = chr(ord("A") + remainder) + name
    return name


def _merge_tags(kept: list[_ChunkFrames], notes: list[str]) -> tagging.TagFrames | None:
    present = _present(kept, "tags")
    if not present:
        return None
    first = present[0][1]
    if any(frames.backend != first.backend or set(frames.scores) != set(first.scores) for _, frames in present):
        notes.append("tags: the chunks were tagged by different models, so no song-wide tags")
        return None
    masks = [part.inside(frames.starts + part.offset + frames.patch_s / 2) for part, frames in present]
    return dataclasses.replace(
        first,
        starts=np.concatenate([frames.starts[mask] + part.offset for (part, frames), mask in zip(present, masks)]),
        scores={key: np.concatenate([frames.scores[key][mask] for (_, frames), mask in zip(present, masks)])
                for key in first.scores},
        embeddings=np.concatenate([frames.embeddings[mask] for (_, frames), mask in zip(present, masks)]),
        audible=np.concatenate([frames.audible[mask] for (_, frames), mask in zip(present, masks)]),
        notes=list(dict.fromkeys(note for _, frames in present for note in frames.notes)))


def _merge_vibe(kept: list[_ChunkFrames]) -> vibe.VibeFrames | None:
    present = _present(kept, "vibe")
    if not present:
        return None
    masks = [part.inside(frames.starts + part.offset + vibe.WINDOW_S / 2) for part, frames in present]
    names = present[0][1].values.keys()
    return vibe.VibeFrames(
        starts=np.concatenate([frames.starts[mask] + part.offset for (part, frames), mask in zip(present, masks)]),
        values={name: np.concatenate([frames.values[name][mask] for (_, frames), mask in zip(present, masks)])
                for name in names})


def _merge_melody(kept: list[_ChunkFrames]) -> melody.MelodyFrames | None:
    present = _present(kept, "melody")
    if not present:
        return None
    notes = [melody.Note(note.start + part.offset, note.end + part.offset, note.midi)
             for part, frames in present for note in frames.notes
             if part.inside(np.array([note.start + part.offset]))[0]]
    return dataclasses.replace(present[0][1], notes=notes)


def _merge_harmony(kept: list[_ChunkFrames]) -> detectors.Harmony | None:
    present = _present(kept, "harmony")
    if not present:
        return None
    period = tonality.LOGIT_PERIOD_S
    placed = []
    for part, harmony in present:
        first = int(round(part.offset / period))
        steps = first + np.arange(len(harmony.tonality.logits))
        placed.append((part, harmony.tonality, steps, part.inside(steps * period)))
    total = max(int(steps[mask].max()) + 1 for _, _, steps, mask in placed if mask.any()) if any(
        mask.any() for *_, mask in placed) else 0
    logits, level = np.zeros((total, 24)), np.zeros(total)
    pitch_classes, pitch_weight = np.zeros((total, 12)), np.zeros(total)
    for _, evidence, steps, mask in placed:
        logits[steps[mask]] = evidence.logits[mask]
        level[steps[mask]] = evidence.level[mask]
        pitch_classes[steps[mask]] = evidence.pitch_classes[mask]
        pitch_weight[steps[mask]] = evidence.pitch_weight[mask]
    merged = tonality.Tonality(logits=logits, level=level, duration_s=kept[-1].end,
                               pitch_classes=pitch_classes, pitch_weight=pitch_weight)
    chords: list[Chord] = []
    for part, harmony in present:
        for chord in harmony.chords:
            start = max(chord.start + part.offset, part.start)
            end = min(chord.end + part.offset, part.end)
            if end - start < 0.05:
                continue
            if chords and chords[-1].label == chord.label and start - chords[-1].end < 0.05:
                chords[-1] = chords[-1].model_copy(update={"end": round(end, 3)})  # one chord cut by a seam
                continue
            chords.append(chord.model_copy(update={"start": round(start, 3), "end": round(end, 3)}))
    return detectors.Harmony(tonality=merged, chords=chords)


def _merge_kinds(kept: list[_ChunkFrames], frames: dict[str, Any], notes: list[str]) -> verdict.SoundKinds | None:
    """The verdict's evidence: the spliced frames it reads, and its per-second high-band shares."""
    present = _present(kept, "verdict")
    if not present:
        return None
    known = {"silent", "loudness", "rhythm", "tonality", "tags", "high_share"}
    if {item.name for item in dataclasses.fields(verdict.SoundKinds)} != known:
        notes.append("verdict: its evidence changed shape, so it was not merged across the chunks")
        return None
    shares = np.zeros(int(math.ceil(kept[-1].end)))
    for part, kinds in present:
        seconds = int(round(part.offset)) + np.arange(len(kinds.high_share))
        mask = part.inside(seconds.astype(float)) & (seconds < len(shares))
        shares[seconds[mask]] = kinds.high_share[mask]
    harmony = frames.get("harmony")
    return verdict.SoundKinds(silent=frames[detectors.SILENCE], loudness=frames["loudness"],
                              rhythm=frames.get("rhythm"), tonality=harmony.tonality if harmony else None,
                              tags=frames.get("tags"), high_share=shares)


def _merge_speech(kept: list[_ChunkFrames]) -> speech.SpeechFrames | None:
    present = _present(kept, "speech")
    if not present:
        return None
    masks = [part.inside(frames.times + part.offset) for part, frames in present]
    return dataclasses.replace(
        present[0][1],
        times=np.concatenate([frames.times[mask] + part.offset for (part, frames), mask in zip(present, masks)]),
        probability=np.concatenate([frames.probability[mask] for (_, frames), mask in zip(present, masks)]),
        notes=list(dict.fromkeys(note for _, frames in present for note in frames.notes)))
