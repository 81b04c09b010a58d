"""The metrical-level choice (tools.metre) on synthesised drum, rag, waltz and piano patterns.

Each render goes through the real network and decoder, then through `choose_level` wired as
`track_rhythm` would wire it. The 190 BPM thrash pattern is one the decoder alone counts at
95 BPM; the 200 BPM one it decodes right, but without an audible bar, which the old
"fast without a bar" rule halved.
"""

from functools import lru_cache

import numpy as np
import pytest

from audio_factory import as_audio
from linernotes.tools import metre, rhythm
from linernotes.tools.nn import downbeat_ensemble

RATE = 44100
_ROOTS = (40, 43, 45, 38)  # E G A D


# --- renders ----------------------------------------------------------------------------


def _tone(midi, seconds, *, decay, harmonics=4):
    frequency = 440.0 * 2.0 ** ((midi - 69) / 12.0)
    t = np.arange(int(seconds * RATE)) / RATE
    wave = sum(np.sin(2 * np.pi * frequency * k * t) / k for k in range(1, harmonics + 1)
               if frequency * k < RATE / 2)
    return wave * np.minimum(t / 0.005, 1.0) * np.exp(-t / decay)


def _kick():
    t = np.arange(int(0.25 * RATE)) / RATE
    return np.sin(2 * np.pi * np.cumsum(50 + 110 * np.exp(-t / 0.03)) / RATE) * np.exp(-t / 0.09)


def _noise_hit(rng, seconds, decay, *, tone_hz=None, bright=False):
    t = np.arange(int(seconds * RATE)) / RATE
    noise = rng.standard_normal(len(t))
    if bright:
        noise = np.diff(noise, prepend=0.0) * 0.5
    hit = noise * np.exp(-t / decay)
    if tone_hz:
        hit += 0.8 * np.sin(2 * np.pi * tone_hz * t) * np.exp(-t / 0.05)
    return hit


class _Mix:
    def __init__(self, seconds):
        self.samples = np.zeros(int(seconds * RATE))

    def add(self, sound, at, level):
        first = int(round(at * RATE))
        piece = sound[: max(len(self.samples) - first, 0)]
        self.samples[first: first + len(piece)] += level * piece

    def audio(self):
        return as_audio(0.9 * self.samples / np.max(np.abs(self.samples)))


def _beat_times(bpm, seconds):
    return enumerate(np.arange(0.2, seconds - 0.5, 60.0 / bpm))


def metal(bpm, *, snare_every=2, seconds=20.0, seed=3):
    """Thrash: distorted tremolo guitar in sixteenths, a kick on every beat, the snare every
    `snare_every` beats (2: on 2 and 4; 4: on 3, the half-time feel), a crash every 2 bars."""
    rng, mix, beat = np.random.default_rng(seed), _Mix(seconds), 60.0 / bpm
    for index, t in _beat_times(bpm, seconds):
        bar, position = divmod(index, 4)
        root = _ROOTS[bar % 4]
        for k in range(4):
            chord = _tone(root, beat / 4, decay=0.05, harmonics=12) + _tone(
                root + 7, beat / 4, decay=0.05, harmonics=12)
            mix.add(np.tanh(3 * chord), t + k * beat / 4, 0.3)
        mix.add(_kick(), t, 0.8)
        if position % snare_every == snare_every // 2:
            mix.add(_noise_hit(rng, 0.15, 0.04, tone_hz=190), t, 0.8)
        if position == 0 and bar % 2 == 0:
            mix.add(_noise_hit(rng, 1.0, 0.3, bright=True), t, 0.3)
    return mix.audio()


