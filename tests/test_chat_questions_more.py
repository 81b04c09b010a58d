"""The deterministic answerer (`--llm none`) on songs named loosely, tied superlatives and energy moves."""

from __future__ import annotations

import pytest
from memory_factory import make_analysis

from linernotes import MusicAgent
from linernotes.agent.answer import Answerer
from linernotes.agent.library import Library
from linernotes.memory.store import SongStore

FOUR_PARTS = (("verse", "a verse"), ("chorus", "a loud chorus"), ("breakdown", "a sparse breakdown"),
              ("outro", "a full outro"))


def _feelings():
    """track07.wav, titled Chorus of Feelings: 40 s of ragtime at 120 BPM.

    Its energy rises into the chorus at 0:10, drops at 0:20 and surges back at 0:30.
    """
    analysis = make_analysis(name="track07", title="Chorus of Feelings", duration_s=40.0, bpm=120.0,
                             genres=("Jazz---Ragtime", "pop"), moods=("playful",), sections=FOUR_PARTS)
    sections = [section.model_copy(update={"energy": energy})
                for section, energy in zip(analysis.sections, [0.5, 0.9, 0.2, 0.6])]
    return analysis.model_copy(update={"sections": sections})


def _library():
    """Three songs: two tie at 120 BPM; only Chorus of Feelings is ragtime or has energy moves."""
    return [_feelings(),
            make_analysis(name="steady", title="Steady Hands", bpm=120.0, genres=("rock", "pop")),
            make_analysis(name="slow", title="Slow River", bpm=90.0, genres=("folk",), moods=("calm",))]


@pytest.fixture(scope="module")
def answerer():
    return Answerer(Library.of_analyses(_library()))


@pytest.mark.parametrize("question, field", [
    ("how fast is the ragtime song?", "tempo"),  # a genre word held by one song's tags
    ("what key is the playful one in?", "key"),  # a mood word
    ("how loud is feelings?", "loudness"),  # one word of the title
    ("how loud is Feelings?", "loudness"),
])
def test_a_distinctive_word_names_the_song(answerer, question, field):
    reply = answerer.answer(question)
    assert reply.question.song_ids == [_feelings().source.sha256]
    assert reply.question.field == field
    assert "Which song do you mean" not in reply.text and "Chorus of Feelings" in reply.text


def test_a_word_two_songs_share_names_neither(answerer):
    reply = answerer.answer("how fast is the pop song?")  # Feelings and Steady Hands are both pop
    assert reply.question.song_ids == []
    assert reply.text.startswith("Which song do you mean?")


def test_the_tempo_of_the_ragtime_song_is_its_own(answerer):
    assert answerer.answer("how fast is the ragtime song?").text == "The tempo of Chorus of Feelings is 120 BPM."


def test_a_tied_superlative_names_every_tied_song(answerer):
    text = answerer.answer("which song is fastest?").text
    lead = text.split(" All: ")[0]
    assert lead == "It is a tie: Chorus of Feelings and Steady Hands are the fastest, at 120 BPM."
    assert "Slow River" not in lead


def test_an_untied_superlative_names_one_song(answerer):
    assert answerer.answer("which song is slowest?").text.startswith("The slowest song is Slow River, at 90 BPM.")


def test_when_the_energy_drops_is_answered_with_times(answerer):
    reply = answerer.answer("when does the energy drop in feelings?")
    assert reply.question.intent == "event" and reply.question.event == "fall"
    assert reply.text == "In Chorus of Feelings, the energy drops at 0:20 (a breakdown: the energy drops away)."
    assert [citation.start for citation in reply.citations] == [20.0]
    assert "0.6" not in reply.text  # not the song's energy value


def test_when_the_energy_rises_lists_every_rise(answerer):
    text = answerer.answer("when does the energy build in Chorus of Feelings?").text
    assert text.startswith("In Chorus of Feelings, the energy rises at 0:10")
    assert "0:30" in text and "0:20" not in text


