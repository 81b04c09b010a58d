"""One story: on every rendered plan, read through many fallible synthetic analyses, the
key-moments list and the section paragraphs name the same key changes and no sentence
contradicts another (read back by the narrative eval's parser, not by the writer)."""

import pytest
from agent_fixtures import analysis_from_plan

from linernotes.agent.narrative import verify_paragraph
from linernotes.agent.outline import build_outline
from linernotes.agent.writer import deterministic_paragraphs, render_markdown
from linernotes.evals.narrative import (
    flicker, key_disagreements, moment_key_moves, paragraph_key_moves, parse_markdown, repeated_sentences,
    word_clashes,
)
from linernotes.tools.synth import demo_song_plan
from linernotes.tools.vocabulary import key_identity

PLANS = {
    "demo": demo_song_plan(),
    "demo-4min": demo_song_plan(duration_s=240.0, bpm=120.0),
    "demo-one-key": demo_song_plan(bpm=90.0, key_change=False, duration_s=150.0),
    "demo-short": demo_song_plan(duration_s=60.0, bpm=140.0),
}
SEEDS = range(6)


def _narrative(plan, seed):
    analysis = analysis_from_plan(plan, seed=seed)
    outline = build_outline(analysis)
    paragraphs = deterministic_paragraphs(outline)
    return analysis, outline, paragraphs, render_markdown(outline, paragraphs)


@pytest.mark.parametrize("name", PLANS)
@pytest.mark.parametrize("seed", SEEDS)
def test_moments_and_paragraphs_tell_the_same_key_changes(name, seed):
    plan = PLANS[name]
    _, _, _, markdown = _narrative(plan, seed)
    parsed = parse_markdown(markdown)
    assert key_disagreements(parsed) == [], markdown
    told = [(time, key_identity(key)) for time, key in moment_key_moves(parsed)]
    # Every true modulation is told once (at the section it starts, not at the detector's lag);
    # the brief low-confidence blips are not.
    truth = [(current.start, key_identity(current.key))
             for previous, current in zip(plan.sections, plan.sections[1:]) if previous.key != current.key]
    assert [key for _, key in told] == [key for _, key in truth]
    assert all(abs(time - true_time) <= 1.0 for (time, _), (true_time, _) in zip(told, truth))
    said = sorted((time, key_identity(key)) for time, key in paragraph_key_moves(parsed))
    assert [key for _, key in said] == [key for _, key in sorted(told)]
    assert all(abs(one - two) <= 1.0 for (one, _), (two, _) in zip(said, sorted(told)))


@pytest.mark.parametrize("name", PLANS)
@pytest.mark.parametrize("seed", SEEDS)
def test_no_sentence_contradicts_or_repeats_another(name, seed):
    analysis, outline, paragraphs, markdown = _narrative(PLANS[name], seed)
    parsed = parse_markdown(markdown)
    assert word_clashes(parsed) == [], markdown
    assert repeated_sentences(parsed)[1] == 0, markdown
    assert flicker(parsed) == 0, markdown
    assert "Part " not in markdown
    assert all(verify_paragraph(analysis, outline, paragraph).ok for paragraph in paragraphs)


def test_each_section_key_is_what_the_events_say():
    """Walking the sections and applying the key-change events gives each section's key."""
    for plan in PLANS.values():
        for seed in SEEDS:
            outline = build_outline(analysis_from_plan(plan, seed=seed))
            key = outline.sections[0].key
            for section in outline.sections:
                for event in section.events:
                    if event.kind == "key_change" and abs(event.time - section.start) < 0.01:
                        key = event.subject
                assert section.key == key
                key = next((event.subject for event in reversed(section.events)
                            if event.kind == "key_change"), key)
