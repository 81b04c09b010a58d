"""The metric code on tiny hand-made ground truth whose right score is known."""

import numpy as np
import pytest

from linernotes.evals.metrics import (
    Annotation,
    Span,
    beat_f_measure,
    boundary_hit_rates,
    chord_scores,
    key_over_time,
    key_score,
    normalise_key,
    score,
    tempo_accuracy,
    voice_scores,
)
from linernotes.evals.peers import krumhansl_key

BEATS = list(np.arange(0.0, 30.0, 0.5))  # 120 BPM for 30 s
CHORDS = [Span(start=0.0, end=2.0, label="C:maj"), Span(start=2.0, end=4.0, label="A:min"),
          Span(start=4.0, end=6.0, label="F:maj"), Span(start=6.0, end=8.0, label="G:7")]
SECTIONS = [Span(start=0.0, end=10.0, label="intro"), Span(start=10.0, end=20.0, label="verse"),
            Span(start=20.0, end=30.0, label="chorus")]


def perfect_reference() -> Annotation:
    return Annotation(duration_s=30.0, key="C major", bpm=120.0, beats=BEATS, downbeats=BEATS[::4],
                      chords=CHORDS, sections=SECTIONS, voice_active=[(5.0, 12.0)], is_music=True)


def test_a_perfect_prediction_scores_one_everywhere():
    reference = perfect_reference()
    scores = score(reference, reference)
    assert set(scores) == {"key_weighted", "tempo_acc1", "tempo_acc2", "beats_f", "downbeats_f",
                           "chords_majmin", "chords_sevenths", "chords_mirex", "boundaries_f@0.5s",
                           "boundaries_f@3s",
                           "vocals_accuracy", "vocals_f", "music_correct"}
    assert all(value == pytest.approx(1.0) for value in scores.values())


def test_half_tempo_scores_acc2_but_not_acc1():
    assert tempo_accuracy(120.0, 60.0) == (0.0, 1.0)
    assert tempo_accuracy(120.0, 123.0) == (1.0, 1.0)  # 2.5 % off: inside 4 %
    assert tempo_accuracy(120.0, 126.0) == (0.0, 0.0)  # 5 % off
    assert tempo_accuracy(90.0, 270.0) == (0.0, 1.0)  # triple
    assert tempo_accuracy(120.0, None) == (0.0, 0.0)


@pytest.mark.parametrize(("estimate", "expected"), [
    ("C major", 1.0), ("G major", 0.5), ("A minor", 0.3), ("C minor", 0.2), ("F# major", 0.0),
    ("X", 0.0), (None, 0.0),
])
def test_mirex_weighted_key_score(estimate, expected):
    assert key_score("C major", estimate) == pytest.approx(expected)


def test_a_relative_key_error_scores_three_tenths_from_a_minor_reference_too():
    assert key_score("F# minor", "A major") == pytest.approx(0.3)


def test_a_bare_tonic_reference_accepts_either_mode():
    assert key_score("F", "F minor") == 1.0
    assert key_score("F", "F major") == 1.0
    assert key_score("F", "C major") == 0.5


def test_an_atonal_reference_rewards_saying_no_key():
    reference = Annotation(duration_s=20.0, key="X")
    assert score(reference, Annotation(duration_s=20.0, key="X")) == {"key_none": 1.0}
    assert score(reference, Annotation(duration_s=20.0, key="G major")) == {"key_none": 0.0}


def test_key_over_time_weights_each_section_by_its_length():
    reference = [Span(start=0.0, end=30.0, label="C major"), Span(start=30.0, end=40.0, label="A minor")]
    assert key_over_time(reference, "C major") == pytest.approx((30 * 1.0 + 10 * 0.3) / 40)
    following = [Span(start=0.0, end=30.0, label="C major"), Span(start=30.0, end=40.0, label="A minor")]
    assert key_over_time(reference, following) == pytest.approx(1.0)
    # A gap the estimate leaves without a key counts as "no key" there.
    assert key_over_time(reference, following[:1]) == pytest.approx(30 / 40)


def test_a_sectioned_reference_uses_the_estimates_sections_when_it_has_them():
    reference = Annotation(duration_s=40.0, key_spans=[Span(start=0.0, end=20.0, label="C major"),
                                                       Span(start=20.0, end=40.0, label="D major")])
    global_only = Annotation(duration_s=40.0, key="C major")
    sectioned = Annotation(duration_s=40.0, key="C major", key_spans=[
        Span(start=0.0, end=20.0, label="C major"), Span(start=20.0, end=40.0, label="D major")])
    assert score(reference, global_only)["key_weighted"] == pytest.approx(0.5)
    assert score(reference, sectioned)["key_weighted"] == pytest.approx(1.0)


