"""Speech activity (Silero VAD) and the vocals verdict it joins, on synthesised sound.

The speech here is a small formant synthesiser: a glottal pulse train at a falling speaking
pitch, through the formants of five vowels, in syllables of 80-200 ms with fricative bursts
between them and pauses between words and phrases. Silero calls it speech, and calls tones,
chords, noise and sustained sung vowels not speech.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from audio_factory import as_audio, sine, triad
from scipy.signal import lfilter

from linernotes.tools import analyze, detectors, speech
from linernotes.tools.detectors import SongVocals
from linernotes.tools.structure import SectionSpan
from linernotes.tools.tagging import TagFrames

RATE = 16000
# (F1, F2, F3) in Hz of five vowels, after Peterson & Barney's adult averages.
VOWELS = ((730, 1090, 2440), (270, 2290, 3010), (300, 870, 2240), (530, 1840, 2480), (570, 840, 2410))
BANDWIDTHS = (80, 100, 150)
CADENCE = [(60, 64, 67), (65, 69, 72), (67, 71, 74), (60, 64, 67)]


def _formants(source: np.ndarray, formants: tuple[int, int, int]) -> np.ndarray:
    """The source through one two-pole resonator per formant, summed."""
    out = np.zeros_like(source)
    for frequency, bandwidth in zip(formants, BANDWIDTHS):
        radius = np.exp(-np.pi * bandwidth / RATE)
        theta = 2 * np.pi * frequency / RATE
        out += lfilter([1 - radius], [1, -2 * radius * np.cos(theta), radius * radius], source)
    return out


def _voiced(pitch: np.ndarray, formants: tuple[int, int, int]) -> np.ndarray:
    """A vowel: a pulse train at `pitch` (Hz per sample), its spectrum tilted like a glottis."""
    pulses = np.diff(np.floor(np.cumsum(pitch / RATE)), prepend=0.0)
    return _formants(lfilter([1.0], [1.0, -0.97], pulses), formants)


def spoken(duration_s: float, *, seed: int = 0) -> np.ndarray:
    """Speech-like sound: words of syllables at a falling speaking pitch, phrases between pauses."""
    rng = np.random.default_rng(seed)
    pieces, length = [], 0
    while length < duration_s * RATE:
        pitch = rng.uniform(110, 140)
        for _ in range(rng.integers(3, 7)):  # words
            for _ in range(rng.integers(1, 4)):  # syllables
                if rng.random() < 0.6:  # a fricative onset
                    burst = np.diff(rng.standard_normal(int(rng.uniform(0.04, 0.09) * RATE)), prepend=0.0)
                    pieces.append(0.3 * burst * np.hanning(len(burst)))
                n = int(rng.uniform(0.08, 0.2) * RATE)
                end_pitch = pitch * rng.uniform(0.9, 1.1)
                vowel = _voiced(np.linspace(pitch, end_pitch, n), VOWELS[rng.integers(len(VOWELS))])
                pieces.append(vowel * np.sin(np.pi * np.linspace(0, 1, n)) ** 0.6)
                pitch = end_pitch * 0.98
            pieces.append(np.zeros(int(rng.uniform(0.03, 0.12) * RATE)))
        pieces.append(np.zeros(int(rng.uniform(0.3, 0.6) * RATE)))
        length = sum(len(piece) for piece in pieces)
    signal = np.concatenate(pieces)[:int(duration_s * RATE)]
    return (0.3 * signal / np.max(np.abs(signal))).astype(np.float32)


def sung(duration_s: float, *, seed: int = 1) -> np.ndarray:
    """Sustained vowels on the notes of a scale, with a singer's 5.5 Hz vibrato."""
    rng = np.random.default_rng(seed)
    pieces, length = [], 0
    while length < duration_s * RATE:
        n = int(rng.uniform(0.4, 0.9) * RATE)
        note = 440.0 * 2 ** ((rng.choice([57, 60, 62, 64, 65, 67, 69]) - 69) / 12)
        t = np.arange(n) / RATE
        vowel = _voiced(note * 2 ** (0.03 * np.sin(2 * np.pi * 5.5 * t)), VOWELS[rng.integers(len(VOWELS))])
        pieces.append(vowel * np.minimum(1.0, np.minimum(t / 0.05, (t[-1] - t) / 0.08)))
        length += n
    signal = np.concatenate(pieces)[:int(duration_s * RATE)]
    return (0.3 * signal / np.max(np.abs(signal))).astype(np.float32)