def test_a_song_whose_energy_never_drops_says_so(answerer):
    text = answerer.answer("when does the energy drop in Slow River?").text
    assert text == "The energy of Slow River never clearly drops between sections."


def test_the_chat_over_a_store_finds_the_ragtime_song(tmp_path):
    store = tmp_path / "store"
    for analysis in _library():
        SongStore(path=store).add_song(analysis)
    agent = MusicAgent(llm="none", store_path=store, threads_file=tmp_path / "threads.sqlite")
    answer = agent.ask("how fast is the ragtime song?")
    assert answer.text == "The tempo of Chorus of Feelings is 120 BPM."
    follow = agent.ask("and when does the energy drop?", thread=answer.thread)
    assert follow.text.startswith("In Chorus of Feelings, the energy drops at 0:20")


def test_a_title_word_the_question_itself_uses_names_no_song():
    library = Library.of_analyses([make_analysis(name="track01", title="Come Together"),
                                   make_analysis(name="track02", title="Guitar Time Machine")])
    for question in ("when does the guitar come in?", "what time does the chorus start?"):
        assert library.find_songs(question) == [], question
    assert [song.name for song in library.find_songs("what key is together in?")] == ["Come Together"]


@pytest.mark.parametrize("question", ["tell me about Slow River", "slow river?", "describe slow river"])
def test_a_question_that_only_names_a_song_gets_its_overview(answerer, question):
    reply = answerer.answer(question)  # "slow" in the title asks no tempo question
    assert reply.question.intent == "overview" and reply.question.field is None
    assert reply.text.startswith("Slow River: 0:30 long") and "90 BPM" in reply.text and "Genres: folk" in reply.text
    assert reply.citations[0].song_id == reply.question.song_ids[0]


def test_the_words_of_a_title_do_not_pick_the_field(answerer):
    assert answerer.answer("what key is Slow River in?").question.field == "key"
    assert answerer.answer("how fast is slow river?").text.startswith("The tempo of Slow River is 90 BPM")


@pytest.mark.parametrize("question, text", [
    ("how long is the verse in feelings?", "The verse runs from 0:00 to 0:10: 10 s."),  # "feelings" asks no mood
    ("when does the breakdown start in feelings?", "The breakdown runs from 0:20 to 0:30: 10 s."),
    ("when does the last section of feelings begin?", "The outro runs from 0:30 to 0:40: 10 s."),
])
def test_a_sections_length_and_times(answerer, question, text):
    assert answerer.answer(question).text == text


def test_a_title_word_that_names_the_song_asks_nothing_itself(answerer):
    reply = answerer.answer("is there a guitar in feelings?")
    assert reply.question.field == "instruments" and reply.question.instrument == "guitar"


@pytest.mark.parametrize("question, lead", [
    ("is steady hands faster than slow river?", "Steady Hands is faster: 120 BPM against 90 BPM."),
    ("which is faster, slow river or feelings?", "Chorus of Feelings is faster: 120 BPM against 90 BPM."),
    ("compare the tempo of slow river and steady hands", "Steady Hands is faster: 120 BPM against 90 BPM."),
])
def test_a_field_of_two_named_songs_is_compared(answerer, question, lead):
    reply = answerer.answer(question)
    assert len(reply.question.song_ids) == 2
    assert reply.text.startswith(lead) and len(reply.citations) == 2


def test_one_named_song_is_not_a_comparison(answerer):
    reply = answerer.answer("what is the tempo of slow river and its key?")
    assert reply.question.song_ids == [_library()[2].source.sha256]


def test_minute_shorthand_and_the_end_are_times():
    from linernotes.agent.resolve import SectionRef, parse_sections, parse_times

    assert parse_times("what about at 1m50?") == [110] and parse_times("3 more chords") == []
    assert parse_sections("and right at the end?") == [SectionRef(ordinal=-1)]
