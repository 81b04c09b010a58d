"""LLM faults: every way a server or model file can fail ends in a complete, verified narrative.

A fault that raises falls back to the deterministic writer with one warning line; a reply that
is useless but harmless (empty, an invalid tool call) keeps the deterministic draft. The
narrative's `provider` says who wrote it, and the command line's exit code 3 says that a part
fell back. The servers are `FakeOpenAI` on 127.0.0.1.

The faults of issue 12, and where each is tried: a timeout (`slow`, `stall`), malformed output
(`malformed`), endless output (`endless`: megabytes at once; `trickle`: a token every 0.5 s,
forever; `keepalive`: a connection kept open without a reply), empty output (`empty`), invalid
tool calls (`invalid_tool_call`, `unknown_tool`), a server that refuses (`refuse`,
`unauthorized`, a closed port) or dies mid-reply (`die`, plain and streamed), a model file that
is corrupt or missing. Each is tried on the narrative, and the server faults on a chat turn too.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from agent_fixtures import song_analysis
from cli_songs import cached_song, describe_with
from fake_openai import ENDLESS_S, FakeOpenAI

from linernotes.agent import local_llm, providers
from linernotes.agent.describe import narrate
from linernotes.agent.providers import ProviderError, resolve_provider

SECRET = "sk-test-DO-NOT-PRINT-0123456789"


@pytest.fixture(autouse=True)
def _fast_and_clean(monkeypatch, tmp_path):
    for name in ("LINERNOTES_LLM", "OPENAI_BASE_URL", "OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LINERNOTES_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(providers, "OPENAI_TIMEOUT_S", 1.0)
    monkeypatch.setattr(providers, "OPENAI_RETRIES", 0)
    monkeypatch.setattr(providers, "OPENAI_DEADLINE_S", DEADLINE_S)


# A call's total deadline in these tests: longer than the read timeout (1 s), far shorter than
# the fake's endless modes (ENDLESS_S), so only a deadline can end those in time.
DEADLINE_S = 2.5
# However a server fails, the whole narrative or chat turn ends within this (a generous bound
# for a busy machine; without the deadline the endless modes run ENDLESS_S).
ENDS_WITHIN_S = ENDLESS_S / 2


@pytest.fixture(scope="module")
def deterministic():
    return narrate(song_analysis(), llm="none").narrative


def _warnings(captured: str) -> list[str]:
    return [line for line in captured.splitlines() if "warning" in line]


FALLS_BACK = ["slow", "stall", "malformed", "refuse", "die", "endless", "trickle", "keepalive", "unauthorized"]


@pytest.mark.parametrize("mode", FALLS_BACK)
def test_a_failing_server_falls_back_to_the_deterministic_writer(mode, capfd, deterministic, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    with FakeOpenAI(mode) as server:
        started = time.monotonic()
        narrative = narrate(song_analysis(), llm=f"openai:fake@{server.url}").narrative
        elapsed = time.monotonic() - started
    assert server.requests, "the server was asked"
    assert elapsed < ENDS_WITHIN_S, f"the narrative took {elapsed:.0f} s"
    assert narrative.provider == "none" and narrative.verified
    assert narrative.markdown == deterministic.markdown
    err = capfd.readouterr().err
    [warning] = _warnings(err)
    assert "deterministic writer" in warning and "Traceback" not in err
    assert SECRET not in err and "DO-NOT-PRINT" not in err
    if mode in ("trickle", "keepalive"):
        assert "no complete reply within 2.5 s; the call was abandoned" in warning


@pytest.mark.parametrize("mode", ["trickle", "keepalive", "stall", "die", "endless"])
def test_a_streamed_call_ends_at_its_deadline_or_at_the_break(mode, monkeypatch):
    """Streamed (as the chat streams its tokens), the same faults end the call with ProviderError."""
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    with FakeOpenAI(mode) as server:
        model = resolve_provider(f"openai:fake@{server.url}").chat_model
        started = time.monotonic()
        with pytest.raises(ProviderError) as raised:
            for _ in model.stream("Describe the song.", max_tokens=50):
                pass
        elapsed = time.monotonic() - started
    assert server.requests[0]["body"]["stream"] is True
    assert elapsed < ENDS_WITHIN_S
    message = str(raised.value)
    assert "\n" not in message and SECRET not in message
    expected = {"trickle": "no complete reply within", "keepalive": "no complete reply within",
                "stall": "timed out", "die": "closed the stream before the reply finished",
                "endless": "ignored max_tokens"}[mode]
    assert expected in message, message


def test_the_deadline_holds_for_a_model_built_directly():
    """Built without `resolve_provider` (an embedding app, an eval), the model still has its deadline."""
    from linernotes.agent.openai_chat import CompatibleChatOpenAI

    with FakeOpenAI("trickle") as server:
        model = CompatibleChatOpenAI(model="fake", base_url=server.url, api_key="not-needed", timeout=1.0,
                                     max_retries=0, call_deadline_s=DEADLINE_S)
        started = time.monotonic()
        with pytest.raises(ProviderError, match="no complete reply within 2.5 s"):
            model.invoke("Describe the song.")
    assert time.monotonic() - started < ENDS_WITHIN_S


def test_a_complete_streamed_reply_still_streams(monkeypatch):
    with FakeOpenAI("echo", reply="One two three.") as server:
        model = resolve_provider(f"openai:fake@{server.url}").chat_model
        chunks = [chunk.text for chunk in model.stream("Describe the song.")]
    assert len(chunks) > 2 and "".join(chunks).strip() == "One two three."


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


def test_two_first_runs_assembling_the_model_at_once_leave_one_good_file(monkeypatch, tmp_path):
    """Parallel first runs (tests, -j workers) each write their own partial file, never one shared."""
    import hashlib
    import threading

    parts = []
    for number in range(1, 9):
        part = tmp_path / f"part{number:02d}.bin"
        part.write_bytes(bytes([number]) * 300_000)  # several 4 MiB-or-less blocks, written in turns
        parts.append(part)
    whole = b"".join(part.read_bytes() for part in parts)
    monkeypatch.setattr(local_llm, "part_files", lambda: parts)
    monkeypatch.setattr(local_llm, "MODEL_SHA256", hashlib.sha256(whole).hexdigest())
    monkeypatch.setattr(local_llm, "MODEL_SIZE", len(whole))
    target_dir = tmp_path / "models"
    target_dir.mkdir()
    errors: list[Exception] = []

    def assemble() -> None:
        try:
            local_llm.assemble_model(target_dir=target_dir)
        except Exception as error:  # recorded: the assertion below names it
            errors.append(error)

    threads = [threading.Thread(target=assemble) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert (target_dir / local_llm.MODEL_FILENAME).read_bytes() == whole
    assert not list(target_dir.glob("*.partial"))


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


def test_an_endless_trickle_ends_describe_incomplete(tmp_path):
    """The command line against a server that streams forever: exit 3, the deterministic text, one line each."""
    path, data_dir = _cached_song(tmp_path)
    env = {**os.environ, "LINERNOTES_DATA_DIR": str(data_dir), "OPENAI_API_KEY": SECRET}
    env.pop("LINERNOTES_CHROMA_URL", None)
    prelude = ("from linernotes.agent import providers\n"
               "providers.OPENAI_TIMEOUT_S, providers.OPENAI_RETRIES = 1.0, 0\n"
               f"providers.OPENAI_DEADLINE_S = {DEADLINE_S}")
    with FakeOpenAI("trickle") as server:
        started = time.monotonic()
        process = describe_with(prelude, ["describe", str(path), "--no-store", "--format", "json",
                                          "--llm", f"openai:fake@{server.url}"], env=env)
        stdout, stderr = process.communicate(timeout=300)
        elapsed = time.monotonic() - started
    assert process.returncode == 3, stderr
    assert '"narrative"' in stdout and '"provider": "none"' in stdout.replace('":"', '": "')
    assert elapsed < ENDS_WITHIN_S + 30, elapsed  # + the interpreter's start
    warnings = _warnings(stderr)
    assert warnings and any("no complete reply within" in line for line in warnings)
    assert all("feature captions" in line or "deterministic writer" in line for line in warnings)
    assert "Traceback" not in stderr and SECRET not in stdout + stderr


# A chat turn: the same server faults never hang it, and the measured facts still answer.

KEY_QUESTION = "What key is Fixture Song in at 0:12?"  # resolved: the model only phrases the facts
OPEN_QUESTION = "Tell me something about the Fixture Song"  # unresolved: the model's tool loop


@pytest.fixture(scope="module")
def answerer():
    from linernotes.agent.answer import Answerer
    from linernotes.agent.library import Library

    return Answerer(Library.of_analyses([song_analysis()]))


def _chat_turn(answerer, tmp_path, url: str, question: str, *, streamed: bool) -> tuple[str, float]:
    from linernotes.agent.chat import ChatConfig, ChatSession

    session = ChatSession(ChatConfig(llm=f"openai:fake@{url}", threads_file=str(tmp_path / "threads.sqlite")),
                          answerer=answerer)
    started = time.monotonic()
    try:
        if streamed:
            *_, (_, result) = session.stream(question, thread=session.new_thread())
        else:
            result = session.ask(question)
    finally:
        session.close()
    return result["text"], time.monotonic() - started


def _deterministic_answer(answerer, question: str) -> str:
    return answerer.answer(question).text


CHAT_FAULTS = ["trickle", "keepalive", "stall", "die", "refuse", "malformed", "empty", "endless",
               "invalid_tool_call", "unknown_tool"]


@pytest.mark.parametrize("streamed", [False, True], ids=["invoke", "stream"])
@pytest.mark.parametrize("mode", CHAT_FAULTS)
def test_a_chat_turn_survives_a_failing_server(mode, streamed, answerer, tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    with FakeOpenAI(mode) as server:
        text, elapsed = _chat_turn(answerer, tmp_path, server.url, KEY_QUESTION, streamed=streamed)
    assert server.requests and server.requests[0]["body"].get("stream", False) is streamed
    assert elapsed < ENDS_WITHIN_S, f"the turn took {elapsed:.0f} s"
    assert text.startswith(_deterministic_answer(answerer, KEY_QUESTION)), text
    assert SECRET not in text and "Traceback" not in text


@pytest.mark.parametrize("mode", ["invalid_tool_call", "unknown_tool", "empty"])
def test_invalid_tool_calls_in_the_chat_tool_loop_leave_the_facts(mode, answerer, tmp_path):
    with FakeOpenAI(mode) as server:
        text, _ = _chat_turn(answerer, tmp_path, server.url, OPEN_QUESTION, streamed=False)
    assert text == _deterministic_answer(answerer, OPEN_QUESTION)
    if mode == "unknown_tool":  # refused, said so to the model, and the loop still ended
        tool_replies = [message for request in server.requests for message in request["body"]["messages"]
                        if message["role"] == "tool"]
        assert tool_replies and all("no tool 'rm_rf'" in message["content"] for message in tool_replies)


@pytest.mark.parametrize("mode", ["trickle", "die"])
def test_a_failing_server_in_the_chat_tool_loop_falls_back_to_the_facts_with_a_warning(mode, answerer, tmp_path,
                                                                                      caplog):
    with FakeOpenAI(mode) as server, caplog.at_level("WARNING", logger="linernotes"):
        text, elapsed = _chat_turn(answerer, tmp_path, server.url, OPEN_QUESTION, streamed=False)
    assert elapsed < ENDS_WITHIN_S
    assert text == _deterministic_answer(answerer, OPEN_QUESTION)
    assert len([record for record in caplog.records if record.levelname == "WARNING"]) == 1