def rock(bpm, *, seconds=20.0, seed=0):
    """Kick on 1 and 3, snare on 2 and 4, hi-hat and chugging power chords in eighths."""
    rng, mix, beat = np.random.default_rng(seed), _Mix(seconds), 60.0 / bpm
    for index, t in _beat_times(bpm, seconds):
        bar, position = divmod(index, 4)
        root = _ROOTS[bar % 4]
        if position % 2 == 0:
            mix.add(_kick(), t, 0.9)
        else:
            mix.add(_noise_hit(rng, 0.15, 0.04, tone_hz=190), t, 0.6)
        for k in (0, 1):
            mix.add(_noise_hit(rng, 0.04, 0.01, bright=True), t + k * beat / 2, 0.15 * (1, 0.7)[k])
            chord = _tone(root, beat / 2 * 0.9, decay=0.08, harmonics=8) + _tone(
                root + 7, beat / 2 * 0.9, decay=0.08, harmonics=8)
            mix.add(chord, t + k * beat / 2, 0.25)
        if position == 0:
            mix.add(_tone(root - 12, 4 * beat * 0.95, decay=1.0, harmonics=3), t, 0.3)
    return mix.audio()


def half_time(bpm, *, seconds=20.0, seed=6):
    """Nominal `bpm`: kick on 1, snare on 3 (the backbeat at half speed), hi-hat on each beat."""
    rng, mix, beat = np.random.default_rng(seed), _Mix(seconds), 60.0 / bpm
    for index, t in _beat_times(bpm, seconds):
        bar, position = divmod(index, 4)
        root = _ROOTS[bar % 4]
        if position == 0:
            mix.add(_kick(), t, 0.9)
            mix.add(_tone(root - 12, 2 * beat, decay=0.6, harmonics=3), t, 0.35)
            mix.add(_tone(root + 12, 4 * beat, decay=1.5, harmonics=5), t, 0.15)
        if position == 2:
            mix.add(_noise_hit(rng, 0.2, 0.06, tone_hz=190), t, 0.7)
        mix.add(_noise_hit(rng, 0.04, 0.01, bright=True), t, 0.15)
    return mix.audio()


def rag(bpm, *, seconds=20.0, seed=5):
    """2/4 rag: bass on 1, chord on 2, the right hand running in eighths."""
    rng, mix, beat = np.random.default_rng(seed), _Mix(seconds), 60.0 / bpm
    for index, t in _beat_times(bpm, seconds):
        bar, position = divmod(index, 2)
        root = (43, 48, 50, 43)[bar % 4]
        if position == 0:
            mix.add(_tone(root - 12, beat, decay=0.4) + _tone(root, beat, decay=0.4), t, 0.35)
        else:
            mix.add(sum(_tone(root + i, beat, decay=0.3) for i in (12, 16, 19)), t, 0.3)
        for k in (0, 1):
            mix.add(_tone(int(rng.integers(72, 86)), beat / 2, decay=0.25, harmonics=5),
                    t + k * beat / 2, 0.22)
    return mix.audio()


def waltz(bpm, *, seconds=20.0, seed=7):
    """3/4: bass on 1, chord on 2 and 3, a light hi-hat on every beat."""
    rng, mix, beat = np.random.default_rng(seed), _Mix(seconds), 60.0 / bpm
    for index, t in _beat_times(bpm, seconds):
        bar, position = divmod(index, 3)
        root = (48, 53, 55, 48)[bar % 4]
        if position == 0:
            mix.add(_tone(root - 12, 3 * beat, decay=0.8), t, 0.45)
        else:
            mix.add(sum(_tone(root + i, beat, decay=0.3) for i in (0, 4, 7)), t, 0.25)
        mix.add(_noise_hit(rng, 0.04, 0.01, bright=True), t, 0.08)
    return mix.audio()


def slow_piece(bpm, *, seconds=20.0, seed=8):
    """Piano-like 4/4: bass on 1, a chord on every beat, a softer melody in eighths."""
    rng, mix, beat = np.random.default_rng(seed), _Mix(seconds), 60.0 / bpm
    scale = [60, 62, 64, 65, 67, 69, 71, 72]
    for index, t in _beat_times(bpm, seconds):
        bar, position = divmod(index, 4)
        root = _ROOTS[bar % 4] + 12
        if position == 0:
            mix.add(_tone(root - 12, 4 * beat, decay=1.2), t, 0.4)
        mix.add(sum(_tone(root + i, beat, decay=0.5) for i in (0, 4, 7)), t,
                0.35 if position == 0 else 0.25)
        for k in (0, 1):
            mix.add(_tone(int(rng.choice(scale)) + 12, beat / 2, decay=0.3, harmonics=5),
                    t + k * beat / 2, (0.2, 0.14)[k])
    return mix.audio()