def chords(duration_s: float) -> np.ndarray:
    bars = int(np.ceil(duration_s / 2.0))
    progression = np.concatenate([triad(CADENCE[i % 4], 2.0, sample_rate=RATE) for i in range(bars)])
    return progression[:int(duration_s * RATE)]


def _rms(signal: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(signal))))


def speech_over_chords(*, quiet_s: float, spoken_s: float, snr_db: float = 6.0) -> np.ndarray:
    """Chords throughout; speech `snr_db` above them (RMS) after the first `quiet_s` seconds."""
    music = chords(quiet_s + spoken_s)
    voice = np.concatenate([np.zeros(int(quiet_s * RATE), dtype=np.float32), spoken(spoken_s)])
    music *= _rms(voice[int(quiet_s * RATE):]) / _rms(music) * 10 ** (-snr_db / 20)
    mixed = music + voice
    return (0.5 * mixed / np.max(np.abs(mixed))).astype(np.float32)


def frames_of(signal: np.ndarray) -> speech.SpeechFrames:
    return speech.speech_frames(as_audio(signal, sample_rate=RATE))


# Silero on its own ------------------------------------------------------------------------

def test_silence_tones_chords_and_noise_are_not_speech():
    for signal in (np.zeros(8 * RATE, dtype=np.float32), sine(440.0, 8.0, amplitude=0.3, sample_rate=RATE),
                   chords(16.0), 0.1 * np.random.default_rng(0).standard_normal(8 * RATE).astype(np.float32)):
        frames = frames_of(signal)
        assert frames.measured and frames.notes == []
        assert frames.span().share == 0.0 and frames.regions() == []


def test_speech_is_found_where_it_is_and_nowhere_else():
    silence = np.zeros(4 * RATE, dtype=np.float32)
    frames = frames_of(np.concatenate([silence, spoken(8.0), silence]))
    assert len(frames.probability) == int(np.ceil(16 * RATE / speech.FRAME))
    regions = frames.regions()
    assert regions and regions[0][0] >= 3.9 and regions[-1][1] <= 12.3
    during = frames.span(start=4.0, end=12.0)
    assert during.share >= 0.6 and during.sure >= detectors.MIN_SPEECH_SURE  # Silero is sure it is speech
    assert frames.span(end=4.0).share == 0.0 and frames.span(start=12.5).share == 0.0


def test_sung_vowels_do_not_make_silero_sure():
    heard = frames_of(sung(12.0)).span()
    assert heard.share < 0.1 and heard.sure < detectors.MAX_SUNG_SURE


def test_speech_over_chords_is_found():
    frames = frames_of(speech_over_chords(quiet_s=8.0, spoken_s=12.0))
    assert frames.span(end=8.0).share == 0.0
    heard = frames.span(start=8.0)
    assert heard.share >= 0.6 and heard.sure >= detectors.MIN_SPEECH_SURE


def test_blocks_carry_the_recurrent_state(monkeypatch):
    """Blocks of 7 frames give the probabilities of blocks of 512: the LSTM state runs on."""
    signal = np.concatenate([spoken(5.0), chords(3.0)])
    whole = frames_of(signal).probability
    monkeypatch.setattr(speech, "BLOCK_FRAMES", 7)
    np.testing.assert_allclose(frames_of(signal).probability, whole, atol=1e-5)


def test_the_gate_follows_silero_hysteresis_and_drops_short_runs():
    frame_count = int(np.ceil(speech.MIN_SPEECH_S / speech.FRAME_S))
    probability = np.array([0.1] * 5 + [0.6] + [0.4] * 20 + [0.2] * 5 + [0.9] * (frame_count - 1) + [0.0] * 5)
    gate = speech.speech_gate(probability)
    assert gate[5:26].all() and not gate[26:31].any()  # in at 0.5, stays while >= 0.35
    assert not gate[31:].any()  # a run shorter than MIN_SPEECH_S is not speech
    assert not gate[:5].any()


def test_a_missing_package_is_said_and_measures_nothing(monkeypatch):
    monkeypatch.setattr(speech, "model_path", lambda: None)
    frames = frames_of(spoken(4.0))
    assert not frames.measured and frames.notes == [speech.MISSING_NOTE]
    assert detectors.DETECTORS[[d.name for d in detectors.DETECTORS].index("speech")].notes(frames) \
        == [speech.MISSING_NOTE]


