"""The programmatic API: describe a song, chat about the library."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Callable

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import BaseMessage

from agent.chat import ChatConfig, ask
from agent.config import DescribeConfig
from agent.graph import graph, narrative_graph
from tools.schema import SongAnalysis

if TYPE_CHECKING:
    from tools.analyze import AnalysisConfig


def describe(
    path: str | Path,
    *,
    config: AnalysisConfig | None = None,
    llm: str | None = None,
    chat_model: BaseChatModel | None = None,
    store: bool = True,
    store_path: str | Path | None = None,
    store_url: str | None = None,
    progress: Callable[[str, float], None] | None = None,
    warn: Callable[[str], None] | None = None,
    llm_budget_s: float = 18.0,
) -> SongAnalysis:
    """Describe one song with the describe graph: facts, memory and a verified narrative.

    Parameters
    ----------
    path : str or Path
        The audio file.
    config : AnalysisConfig, optional
        The engine's settings (window, Essentia models, duration limit, cache).
    llm : str, optional
        "none", "local" or "openai:MODEL[@URL]"; default `$LINERNOTES_LLM`, else local when
        installed, else none. A provider that fails falls back to none with a warning.
    chat_model : BaseChatModel, optional
        A ready LangChain chat model, used instead of `llm`.
    store : bool
        Keep the song in memory (Chroma) at `store_path` / `store_url`.
    progress : callable, optional
        Called as ``progress(stage, fraction_done)``.
    warn : callable, optional
        Receives one-line warnings (a provider that fell back, a store that failed).

    Returns
    -------
    SongAnalysis
        With `narrative` set: its Markdown, the provider and model that wrote it, and the
        number of claims checked and failed.
    """
    settings = DescribeConfig(analysis=config, llm=llm, chat_model=chat_model, store=store,
                              store_path=str(store_path) if store_path else None, store_url=store_url,
                              progress=progress, warn=warn, llm_budget_s=llm_budget_s)
    result = graph.invoke({"path": str(path)}, config={"configurable": vars(settings)})
    return result["analysis"]


def narrate(
    analysis: SongAnalysis,
    *,
    llm: str | None = None,
    chat_model: BaseChatModel | None = None,
    song_id: str | None = None,
    store_path: str | None = None,
    store_url: str | None = None,
    llm_budget_s: float = 18.0,
) -> SongAnalysis:
    """Write (or rewrite) the verified narrative of an existing analysis, without re-analysing.

    With `song_id`, the outline is planned from that song's segments in memory.
    """
    settings = DescribeConfig(llm=llm, chat_model=chat_model, store_path=store_path, store_url=store_url,
                              llm_budget_s=llm_budget_s)
    result = narrative_graph.invoke({"analysis": analysis, "song_id": song_id},
                                    config={"configurable": vars(settings)})
    return result["analysis"]


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
