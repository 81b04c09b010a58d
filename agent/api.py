"""The programmatic API: describe songs, analyse them, and chat about the library."""

from __future__ import annotations

from pathlib import Path

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import BaseMessage

from linernotes.agent.chat import ChatConfig, ask
from linernotes.agent.describe import analyze, describe, narrate

__all__ = ["analyze", "chat", "describe", "narrate"]


def chat(
    question: str,
    *,
    history: list[BaseMessage] | None = None,
    llm: str | None = None,
    chat_model: BaseChatModel | None = None,
    store_path: str | Path | None = None,
    store_url: str | None = None,
) -> str:
    """One chat turn over the library (see `agent.chat.ask`)."""
    config = ChatConfig(llm=llm, chat_model=chat_model, store_path=str(store_path) if store_path else None,
                        store_url=store_url)
    return ask(question, history=history, config=config)