# --- the wiring track_rhythm gets --------------------------------------------------------


@lru_cache(maxsize=None)
def _track(render, bpm, **kwargs):
    """Network, decoder, then the metrical-level choice, as in `rhythm.track_rhythm`."""
    audio = render(bpm, **kwargs)
    features = rhythm.rhythm_features(audio)
    activations = downbeat_ensemble()(features)[:, 1:]
    decoded = rhythm._decoder()(activations)
    beats, positions = decoded[:, 0], decoded[:, 1].astype(int)
    choice = metre.choose_level(beats=beats, positions=positions, activations=activations,
                                onsets=metre.onset_bands(features))
    if choice.level == "halve":
        beats, positions = rhythm.half_tempo(beats, positions)
    elif choice.level == "double":
        beats, positions = metre.double_tempo(beats, positions)
    return choice, rhythm.rhythm_from_beats(beats, positions, activations)


@pytest.mark.parametrize("bpm", [190, 200])
def test_fast_thrash_is_reported_at_its_own_tempo(bpm):
    """190: the decoder counts 95, the backbeat between its beats doubles it; 200: decoded
    right but with no audible bar, kept because its snare beats are the network's strongest."""
    choice, result = _track(metal, bpm)
    assert result.bpm == pytest.approx(bpm, rel=0.04), choice
    assert result.time_signature == "4/4"


def test_170_rock_stays_at_170():
    choice, result = _track(rock, 170)
    assert choice.level == "keep"
    assert result.bpm == pytest.approx(170, rel=0.04)


def test_half_time_feel_is_not_doubled():
    """A snare every fourth 190-BPM beat is a backbeat at 95: no doubling."""
    choice, result = _track(metal, 190, snare_every=4)
    assert choice.level != "double"
    assert result.bpm == pytest.approx(95, rel=0.04)


def test_half_time_drum_pattern_keeps_its_felt_tempo():
    """Kick on 1, snare on 3 at a nominal 150: counted at 75, its backbeat level, and kept."""
    choice, result = _track(half_time, 150)
    assert choice.level == "keep"
    assert result.bpm == pytest.approx(75, rel=0.04)


def test_rag_running_eighths_are_not_doubled():
    choice, result = _track(rag, 100)
    assert choice.level == "keep"
    assert result.bpm == pytest.approx(100, rel=0.04)


def test_waltz_is_unchanged():
    choice, result = _track(waltz, 150)
    assert choice.level == "keep"
    assert result.bpm == pytest.approx(150, rel=0.04) and result.time_signature == "3/4"


def test_slow_piece_with_eighths_is_not_doubled():
    choice, result = _track(slow_piece, 66)
    assert choice.level == "keep"
    assert result.bpm == pytest.approx(66, rel=0.04)


# --- the pure rules on constructed evidence ------------------------------------------------


def _grid(bpm, *, beats_per_bar=4, seconds=20.0):
    beats = np.arange(0.5, seconds - 0.5, 60.0 / bpm)
    return beats, np.arange(len(beats)) % beats_per_bar + 1


def _impulses(times, heights, frames):
    signal = np.zeros(frames)
    signal[np.round(np.asarray(times) * metre.FPS).astype(int)] = heights
    return signal


def test_a_fast_pulse_without_bar_whose_off_beats_are_weaker_is_halved():
    """The tatum of piano ragtime: 200 BPM eighths, every downbeat as weak as any beat, the
    network's beat marks on the quarters twice those on the eighths between them."""
    beats, positions = _grid(200)
    frames = int(21 * metre.FPS)
    odd = positions % 2 == 1
    activations = np.stack([_impulses(beats, np.where(odd, 0.6, 0.3), frames),
                            _impulses(beats, 0.1, frames)], axis=1)
    onsets = np.stack([_impulses(beats, 1.0, frames)] * 3, axis=1)
    choice = metre.choose_level(beats=beats, positions=positions, activations=activations,
                                onsets=onsets)
    assert choice.level == "halve" and choice.factor == 0.5
    assert "halved" in choice.reason and 0 < choice.confidence <= 1


