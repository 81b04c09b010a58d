"""The deterministic answerer (`--llm none`) on songs whose every fact is known."""

from __future__ import annotations

import pytest
from agent_fixtures import song_analysis
from memory_factory import make_analysis

from linernotes.agent.answer import Answerer
from linernotes.agent.library import Library
from linernotes.agent.resolve import parse_sections, parse_times, resolve
from linernotes.tools.schema import KeyChange


def _tempo_change_song():
    """40 s: a verse at 96 BPM, then a chorus at 132 BPM; in D minor, 3/4, instrumental."""
    analysis = make_analysis(name="two-speeds", duration_s=40.0, key="D minor", bpm=96.0,
                             sections=(("verse", "a slow verse"), ("chorus", "a fast chorus")), title="Two Speeds")
    chorus = analysis.sections[1].model_copy(update={"bpm": 132.0})
    summary = analysis.summary.model_copy(update={"time_signature": "3/4", "loudness_lufs": -20.0})
    return analysis.model_copy(update={"sections": [analysis.sections[0], chorus], "summary": summary})


@pytest.fixture(scope="module")
def answerer():
    fixture = song_analysis()
    fixture = fixture.model_copy(update={"key_changes": [
        KeyChange(time=40.0, from_key="C major", to_key="A minor", confidence=0.7)]})
    return Answerer(Library.of_analyses([fixture, _tempo_change_song()]))


def test_times_and_sections_are_parsed():
    assert parse_times("at 0:48, then 1:05 and 48 seconds, or 1 minute 5") == [48, 65, 48, 65]
    refs = parse_sections("the second chorus, chorus 3, the last section and the opening")
    assert [(ref.label, ref.ordinal) for ref in refs] == [("chorus", 2), ("chorus", 3), (None, -1), (None, 1)]


# (question, words the first sentence must contain) asked in one thread, in order.
THREAD = [
    ("In Fixture Song, what key is it in at 0:12?", ["At 0:12", "C major"]),
    ("And at 0:45?", ["At 0:45", "A minor"]),
    ("and the tempo at 0:48?", ["At 0:48", "120 BPM"]),
    ("What section is playing at 0:45?", ["chorus", "0:40–1:00"]),
    ("Is there a voice at 0:05?", ["No", "0:05"]),
    ("When does the key change?", ["0:40", "C major", "A minor"]),
    ("When is the loudest moment?", ["0:52", "-9.0 LUFS"]),
    ("What chords are in the chorus?", ["Am", "F", "C", "G"]),
    ("Are drums playing in the intro?", ["No", "drums"]),
    ("Compare the intro and the chorus in loudness", ["chorus", "louder than", "intro"]),
    ("What key is the last section in?", ["A minor"]),
]


def test_a_thread_of_questions_and_follow_ups(answerer):
    previous = None
    for question, expected in THREAD:
        reply = answerer.answer(question, previous=previous)
        first = reply.text.split(". ")[0]
        assert all(word in first for word in expected), (question, reply.text)
        previous = reply.question


@pytest.mark.parametrize("question, expected, absent", [
    ("Which of my songs is the fastest?", ["fastest song is The Testers - Fixture Song", "120 BPM", "Two Speeds"], []),
    ("Which of my songs is the slowest?", ["slowest song is Two Speeds", "96 BPM"], []),
    ("Which songs are in a minor key?", ["Two Speeds"], ["Fixture Song:"]),
    ("Which of my songs have a voice in them?", ["Fixture Song"], ["Two Speeds"]),
    ("Which of my songs are in 3/4?", ["Two Speeds"], ["Fixture"]),
    ("Which of my songs change tempo?", ["Two Speeds", "0:20", "132 BPM"], ["Fixture"]),
    ("Which songs change key?", ["Fixture Song", "0:40"], ["Two Speeds"]),
    ("What is the longest song?", ["Fixture Song", "1:00"], []),
])
def test_library_wide_questions_name_each_song(answerer, question, expected, absent):
    reply = answerer.answer(question)
    assert reply.question.intent == "library"
    assert all(word in reply.text for word in expected), reply.text
    assert not any(word in reply.text for word in absent), reply.text


def test_tempo_change_and_low_confidence_are_said(answerer):
    reply = answerer.answer("When does the tempo change in Two Speeds?")
    assert reply.text.startswith("Two Speeds first changes tempo at 0:20, from 96 BPM to 132 BPM")
    shaky = answerer.library.songs[0].analysis
    shaky.summary.key_confidence = 0.1  # only this test's view: the library holds a copy
    unsure = Answerer(Library.of_analyses([shaky.model_copy(update={"key_changes": []})]))
    assert "low confidence" in unsure.answer("What key is it in?").text


def test_a_song_not_named_in_a_library_of_two_asks_which(answerer):
    reply = answerer.answer("what key is it in at 0:10?")
    assert not reply.resolved and "Which song" in reply.text


def test_a_time_past_the_end_is_refused_not_invented(answerer):
    reply = answerer.answer("what key is Two Speeds in at 3:00?")
    assert "lasts only 0:40" in reply.text and "nothing at 3:00" in reply.text


def test_follow_up_keeps_the_song_and_the_field():
    library = Library.of_analyses([song_analysis(), _tempo_change_song()])
    first = resolve("when does the voice come in in Fixture Song?", library=library)
    second = resolve("When does it stop?", library=library, previous=first)
    assert first.intent == second.intent == "event"
    assert second.song_ids == first.song_ids and second.field == "vocals" and second.event == "stop"
