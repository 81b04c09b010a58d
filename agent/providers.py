"""LLM providers behind one interface, chosen with `--llm` or `$LINERNOTES_LLM`.

`none` (the deterministic writer, always there), `local` (the embedded GGUF), and
`openai:MODEL` (OpenAI with `OPENAI_API_KEY`, or any OpenAI-compatible server: set
`OPENAI_BASE_URL`, or write `openai:MODEL@http://host:port/v1`, or just the base URL, whose
model is `$LINERNOTES_LLM_MODEL` or "default"). Default: `local` when
installed, else `none`. A provider that cannot start falls back to `none` with a warning.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import Callable

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_openai import ChatOpenAI

from linernotes.agent.local_llm import MODEL_NAME, LocalModelError, local_chat_model, local_model_available
from linernotes.tools import settings



@dataclass(frozen=True)
class Provider:
    """A resolved provider: `chat_model` is None for `none`."""

    name: str  # "none", "local" or "openai"
    model: str | None
    chat_model: BaseChatModel | None
    warning: str | None = None


NONE = Provider(name="none", model=None, chat_model=None)


class CompatibleChatOpenAI(ChatOpenAI):
    """ChatOpenAI that never sends a null assistant content (llama.cpp's server rejects it)."""

    def _get_request_payload(self, input_, *, stop=None, **kwargs):
        payload = super()._get_request_payload(input_, stop=stop, **kwargs)
        for message in payload.get("messages", []):
            if message.get("role") == "assistant" and message.get("content") is None:
                message["content"] = ""
        return payload


def warn(message: str) -> None:
    """The default one-line warning, on stderr (the analysis goes on regardless)."""
    print(f"linernotes: warning: {message}", file=sys.stderr)


Warn = Callable[[str], None]


def fallback(reason: str, *, warn: Warn = warn) -> Provider:
    """The `none` provider, after telling the user why."""
    warn(f"{reason}; writing with the deterministic writer (--llm none)")
    return Provider(name="none", model=None, chat_model=None, warning=reason)


def default_spec() -> str:
    """`$LINERNOTES_LLM`, else `local` when the embedded model is installed, else `none`."""
    return settings.llm_spec() or ("local" if local_model_available() else "none")


def _openai(model_and_url: str, *, warn: Warn) -> Provider:
    model, _, base_url = model_and_url.partition("@")
    base_url = base_url or os.environ.get(settings.OPENAI_BASE_URL_ENV) or None
    api_key = os.environ.get(settings.OPENAI_API_KEY_ENV)
    if not model:
        return fallback("--llm openai:MODEL needs a model name", warn=warn)
    if api_key is None and base_url is None:
        return fallback("OPENAI_API_KEY is not set", warn=warn)
    chat = CompatibleChatOpenAI(model=model, base_url=base_url, api_key=api_key or "not-needed", timeout=60, max_retries=1,
                      temperature=0.3)
    return Provider(name="openai", model=model, chat_model=chat)


def resolve_provider(spec: str | None = None, *, n_threads: int | None = None, warn: Warn = warn) -> Provider:
    """Turn `none` / `local` / `openai:MODEL[@URL]` (or the default) into a ready provider.

    Never raises for an unavailable provider: it falls back to `none` with a warning.
    `n_threads` is for the embedded model: default 2, or 1 when the cores are busy.
    """
    spec = (spec or default_spec()).strip()
    if spec == "none":
        return NONE
    if spec == "local":
        try:
            return Provider(name="local", model=MODEL_NAME, chat_model=local_chat_model(n_threads=n_threads))
        except LocalModelError as error:
            return fallback(f"local LLM unavailable ({error})", warn=warn)
    if spec.startswith("openai:"):
        return _openai(spec.removeprefix("openai:"), warn=warn)
    if spec.startswith(("http://", "https://")):
        return _openai(f"{os.environ.get(settings.LLM_MODEL_ENV, 'default')}@{spec}", warn=warn)
    return fallback(f"unknown LLM provider {spec!r} (use none, local, openai:MODEL or a base URL)", warn=warn)
