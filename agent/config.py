"""Configuration of the describe graph, read by its nodes (LangGraph template style)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, Callable

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.runnables import RunnableConfig

if TYPE_CHECKING:
    from linernotes.tools.analyze import AnalysisConfig
    from linernotes.tools.captioner import Captioner


# The narrative's LLM seconds by default: with the prompts and the verifier around it, the
# embedded model's narrative of a 4-minute song stays within 20 s on 2 cores.
LLM_BUDGET_S = 19.0


@dataclass(kw_only=True)
class DescribeConfig:
    """Everything a describe run can be told; pass fields as `config["configurable"]`."""

    llm: str | None = None  # "none", "local", "openai:MODEL[@URL]"; default $LINERNOTES_LLM or local/none
    chat_model: BaseChatModel | None = None  # a ready model, used instead of `llm` (tests, embedding apps)
    store: bool = True  # keep the analysis in memory (Chroma)
    store_path: str | None = None
    store_url: str | None = None
    analysis: AnalysisConfig | None = None  # the engine's settings; default AnalysisConfig()
    narrative: bool = True  # plan, write and verify the narrative; False ends after the store
    captioner: Captioner | None = None  # writes every segment's caption; default FeatureCaptioner
    progress: Callable[[str, float], None] | None = None  # called as progress(stage, fraction_done)
    warn: Callable[[str], None] | None = None  # one-line warnings; default: stderr
    # LLM seconds for the narrative: no call runs past this (`agent.deadline`); the
    # deterministic writer keeps what was not rewritten by then.
    llm_budget_s: float = LLM_BUDGET_S
    caption_budget_s: float = 8.0  # LLM seconds for section captions
    # Section captions by the LLM; None: yes, except for the embedded model, whose 2-core time
    # goes to the narrative (windows always keep the deterministic caption).
    llm_captions: bool | None = None
    # Let the writer look facts up with the analysis tools; None: yes, except for the embedded
    # model, whose extra tool rounds would not fit the 2-core time budget.
    writer_tools: bool | None = None
    max_tool_rounds: int = 2
    paragraph_words: int = 60
    # What the LLM rewrites: "all" paragraphs, or "overview+transitions" (the overview, then every
    # section's opening sentence in one batched call); None: the latter for the embedded model,
    # whose 2-core speed could not rewrite a whole 4-minute narrative in the budget.
    llm_rewrite: str | None = None
    tag_threshold: float = 0.1  # weaker tags are not mentioned (the taggers' scores run low)
    n_threads: int | None = None  # the embedded model's threads; default 2, 1 on a busy machine

    @classmethod
    def from_runnable_config(cls, config: RunnableConfig | None = None) -> "DescribeConfig":
        configurable: dict[str, Any] = (config or {}).get("configurable", {}) or {}
        names = {field.name for field in fields(cls)}
        return cls(**{name: value for name, value in configurable.items() if name in names})
