"""Speech activity per 32 ms frame of a whole song, from Silero VAD.

Silero VAD (MIT, the `silero-vad` wheel) is a small recurrent network trained to tell speech
from everything else, music included. Its "sequence" ONNX export takes a block of 512-sample
frames of 16 kHz audio (each prefixed by the 64 samples before it) and runs the recurrence
over the block inside one call, carrying its LSTM state from block to block: the same
probabilities as the frame-by-frame model, bit for bit, for a handful of calls per song
(a 4-minute song: 7,500 frames in 15 calls, about 0.6 s of CPU).

Only the model file is read from the package: importing `silero_vad` would import torch
and set its global thread count.

On speech Silero saturates, while music that merely resembles speech (a filter-swept
synth, a sung line) keeps it hovering between 0.5 and 0.99: of the frames it calls speech,
read speech has 0.3-0.8 at 0.999 or more (alone, or 3 dB over jazz), the evalset's songs
0.03 at most. `SpeechFrames.span` reports both the share of a span Silero calls speech and
how sure it is there, so a caller can tell the two apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from importlib.util import find_spec
from pathlib import Path

import numpy as np
import onnxruntime

from linernotes.tools.audio import Audio
from linernotes.tools.runtime import onnx_session

SAMPLE_RATE = 16000
FRAME = 512  # samples per model step (32 ms)
CONTEXT = 64  # samples of the previous frame each step sees
FRAME_S = FRAME / SAMPLE_RATE
# Frames per ONNX call: 16 s of audio; smaller blocks cost more calls, larger more memory.
BLOCK_FRAMES = 512
STATE_SHAPE = (1, 1, 128)
# Silero's own speech gate (`get_speech_timestamps`): speech starts at 0.5 and lasts until
# the probability falls under 0.35 (threshold - 0.15), and runs shorter than 250 ms are noise.
SPEECH_ON = 0.5
SPEECH_OFF = 0.35
MIN_SPEECH_S = 0.25
# A frame this probable is one Silero is sure of: speech reaches it, speech-like music rarely.
SURE = 0.999
DISTRIBUTION = "silero-vad"
MODEL_FILE = "data/silero_vad_16k_sequence.onnx"
MISSING_NOTE = (f"speech: {DISTRIBUTION} is not installed (run `linernotes setup`); "
                "vocals come from the tagger alone")


@dataclass(frozen=True)
class SpanSpeech:
    """Silero's view of one span.

    Attributes
    ----------
    share : float
        Share of the span's frames inside Silero's speech gate, in [0, 1].
    sure : float
        Share of those speech frames at probability `SURE` or more (0 when there are none).
    """

    share: float
    sure: float


@dataclass
class SpeechFrames:
    """Silero VAD's speech probability per frame of a whole song.

    Attributes
    ----------
    times : np.ndarray
        Start time (s) of each frame.
    probability : np.ndarray
        Per frame, the probability of speech in [0, 1].
    notes : list of str
        Honest caveats, such as the model package missing (then there are no frames).
    """

    times: np.ndarray
    probability: np.ndarray
    notes: list[str] = field(default_factory=list)

    @property
    def measured(self) -> bool:
        """Whether Silero ran (the package was there and the song is not empty)."""
        return len(self.probability) > 0

    @cached_property
    def active(self) -> np.ndarray:
        """Per frame, whether it lies inside Silero's speech gate (see `speech_gate`)."""
        return speech_gate(self.probability)

    def span(self, *, start: float | None = None, end: float | None = None) -> SpanSpeech:
        """Speech share and sureness of the frames starting in [start, end) (whole song by default)."""
        start = 0.0 if start is None else start
        end = np.inf if end is None else end
        inside = (self.times >= start) & (self.times < end)
        if not inside.any():
            return SpanSpeech(share=0.0, sure=0.0)
        active = self.active[inside]
        if not active.any():
            return SpanSpeech(share=0.0, sure=0.0)
        sure = float(np.mean(self.probability[inside][active] >= SURE))
        return SpanSpeech(share=round(float(active.mean()), 3), sure=round(sure, 3))

    def regions(self) -> list[tuple[float, float]]:
        """Start and end (s) of each stretch inside the speech gate."""
        edges = np.diff(np.concatenate([[0], self.active.astype(np.int8), [0]]))
        starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
        return [(round(float(self.times[a]), 3), round(float(self.times[b - 1] + FRAME_S), 3))
                for a, b in zip(starts, ends)]


def speech_gate(probability: np.ndarray) -> np.ndarray:
    """Per frame, whether it is speech by Silero's gate: in at `SPEECH_ON`, out under `SPEECH_OFF`.

    Runs shorter than `MIN_SPEECH_S` are dropped, as `get_speech_timestamps` drops them.
    """
    active = np.zeros(len(probability), dtype=bool)
    inside = False
    for index, value in enumerate(probability):
        inside = value >= SPEECH_OFF if inside else value >= SPEECH_ON
        active[index] = inside
    edges = np.diff(np.concatenate([[0], active.astype(np.int8), [0]]))
    shortest = int(np.ceil(MIN_SPEECH_S / FRAME_S))
    for begin, finish in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)):
        if finish - begin < shortest:
            active[begin:finish] = False
    return active


def model_path() -> Path | None:
    """The sequence model inside the installed `silero-vad` package; None when it is missing."""
    spec = find_spec("silero_vad")  # finds the package without running its __init__
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / MODEL_FILE
    return path if path.is_file() else None


@lru_cache(maxsize=1)
def _session(path: Path) -> onnxruntime.InferenceSession:
    return onnx_session(path)


def speech_probability(samples: np.ndarray, *, model: Path) -> np.ndarray:
    """Silero's speech probability for each 512-sample frame of a 16 kHz signal.

    The last frame is zero-padded; the LSTM state runs on from one block of frames to the next.
    """
    samples = np.asarray(samples, dtype=np.float32).reshape(-1)
    count = -(-len(samples) // FRAME)
    if count == 0:
        return np.zeros(0, dtype=np.float32)
    padded = np.zeros(count * FRAME, dtype=np.float32)
    padded[:len(samples)] = samples
    frames = padded.reshape(count, FRAME)
    context = np.zeros((count, CONTEXT), dtype=np.float32)
    context[1:] = frames[:-1, -CONTEXT:]
    steps = np.concatenate([context, frames], axis=1)
    session = _session(model)
    hidden = np.zeros(STATE_SHAPE, dtype=np.float32)
    cell = np.zeros(STATE_SHAPE, dtype=np.float32)
    blocks = []
    for first in range(0, count, BLOCK_FRAMES):
        inputs = {"input": steps[first:first + BLOCK_FRAMES], "h": hidden, "c": cell}
        probability, hidden, cell = session.run(["speech_probs", "hn", "cn"], inputs)
        blocks.append(probability.reshape(-1))
    return np.concatenate(blocks)


def speech_frames(audio: Audio) -> SpeechFrames:
    """Silero VAD over a whole song; no frames and a note when the package is missing."""
    model = model_path()
    if model is None:
        return SpeechFrames(times=np.zeros(0), probability=np.zeros(0, dtype=np.float32),
                            notes=[MISSING_NOTE])
    probability = speech_probability(audio.at(SAMPLE_RATE), model=model)
    return SpeechFrames(times=np.arange(len(probability)) * FRAME_S, probability=probability)


def run(audio: Audio, *, config) -> SpeechFrames:
    """The speech detector's entry: `speech_frames` (nothing in the config changes it)."""
    return speech_frames(audio)