def test_the_same_pulse_with_stronger_off_beats_is_kept():
    """Off-beats marked more strongly than the beats are a backbeat, not a tatum."""
    beats, positions = _grid(200)
    frames = int(21 * metre.FPS)
    odd = positions % 2 == 1
    activations = np.stack([_impulses(beats, np.where(odd, 0.2, 0.8), frames),
                            _impulses(beats, 0.1, frames)], axis=1)
    onsets = np.stack([_impulses(beats, 1.0, frames)] * 3, axis=1)
    assert metre.choose_level(beats=beats, positions=positions, activations=activations,
                              onsets=onsets).level == "keep"


def test_beats_the_network_marks_between_decoded_ones_double_the_tempo():
    beats, positions = _grid(90)
    frames = int(21 * metre.FPS)
    midpoints = (beats[:-1] + beats[1:]) / 2
    downbeat = _impulses(beats, np.where(positions == 1, 0.6, 0.05), frames)
    beat = _impulses(beats, np.where(positions == 1, 0.0, 0.6), frames) + _impulses(
        midpoints, 0.5, frames)
    onsets = np.stack([_impulses(beats, 1.0, frames)] * 3, axis=1)
    activations = np.stack([beat, downbeat], axis=1)
    choice = metre.choose_level(beats=beats, positions=positions, activations=activations,
                                onsets=onsets)
    assert choice.level == "double" and "network" in choice.reason


def test_double_tempo_puts_a_beat_between_each_two_and_halves_the_bar():
    beats = np.arange(8) * 0.6  # 100 BPM in 4-beat bars
    positions = np.tile([1, 2, 3, 4], 2)
    doubled, doubled_positions = metre.double_tempo(beats, positions)
    assert np.allclose(np.diff(doubled), 0.3)
    assert list(doubled_positions[:8]) == [1, 2, 3, 4, 1, 2, 3, 4]
    assert set(beats[positions % 2 == 1]) == set(doubled[doubled_positions == 1])


def test_tempo_prior_prefers_120_and_is_symmetric_in_octaves():
    assert metre.tempo_prior(120) == 1.0
    assert metre.tempo_prior(60) == pytest.approx(metre.tempo_prior(240))
    assert metre.tempo_prior(95) > metre.tempo_prior(190)  # why a prior alone halves metal


def test_onset_bands_need_the_rhythm_features():
    with pytest.raises(ValueError):
        metre.onset_bands(np.zeros((10, 40)))
    assert metre.onset_bands(np.ones((10, 314))).shape == (10, 3)


# --- the octave of a pulse known only by its periodicity ------------------------------


def test_choose_octave_lets_the_prior_pick_between_equally_strong_octaves():
    bpm, share = metre.choose_octave(np.array([[200.0, 0.4], [100.0, 0.4], [150.0, 0.2]]),
                                     min_bpm=40, max_bpm=240)
    assert bpm == pytest.approx(100.0)
    assert 0.5 < share < 1.0  # 150 BPM, a 3:2 rival, keeps some doubt


def test_choose_octave_keeps_a_lone_strong_peak_far_from_the_prior_centre():
    """Octaves inherit only a quarter of a peak's strength: the prior alone cannot halve 200."""
    bpm, _ = metre.choose_octave(np.array([[200.0, 0.6], [133.0, 0.2], [85.0, 0.2]]),
                                 min_bpm=40, max_bpm=240)
    assert bpm == pytest.approx(200.0)


def test_choose_octave_reports_the_strongest_peak_among_near_equal_candidates():
    """101.7 and 206.9 / 2 = 103.4 are one hypothesis; the prior must not pull it to 103.4."""
    bpm, _ = metre.choose_octave(np.array([[101.69, 0.23], [206.9, 0.13], [50.85, 0.1]]),
                                 min_bpm=40, max_bpm=240)
    assert bpm == pytest.approx(101.69)


def test_choose_octave_stays_in_range_and_is_sure_without_rivals():
    bpm, share = metre.choose_octave(np.array([[230.0, 1.0]]), min_bpm=40, max_bpm=240)
    assert bpm == pytest.approx(230.0) and share == pytest.approx(1.0)
