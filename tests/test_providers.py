"""Provider selection and fallback."""

import pytest

from linernotes.agent import local_llm, providers
from linernotes.tools import settings
from linernotes.agent.local_llm import LocalModelError, to_chat_messages
from linernotes.agent.providers import resolve_provider
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from agent_fixtures import song_analysis
from fake_openai import FakeOpenAI

from linernotes.agent.describe import narrate

KEY = "sk-test-0123456789abcdef"


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch, tmp_path):
    for name in (settings.LLM_ENV, "OPENAI_API_KEY", settings.OPENAI_BASE_URL_ENV):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LINERNOTES_DATA_DIR", str(tmp_path))


def test_none_is_always_there():
    provider = resolve_provider("none")
    assert provider.name == "none" and provider.chat_model is None


def test_environment_variable_chooses(monkeypatch):
    monkeypatch.setenv(settings.LLM_ENV, "none")
    assert resolve_provider().name == "none"


def test_default_is_local_only_when_installed(monkeypatch):
    monkeypatch.setattr(providers, "local_model_available", lambda: False)
    assert providers.default_spec() == "none"
    monkeypatch.setattr(providers, "local_model_available", lambda: True)
    assert providers.default_spec() == "local"


def test_local_without_the_model_falls_back_with_a_warning(monkeypatch, capsys):
    def missing(**_):
        raise LocalModelError("the embedded model is not installed")

    monkeypatch.setattr(providers, "local_chat_model", missing)
    provider = resolve_provider("local")
    assert provider.name == "none"
    assert "warning: local LLM unavailable" in capsys.readouterr().err


def test_openai_needs_a_key_or_a_server(capsys):
    assert resolve_provider("openai:gpt-4o-mini").name == "none"
    assert "OPENAI_API_KEY" in capsys.readouterr().err


def test_openai_compatible_server_by_base_url():
    provider = resolve_provider("openai:qwen2.5@http://127.0.0.1:8080/v1")
    assert (provider.name, provider.model) == ("openai", "qwen2.5")
    assert str(provider.chat_model.openai_api_base).startswith("http://127.0.0.1:8080/v1")


def test_openai_compatible_requests_have_no_null_content():
    provider = resolve_provider("openai:qwen2.5@http://127.0.0.1:8080/v1")
    payload = provider.chat_model._get_request_payload([
        HumanMessage(content="hi"), AIMessage(content="", tool_calls=[{"name": "song_facts", "args": {}, "id": "1"}]),
        ToolMessage(content="{}", tool_call_id="1"),
    ])
    assert payload["messages"][1]["content"] == ""


def test_a_bare_base_url_is_an_openai_compatible_server(monkeypatch):
    monkeypatch.setenv("LINERNOTES_LLM_MODEL", "qwen")
    provider = resolve_provider("http://127.0.0.1:8000/v1")
    assert (provider.name, provider.model) == ("openai", "qwen")


def test_openai_with_key(monkeypatch):
    """A real request: the key goes in the Authorization header, the model name and the
    prompt in the body, and the server's verified reply becomes the paragraph."""
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    reply = "The song opens on piano."
    with FakeOpenAI("echo", reply=reply) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.url)
        provider = resolve_provider("openai:gpt-4o-mini")
        assert (provider.name, provider.model) == ("openai", "gpt-4o-mini")
        answer = provider.chat_model.invoke("Say something about the song.", max_tokens=50)
        narrative = narrate(song_analysis(), chat_model=provider.chat_model).narrative
    assert answer.text == reply
    first = server.requests[0]
    assert first["path"] == "/v1/chat/completions"
    assert first["headers"]["authorization"] == f"Bearer {KEY}"
    assert first["body"]["model"] == "gpt-4o-mini"
    assert first["body"].get("max_completion_tokens", first["body"].get("max_tokens")) == 50
    assert first["body"]["messages"] == [{"role": "user", "content": "Say something about the song."}]
    assert reply in narrative.markdown and narrative.verified


def test_unknown_provider_falls_back(capsys):
    assert resolve_provider("claude").name == "none"
    assert "unknown LLM provider" in capsys.readouterr().err


def test_assembly_refuses_missing_parts(monkeypatch, tmp_path):
    monkeypatch.setattr(local_llm, "part_files", lambda: None)
    with pytest.raises(LocalModelError, match="linernotes setup"):
        local_llm.assemble_model(target_dir=tmp_path)


def test_assembly_refuses_a_wrong_checksum(monkeypatch, tmp_path):
    chunks = []
    for number in (1, 2):
        chunk = tmp_path / f"part{number:02d}.bin"
        chunk.write_bytes(b"GGUF" * 1000)
        chunks.append(chunk)
    monkeypatch.setattr(local_llm, "part_files", lambda: chunks)
    with pytest.raises(LocalModelError, match="sha256"):
        local_llm.assemble_model(target_dir=tmp_path)
    assert not (tmp_path / local_llm.MODEL_FILENAME).exists()


def test_assembly_is_the_parts_in_order(monkeypatch, tmp_path):
    import hashlib

    chunks = []
    for number, payload in enumerate((b"GGUF-head", b"-middle-", b"tail"), start=1):
        chunk = tmp_path / f"part{number:02d}.bin"
        chunk.write_bytes(payload)
        chunks.append(chunk)
    whole = b"GGUF-head-middle-tail"
    monkeypatch.setattr(local_llm, "part_files", lambda: chunks)
    monkeypatch.setattr(local_llm, "MODEL_SHA256", hashlib.sha256(whole).hexdigest())
    monkeypatch.setattr(local_llm, "MODEL_SIZE", len(whole))
    target = local_llm.assemble_model(target_dir=tmp_path)
    assert target.read_bytes() == whole
    assert local_llm.assemble_model(target_dir=tmp_path) == target  # stamped: no second assembly


def test_messages_for_llama_cpp_never_have_null_content():
    converted = to_chat_messages([
        SystemMessage(content="Write."), HumanMessage(content="Draft"),
        AIMessage(content="", tool_calls=[{"name": "song_facts", "args": {}, "id": "1"}]),
        ToolMessage(content='{"key": "C major"}', tool_call_id="1"),
    ], tools=[{"type": "function", "function": {"name": "song_facts", "description": "Facts.",
                                                "parameters": {"properties": {}}}}])
    assert all(message["content"] for message in converted)
    assert "<tool_call>" in converted[2]["content"] and converted[3]["role"] == "user"
    assert '"name": "song_facts"' in converted[0]["content"] and "<tools>" in converted[0]["content"]
