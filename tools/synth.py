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


# --- Calibration passages: tonal, modal, atonal and percussive material -----------------
#
# Short passages (10-30 s) whose only truth is whether they have a key and which, to
# calibrate and test "no clear key" on a family of material rather than on one recording.
# Whole-tone passages are written down as having no key: the whole-tone scale maps onto
# itself under transposition by any whole tone, so none of its six notes can be a tonic.

# Scale steps from the tonic, and the key mode each is reported in.
SCALES = {"major": ((0, 2, 4, 5, 7, 9, 11), "major"),
          "minor": ((0, 2, 3, 5, 7, 8, 10), "minor"),
          "harmonic minor": ((0, 2, 3, 5, 7, 8, 11), "minor"),  # the raised 7th
          "dorian": ((0, 2, 3, 5, 7, 9, 10), "minor"),
          "mixolydian": ((0, 2, 4, 5, 7, 9, 10), "major")}
# Progressions as scale degrees (0 = tonic), one chord per bar, per scale.
_PROGRESSIONS = {"major": ((0, 3, 4, 0), (0, 5, 3, 4), (0, 1, 4, 0), (0, 3, 0, 4)),
                 "minor": ((0, 3, 4, 0), (0, 5, 3, 6), (0, 3, 6, 2)),
                 "harmonic minor": ((0, 3, 4, 0), (0, 5, 1, 4), (0, 3, 4, 4)),
                 "dorian": ((0, 3, 0, 3), (0, 6, 3, 0), (0, 1, 0, 6)),
                 "mixolydian": ((0, 6, 3, 0), (0, 6, 0, 3), (0, 4, 6, 0))}
INSTRUMENTS = ("piano", "organ", "strings", "pad", "lead")
ATONAL_KINDS = ("twelve-tone", "twelve-tone chords", "cluster", "whole-tone")
PERCUSSIVE_KINDS = ("drums", "toms", "noise")


class PassagePlan(BaseModel):
    """Ground truth of a calibration passage: its material and its key, if it has one."""

    kind: str  # "tonal", "twelve-tone", "twelve-tone chords", "cluster", "whole-tone", ...
    key: str | None  # "D minor"; None for atonal and percussive material
    scale: str | None  # the scale a tonal passage is written in
    instrument: str | None
    bpm: float
    duration_s: float
    sample_rate: int


def render_tonal_passage(*, tonic: int, scale: str = "major", duration_s: float = 20.0,
                         bpm: float = 96.0, instrument: str = "piano", chromatic: bool = False,
                         drums: bool = False, texture: str = "full", sample_rate: int = 44100,
                         seed: int = 0) -> tuple[np.ndarray, PassagePlan]:
    """A chord progression with bass and a melody in one key, one chord per 4/4 bar.

    Parameters
    ----------
    tonic : int
        Pitch class of the tonic (C = 0).
    scale : str
        A key of `SCALES`: "major", "minor", "harmonic minor" (raised 7th in melody and
        dominant), "dorian" or "mixolydian" (reported as minor and major keys).
    duration_s : float
        Length; the last bar is cut off there.
    bpm : float
    instrument : str
        One of `INSTRUMENTS`, for chords and melody; the bass is always the round bass.
    chromatic : bool
        Put chromatic passing tones between melody notes a whole tone apart.
    drums : bool
        Add kick, snare and hi-hat.
    texture : str
        "full" (chords, bass and melody) or "chords": block triads alone, root doubled
        an octave below, the bare texture the key CNN is least sure of.
    sample_rate : int
    seed : int
        Chooses the progression, the melody and the drum noise.
    """
    rng = np.random.default_rng(seed)
    steps, mode = SCALES[scale]
    options = _PROGRESSIONS[scale]
    progression = options[int(rng.integers(len(options)))]
    beat_s = 60.0 / bpm
    events = []
    melody = 72 + steps[int(rng.integers(3)) * 2]  # start on a tonic-triad note
    for bar in range(int(np.ceil(duration_s / (4 * beat_s)))):
        start = bar * 4 * beat_s
        degree = progression[bar % len(progression)]
        chord = [tonic + steps[(degree + third) % 7] for third in (0, 2, 4)]
        for note in chord:  # close voicing between G3 and F#4
            events.append((55 + (note - 7) % 12, start, 4 * beat_s * 0.98, instrument, 0.14))
        if texture == "chords":
            events.append((43 + (chord[0] - 7) % 12, start, 4 * beat_s * 0.98, instrument, 0.14))
            continue
        for beat in (0, 2):
            events.append((36 + chord[0] % 12, start + beat * beat_s, 2 * beat_s * 0.9,
                           "bass", 0.4))
        scale_notes = [note for note in range(60, 90) if (note - tonic) % 12 in steps]
        for beat in range(4):
            if beat == 0:  # a chord tone on the downbeat
                melody = min((n for n in scale_notes if n % 12 in {c % 12 for c in chord}),
                             key=lambda n: abs(n - melody))
            else:
                index = scale_notes.index(melody) + int(rng.choice([-2, -1, 1, 2]))
                melody = scale_notes[int(np.clip(index, 3, len(scale_notes) - 4))]
            events.append((melody, start + beat * beat_s, beat_s * 0.9, instrument, 0.22))
            following = scale_notes[min(scale_notes.index(melody) + 1, len(scale_notes) - 1)]
            if chromatic and following - melody == 2 and rng.random() < 0.7:
                # a passing tone on the off-beat, a semitone above the note
                events[-1] = (melody, start + beat * beat_s, beat_s * 0.45, instrument, 0.22)
                events.append((melody + 1, start + (beat + 0.5) * beat_s, beat_s * 0.45,
                               instrument, 0.2))
    samples = _render_events(events, duration_s, sample_rate)
    if drums:
        samples = samples + _drum_track(duration_s, beat_s, "rock", sample_rate, rng)
    plan = PassagePlan(kind="tonal", key=key_name(tonic, mode), scale=scale,
                       instrument=instrument, bpm=bpm, duration_s=duration_s,
                       sample_rate=sample_rate)
    return _normalise(samples), plan


