"""Planning and the deterministic writer, on a hand-built analysis whose facts are known."""

import re

from agent_fixtures import song_analysis

from linernotes.agent.outline import build_outline, energy_shape
from linernotes.tools.vocabulary import format_time, parse_time
from linernotes.agent.writer import deterministic_paragraphs, render_markdown


def test_timecodes_round_trip():
    assert format_time(0) == "0:00"
    assert format_time(65.9) == "1:05"
    assert parse_time("3:07") == 187


def test_outline_reads_the_arc_and_boundaries():
    outline = build_outline(song_analysis())
    assert outline.character.key == "C major" and outline.character.bpm == 120
    assert [section.label for section in outline.sections] == ["intro", "verse", "chorus"]
    assert outline.arc.shape == "builds"
    assert "vocals enter" in outline.sections[1].changes
    assert "the key moves from C major to A minor" in outline.sections[2].changes
    assert "guitar enters" in outline.sections[2].changes and "piano drops out" in outline.sections[2].changes


def test_key_moments_have_the_right_times():
    moments = {(moment.kind, moment.time) for moment in build_outline(song_analysis()).moments}
    assert ("key_change", 40.0) in moments
    assert ("climax", 40.0) in moments
    assert ("loudest", 52.0) in moments
    assert ("instrument_entry", 40.0) in moments  # the guitar
    assert any(kind == "vocals_enter" and 15 <= time <= 20 for kind, time in moments)


def test_energy_shapes():
    assert energy_shape([0.1, 0.2, 0.5, 0.8, 0.9]) == "builds"
    assert energy_shape([0.2, 0.9, 0.2]) == "arch"
    assert energy_shape([0.5, 0.5, 0.52]) == "steady"
    assert energy_shape([None]) is None


def test_markdown_has_overview_sections_with_timestamps_and_moments():
    outline = build_outline(song_analysis())
    markdown = render_markdown(outline, deterministic_paragraphs(outline))
    assert markdown.startswith("# Fixture Song — The Testers")
    assert re.search(r"^### Verse · 0:15–0:40$", markdown, re.M)
    assert "## Key moments" in markdown and "- **0:40** — the key moves from C major to A minor" in markdown


def test_prose_varies_between_songs():
    first = song_analysis()
    second = first.model_copy(update={"source": first.source.model_copy(update={"sha256": "0" * 64})})
    texts = [" ".join(p.text for p in deterministic_paragraphs(build_outline(a))) for a in (first, second)]
    assert texts[0] != texts[1]


def test_the_writers_fixed_sentences_claim_no_mood_genre_or_instrument():
    """Arc sentences are about energy: a mood word there would be an unmeasured claim."""
    from linernotes.tools.vocabulary import GENRE_PATTERN, INSTRUMENT_PATTERN, MOOD_PATTERN
    from linernotes.agent.writer import _SHAPE_SENTENCES

    for sentences in _SHAPE_SENTENCES.values():
        for sentence in sentences:
            for pattern in (MOOD_PATTERN, GENRE_PATTERN, INSTRUMENT_PATTERN):
                assert pattern.search(sentence) is None, sentence


def test_the_overview_names_the_form_first():
    from agent_fixtures import analysis_from_plan
    from linernotes.agent.writer import write_overview
    from linernotes.tools.synth import demo_song_plan

    overview = write_overview(build_outline(analysis_from_plan(demo_song_plan(), seed=1)))
    assert ("It is in verse–chorus form with a bridge; the chorus is heard three times, "
            "the last a whole tone higher.") in overview
    assert overview.index("form") < overview.index("The key moves to D major")


def test_moods_agree_with_the_measured_energy_and_tempo():
    from linernotes.agent.writer import agreeing_moods

    assert agreeing_moods(["loud", "fast"], energy=0.1, bpm=140) == []  # never "hushed ... loud"
    assert agreeing_moods(["soft", "slow"], energy=0.9, bpm=150) == []
    assert agreeing_moods(["happy", "fast"], energy=0.8, bpm=70) == ["happy"]
    assert agreeing_moods(["happy", "fast"], energy=0.8, bpm=140) == ["happy", "fast"]


def test_a_repeat_is_told_by_how_it_differs():
    from agent_fixtures import analysis_from_plan
    from linernotes.tools.synth import demo_song_plan

    outline = build_outline(analysis_from_plan(demo_song_plan(), seed=1))
    last_chorus = [section for section in outline.sections if section.label == "chorus"][-1]
    assert last_chorus.repeats is not None
    assert "a whole tone higher, in D major" in last_chorus.differences
