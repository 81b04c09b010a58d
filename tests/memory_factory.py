"""Synthetic songs for the store's tests: real audio features of synthesised renders.

Each "piece" is a sequence of notes; a render plays it with one timbre. A segment's audio
embedding is the mean and spread of its chroma and spectral shape, measured with librosa on
the rendered audio. This is not the tagger's embedding: it tests the store's "sounds like"
ordering on vectors that really come from the audio, nothing more.
"""

from __future__ import annotations

import hashlib

import librosa
import numpy as np

from linernotes.tools.schema import Segment, Source, SongAnalysis, Summary, Tag, Vocals

SR = 22050
WINDOW_S = 10.0


def render(notes: list[int], *, harmonics: list[float], note_s: float = 0.5,
           seconds: float = 30.0) -> np.ndarray:
    """The note sequence (MIDI numbers) looped for `seconds`, with the given harmonic weights."""
    note_len = int(note_s * SR)
    t = np.arange(note_len) / SR
    envelope = np.minimum(1.0, t / 0.01) * np.exp(-3.0 * t)
    tones = []
    for midi in notes:
        frequency = librosa.midi_to_hz(midi)
        tone = sum(weight * np.sin(2 * np.pi * frequency * (h + 1) * t)
                   for h, weight in enumerate(harmonics))
        tones.append(tone * envelope)
    phrase = np.concatenate(tones)
    reps = int(np.ceil(seconds * SR / len(phrase)))
    signal = np.tile(phrase, reps)[: int(seconds * SR)]
    return (0.3 * signal / np.max(np.abs(signal))).astype(np.float32)


def audio_features(samples: np.ndarray) -> list[float]:
    """Mean and standard deviation of chroma, plus mean spectral contrast: 31 numbers."""
    chroma = librosa.feature.chroma_stft(y=samples, sr=SR, tuning=0.0)
    contrast = librosa.feature.spectral_contrast(y=samples, sr=SR)
    return [*chroma.mean(axis=1), *chroma.std(axis=1), *(contrast.mean(axis=1) / 50.0)]


def _tags(labels: list[str]) -> list[Tag]:
    return [Tag(label=label, score=round(0.9 - 0.2 * rank, 2)) for rank, label in enumerate(labels)]


def make_analysis(
    *,
    name: str,
    samples: np.ndarray | None = None,
    duration_s: float = 30.0,
    key: str = "C major",
    bpm: float = 120.0,
    vocals: bool = False,
    genres: tuple[str, ...] = ("rock",),
    moods: tuple[str, ...] = ("energetic",),
    instruments: tuple[str, ...] = ("guitar", "drums"),
    sections: tuple[tuple[str, str], ...] = (("verse", "a calm verse"), ("solo", "a distorted guitar solo")),
    title: str | None = None,
) -> SongAnalysis:
    """A `SongAnalysis` with equal sections and 10 s windows; audio embeddings from `samples`.

    The sha256 is derived from `name`, so the same name is the same song.
    """
    sha = hashlib.sha256(name.encode()).hexdigest()
    vocal = Vocals(present=vocals, score=0.9 if vocals else 0.1)
    section_len = duration_s / len(sections)

    def embedding(start: float, end: float) -> list[float] | None:
        if samples is None:
            return None
        return audio_features(samples[int(start * SR): int(end * SR)])

    def segment(kind: str, index: int, section_index: int, start: float, end: float) -> Segment:
        label, caption = sections[section_index]
        return Segment(
            kind=kind, index=index, section_index=section_index, start=start, end=end,
            label=label, cluster=chr(ord("A") + section_index), label_confidence=0.8,
            key=key, key_confidence=0.8, bpm=bpm, loudness_lufs=-10.0 - index, energy=0.5,
            genres=_tags(list(genres)), moods=_tags(list(moods)),
            instruments=_tags(list(instruments)), vocals=vocal,
            chords=["C:maj", "G:maj"], caption=f"{caption} ({kind} {index})",
            audio_embedding=embedding(start, end),
        )

    section_records = [
        segment("section", i, i, i * section_len, (i + 1) * section_len) for i in range(len(sections))
    ]
    window_records = []
    start = 0.0
    while start < duration_s - 1e-6:
        end = min(start + WINDOW_S, duration_s)
        section_index = min(int(start // section_len), len(sections) - 1)
        window_records.append(segment("window", len(window_records), section_index, start, end))
        start = end
    return SongAnalysis(
        source=Source(path=f"/music/{name}.wav", sha256=sha, duration_s=duration_s,
                      sample_rate=44100, channels=2, title=title),
        summary=Summary(
            key=key, key_confidence=0.8, bpm=bpm, bpm_confidence=0.9, time_signature="4/4",
            loudness_lufs=-10.0, loudness_range_lu=5.0, genres=_tags(list(genres)),
            moods=_tags(list(moods)), instruments=_tags(list(instruments)), vocals=vocal,
            valence=0.5, energy=0.6, danceability=0.5, instrumentalness=0.2, melody=None,
            silent=False,
        ),
        beats=[0.5 * i for i in range(int(duration_s * 2))],
        downbeats=[2.0 * i for i in range(int(duration_s / 2))],
        tempo_curve=[], loudness_curve=[], chords=[], key_changes=[],
        sections=section_records, segments=window_records, timings={"total": 1.0},
        audio_embedding=embedding(0.0, duration_s),
    )
