"""The pipeline's entry points: `describe` runs the describe graph; `analyze` runs the same
graph without LLM, store or narrative; `narrate` runs its plan → report tail on an analysis.

There is one orchestration, the describe graph (`agent/graph.py`): the evals time and score
`analyze`, which is exactly what `describe` runs up to the narrative.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Callable

from langchain_core.language_models.chat_models import BaseChatModel

from linernotes.agent.config import LLM_BUDGET_S, DescribeConfig
from linernotes.agent.graph import graph, narrative_graph
from linernotes.tools.schema import SongAnalysis

if TYPE_CHECKING:
    from linernotes.tools.analyze import AnalysisConfig
    from linernotes.tools.captioner import Captioner


def analyze(
    path: str | Path,
    *,
    config: AnalysisConfig | None = None,
    captioner: Captioner | None = None,
    progress: Callable[[str, float], None] | None = None,
) -> SongAnalysis:
    """Analyse a whole song: the describe graph without LLM, memory or narrative.

    Parameters
    ----------
    path : str or Path
        The audio file.
    config : AnalysisConfig, optional
        Window length, optional Essentia models, limits, caching.
    captioner : Captioner, optional
        Writes every segment's caption; the deterministic `FeatureCaptioner` by default.
    progress : callable, optional
        Called as ``progress(stage, fraction_done)``.

    Raises
    ------
    linernotes.tools.audio.AudioError
        When the file cannot be decoded or is too long.
    """
    settings = DescribeConfig(analysis=config, llm="none", store=False, narrative=False,
                              captioner=captioner, progress=progress)
    result = graph.invoke({"path": str(path)}, config={"configurable": vars(settings)})
    return result["analysis"]


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
    llm_budget_s: float = LLM_BUDGET_S,
    narrative: bool = True,
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
    narrative : bool
        Plan, write and verify the narrative; False stops after the analysis (and the store).

    Returns
    -------
    SongAnalysis
        With `narrative` set (unless `narrative` is False): its Markdown, the provider and model that wrote it, and the
        number of claims checked and failed.
    """
    settings = DescribeConfig(analysis=config, llm=llm, chat_model=chat_model, store=store,
                              store_path=str(store_path) if store_path else None, store_url=store_url,
                              progress=progress, warn=warn, llm_budget_s=llm_budget_s, narrative=narrative)
    result = graph.invoke({"path": str(path)}, config={"configurable": vars(settings)})
    return result["analysis"]


def narrate(
    analysis: SongAnalysis,
    *,
    llm: str | None = None,
    chat_model: BaseChatModel | None = None,
    llm_budget_s: float = LLM_BUDGET_S,
) -> SongAnalysis:
    """Write (or rewrite) the verified narrative of an existing analysis, without re-analysing."""
    settings = DescribeConfig(llm=llm, chat_model=chat_model, llm_budget_s=llm_budget_s)
    result = narrative_graph.invoke({"analysis": analysis},
                                    config={"configurable": vars(settings)})
    return result["analysis"]
