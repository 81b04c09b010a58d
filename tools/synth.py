"""A deterministic numpy renderer of a small pop song, with its ground truth.

`render_demo_song` plays intro / verse / chorus / verse / chorus / bridge / chorus / outro
in 4/4 with drums (kick, snare, hi-hat from noise and sines), bass, chord pads (additive
harmonics) and a lead line, quiet intro and bridge against loud choruses, and the last
chorus a whole tone up. Every fact a detector should find (sections, key per section,
tempo, beats, downbeats, chord per bar) comes back in a `SongPlan`, so tests and evals
can score against it. No soundfont, no third-party audio: the same seed gives the same
samples.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import soundfile as sf
from pydantic import BaseModel

from linernotes.tools.schema import Chord
from linernotes.tools.vocabulary import chord_label, key_name, pitch_class

_MAJOR_DEGREES = {"I": (0, "maj"), "ii": (2, "min"), "iii": (4, "min"), "IV": (5, "maj"),
                  "V": (7, "maj"), "vi": (9, "min")}
_PEAK_DBFS = -1.0


class PlannedSection(BaseModel):
    """One section as written: its span, key, chords (one per bar) and level."""

    label: str
    start: float
    end: float
    bars: int
    key: str
    chords: list[str]  # mir_eval labels, one per bar
    gain_db: float  # the section's mix level relative to the loudest


class SongPlan(BaseModel):
    """Ground truth of a rendered song."""

    bpm: float
    time_signature: str
    sample_rate: int
    duration_s: float
    sections: list[PlannedSection]
    beats: list[float]
    downbeats: list[float]
    chords: list[Chord]


# label, bars, tonic pitch class (C = 0), degrees per bar (cycled), level, parts playing
_DEMO_FORM = [
    ("intro", 4, 0, ["I", "IV", "I", "V"], -9.0, {"pad", "hat"}),
    ("verse", 8, 0, ["I", "vi", "IV", "V"], -7.0,
     {"pad", "bass", "kick", "snare", "hat", "lead_verse"}),
    ("chorus", 8, 0, ["IV", "V", "I", "I"], 0.0,
     {"pad", "bass", "kick", "snare", "hat", "lead_chorus"}),
    ("verse", 8, 0, ["I", "vi", "IV", "V"], -7.0,
     {"pad", "bass", "kick", "snare", "hat", "lead_verse"}),
    ("chorus", 8, 0, ["IV", "V", "I", "I"], 0.0,
     {"pad", "bass", "kick", "snare", "hat", "lead_chorus"}),
    ("bridge", 4, 0, ["vi", "iii", "IV", "V"], -9.0, {"pad", "bass"}),
    ("chorus", 8, 2, ["IV", "V", "I", "I"], 0.0,
     {"pad", "bass", "kick", "snare", "hat", "lead_chorus"}),
    ("outro", 4, 2, ["I", "IV", "I", "I"], -9.0, {"pad", "hat"}),
]


def demo_song_plan(*, duration_s: float | None = None, bpm: float = 112.0,
                   key_change: bool = True, sample_rate: int = 44100) -> SongPlan:
    """The ground truth of the demo song, without rendering it.

    Parameters
    ----------
    duration_s : float, optional
        About how long the song should last: every section's bar count is scaled to it
        (in steps of two bars, at least two), keeping the form and the tempo. By default
        the form lasts 52 bars, about 2 minutes at 112 BPM.
    bpm : float
        Quarter-note tempo; a bar is 4 beats.
    key_change : bool
        Play the last chorus and the outro a whole tone up (C major → D major).
    sample_rate : int
        Stored in the plan; the renderer uses it.
    """
    beat_s = 60.0 / bpm
    written_bars = sum(form[1] for form in _DEMO_FORM)
    scale = 1.0 if duration_s is None else duration_s / (written_bars * 4 * beat_s)
    sections, chords, time = [], [], 0.0
    for label, bars, tonic, degrees, gain_db, _ in _DEMO_FORM:
        bars = max(2, 2 * int(round(bars * scale / 2)))
        tonic = tonic if key_change else 0
        labels = [_chord_label(tonic, degrees[bar % len(degrees)]) for bar in range(bars)]
        end = time + bars * 4 * beat_s
        sections.append(PlannedSection(label=label, start=round(time, 6), end=round(end, 6),
                                       bars=bars, key=key_name(tonic, "major"),
                                       chords=labels, gain_db=gain_db))
        chords += [Chord(start=round(time + bar * 4 * beat_s, 6),
                         end=round(time + (bar + 1) * 4 * beat_s, 6), label=chord)
                   for bar, chord in enumerate(labels)]
        time = end
    beat_count = int(round(time / beat_s))
    beats = [round(index * beat_s, 6) for index in range(beat_count)]
    return SongPlan(bpm=bpm, time_signature="4/4", sample_rate=sample_rate,
                    duration_s=round(time + 2 * beat_s, 6), sections=sections, beats=beats,
                    downbeats=beats[::4], chords=chords)


def render_demo_song(
    path: str | Path | None = None,
    *,
    duration_s: float | None = None,
    bpm: float = 112.0,
    key_change: bool = True,
    sample_rate: int = 44100,
    seed: int = 0,
) -> tuple[np.ndarray, SongPlan]:
    """Render the demo song (about 2 minutes at 112 BPM) and return it with its truth.

    Parameters
    ----------
    path : str or Path, optional
        Also write the song there (any format soundfile knows by suffix: .wav, .flac, .ogg).
    duration_s : float, optional
        About how long the song should last; sections are lengthened or shortened in
        whole bars (see `demo_song_plan`).
    bpm : float
        Quarter-note tempo.
    key_change : bool
        Last chorus and outro a whole tone up.
    sample_rate : int
        Output rate in Hz.
    seed : int
        Seed of the drum noise; the same seed gives identical samples.

    Returns
    -------
    samples : np.ndarray
        Mono float32, peak at −1 dBFS, with a short tail of silence after the last bar.
    plan : SongPlan
        Sections, keys, chords per bar, beats and downbeats in seconds.
    """
    plan = demo_song_plan(duration_s=duration_s, bpm=bpm, key_change=key_change,
                          sample_rate=sample_rate)
    rng = np.random.default_rng(seed)
    mix = np.zeros(int(round(plan.duration_s * sample_rate)) + sample_rate, dtype=np.float64)
    beat_s = 60.0 / bpm
    for section, (_, _, _, _, _, parts) in zip(plan.sections, _DEMO_FORM):
        gain = 10.0 ** (section.gain_db / 20.0)
        tonic = pitch_class(section.key.split()[0])
        for bar, chord in enumerate(section.chords):
            start = section.start + bar * 4 * beat_s
            _render_bar(mix, start=start, beat_s=beat_s, chord=chord, tonic=tonic, bar=bar,
                        parts=parts, gain=gain, sample_rate=sample_rate, rng=rng)
    mix = mix[: int(round(plan.duration_s * sample_rate))]
    mix *= 10.0 ** (_PEAK_DBFS / 20.0) / max(np.max(np.abs(mix)), 1e-9)
    samples = mix.astype(np.float32)
    if path is not None:
        sf.write(str(path), samples, sample_rate)
    return samples, plan


def _chord_label(tonic: int, degree: str) -> str:
    offset, quality = _MAJOR_DEGREES[degree]
    return chord_label(tonic + offset, quality)


def _chord_pitches(chord: str) -> tuple[int, list[int]]:
    """Root pitch class and the triad's pitch classes of a mir_eval label like "A:min"."""
    root_name, quality = chord.split(":")
    root = pitch_class(root_name)
    third = 3 if quality == "min" else 4
    return root, [root, (root + third) % 12, (root + 7) % 12]


