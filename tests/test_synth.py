import numpy as np
import pytest
import soundfile as sf

from linernotes.tools.synth import (ATONAL_KINDS, PERCUSSIVE_KINDS, SCALES, demo_song_plan,
                                    render_atonal_passage, render_demo_song,
                                    render_percussion_passage, render_tonal_passage)


def test_plan_has_the_pop_form_with_a_key_change(demo_song):
    _, plan = demo_song
    labels = [section.label for section in plan.sections]
    assert labels == ["intro", "verse", "chorus", "verse", "chorus", "bridge", "chorus", "outro"]
    assert plan.sections[2].key == "C major" and plan.sections[6].key == "D major"
    assert all(a.end == b.start for a, b in zip(plan.sections, plan.sections[1:]))


def test_beats_and_downbeats_follow_the_tempo(demo_song):
    _, plan = demo_song
    assert np.allclose(np.diff(plan.beats), 60.0 / plan.bpm, atol=1e-5)
    assert plan.downbeats == plan.beats[::4]
    assert [s.start for s in plan.sections] == pytest.approx(
        [plan.downbeats[sum(p.bars for p in plan.sections[:i])] for i in range(len(plan.sections))])


def test_one_chord_per_bar_in_the_section_key(demo_song):
    _, plan = demo_song
    assert len(plan.chords) == sum(section.bars for section in plan.sections)
    assert plan.chords[0].label == "C:maj"
    last_chorus = plan.sections[6]
    assert set(last_chorus.chords) <= {"D:maj", "G:maj", "A:maj", "E:min", "B:min", "F#:min"}


def test_render_is_deterministic_peak_normalised_and_as_long_as_planned(demo_song):
    audio, plan = demo_song
    again, _ = render_demo_song()
    assert np.array_equal(audio.samples, again)
    assert np.max(np.abs(audio.samples)) == pytest.approx(10 ** (-1 / 20), rel=1e-3)
    assert audio.duration_s == pytest.approx(plan.duration_s, abs=1e-3)


def test_pads_sound_the_planned_chord(demo_song):
    """The spectrum of the first bar peaks at C, E and G (C major), not at C# or F."""
    audio, plan = demo_song
    bar = plan.sections[0]
    samples = audio.samples[int(0.2 * 44100): int((bar.start + 2.0) * 44100)]
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    freqs = np.fft.rfftfreq(len(samples), 1 / 44100)

    def energy(midi):
        f = 440.0 * 2 ** ((midi - 69) / 12)
        return spectrum[(freqs > f * 0.985) & (freqs < f * 1.015)].sum()

    for chord_tone, outsider in ((60, 61), (64, 65), (67, 66)):
        assert energy(chord_tone) > 5 * energy(outsider)


def test_sections_differ_in_level(demo_song):
    audio, plan = demo_song
    rms = {}
    for section in plan.sections[:3]:
        part = audio.samples[int(section.start * 44100): int(section.end * 44100)]
        rms[section.label] = np.sqrt(np.mean(part.astype(np.float64) ** 2))
    assert rms["chorus"] > 1.5 * rms["verse"] > 1.5 * rms["intro"]


def test_writes_a_file_and_without_key_change_stays_in_c(tmp_path):
    path = tmp_path / "demo.wav"
    samples, plan = render_demo_song(path, bpm=140.0, key_change=False)
    written, rate = sf.read(path, dtype="float32")
    assert rate == 44100 and np.allclose(written, samples, atol=1e-4)
    assert {section.key for section in plan.sections} == {"C major"}
    assert plan == demo_song_plan(bpm=140.0, key_change=False)


def test_duration_scales_sections_in_whole_bars_keeping_form_and_tempo():
    short, long = demo_song_plan(duration_s=60.0), demo_song_plan(duration_s=180.0)
    assert abs(short.duration_s - 60.0) < 8.0 and abs(long.duration_s - 180.0) < 15.0
    assert [s.label for s in short.sections] == [s.label for s in long.sections]
    assert short.bpm == long.bpm == 112.0
    assert all(s.bars % 2 == 0 and s.bars >= 2 for s in short.sections + long.sections)


# --- calibration passages ------------------------------------------------------------------


@pytest.mark.parametrize("scale", list(SCALES))
def test_tonal_passages_are_deterministic_and_name_their_key(scale):
    first, plan = render_tonal_passage(tonic=2, scale=scale, duration_s=6.0, seed=3)
    again, _ = render_tonal_passage(tonic=2, scale=scale, duration_s=6.0, seed=3)
    assert np.array_equal(first, again) and len(first) == 6 * 44100
    assert plan.key == ("D minor" if SCALES[scale][1] == "minor" else "D major")
    assert 0.85 < np.max(np.abs(first)) <= 1.0


@pytest.mark.parametrize("kind", ATONAL_KINDS + PERCUSSIVE_KINDS)
def test_keyless_passages_have_no_key_in_their_plan(kind):
    render = render_atonal_passage if kind in ATONAL_KINDS else render_percussion_passage
    samples, plan = render(kind=kind, duration_s=5.0, seed=1)
    assert plan.key is None and plan.kind == kind
    assert len(samples) == 5 * 44100 and np.isfinite(samples).all() and samples.std() > 0.01


def test_a_twelve_tone_passage_spreads_over_all_pitch_classes():
    samples, _ = render_atonal_passage(kind="twelve-tone", duration_s=20.0, seed=2)
    spectrum = np.abs(np.fft.rfft(samples))
    frequencies = np.fft.rfftfreq(len(samples), 1.0 / 44100)
    band = (frequencies > 100) & (frequencies < 1000)  # fundamentals and low partials
    classes = np.round(12 * np.log2(frequencies[band] / 440.0)).astype(int) % 12
    energy = np.bincount(classes, weights=spectrum[band] ** 2, minlength=12)
    assert energy.min() > 0.1 * energy.max()  # every one of the twelve notes sounds


def test_unknown_passage_kinds_are_refused():
    with pytest.raises(ValueError):
        render_atonal_passage(kind="serial-ish", duration_s=2.0)
    with pytest.raises(ValueError):
        render_percussion_passage(kind="gamelan", duration_s=2.0)
