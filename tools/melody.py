"""The top voice of a song with basic-pitch's ONNX model: its notes, range and contour.

basic-pitch (Spotify, ICASSP 2022) gives per-frame note activations for the 88 piano keys at
about 86 frames per second. The model runs here directly with onnxruntime, on 2 s windows
overlapping by 30 frames exactly as `basic_pitch.inference.run_inference` does (importing
that module would pull in TensorFlow). The top voice is, frame by frame, the highest key
from C3 up active above `ACTIVATION`; runs of one key lasting `MIN_NOTE_S` or more are its notes.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib.util import find_spec
from pathlib import Path

import librosa
import numpy as np
import onnxruntime

from linernotes.tools.audio import Audio
from linernotes.tools.runtime import onnx_session
from linernotes.tools.schema import Melody

SAMPLE_RATE = 22050
FFT_HOP = 256
FRAMES_PER_S = SAMPLE_RATE // FFT_HOP  # basic-pitch's ANNOTATIONS_FPS (86)
WINDOW_SAMPLES = SAMPLE_RATE * 2 - FFT_HOP  # AUDIO_N_SAMPLES
OVERLAP_FRAMES = 30
LOWEST_MIDI = 21  # A0, the first of the 88 keys
# Keys below C3 are left out of the top voice: where the tune rests they would be the bass line.
MELODY_FLOOR_MIDI = 48
ACTIVATION = 0.5
MIN_NOTE_S = 0.12  # basic-pitch's default minimum note length is 127.7 ms
# Contour: mean pitch of the first, middle and last thirds must differ by this many semitones.
CONTOUR_SEMITONES = 2.0
# Windows per model call: four keep the model's activations near 60 MB (eight: 130 MB), at
# the same speed; each window's output does not depend on the batch.
_BATCH = 4


@dataclass(frozen=True)
class Note:
    start: float
    end: float
    midi: int


@dataclass
class MelodyFrames:
    """The top voice's notes over a whole song, sliced per span by `melody()`."""

    notes: list[Note]

    def melody(self, *, start: float | None = None, end: float | None = None) -> Melody:
        """Range and contour of the notes sounding in the span (whole song by default)."""
        start = 0.0 if start is None else start
        end = np.inf if end is None else end
        notes = [Note(max(note.start, start), min(note.end, end), note.midi)
                 for note in self.notes if note.end > start and note.start < end]
        if not notes:
            return Melody(lowest_note=None, highest_note=None, range_semitones=None,
                          contour=None, note_count=0)
        pitches = [note.midi for note in notes]
        return Melody(lowest_note=librosa.midi_to_note(min(pitches), unicode=False),
                      highest_note=librosa.midi_to_note(max(pitches), unicode=False),
                      range_semitones=max(pitches) - min(pitches), contour=contour(notes),
                      note_count=len(notes))


def contour(notes: list[Note]) -> str:
    """The line's shape from the duration-weighted mean pitch of its first, middle, last thirds.

    "flat" within `CONTOUR_SEMITONES`; "rising"/"falling" when the ends differ by that much
    and the middle lies between them; "arch"/"valley" when the middle stands above/below both
    ends; otherwise "wandering".
    """
    first, last = notes[0].start, max(note.end for note in notes)
    edges = np.linspace(first, last, 4)
    thirds = []
    for low, high in zip(edges[:-1], edges[1:]):
        weights = np.array([max(0.0, min(note.end, high) - max(note.start, low)) for note in notes])
        pitches = np.array([note.midi for note in notes], dtype=float)
        thirds.append(np.average(pitches, weights=weights) if weights.sum() > 0 else np.nan)
    begin, middle, end = thirds
    pitches = [note.midi for note in notes]
    if max(pitches) - min(pitches) <= CONTOUR_SEMITONES:
        return "flat"
    if np.isnan(thirds).any():  # a silent third: no shape to name
        return "wandering"
    low, high = min(begin, end), max(begin, end)
    if high - low >= CONTOUR_SEMITONES and low - 1 <= middle <= high + 1:
        return "rising" if end > begin else "falling"
    if middle - high >= CONTOUR_SEMITONES:
        return "arch"
    if low - middle >= CONTOUR_SEMITONES:
        return "valley"
    return "wandering"


@lru_cache(maxsize=1)
def _session() -> onnxruntime.InferenceSession:
    # Located without importing basic_pitch, whose __init__ logs warnings about TensorFlow.
    model = Path(find_spec("basic_pitch").origin).parent / "saved_models/icassp_2022/nmp.onnx"
    return onnx_session(model)


def note_activations(samples: np.ndarray) -> np.ndarray:
    """basic-pitch's (frames, 88) note activations of a 22.05 kHz signal."""
    windows = signal_windows(samples)
    session = _session()
    outputs = [session.run(["StatefulPartitionedCall:1"], {"serving_default_input_2:0": batch})[0]
               for batch in np.array_split(windows, int(np.ceil(len(windows) / _BATCH)))]
    notes = np.concatenate(outputs)
    trim = OVERLAP_FRAMES // 2
    notes = notes[:, trim:-trim].reshape(-1, notes.shape[-1])
    return notes[:int(len(samples) * FRAMES_PER_S / SAMPLE_RATE)]


def signal_windows(samples: np.ndarray) -> np.ndarray:
    """The model's input windows, (windows, `WINDOW_SAMPLES`, 1), as basic-pitch cuts them.

    The signal after ``overlap // 2`` zeros, cut every ``WINDOW_SAMPLES - overlap`` samples,
    the last window zero-padded at the end. Each window is filled straight from the signal
    (no padded copy of the whole song, no list of per-window copies).
    """
    overlap = OVERLAP_FRAMES * FFT_HOP
    hop = WINDOW_SAMPLES - overlap
    count = len(range(0, len(samples) + overlap // 2, hop))
    windows = np.zeros((count, WINDOW_SAMPLES, 1), np.float32)
    for index in range(count):
        start = index * hop - overlap // 2
        piece = samples[max(start, 0):start + WINDOW_SAMPLES]
        windows[index, max(-start, 0):max(-start, 0) + len(piece), 0] = piece
    return windows


def top_voice(activations: np.ndarray) -> list[Note]:
    """Notes of the highest active key, frame by frame, kept when they last `MIN_NOTE_S`."""
    active = activations >= ACTIVATION
    active[:, :MELODY_FLOOR_MIDI - LOWEST_MIDI] = False
    has_note = active.any(axis=1)
    highest = np.where(has_note, activations.shape[1] - 1 - np.argmax(active[:, ::-1], axis=1), -1)
    notes, run_start = [], 0
    min_frames = int(np.ceil(MIN_NOTE_S * FRAMES_PER_S))
    for frame in range(1, len(highest) + 1):
        if frame < len(highest) and highest[frame] == highest[run_start]:
            continue
        if highest[run_start] >= 0 and frame - run_start >= min_frames:
            notes.append(Note(start=run_start / FRAMES_PER_S, end=frame / FRAMES_PER_S,
                              midi=int(highest[run_start]) + LOWEST_MIDI))
        run_start = frame
    return notes


def run(audio: Audio, *, config) -> MelodyFrames:
    """The melody detector's entry: the whole song's top voice."""
    return transcribe_melody(audio)


def transcribe_melody(audio: Audio) -> MelodyFrames:
    """The top voice of the whole song (basic-pitch note activations, highest active key)."""
    return MelodyFrames(notes=top_voice(note_activations(audio.at(SAMPLE_RATE))))
