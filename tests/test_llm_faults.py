"""LLM faults: every way a server or model file can fail ends in a complete, verified narrative.

A fault that raises falls back to the deterministic writer with one warning line; a reply that
is useless but harmless (empty, an invalid tool call) keeps the deterministic draft. The
narrative's `provider` says who wrote it, and the command line's exit code 3 says that a part
fell back. The servers are `FakeOpenAI` on 127.0.0.1.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from agent_fixtures import song_analysis
from cli_songs import cached_song
from fake_openai import FakeOpenAI

from linernotes.agent import local_llm, providers
from linernotes.agent.describe import narrate
from linernotes.agent.providers import resolve_provider

SECRET = "sk-test-DO-NOT-PRINT-0123456789"


@pytest.fixture(autouse=True)
def _fast_and_clean(monkeypatch, tmp_path):
    for name in ("LINERNOTES_LLM", "OPENAI_BASE_URL", "OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LINERNOTES_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(providers, "OPENAI_TIMEOUT_S", 1.0)
    monkeypatch.setattr(providers, "OPENAI_RETRIES", 0)


@pytest.fixture(scope="module")
def deterministic():
    return narrate(song_analysis(), llm="none").narrative


def _warnings(captured: str) -> list[str]:
    return [line for line in captured.splitlines() if "warning" in line]


FALLS_BACK = ["slow", "malformed", "refuse", "die", "endless", "unauthorized"]


@pytest.mark.parametrize("mode", FALLS_BACK)
def test_a_failing_server_falls_back_to_the_deterministic_writer(mode, capfd, deterministic, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    with FakeOpenAI(mode) as server:
        narrative = narrate(song_analysis(), llm=f"openai:fake@{server.url}").narrative
    assert server.requests, "the server was asked"
    assert narrative.provider == "none" and narrative.verified
    assert narrative.markdown == deterministic.markdown
    err = capfd.readouterr().err
    [warning] = _warnings(err)
    assert "deterministic writer" in warning and "Traceback" not in err
    assert SECRET not in err and "DO-NOT-PRINT" not in err


def test_a_refused_connection_falls_back(capfd, deterministic):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nothing listens there
    narrative = narrate(song_analysis(), llm=f"openai:fake@http://127.0.0.1:{port}/v1").narrative
    assert (narrative.provider, narrative.markdown) == ("none", deterministic.markdown)
    assert len(_warnings(capfd.readouterr().err)) == 1


@pytest.mark.parametrize("mode", ["empty", "invalid_tool_call", "unknown_tool"])
def test_useless_replies_keep_the_verified_drafts(mode, capfd, deterministic):
    with FakeOpenAI(mode) as server:
        narrative = narrate(song_analysis(), llm=f"openai:fake@{server.url}").narrative
    assert narrative.verified and narrative.claims_failed == 0
    assert narrative.markdown == deterministic.markdown
    if mode == "unknown_tool":
        # The tool was refused and the writer asked again; nothing outside the tool list ran.
        tool_replies = [message for request in server.requests for message in request["body"]["messages"]
                        if message["role"] == "tool"]
        assert tool_replies and all("unknown tool 'rm_rf'" in message["content"] for message in tool_replies)
    assert "Traceback" not in capfd.readouterr().err


def test_a_corrupt_model_file_falls_back_with_a_warning(monkeypatch, tmp_path, capsys):
    pytest.importorskip("llama_cpp")
    corrupt = tmp_path / "model.gguf"
    corrupt.write_bytes(b"GGUF" + np.random.default_rng(0).bytes(4096))
    monkeypatch.setattr(local_llm, "assemble_model", lambda **_: corrupt)
    provider = resolve_provider("local")
    assert provider.name == "none" and provider.chat_model is None
    [warning] = _warnings(capsys.readouterr().err)
    assert "local LLM unavailable" in warning and "could not load" in warning


def test_a_missing_model_file_falls_back_with_a_warning(monkeypatch, capsys):
    monkeypatch.setattr(local_llm, "part_files", lambda: None)
    monkeypatch.setattr(local_llm, "models_dir", lambda: Path("/nonexistent"))
    provider = resolve_provider("local")
    assert provider.name == "none"
    [warning] = _warnings(capsys.readouterr().err)
    assert "linernotes setup" in warning


# The command line: the exit code says whether the result is complete.

def _cached_song(tmp_path: Path) -> tuple[Path, Path]:
    """A small file whose analysis is already in the cache, so describe only narrates."""
    data_dir = tmp_path / "data"
    return Path(cached_song(tmp_path, name="song", data_dir=data_dir).source.path), data_dir


@pytest.mark.parametrize("mode,code", [("echo", 0), ("die", 3)])
def test_the_exit_code_says_whether_the_result_is_complete(tmp_path, mode, code):
    path, data_dir = _cached_song(tmp_path)
    env = {**os.environ, "LINERNOTES_DATA_DIR": str(data_dir), "OPENAI_API_KEY": SECRET}
    env.pop("LINERNOTES_CHROMA_URL", None)
    with FakeOpenAI(mode) as server:
        result = subprocess.run(
            [sys.executable, "-m", "linernotes", "describe", str(path), "--no-store", "--format", "json",
             "--llm", f"openai:fake@{server.url}"], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == code, result.stderr
    assert '"narrative"' in result.stdout and "Traceback" not in result.stderr
    warnings = _warnings(result.stderr)
    if code == 0:
        assert warnings == []
    else:  # one line for each part that fell back: the captions, the narrative
        assert warnings and all("feature captions" in line or "deterministic writer" in line for line in warnings)
    assert SECRET not in result.stdout + result.stderr