def _render_bar(mix: np.ndarray, *, start: float, beat_s: float, chord: str, tonic: int,
                bar: int, parts: set[str], gain: float, sample_rate: int,
                rng: np.random.Generator) -> None:
    root, triad = _chord_pitches(chord)
    bar_s = 4 * beat_s

    def add(sound: np.ndarray, at: float, level: float) -> None:
        first = int(round(at * sample_rate))
        piece = sound[: len(mix) - first]
        mix[first: first + len(piece)] += gain * level * piece

    if "pad" in parts:
        for pitch_class in triad:  # close voicing between F3 and E4
            add(_tone(53 + (pitch_class - 5) % 12, bar_s, sample_rate, "pad"), start, 0.16)
    if "bass" in parts:
        for beat in (0, 2):
            add(_tone(36 + root, 2 * beat_s * 0.9, sample_rate, "bass"),
                start + beat * beat_s, 0.45)
    if "kick" in parts:
        for beat in (0, 2):
            add(_kick(sample_rate), start + beat * beat_s, 0.9)
    if "snare" in parts:
        for beat in (1, 3):
            add(_noise_hit(rng, 0.18, sample_rate, tone_hz=190.0), start + beat * beat_s, 0.5)
    if "hat" in parts:
        for eighth in range(8):
            accent = 1.0 if eighth % 2 == 0 else 0.6
            add(_noise_hit(rng, 0.05, sample_rate, highpass=True), start + eighth * beat_s / 2,
                0.12 * accent)
    if "lead_verse" in parts or "lead_chorus" in parts:
        # Chord tones an octave above the pad; verse in half notes, chorus in quarters.
        steps = [0, 1, 2, 1] if "lead_chorus" in parts else [2, 0]
        note_s = bar_s / len(steps)
        base = 65 if "lead_chorus" in parts else 60
        for index, step in enumerate(steps):
            pitch = base + (triad[(step + bar) % 3] - base) % 12
            add(_tone(pitch, note_s * 0.95, sample_rate, "lead"), start + index * note_s, 0.2)