def render_atonal_passage(*, kind: str = "twelve-tone", duration_s: float = 20.0,
                          bpm: float = 80.0, instrument: str = "piano", register: int = 60,
                          sample_rate: int = 44100,
                          seed: int = 0) -> tuple[np.ndarray, PassagePlan]:
    """Music with no key: twelve-tone rows, chromatic clusters or whole-tone writing.

    Parameters
    ----------
    kind : str
        One of `ATONAL_KINDS`. "twelve-tone": a random row and its inversion, retrograde
        and retrograde inversion at random transpositions, as a melody over sustained
        dyads from the same row; "twelve-tone chords": the row in three- and four-note
        chords; "cluster": four to seven adjacent semitones at a time; "whole-tone": a
        whole-tone melody over augmented triads.
    duration_s : float
    bpm : float
    instrument : str
        One of `INSTRUMENTS`.
    register : int
        MIDI note the material centres on (48 low, 60 middle, 72 high).
    sample_rate : int
    seed : int
        Chooses the row, the rhythm and the registers.
    """
    rng = np.random.default_rng(seed)
    beat_s = 60.0 / bpm
    events = []
    row = rng.permutation(12)
    time = 0.0
    if kind in ("twelve-tone", "twelve-tone chords"):
        while time < duration_s:
            form = int(rng.integers(4))
            notes = (row if form % 2 == 0 else (-row) % 12)  # prime or inversion
            notes = (notes[::-1] if form >= 2 else notes) + int(rng.integers(12))
            if kind == "twelve-tone":
                # melody from the row, each note in a random octave around the register,
                # over the row's first and last notes held as a dyad
                span = 0.0
                for note in notes:
                    length = beat_s * float(rng.choice([0.5, 0.75, 1.0, 1.5]))
                    events.append((_place(note, register + 7, rng), time + span, length * 0.95,
                                   instrument, 0.22))
                    span += length
                for note in (notes[0], notes[-1]):
                    events.append((_place(note, register - 10, rng), time, span, instrument, 0.12))
                time += span
            else:
                index = 0
                while index < 12:
                    size = int(rng.integers(3, 5))
                    length = beat_s * float(rng.choice([1.0, 1.5, 2.0]))
                    for note in notes[index:index + size]:
                        events.append((_place(note, register, rng), time, length * 0.95,
                                       instrument, 0.16))
                    index += size
                    time += length
    elif kind == "cluster":
        while time < duration_s:
            low = register - 6 + int(rng.integers(12))
            length = beat_s * float(rng.choice([1.0, 2.0, 3.0]))
            for note in range(low, low + int(rng.integers(4, 8))):
                events.append((note, time, length * 0.95, instrument, 0.12))
            time += length
    elif kind == "whole-tone":
        offset = int(rng.integers(2))
        whole_tone = [n for n in range(register - 12, register + 25) if (n - offset) % 2 == 0]
        melody = whole_tone[len(whole_tone) // 2]
        while time < duration_s:
            root = offset + 2 * int(rng.integers(6))
            for step in (0, 4, 8):  # an augmented triad
                events.append((register - 12 + (root + step) % 12, time, 4 * beat_s * 0.95,
                               instrument, 0.12))
            for beat in range(4):
                index = whole_tone.index(melody) + int(rng.choice([-2, -1, 1, 2]))
                melody = whole_tone[int(np.clip(index, 0, len(whole_tone) - 1))]
                events.append((melody + 12, time + beat * beat_s, beat_s * 0.9, instrument, 0.22))
            time += 4 * beat_s
    else:
        raise ValueError(f"unknown atonal kind {kind!r}; expected one of {ATONAL_KINDS}")
    plan = PassagePlan(kind=kind, key=None, scale=None, instrument=instrument, bpm=bpm,
                       duration_s=duration_s, sample_rate=sample_rate)
    return _normalise(_render_events(events, duration_s, sample_rate)), plan


def render_percussion_passage(*, kind: str = "drums", duration_s: float = 20.0,
                              bpm: float = 110.0, sample_rate: int = 44100,
                              seed: int = 0) -> tuple[np.ndarray, PassagePlan]:
    """Unpitched material with no key.

    Parameters
    ----------
    kind : str
        One of `PERCUSSIVE_KINDS`: "drums" (kick, snare, hi-hat and a cymbal), "toms"
        (pitch-dropping toms and kicks in a busy pattern), "noise" (swells and bursts of
        filtered noise).
    duration_s, bpm, sample_rate : float, float, int
    seed : int
        The pattern and the noise.
    """
    rng = np.random.default_rng(seed)
    if kind not in PERCUSSIVE_KINDS:
        raise ValueError(f"unknown percussion kind {kind!r}; expected one of {PERCUSSIVE_KINDS}")
    samples = _drum_track(duration_s, 60.0 / bpm, kind, sample_rate, rng)
    plan = PassagePlan(kind=kind, key=None, scale=None, instrument=None, bpm=bpm,
                       duration_s=duration_s, sample_rate=sample_rate)
    return _normalise(samples), plan


def calibration_family(*, duration_s: float = 16.0, sample_rate: int = 44100,
                       seed: int = 0) -> list[tuple[str, np.ndarray, PassagePlan]]:
    """A mixed family of passages, each named, for calibrating key-clarity rules.

    Tonal passages in all five `SCALES`, several tonics and every instrument, some with
    chromatic passing tones or drums, and one of bare block chords per scale; atonal passages of every `ATONAL_KINDS` in three
    registers; every `PERCUSSIVE_KINDS`. Deterministic for a seed.
    """
    rng = np.random.default_rng(seed)
    family = []
    for index, scale in enumerate(SCALES):
        for variant in range(4):
            tonic = int(rng.integers(12))
            instrument = INSTRUMENTS[(index + variant) % len(INSTRUMENTS)]
            samples, plan = render_tonal_passage(
                tonic=tonic, scale=scale, duration_s=duration_s,
                bpm=float(rng.integers(70, 140)), instrument=instrument,
                chromatic=variant % 2 == 1, drums=variant == 3, sample_rate=sample_rate,
                seed=int(rng.integers(1 << 30)))
            extras = (" chromatic" if variant % 2 else "") + (" drums" if variant == 3 else "")
            family.append((f"{scale} {plan.key} {instrument}{extras}", samples, plan))
        samples, plan = render_tonal_passage(
            tonic=int(rng.integers(12)), scale=scale, duration_s=duration_s,
            bpm=float(rng.integers(60, 120)), instrument=("pad", "organ")[index % 2],
            texture="chords", sample_rate=sample_rate, seed=int(rng.integers(1 << 30)))
        family.append((f"{scale} {plan.key} chords only", samples, plan))
    for kind in ATONAL_KINDS:
        for variant, register in enumerate((48, 60, 72)):
            instrument = INSTRUMENTS[(variant + len(kind)) % len(INSTRUMENTS)]
            samples, plan = render_atonal_passage(
                kind=kind, duration_s=duration_s, bpm=float(rng.integers(60, 120)),
                instrument=instrument, register=register, sample_rate=sample_rate,
                seed=int(rng.integers(1 << 30)))
            family.append((f"{kind} {register} {instrument}", samples, plan))
    for kind in PERCUSSIVE_KINDS:
        for variant in range(2):
            samples, plan = render_percussion_passage(
                kind=kind, duration_s=duration_s, bpm=float(rng.integers(80, 160)),
                sample_rate=sample_rate, seed=int(rng.integers(1 << 30)))
            family.append((f"{kind} {variant}", samples, plan))
    return family


def _place(pitch_class: int, centre: int, rng: np.random.Generator) -> int:
    """The note of `pitch_class` nearest `centre`, moved an octave either way at random."""
    note = centre - 6 + (int(pitch_class) - (centre - 6)) % 12
    return note + 12 * int(rng.choice([-1, 0, 0, 1]))


def _render_events(events: list[tuple[int, float, float, str, float]], duration_s: float,
                   sample_rate: int) -> np.ndarray:
    """Mix (midi, start, length, instrument, level) notes into `duration_s` of samples."""
    mix = np.zeros(int(round(duration_s * sample_rate)), dtype=np.float64)
    for midi, start, length, instrument, level in events:
        first = int(round(start * sample_rate))
        if first >= len(mix):
            continue
        tone = (_tone(int(midi), round(length, 3), sample_rate, instrument)
                if instrument in ("pad", "bass", "lead")
                else _instrument_tone(int(midi), round(length, 3), sample_rate, instrument))
        piece = tone[: len(mix) - first]
        mix[first: first + len(piece)] += level * piece
    return mix


@lru_cache(maxsize=512)
def _instrument_tone(midi: int, duration_s: float, sample_rate: int,
                     instrument: str) -> np.ndarray:
    """Piano (slightly stretched partials, upper ones dying first), organ, or strings (vibrato)."""
    frequency = 440.0 * 2.0 ** ((midi - 69) / 12.0)
    t = np.arange(int(duration_s * sample_rate)) / sample_rate
    wave = np.zeros_like(t)
    for number in range(1, 11):
        if instrument == "piano":
            partial = frequency * number * np.sqrt(1.0 + 4e-4 * number ** 2)
            amplitude = np.exp(-t * (1.0 + 0.6 * number)) / number
            phase = 2 * np.pi * partial * t
        elif instrument == "organ":
            partial = frequency * number
            amplitude = (1.0 if number in (1, 2, 4) else 0.3) / number
            phase = 2 * np.pi * partial * t
        elif instrument == "strings":
            partial = frequency * number
            amplitude = 1.0 / number
            vibrato = 0.004 * np.sin(2 * np.pi * 5.5 * t)  # +-7 cents
            phase = 2 * np.pi * partial * (t + np.cumsum(vibrato) / sample_rate)
        else:
            raise ValueError(f"unknown instrument {instrument!r}; expected one of {INSTRUMENTS}")
        if partial < sample_rate / 2:
            wave += amplitude * np.sin(phase)
    attack = {"piano": 0.005, "organ": 0.02, "strings": 0.12}[instrument]
    envelope = np.minimum(t / attack, 1.0)
    release = min(len(t), int(0.03 * sample_rate))
    envelope[len(t) - release:] *= np.linspace(1.0, 0.0, release)
    return wave * envelope / 2.0


def _drum_track(duration_s: float, beat_s: float, kind: str, sample_rate: int,
                rng: np.random.Generator) -> np.ndarray:
    """Drums only: a rock kit, toms, or noise swells and bursts."""
    mix = np.zeros(int(round(duration_s * sample_rate)), dtype=np.float64)

    def add(sound: np.ndarray, at: float, level: float) -> None:
        first = int(round(at * sample_rate))
        if first < len(mix):
            piece = sound[: len(mix) - first]
            mix[first: first + len(piece)] += level * piece

    sixteenths = int(duration_s / (beat_s / 4))
    for index in range(sixteenths):
        at = index * beat_s / 4
        position = index % 16
        if kind in ("drums", "rock"):
            if position in (0, 8) or (position == 10 and rng.random() < 0.5):
                add(_kick(sample_rate), at, 0.9)
            if position in (4, 12):
                add(_noise_hit(rng, 0.18, sample_rate, tone_hz=190.0), at, 0.5)
            if position % 2 == 0:
                add(_noise_hit(rng, 0.05, sample_rate, highpass=True), at, 0.12)
            if kind == "drums" and index % 64 == 0:
                add(_noise_hit(rng, 1.5, sample_rate, highpass=True), at, 0.3)  # crash
        elif kind == "toms":
            if rng.random() < 0.45:
                add(_tom(float(rng.uniform(70.0, 220.0)), sample_rate), at, 0.7)
            if position in (0, 6, 8, 14):
                add(_kick(sample_rate), at, 0.8)
        elif kind == "noise":
            if position == 0:
                length = 4 * beat_s
                swell = rng.standard_normal(int(length * sample_rate))
                swell = np.cumsum(swell) * 0.02 if rng.random() < 0.5 else swell  # brown or white
                swell -= np.mean(swell)
                add(swell * np.sin(np.linspace(0.0, np.pi, len(swell))), at, 0.15)
            if rng.random() < 0.3:
                add(_noise_hit(rng, float(rng.uniform(0.03, 0.3)), sample_rate,
                               highpass=rng.random() < 0.5), at, 0.4)
    return mix


def _tom(frequency: float, sample_rate: int) -> np.ndarray:
    t = np.arange(int(0.4 * sample_rate)) / sample_rate
    drop = frequency * (1.0 + 0.5 * np.exp(-t / 0.03))
    return np.sin(2 * np.pi * np.cumsum(drop) / sample_rate) * np.exp(-t / 0.15)


def _normalise(samples: np.ndarray) -> np.ndarray:
    samples = samples * 10.0 ** (_PEAK_DBFS / 20.0) / max(np.max(np.abs(samples)), 1e-9)
    return samples.astype(np.float32)
