"""The deterministic answerer (`--llm none`) on follow-ups: the time or section in focus, times
relative to it or to the song's length, "why?", and songs named by what they sound like."""

from __future__ import annotations

import pytest
from memory_factory import make_analysis

from linernotes.agent.answer import Answerer
from linernotes.agent.library import Library
from linernotes.agent.resolve import parse_shift
from linernotes.tools.schema import Chord, KeyChange, Tag

SIX_PARTS = (("intro", "an intro"), ("verse", "a verse"), ("chorus", "a chorus"), ("bridge", "a bridge"),
             ("chorus", "a chorus again"), ("outro", "an outro"))
C_LOOP, D_LOOP = ("C:maj", "A:min", "F:maj", "G:maj"), ("D:maj", "B:min", "G:maj", "A:maj")


def _open_road():
    """track01.wav, titled Open Road: 2:00 in six 20 s sections (intro, verse, chorus, bridge, chorus, outro).

    C major until the first chorus modulates to D major at 0:40. One chord every 2 s: C Am F G,
    then D Bm G A from 0:40 (so the chord at 0:50 is Bm and at 1:10 A). Guitar and drums, except
    violin and piano in the bridge (1:00–1:20).
    """
    analysis = make_analysis(name="track01", title="Open Road", duration_s=120.0, sections=SIX_PARTS)
    bridge = [Tag(label="violin", score=0.8), Tag(label="piano", score=0.6)]

    def retuned(segment):
        update = {"key": "C major" if segment.start < 40.0 else "D major"}
        if 60.0 <= segment.start < 80.0:
            update["instruments"] = bridge
        return segment.model_copy(update=update)

    chords = [Chord(start=2.0 * index, end=2.0 * (index + 1), label=(C_LOOP if index < 20 else D_LOOP)[index % 4])
              for index in range(60)]
    return analysis.model_copy(update={
        "sections": [retuned(section) for section in analysis.sections],
        "segments": [retuned(window) for window in analysis.segments], "chords": chords,
        "key_changes": [KeyChange(time=40.0, from_key="C major", to_key="D major", confidence=0.7)]})


def _library():
    """Open Road and five songs named by their sound: one ragtime by title only, one led by techno
    (another has techno third), one led by violin (another has violin second)."""
    return [
        _open_road(),
        make_analysis(name="track02", title="Maple Leaf Rag", duration_s=43.0, bpm=100.0, genres=("classical",),
                      instruments=("piano",)),
        make_analysis(name="track03", title="Night Drive", duration_s=90.0, bpm=126.0,
                      genres=("techno", "electronic"), instruments=("synth",)),
        make_analysis(name="track04", title="Smoke Rooms", duration_s=61.0, genres=("jazz", "electronic", "techno"),
                      instruments=("piano", "bass")),
        make_analysis(name="track05", title="Hungarian Dance", duration_s=45.0, bpm=148.0,
                      genres=("classical", "jazz"), instruments=("violin", "strings")),
        make_analysis(name="track06", title="Green Fields", duration_s=100.0, genres=("folk",),
                      instruments=("guitar", "violin")),
    ]


@pytest.fixture(scope="module")
def answerer():
    return Answerer(Library.of_analyses(_library()))


def _thread(answerer, questions):
    """Each question's answer text, asked in one thread."""
    previous, texts = None, []
    for question in questions:
        reply = answerer.answer(question, previous=previous)
        texts.append(reply.text)
        previous = reply.question
    return texts


# Follow-ups that keep the time or section in focus

def test_what_key_is_it_in_there_is_the_key_at_that_time(answerer):
    texts = _thread(answerer, ["What's happening at 1:10 in open road?", "what key is it in there?"])
    assert texts[0] == "At 1:10 the bridge plays (1:00–1:20)."
    assert texts[1] == "At 1:10 the key is D major."


def test_which_section_is_that_is_the_section_at_that_time(answerer):
    texts = _thread(answerer, ["what's the tempo at 1:30 in open road?", "which section is that?"])
    assert texts[1] == "At 1:30 the last chorus plays (1:20–1:40)."


def test_the_section_in_focus_lasts_and_is_followed(answerer):
    texts = _thread(answerer, ["what section is playing at 1:10 in open road?", "how long does it last?",
                               "and the next one?", "and the one before it?"])
    assert texts[1] == "The bridge runs from 1:00 to 1:20: 20 s."
    assert texts[2] == "The last chorus runs from 1:20 to 1:40: 20 s."
    assert texts[3] == "The bridge runs from 1:00 to 1:20: 20 s."