# The combined vocals verdict ----------------------------------------------------------------

def _tags(voice: float, *, seconds: float = 24.0) -> TagFrames:
    """Tagger frames whose every 3 s patch scores `voice` for "vocal" and 1 - voice for "no vocals"."""
    count = int(seconds // 3)
    return TagFrames(starts=np.arange(count) * 3.0, patch_s=3.0,
                     scores={("MTT_musicnn", "vocal"): np.full(count, voice),
                             ("MTT_musicnn", "no vocals"): np.full(count, 1.0 - voice)},
                     embeddings=np.zeros((count, 4)), audible=np.ones(count, dtype=bool), backend="musicnn")


SECTION = [SectionSpan(start=0.0, end=24.0, cluster="A", label="section", label_confidence=0.0)]


def test_speech_gives_a_voice_the_tagger_missed_and_says_it_is_speech():
    heard = frames_of(speech_over_chords(quiet_s=12.0, spoken_s=12.0))
    vocals = SongVocals(tags=_tags(0.3), speech=heard, sections=SECTION)
    music, talk = vocals.at(start=0.0, end=12.0), vocals.at(start=12.0, end=24.0)
    assert not music.present and music.delivery is None and music.score == pytest.approx(0.3)
    assert talk.present and talk.delivery == "speech" and talk.score >= 0.6
    # Speech fills half the song or less: the song has a voice through its speech section.
    assert SongVocals(tags=_tags(0.3), speech=heard,
                      sections=[SECTION[0].model_copy(update={"end": 12.0}),
                                SECTION[0].model_copy(update={"start": 12.0})]).song().present


def test_a_weak_tagger_call_needs_silero_to_hear_something():
    """A synth lead the tagger scores 0.75 while Silero hears nothing is not a voice."""
    instrumental = frames_of(chords(24.0))
    assert not SongVocals(tags=_tags(0.75), speech=instrumental, sections=SECTION).at().present
    sure = SongVocals(tags=_tags(0.9), speech=instrumental, sections=SECTION).at()
    assert sure.present and sure.delivery == "singing"
    # Without Silero's frames the tagger's verdict stands alone, unchanged.
    missing = speech.SpeechFrames(times=np.zeros(0), probability=np.zeros(0), notes=[speech.MISSING_NOTE])
    alone = SongVocals(tags=_tags(0.75), speech=missing, sections=SECTION).at()
    assert alone == _tags(0.75).summary().vocals and alone.present and alone.delivery is None


def test_the_combined_verdict_lands_in_the_segments(monkeypatch):
    """Through the registry: the tagger and Silero run on the song, the windows get the verdict."""
    wanted = {"loudness", "silence", "tags", "speech", "structure", "vocals"}
    monkeypatch.setattr(detectors, "DETECTORS", [
        detector if detector.name in wanted else dataclasses.replace(detector, run=lambda audio, **_: None)
        for detector in detectors.DETECTORS])
    audio = as_audio(speech_over_chords(quiet_s=12.0, spoken_s=12.0), sample_rate=RATE)
    passes = analyze.run_song_passes(audio, config=analyze.AnalysisConfig(use_cache=False))
    windows = [analyze.describe_segment(passes, span)
               for span in analyze.plan_segments(passes, window_s=12.0) if span.kind == "window"]
    assert [(w.start, w.end) for w in windows] == [(0.0, 12.0), (12.0, 24.0)]
    assert not windows[0].vocals.present
    assert windows[1].vocals.present and windows[1].vocals.delivery == "speech"
    assert "speech" in passes.timings and speech.MISSING_NOTE not in analyze.summarize(passes).notes


def test_speech_is_placed_inside_the_span():
    silence = np.zeros(6 * RATE, dtype=np.float32)
    heard = frames_of(np.concatenate([silence, spoken(12.0), silence]))
    talk = SongVocals(tags=None, speech=heard, sections=SECTION).at(start=3.0, end=21.0)
    assert talk.present and talk.delivery == "speech" and talk.regions
    assert talk.regions == sorted(talk.regions) and talk.regions[0][0] >= 5.9 and talk.regions[-1][1] <= 18.3
    inside = sum(end - start for start, end in talk.regions)
    assert 0.6 * 12.0 <= inside <= 12.0  # the pauses between phrases are left out
    assert SongVocals(tags=_tags(0.9), speech=frames_of(chords(24.0)), sections=SECTION).at().regions == []
