"""LLM providers behind one interface, chosen with `--llm` or `$LINERNOTES_LLM`.

`none` (the deterministic writer, always there), `local` (the embedded GGUF), and
`openai:MODEL` (OpenAI with `OPENAI_API_KEY`, or any OpenAI-compatible server: set
`OPENAI_BASE_URL`, or write `openai:MODEL@http://host:port/v1`, or just the base URL, whose
model is `$LINERNOTES_LLM_MODEL` or "default"). Default: `local` when
installed, else `none`. A provider that cannot start falls back to `none` with a warning.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass
from typing import Callable

from langchain_core.language_models.chat_models import BaseChatModel

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
# Seconds an OpenAI-compatible server may stay silent (connect, any read), how often to
# retry, and the seconds one call may take in all: a server that trickles tokens forever
# never trips a read timeout, so the deadline is what ends it.
OPENAI_TIMEOUT_S = 60.0
OPENAI_RETRIES = 1
OPENAI_DEADLINE_S = 90.0
# No token is longer than this many characters: a longer reply broke its max_tokens.
_CHARACTERS_PER_TOKEN = 16
# What API keys look like ("sk-…", "sk-proj-…"): never repeated in a message.
_KEY_PATTERN = re.compile(r"\b(sk|pk|rk)-[A-Za-z0-9_\-]{8,}")


class ProviderError(RuntimeError):
    """An LLM request that failed; the message is one line, with any API key blanked out."""


def redact(text: str, *, secret: str | None = None) -> str:
    """`text` with `secret` and anything shaped like an API key replaced by ``[key hidden]``."""
    if secret:
        text = text.replace(secret, "[key hidden]")
    return _KEY_PATTERN.sub("[key hidden]", text)


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
    # langchain_openai: imported only when used.
    from linernotes.agent.openai_chat import CompatibleChatOpenAI

    chat = CompatibleChatOpenAI(model=model, base_url=base_url, api_key=api_key or "not-needed",
                                timeout=OPENAI_TIMEOUT_S, max_retries=OPENAI_RETRIES, temperature=0.3,
                                call_deadline_s=OPENAI_DEADLINE_S)
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
