"""`MusicAgent`, the Python API, over a real store; and the graphs langgraph.json exports."""

from __future__ import annotations

import asyncio
import importlib
import json
from pathlib import Path

from agent_fixtures import song_analysis
from memory_factory import make_analysis, render

from linernotes import MusicAgent
from linernotes.agent.api import Answer
from linernotes.memory.store import SongStore

ROOT = Path(__file__).resolve().parents[1]


def test_music_agent_asks_follows_up_and_forgets(tmp_path):
    store = tmp_path / "store"
    samples = render([60, 64, 67, 72], harmonics=[1.0, 0.5, 0.25])
    SongStore(path=store).add_song(song_analysis())
    SongStore(path=store).add_song(make_analysis(name="arpeggio", samples=samples, title="Arpeggio"))
    SongStore(path=store).add_song(make_analysis(name="echo", samples=samples[::-1].copy(), title="Echo"))
    agent = MusicAgent(llm="none", store_path=store, threads_file=tmp_path / "threads.sqlite")
    assert agent.songs() == ["Arpeggio", "Echo", "The Testers - Fixture Song"]

    answer = agent.ask("What key is Fixture Song in at 0:45?")
    assert isinstance(answer, Answer) and answer.text == "At 0:45 the key is A minor."
    assert answer.citations[0].song_id == "f" * 64 and answer.citations[0].start == 45.0
    follow = asyncio.run(agent.aask("and the tempo?", thread=answer.thread))
    assert follow.thread == answer.thread and follow.text == "At 0:45 the tempo is 120 BPM."
    assert answer.thread in agent.threads() and agent.new_thread() not in agent.threads()

    assert "Fixture Song" in agent.ask("Which of my songs change key?").text
    assert agent.similar("Arpeggio").startswith("Songs that sound most like Arpeggio: Echo (similarity")
    assert agent.similar("Fixture Song").startswith("I cannot search by sound here")  # stored without embedding
    assert agent.forget("Arpeggio") > 0
    assert agent.songs() == ["Echo", "The Testers - Fixture Song"]


def test_langgraph_json_exports_both_graphs():
    graphs = json.loads((ROOT / "langgraph.json").read_text())["graphs"]
    assert set(graphs) == {"describe", "chat"}
    for spec in graphs.values():
        path, _, attribute = spec.partition(":")
        module = "linernotes." + path.removeprefix("./").removesuffix(".py").replace("/", ".")
        compiled = getattr(importlib.import_module(module), attribute)
        assert len(compiled.get_graph().nodes) > 3
    chat = importlib.import_module("linernotes.agent.chat").graph.get_graph()
    assert {"answer", "phrase", "agent", "tools", "check", "finish"} <= set(chat.nodes)
