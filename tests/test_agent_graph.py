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
    nodes = set(graph.get_graph().nodes)
    assert {"load", "song_passes", "segment", "store", "plan", "write", "verify", "report"} <= nodes


def test_writer_uses_tools_and_the_narrative_verifies(tmp_path):
    writer = ScriptedWriter()
    analysis = describe(_cached_fixture(tmp_path), chat_model=writer, store=False)
    narrative = analysis.narrative
    assert narrative.verified and narrative.claims_failed == 0 and narrative.claims_checked > 30
    assert narrative.model == "scripted"
    assert any('"key": "C major"' in result for result in writer.tool_results)  # song_facts really ran
    assert "### Chorus · 0:40–1:00" in narrative.markdown


def test_a_lying_writer_is_retried_then_replaced(tmp_path):
    liar = ScriptedWriter(edit=lambda text: text.replace("C major", "E major").replace("120 BPM", "90 BPM"))
    narrative = describe(_cached_fixture(tmp_path), chat_model=liar, store=False).narrative
    assert narrative.verified and narrative.claims_failed == 0
    assert "E major" not in narrative.markdown and "90 BPM" not in narrative.markdown
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