@pytest.mark.parametrize(("text", "expected"), [
    ("F# minor (title)", "F# minor"), ("Gb major", "F# major"), ("a min", "A minor"),
    ("F#m", "F# minor"), ("F (pack description)", "F"), ("none (atonal)", "X"),
    ("Bb minor", "Bb minor"), ("unknown", None), (None, None),
])
def test_normalise_key(text, expected):
    assert normalise_key(text) == expected


def test_beat_f_measure_rewards_phase_and_punishes_offbeats():
    assert beat_f_measure(BEATS, BEATS) == pytest.approx(1.0)
    assert beat_f_measure(BEATS, [b + 0.03 for b in BEATS]) == pytest.approx(1.0)  # inside ±70 ms
    assert beat_f_measure(BEATS, [b + 0.25 for b in BEATS]) == pytest.approx(0.0)  # off-beat
    assert beat_f_measure(BEATS, BEATS[::2]) == pytest.approx(2 / 3, abs=0.02)  # half: P 1, R 0.5
    assert beat_f_measure(BEATS, []) == 0.0


def test_chords_majmin_ignores_sevenths_and_counts_wrong_time():
    assert chord_scores(CHORDS, CHORDS) == {"chords_majmin": 1.0, "chords_sevenths": 1.0,
                                            "chords_mirex": 1.0}
    first_half_wrong = [Span(start=0.0, end=4.0, label="D:maj"), *CHORDS[2:]]
    assert chord_scores(CHORDS, first_half_wrong)["chords_majmin"] == pytest.approx(0.5)
    no_chords = chord_scores(CHORDS, [])
    assert no_chords == {"chords_majmin": 0.0, "chords_sevenths": 0.0, "chords_mirex": 0.0}


def test_chords_sevenths_tells_a_seventh_from_its_triad():
    seventh = [Span(start=0.0, end=8.0, label="G:7")]
    triad = [Span(start=0.0, end=8.0, label="G:maj")]
    scores = chord_scores(seventh, triad)
    assert scores["chords_majmin"] == pytest.approx(1.0)
    assert scores["chords_sevenths"] == pytest.approx(0.0)


def test_boundary_hit_rates_at_half_a_second_and_three_seconds():
    shifted = [Span(start=0.0, end=11.0, label="a"), Span(start=11.0, end=21.0, label="b"),
               Span(start=21.0, end=30.0, label="c")]
    assert boundary_hit_rates(SECTIONS, SECTIONS) == {"boundaries_f@0.5s": 1.0, "boundaries_f@3s": 1.0}
    assert boundary_hit_rates(SECTIONS, shifted) == {"boundaries_f@0.5s": 0.0, "boundaries_f@3s": 1.0}
    one_section = [Span(start=0.0, end=30.0, label="a")]
    assert boundary_hit_rates(SECTIONS, one_section)["boundaries_f@3s"] == 0.0


def test_voice_scores_on_a_tenth_of_a_second_grid():
    # Voice 5-12 s in 30 s; the estimate says 0-10 s: 50 of 70 voiced frames found, 50 false.
    scores = voice_scores([(5.0, 12.0)], [(0.0, 10.0)], duration_s=30.0)
    precision, recall = 50 / 100, 50 / 70
    assert scores["vocals_f"] == pytest.approx(2 * precision * recall / (precision + recall))
    assert scores["vocals_accuracy"] == pytest.approx((300 - 50 - 20) / 300)
    assert voice_scores([(5.0, 12.0)], [], duration_s=30.0)["vocals_f"] == 0.0


def test_unknown_truth_and_missing_outputs_are_skipped_not_scored():
    reference = Annotation(duration_s=30.0, bpm=120.0)
    beats_only = Annotation(duration_s=30.0, beats=BEATS)
    # The estimate tracks beats but gives no tempo: that is a wrong tempo answer.
    assert score(reference, beats_only) == {"tempo_acc1": 0.0, "tempo_acc2": 0.0}
    # A system with no rhythm output at all is not scored on tempo.
    assert score(reference, Annotation(duration_s=30.0, key="C major")) == {}


def test_music_or_not():
    control = Annotation(duration_s=10.0, is_music=False)
    assert score(control, Annotation(duration_s=10.0, is_music=False)) == {"music_correct": 1.0}
    assert score(control, Annotation(duration_s=10.0, is_music=True)) == {"music_correct": 0.0}


def test_krumhansl_key_finds_the_key_a_chroma_centres_on():
    c_major_scale = np.array([1, 0, 1, 0, 1, 1, 0, 1, 0, 1, 0, 1], dtype=float)
    c_triad_weight = np.zeros(12)
    c_triad_weight[[0, 4, 7]] = [2.0, 1.0, 1.5]
    assert krumhansl_key(c_major_scale + c_triad_weight) == "C major"
    a_triad_weight = np.zeros(12)
    a_triad_weight[[9, 0, 4]] = [2.0, 1.0, 1.5]
    assert krumhansl_key(c_major_scale + a_triad_weight) == "A minor"
    assert krumhansl_key(np.roll(c_major_scale + c_triad_weight, 6)) == "F# major"
