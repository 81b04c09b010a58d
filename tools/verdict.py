"""Is it music? A music / speech / silence / noise verdict per song and per span.

A recording of speech, birdsong or noise is not "a song in E minor": before any musical
fact is read out, the engine says what kind of sound a stretch is. The verdict reads the
other detectors' evidence rather than a model of its own:

- silence: the recording or span is below the silence gate;
- music: the span has a clear key (`tools.tonality`: the key CNN sure, or the chroma
  diatonic), or is pitched but atonal (the key CNN unsure throughout a pitched recording),
  or lies in a recording with a steady pulse (`tools.rhythm` confidence);
- speech: neither, but the tagger hears a voice whose energy lies where speech's does,
  mostly below 2 kHz (the tagger also hears birdsong as a voice: 0.97 on a robin);
- noise: anything else (whale song, birdsong, traffic, hum).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from linernotes.tools.audio import Audio
from linernotes.tools.loudness import span_loudness
from linernotes.tools.schema import LoudnessResult, RhythmResult
from linernotes.tools.tagging import TagFrames
from linernotes.tools.tonality import Tonality
from linernotes.tools.vocabulary import ATONAL_NOTE

Verdict = Literal["music", "speech", "silence", "noise"]

# A pulse this regular and this strongly marked is music even without a key (drums, metal
# with distorted guitars: 0.36 on the evalset's 170 BPM song); read speech peaks at 0.23.
MIN_PULSE_CONFIDENCE = 0.3
# A span quieter than this (short-term LUFS) is silence.
SILENCE_LUFS = -60.0
# The tagger's voice score above which a key-less, pulse-less span is speech.
MIN_SPEECH_VOICE = 0.5
# Speech keeps most of its energy below this; above it at most this share (a robin: ~0.9).
SPEECH_BAND_HZ = 2000.0
MAX_SPEECH_HIGH_SHARE = 0.5
_RATE = 16000


@dataclass
class SoundKinds:
    """The evidence the verdict reads, kept whole-song so any span can be judged."""

    silent: bool
    loudness: LoudnessResult
    rhythm: RhythmResult | None
    tonality: Tonality | None
    tags: TagFrames | None
    high_share: np.ndarray  # per second, the share of power above SPEECH_BAND_HZ

    def at(self, *, start: float | None = None, end: float | None = None) -> Verdict:
        """The verdict on [start, end) seconds (the whole recording by default)."""
        if self.silent:
            return "silence"
        if start is not None and end is not None:
            level = span_loudness(self.loudness, start=start, end=end)
            if level is None or level < SILENCE_LUFS:
                return "silence"
        key = self.tonality.key(start=start, end=end) if self.tonality is not None else None
        pulse = self.rhythm is not None and self.rhythm.bpm is not None \
            and self.rhythm.bpm_confidence >= MIN_PULSE_CONFIDENCE
        # An atonal song has no key but is pitched music.
        if (key is not None and (key.key is not None or ATONAL_NOTE in key.notes)) or pulse:
            return "music"
        voice = self.tags.summary(start=start, end=end).vocals.score if self.tags else 0.0
        first = int(start or 0.0)
        last = max(first + 1, int(np.ceil(end)) if end is not None else len(self.high_share))
        high = self.high_share[first:last]
        speech_band = high.size > 0 and float(np.median(high)) <= MAX_SPEECH_HIGH_SHARE
        return "speech" if voice >= MIN_SPEECH_VOICE and speech_band else "noise"


def run(audio: Audio, *, config, silence: bool, loudness: LoudnessResult,
        rhythm: RhythmResult | None, harmony, tags: TagFrames | None) -> SoundKinds:
    """The verdict's evidence for the whole recording (`SoundKinds.at` judges any span).

    Parameters
    ----------
    audio : Audio
    config : AnalysisConfig
        Unused: the verdict has no settings of its own.
    silence, loudness, rhythm, harmony, tags
        The frames of those detectors (`tools.detectors`); None for one that did not run.
    """
    return SoundKinds(silent=bool(silence), loudness=loudness, rhythm=rhythm,
                      tonality=harmony.tonality if harmony is not None else None, tags=tags,
                      high_share=high_band_share(audio.at(_RATE), rate=_RATE))


def high_band_share(samples: np.ndarray, *, rate: int) -> np.ndarray:
    """Per whole second, the share of power above `SPEECH_BAND_HZ` (of 60 Hz to Nyquist)."""
    seconds = len(samples) // rate
    if seconds == 0:
        samples = np.pad(samples, (0, rate - len(samples)))
        seconds = 1
    power = np.abs(np.fft.rfft(samples[: seconds * rate].reshape(seconds, rate), axis=1)) ** 2
    frequencies = np.fft.rfftfreq(rate, 1.0 / rate)
    total = power[:, frequencies >= 60.0].sum(axis=1)
    high = power[:, frequencies >= SPEECH_BAND_HZ].sum(axis=1)
    return np.where(total > 0, high / np.maximum(total, 1e-12), 0.0)
