"""The narrative's LLM budget is a deadline every call obeys (`agent.deadline`).

A call cut off by the budget returns an empty reply, never an error, so the writer keeps its
draft and the rest of what the LLM already wrote. Against the fake OpenAI-compatible server
(which trickles a token every 0.5 s for a minute) and the real embedded model.
"""

from __future__ import annotations

import importlib.util
import time

import pytest
from agent_fixtures import ScriptedWriter, song_analysis
from fake_openai import FakeOpenAI
from langchain_core.messages import HumanMessage, SystemMessage

from linernotes.agent.api import narrate
from linernotes.agent.deadline import llm_deadline, out_of_time_result, seconds_left
from linernotes.agent.local_llm import local_chat_model, part_files
from linernotes.agent.openai_chat import CompatibleChatOpenAI
from linernotes.agent.providers import ProviderError

LONG_STORY = [SystemMessage(content="You are a storyteller."),
              HumanMessage(content="Tell a very long story about a lighthouse keeper, in at least 2000 words.")]
needs_local_model = pytest.mark.skipif(
    importlib.util.find_spec("llama_cpp") is None or part_files() is None,
    reason="the embedded LLM is not installed",
)


def test_a_call_gets_its_own_limit_outside_a_budget_and_what_is_left_inside():
    assert seconds_left(10.0) == 10.0
    with llm_deadline(4.0):
        assert 3.0 < seconds_left(10.0) <= 4.0
        assert seconds_left(2.0) == 2.0  # the call's own limit, when it ends sooner
        with llm_deadline(1.0):
            assert seconds_left(10.0) <= 1.0
        assert seconds_left(10.0) > 3.0  # the inner budget ended with its block
    with llm_deadline(-5.0):
        assert seconds_left(10.0) == 0.0
    assert seconds_left(10.0) == 10.0


def test_a_server_call_cut_by_the_budget_is_an_empty_reply_not_a_fault():
    with FakeOpenAI("trickle") as server:
        model = CompatibleChatOpenAI(model="fake", base_url=server.url, api_key="not-needed", timeout=1.0,
                                     max_retries=0, call_deadline_s=30.0)
        started = time.monotonic()
        with llm_deadline(1.5) as budget:
            reply = model.invoke("Describe the song.")
        elapsed = time.monotonic() - started
        assert reply.content == "" and reply.response_metadata["finish_reason"] == "out_of_time"
        assert budget.cut == 1  # the writer can say the budget ran out
        assert elapsed < 10.0, elapsed  # the trickle goes on for a minute
        with llm_deadline(0.0):  # no time left: the server is not asked at all
            asked = len(server.requests)
            assert model.invoke("Describe the song.").content == ""
            assert len(server.requests) == asked
        # Its own limit, not the budget, cut it: that is still the server's fault.
        hurried = model.model_copy(update={"call_deadline_s": 1.5})
        with llm_deadline(20.0) as budget, pytest.raises(ProviderError, match="no complete reply within 1.5 s"):
            hurried.invoke("Describe the song.")
        assert budget.cut == 0


@pytest.fixture(scope="module")
def local_model():
    return local_chat_model().model_copy(update={"max_seconds_per_call": 120.0})


@needs_local_model
def test_the_embedded_model_stops_its_reply_at_the_budget(local_model):
    started = time.monotonic()
    with llm_deadline(4.0):
        reply = local_model.invoke(LONG_STORY, max_tokens=2000)
    elapsed = time.monotonic() - started
    assert reply.content == "" and reply.response_metadata["finish_reason"] == "out_of_time"
    # Tokens, not seconds, are the measure: 2000 were allowed, the budget cut the reply short.
    assert 0 < reply.response_metadata["chunks"] < 400, reply.response_metadata
    assert elapsed < 30.0, elapsed


@needs_local_model
def test_the_embedded_model_starts_no_call_it_could_not_finish(local_model):
    with llm_deadline(local_model.min_seconds_per_call / 2):
        reply = local_model.invoke(LONG_STORY, max_tokens=2000)
    assert reply.content == "" and reply.response_metadata["chunks"] == 0


class BudgetWatcher(ScriptedWriter):
    """The scripted writer, noting how long each of its calls was allowed."""

    allowed: list = []

    def _generate(self, messages, stop=None, run_manager=None, **kwargs):
        self.allowed.append(seconds_left(1e9))
        return super()._generate(messages, stop, run_manager, **kwargs)


def test_every_call_of_the_narrative_is_bounded_by_what_is_left_of_its_budget():
    model = BudgetWatcher()
    model.allowed.clear()
    narrative = narrate(song_analysis(), chat_model=model, llm_budget_s=7.0).narrative
    assert narrative.verified and model.allowed
    assert all(allowed <= 7.0 for allowed in model.allowed), model.allowed
    assert model.allowed == sorted(model.allowed, reverse=True)  # one deadline for the whole narrative
    assert seconds_left(1e9) == 1e9  # and it ends with the narrative


class OutOfTimeWriter(ScriptedWriter):
    """A writer whose every call the budget cuts off."""

    def _generate(self, messages, stop=None, run_manager=None, **kwargs):
        return out_of_time_result("out-of-time")


def test_the_narrative_says_when_its_budget_cut_calls_off(capsys):
    analysis = narrate(song_analysis(), chat_model=OutOfTimeWriter(), llm_budget_s=7.0)
    assert analysis.narrative.verified
    assert "LLM budget of 7 s ran out" in capsys.readouterr().err
    narrate(song_analysis(), chat_model=ScriptedWriter(), llm_budget_s=7.0)
    assert "budget" not in capsys.readouterr().err