def test_the_last_section_has_no_next_one(answerer):
    texts = _thread(answerer, ["how long is the outro in open road?", "and the next one?"])
    assert texts[1].startswith("Open Road has no section after that one; its sections are intro 0:00–0:20")


def test_a_named_section_stays_in_focus(answerer):
    texts = _thread(answerer, ["how long is the bridge in open road?", "what instruments are in it?", "what chords?"])
    assert texts[0] == "The bridge runs from 1:00 to 1:20: 20 s."
    assert texts[1] == "In the bridge (1:00–1:20) the instruments heard are violin and piano."
    assert texts[2] == "In the bridge (1:00–1:20) the chords are G, A, D, Bm."


def test_what_key_is_that_in_after_a_chord_is_the_key_there(answerer):
    texts = _thread(answerer, ["chord at 0:50 in open road?", "what key is that in?"])
    assert texts == ["At 0:50 the chord is Bm.", "At 0:50 the key is D major."]


def test_the_chords_around_there_are_a_few_seconds_either_side(answerer):
    texts = _thread(answerer, ["what's the chord at 1:10 in open road?", "and the chords around there?"])
    assert texts[0] == "At 1:10 the chord is A."
    assert texts[1] == "Around 1:10 (1:06–1:14) the chords are Bm, G, A, D."


def test_when_questions_ask_afresh(answerer):
    texts = _thread(answerer, ["how long is the bridge in open road?", "when does the key change?"])
    assert texts[1].startswith("Open Road first changes key at 0:40, from C major to D major")


def test_a_question_naming_the_song_asks_afresh(answerer):
    texts = _thread(answerer, ["what key is open road in at 0:30?", "what key is open road in?"])
    assert texts[1] == "Open Road starts in C major and changes key 1 time: to D major at 0:40."


# Times relative to the focus or to the song's length

def test_a_shift_is_parsed():
    assert parse_shift("and 20 seconds later?") == 20
    assert parse_shift("10 s earlier") == -10
    assert parse_shift("a minute later") == 60
    assert parse_shift("at 0:20?") is None


def test_later_and_earlier_move_from_the_time_in_focus(answerer):
    texts = _thread(answerer, ["what key is open road in at 0:30?", "and 20 seconds later?", "15 s earlier?"])
    assert texts == ["At 0:30 the key is C major.", "At 0:50 the key is D major.", "At 0:35 the key is C major."]


@pytest.mark.parametrize("questions", [
    ["key halfway through open road?"],
    ["what key is open road in?", "and in the middle of the song?"],
])
def test_halfway_is_half_the_duration(answerer, questions):
    assert _thread(answerer, questions)[-1] == "At 1:00 the key is D major."


# "why?"

def test_why_a_key_gives_its_evidence_not_the_key_again(answerer):
    texts = _thread(answerer, ["what key is open road in at 1:10?", "why?"])
    assert texts[1] != texts[0] and "key network" in texts[1] and "confidence is 0.80" in texts[1]


def test_why_a_modulated_key_names_the_change(answerer):
    texts = _thread(answerer, ["what key is the first chorus of open road in?", "why is it in a different key?"])
    assert "change from C major to D major at 0:40" in texts[1] and "confidence 0.70" in texts[1]


def test_why_a_metre_counts_its_bars(answerer):
    texts = _thread(answerer, ["what time signature is open road in?", "why 4/4?"])
    assert texts[0] == "Open Road is in 4/4."
    assert "downbeat" in texts[1] and "bars between its downbeats hold 4 beats" in texts[1]


def test_why_without_evidence_says_so(answerer):
    texts = _thread(answerer, ["how long is open road?", "why?"])
    assert texts[1].startswith("I cannot explain that further")


# Songs named by their sound

@pytest.mark.parametrize("question, title, field", [
    ("whats the bpm of the ragtime thing", "Maple Leaf Rag", "tempo"),  # a title word the word starts with
    ("what is the time sig of the rag", "Maple Leaf Rag", "time_signature"),  # a short title word after "the"
    ("what's the tempo of the techno track?", "Night Drive", "tempo"),  # the one song techno leads
    ("how long is the violin piece?", "Hungarian Dance", "duration"),  # the one song violin leads
])
def test_a_song_named_by_its_sound(answerer, question, title, field):
    reply = answerer.answer(question)
    assert [answerer.library.get(song_id).name for song_id in reply.question.song_ids] == [title]
    assert reply.question.field == field and title in reply.text


def test_shortest_track_ranks_the_library(answerer):
    reply = answerer.answer("shortest track?")
    assert reply.question.intent == "library"
    assert reply.text.startswith("The shortest song is Maple Leaf Rag, at 0:43.")