@lru_cache(maxsize=256)
def _tone(midi: int, duration_s: float, sample_rate: int, voice: str) -> np.ndarray:
    """An enveloped harmonic tone; cached, since songs reuse few pitches and lengths."""
    frequency = 440.0 * 2.0 ** ((midi - 69) / 12.0)
    t = np.arange(int(duration_s * sample_rate)) / sample_rate
    # Harmonic amplitudes: soft pad, round bass, bright lead.
    amplitudes = {"pad": [1.0, 0.5, 0.3, 0.2, 0.1, 0.05], "bass": [1.0, 0.6, 0.25],
                  "lead": [1.0, 0.7, 0.5, 0.35, 0.25, 0.15, 0.1]}[voice]
    wave = sum(amplitude * np.sin(2 * np.pi * frequency * (number + 1) * t)
               for number, amplitude in enumerate(amplitudes)
               if frequency * (number + 1) < sample_rate / 2)
    attack = {"pad": 0.08, "bass": 0.01, "lead": 0.02}[voice]
    decay = {"pad": 1.5, "bass": 0.6, "lead": 0.5}[voice]
    envelope = np.minimum(t / attack, 1.0) * np.exp(-t / decay)
    release = min(len(t), int(0.03 * sample_rate))
    envelope[len(t) - release:] *= np.linspace(1.0, 0.0, release)
    return wave * envelope / sum(amplitudes)


@lru_cache(maxsize=4)
def _kick(sample_rate: int) -> np.ndarray:
    t = np.arange(int(0.3 * sample_rate)) / sample_rate
    frequency = 50.0 + 100.0 * np.exp(-t / 0.04)  # the pitch drop that makes a kick
    phase = 2 * np.pi * np.cumsum(frequency) / sample_rate
    return np.sin(phase) * np.exp(-t / 0.12)


def _noise_hit(rng: np.random.Generator, duration_s: float, sample_rate: int, *,
               tone_hz: float | None = None, highpass: bool = False) -> np.ndarray:
    t = np.arange(int(duration_s * sample_rate)) / sample_rate
    noise = rng.standard_normal(len(t))
    if highpass:
        noise = np.diff(noise, prepend=0.0) * 0.5  # first difference: energy to the top octave
    hit = noise * np.exp(-t / (duration_s / 4))
    if tone_hz is not None:
        hit += 0.8 * np.sin(2 * np.pi * tone_hz * t) * np.exp(-t / 0.05)
    return hit
