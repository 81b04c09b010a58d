"""Top-voice melody from basic-pitch activations: range, contour, span slicing."""

import numpy as np
import pytest

from linernotes.tools.melody import Note, contour, transcribe_melody
from audio_factory import as_audio

RATE = 44100



def note(midi: int, seconds: float) -> np.ndarray:
    """A harmonic tone with soft edges, like a sung or bowed note."""
    t = np.arange(int(seconds * RATE)) / RATE
    frequency = 440 * 2 ** ((midi - 69) / 12)
    wave = sum(0.4 / k * np.sin(2 * np.pi * k * frequency * t) for k in (1, 2, 3))
    return wave * np.hanning(len(t)) ** 0.2


def test_pure_a4_tone_has_range_a4_to_a4():
    t = np.arange(2 * RATE) / RATE
    melody = transcribe_melody(as_audio(0.5 * np.sin(2 * np.pi * 440 * t))).melody()
    assert (melody.lowest_note, melody.highest_note, melody.range_semitones) == ("A4", "A4", 0)
    assert melody.contour == "flat" and melody.note_count >= 1


@pytest.fixture(scope="module")
def scale_frames():
    """C major scale C4..C5 up, then back down."""
    up = [60, 62, 64, 65, 67, 69, 71, 72]
    return transcribe_melody(as_audio(np.concatenate([note(m, 0.4) for m in up + up[::-1]])))


def test_rising_c_major_scale(scale_frames):
    melody = scale_frames.melody(end=3.2)
    assert (melody.lowest_note, melody.highest_note) == ("C4", "C5")
    assert melody.range_semitones == 12 and melody.contour == "rising"
    assert melody.note_count == 8


def test_span_slicing_sees_the_falling_half_and_the_whole_arch(scale_frames):
    assert scale_frames.melody(start=3.2).contour == "falling"
    assert scale_frames.melody().contour == "arch"


def test_silence_has_no_melody():
    melody = transcribe_melody(as_audio(np.zeros(3 * RATE))).melody()
    assert melody.note_count == 0 and melody.lowest_note is None and melody.contour is None


def test_contour_shapes_from_notes():
    def notes(pitches):
        return [Note(start=i, end=i + 1, midi=p) for i, p in enumerate(pitches)]

    assert contour(notes([60, 60, 61, 60])) == "flat"
    assert contour(notes([67, 64, 60, 64, 67, 67])) == "valley"
    assert contour(notes([60, 72, 60, 72, 60, 72])) == "wandering"
