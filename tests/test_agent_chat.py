"""The chat agent answers from the store through real tool calls."""

import pytest
from agent_fixtures import ScriptedChat, song_analysis

from linernotes.agent.chat import ChatConfig, ask
from linernotes.memory.store import SongStore


@pytest.fixture(scope="module")
def store_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("store")
    SongStore(path=path).add_song(song_analysis())
    return str(path)


def test_segment_at_a_time(store_path):
    history = []
    config = ChatConfig(chat_model=ScriptedChat(tool="segment_at", args={"song": "f" * 64, "time_s": 45.0}),
                        store_path=store_path)
    answer = ask("What plays at 0:45?", history=history, config=config)
    assert '"label": "chorus"' in answer and '"key": "A minor"' in answer
    assert len(history) == 2  # the question and the answer, for the next turn


def test_list_songs(store_path):
    config = ChatConfig(chat_model=ScriptedChat(tool="list_songs"), store_path=store_path)
    assert "Fixture Song" in ask("Which songs do I have?", config=config)


def test_without_an_llm_chat_searches_and_says_what_it_needs(store_path):
    answer = ask("the chorus in A minor", config=ChatConfig(llm="none", store_path=store_path))
    assert "--llm" in answer
    assert "Fixture Song" in answer and "chorus" in answer


def test_without_an_llm_an_empty_library_says_so(tmp_path):
    answer = ask("anything", config=ChatConfig(llm="none", store_path=str(tmp_path / "empty")))
    assert "library is empty" in answer
