"""The describe graph end to end, with a scripted chat model that calls tools."""

import numpy as np
import pytest
import soundfile as sf
from agent_fixtures import FailingModel, ScriptedWriter, song_analysis

from linernotes.agent.api import describe
from linernotes.agent.graph import graph
from linernotes.tools import cache
from linernotes.tools.audio import file_sha256

SR = 22050


@pytest.fixture(autouse=True)
def _data_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("LINERNOTES_DATA_DIR", str(tmp_path / "data"))


def _triad_song(path, *, bpm=120.0, seconds=24.0):
    """C major then A minor triads with a click on every beat: a short two-part song."""
    t = np.arange(int(seconds * SR)) / SR
    half = t < seconds / 2
    signal = np.zeros_like(t)
    for low, high in ((261.63, 220.0), (329.63, 261.63), (392.0, 329.63)):
        signal += 0.15 * np.sin(2 * np.pi * np.where(half, low, high) * t)
    beat = 60.0 / bpm
    click = (np.mod(t, beat) < 0.02) * np.sin(2 * np.pi * 1000 * t)
    sf.write(path, (signal + 0.5 * click).astype(np.float32), SR)
    return path


def _cached_fixture(tmp_path):
    """A real audio file whose analysis is the hand-built fixture, put in the analysis cache."""
    from linernotes.tools.analyze import AnalysisConfig

    path = _triad_song(tmp_path / "fixture.wav", seconds=2.0)
    analysis = song_analysis()
    source = analysis.source.model_copy(update={"sha256": file_sha256(path), "path": str(path)})
    cache.save(analysis.model_copy(update={"source": source}), AnalysisConfig().cache_tag())
    return path


def test_graph_is_inspectable():
    drawn = graph.get_graph()
    assert {"load", "song_passes", "segment", "assemble", "store", "plan", "write", "verify", "report"} <= set(drawn.nodes)
    edges = {(edge.source, edge.target, edge.conditional) for edge in drawn.edges}
    assert edges == {
        ("__start__", "load", False),
        ("load", "song_passes", True), ("load", "store", True),  # a cached analysis skips the engine
        ("song_passes", "segment", True),  # the fan-out
        ("segment", "assemble", False), ("assemble", "store", False),
        ("store", "plan", True), ("store", "__end__", True),  # narrative=False ends after the store
        ("plan", "write", False), ("write", "verify", False),
        ("verify", "write", True), ("verify", "report", True),  # the one retry
        ("report", "__end__", False),
    }


def test_writer_uses_tools_and_the_narrative_verifies(tmp_path):
    writer = ScriptedWriter()
    analysis = describe(_cached_fixture(tmp_path), chat_model=writer, store=False)
    narrative = analysis.narrative
    assert narrative.verified and narrative.claims_failed == 0 and narrative.claims_checked > 30
    assert narrative.model == "scripted"
    assert any('"key": "C major"' in result for result in writer.tool_results)  # song_facts really ran
    assert "### Chorus · 0:40–1:00" in narrative.markdown


def test_a_lying_writer_is_retried_then_replaced(tmp_path):
    # A wrong tempo is the verifier's to catch (a dropped or changed key never gets that far:
    # `rewrite_problems` keeps the draft at once).
    liar = ScriptedWriter(edit=lambda text: text.replace("120 BPM", "90 BPM"))
    narrative = describe(_cached_fixture(tmp_path), chat_model=liar, store=False).narrative
    assert liar.retries >= 1  # the verifier's errors went back to the writer once
    assert narrative.verified and narrative.claims_failed == 0
    assert "90 BPM" not in narrative.markdown
    assert "in C major at 120 BPM" in narrative.markdown  # the deterministic overview came back


def test_a_failing_provider_falls_back_to_none(tmp_path):
    warnings = []
    narrative = describe(_cached_fixture(tmp_path), chat_model=FailingModel(), store=False,
                         warn=warnings.append).narrative
    assert narrative.provider == "none" and narrative.verified
    assert len(warnings) == 1 and "connection refused" in warnings[0]


def test_full_graph_on_a_rendered_song(tmp_path):
    """Real engine, per-segment fan-out, memory and the scripted writer, on synthesised audio."""
    from linernotes.memory.store import SongStore

    path = _triad_song(tmp_path / "song.wav")
    store_path = str(tmp_path / "store")
    from linernotes.tools.analyze import AnalysisConfig

    analysis = describe(path, config=AnalysisConfig(use_cache=False), chat_model=ScriptedWriter(), store=True,
                        store_path=store_path)
    assert analysis.summary.bpm == pytest.approx(120, abs=2)
    assert analysis.sections and analysis.segments
    assert all(segment.caption for segment in analysis.sections + analysis.segments)
    assert analysis.narrative.verified
    stored = SongStore(path=store_path).get_analysis(analysis.source.sha256)
    assert stored is not None and len(stored.segments) == len(analysis.segments)


def test_transitions_are_rewritten_in_one_call_and_checked(tmp_path):
    """The embedded model's mode: the overview, then every section opening in one batched call;
    a rewritten opening that names a time outside its section is dropped."""
    def polish(text):
        if not text.startswith("1. "):
            return text
        lines = text.splitlines()
        return "\n".join([f"{lines[0]} Gently."] + [lines[1].replace("0:15", "0:33")] + lines[2:])

    writer = ScriptedWriter(edit=polish)
    result = graph.invoke({"path": str(_cached_fixture(tmp_path))}, config={"configurable": {
        "chat_model": writer, "store": False, "llm_rewrite": "overview+transitions"}})
    narrative = result["analysis"].narrative
    assert narrative.verified and narrative.claims_failed == 0
    assert "Gently." in narrative.markdown  # the intro's new opening passed its check
    assert "0:33" not in narrative.markdown  # the verse's did not: nothing happens at 0:33
