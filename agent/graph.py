"""The describe graph: load → whole-song passes → per-segment fan-out → store → plan →
write → verify (→ write once more) → report.

`graph` is the compiled graph that `langgraph.json` points LangGraph tooling at;
`narrative_graph` is its plan → report tail alone, to narrate an existing analysis.
The engine (torch, essentia, madmom) is imported inside the nodes that run it, so that
narrating, chatting and inspecting the graph stay quick to start.
"""

from __future__ import annotations

import time
from functools import lru_cache

from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph
from langgraph.types import Send

from linernotes.agent.config import DescribeConfig
from linernotes.agent.deadline import llm_deadline
from linernotes.agent.narrative import (
    narrative_record, rewrite_paragraph, rewrite_problems, rewrite_transitions, split_opening,
    verify_paragraph,
)
from linernotes.agent.outline import build_outline
from linernotes.agent.providers import NONE, Provider, resolve_provider, warn
from linernotes.agent.state import DescribeInput, DescribeOutput, DescribeState, NarrateInput, SegmentTask
from linernotes.agent.writer import deterministic_paragraphs, render_markdown


def _config(config: RunnableConfig | None) -> DescribeConfig:
    return DescribeConfig.from_runnable_config(config)


def _analysis_config(settings: DescribeConfig):
    from linernotes.tools.analyze import AnalysisConfig

    return settings.analysis or AnalysisConfig()


def _warn(settings: DescribeConfig, message: str) -> None:
    (settings.warn or warn)(message)


def _progress(settings: DescribeConfig, stage: str, fraction: float) -> None:
    if settings.progress is not None:
        settings.progress(stage, fraction)


def _store(settings: DescribeConfig):
    return _open_store(settings.store_path, settings.store_url)


@lru_cache(maxsize=4)
def _open_store(path: str | None, url: str | None):
    """Opening a store loads its text embedder: once per location and process."""
    from linernotes.memory.store import SongStore

    return SongStore(path=path, url=url)


def _provider(settings: DescribeConfig) -> Provider:
    if settings.chat_model is not None:
        model = settings.chat_model
        return Provider(name=settings.llm or "custom", chat_model=model,
                        model=getattr(model, "model_name", None) or model._llm_type)
    return resolve_provider(settings.llm, n_threads=settings.n_threads, warn=settings.warn or warn)


# Nodes -------------------------------------------------------------------------------

def load(state: DescribeState, config: RunnableConfig) -> dict:
    """Pick the provider, then take the analysis from the cache or decode the audio."""
    from linernotes.tools.analyze import cached_analysis
    from linernotes.tools.audio import load_audio

    started = time.perf_counter()
    settings = _config(config)
    provider = _provider(settings)
    analysis_config = _analysis_config(settings)
    cached = cached_analysis(state["path"], config=analysis_config)
    if cached is not None:
        return {"provider": provider, "analysis": cached}
    # Longer than one chunk: nothing is decoded here, `song_passes` analyses it chunk by chunk.
    from linernotes.tools.longform import long_file
    chunked = long_file(state["path"], config=analysis_config)
    if chunked is not None:
        return {"provider": provider, "audio": chunked, "started": started, "timings": {}}
    audio = load_audio(state["path"], max_duration_s=analysis_config.max_duration_s)
    return {"provider": provider, "audio": audio, "started": started,
            "timings": {"decode": time.perf_counter() - started}}


def song_passes(state: DescribeState, config: RunnableConfig) -> dict:
    """The whole-song passes (rhythm, tonality, chords, loudness, tags, structure) and the segment plan."""
    from linernotes.tools.analyze import plan_segments, run_song_passes, summarize

    settings = _config(config)
    analysis_config = _analysis_config(settings)
    from linernotes.tools.longform import LongFile, long_summary, run_long_passes
    if isinstance(state["audio"], LongFile):  # a long file, in bounded memory (tools/longform.py)
        passes = run_long_passes(state["audio"], config=analysis_config, progress=settings.progress)
        summary = long_summary(passes)
    else:
        passes = run_song_passes(state["audio"], config=analysis_config, progress=settings.progress)
        summary = summarize(passes)
    passes.timings = {**state["timings"], **passes.timings}
    section_captioner, base = _captioners(settings, state["provider"])
    _progress(settings, "describing segments", 0.9)
    return {"passes": passes, "passes_finished": time.perf_counter(),
            "spans": plan_segments(passes, window_s=analysis_config.window_s),
            "summary": summary, "section_captioner": section_captioner, "window_captioner": base}


def _captioners(settings: DescribeConfig, provider: Provider):
    """The section and window captioners: the one choice of captioner in the pipeline."""
    from linernotes.tools.captioner import FeatureCaptioner

    base = settings.captioner or FeatureCaptioner()
    # Sections are few: the LLM captions them; windows keep the feature caption, so LLM time stays bounded.
    # The embedded model's 2-core time goes to the narrative instead (`llm_captions` None).
    llm_captions = settings.llm_captions if settings.llm_captions is not None else provider.name != "local"
    if provider.chat_model is not None and llm_captions and settings.narrative:
        from linernotes.agent.captioner import LLMCaptioner

        return LLMCaptioner(provider.chat_model, base=base, budget_s=settings.caption_budget_s,
                            warn=settings.warn or warn), base
    return base, base


def fan_out(state: DescribeState) -> list[Send]:
    """One `segment` branch per section and window."""
    spans = state["spans"]
    return [
        Send("segment", SegmentTask(
            passes=state["passes"], span=span, summary=state["summary"],
            previous_span=spans[position - 1] if position and spans[position - 1].kind == span.kind else None,
            captioner=state["section_captioner"] if span.kind == "section" else state["window_captioner"],
        ))
        for position, span in enumerate(spans)
    ]


def segment(task: SegmentTask) -> dict:
    """Features and caption of one segment (runs in parallel with the others)."""
    from linernotes.tools.analyze import describe_segment

    described = describe_segment(task["passes"], task["span"])
    previous = describe_segment(task["passes"], task["previous_span"]) if task["previous_span"] else None
    caption = task["captioner"].caption(described, summary=task["summary"], previous=previous)
    return {"segments": [described.model_copy(update={"caption": caption})]}


def assemble(state: DescribeState, config: RunnableConfig) -> dict:
    """Put the segments back in order and assemble the `SongAnalysis` (and cache it)."""
    from linernotes.tools import cache
    from linernotes.tools.analyze import assemble_analysis

    settings = _config(config)
    ordered = sorted(state["segments"], key=lambda item: (item.start, item.index))
    sections = [item for item in ordered if item.kind == "section"]
    windows = [item for item in ordered if item.kind == "window"]
    passes = state["passes"]
    passes.timings["segments"] = time.perf_counter() - state["passes_finished"]
    analysis = assemble_analysis(passes, sections, windows, summary=state["summary"])
    analysis.timings["total"] = round(time.perf_counter() - state["started"], 3)
    analysis_config = _analysis_config(settings)
    if analysis_config.use_cache:
        cache.save(analysis, analysis_config.cache_tag())
    return {"analysis": analysis}


def store(state: DescribeState, config: RunnableConfig) -> dict:
    """Keep the analysis in memory; a store that fails is reported, the analysis goes on."""
    settings = _config(config)
    if not settings.store:
        return {"song_id": None}
    _progress(settings, "storing in memory", 0.93)
    try:
        return {"song_id": _store(settings).add_song(state["analysis"])}
    except Exception as error:
        _warn(settings, f"could not store the song in memory ({error})")
        return {"song_id": None}


def plan(state: DescribeState, config: RunnableConfig) -> dict:
    """The outline of the analysis in the graph's state."""
    settings = _config(config)
    outline = build_outline(state["analysis"], tag_threshold=settings.tag_threshold)
    drafts = deterministic_paragraphs(outline)
    # The narrative graph starts here, without a `load` node to have picked the provider.
    provider = state.get("provider") or _provider(settings)
    return {"outline": outline, "drafts": drafts, "paragraphs": drafts, "attempt": 0, "llm_seconds": 0.0,
            "provider": provider}


def write(state: DescribeState, config: RunnableConfig) -> dict:
    """The LLM rewrites the narrative's prose (on a retry: only the failed paragraphs).

    With `llm_rewrite` "all" each overview and section paragraph is rewritten; with
    "overview+transitions" the overview, then all the sections' opening sentences in one call,
    each checked against its section before it replaces the deterministic sentence.
    """
    settings = _config(config)
    provider: Provider = state["provider"]
    attempt = state["attempt"] + 1
    if provider.chat_model is None:
        return {"attempt": attempt}
    _progress(settings, f"writing with {provider.name}", 0.95)
    use_tools = settings.writer_tools if settings.writer_tools is not None else provider.name != "local"
    if use_tools:
        from linernotes.agent.tools import analysis_tools  # imports the store: only when the writer uses tools
    tools = analysis_tools(state["analysis"]) if use_tools else None
    rewrite = settings.llm_rewrite or ("overview+transitions" if provider.name == "local" else "all")
    with llm_deadline(settings.llm_budget_s - state["llm_seconds"]) as budget:  # no call outlasts the budget
        update = _rewrite(state, settings, provider, tools, rewrite=rewrite, attempt=attempt)
    if budget.cut:
        _warn(settings, f"the narrative's LLM budget of {settings.llm_budget_s:g} s ran out: {budget.cut} "
                        f"call(s) cut off, their paragraphs keep the deterministic text")
    return update


def _rewrite(state: DescribeState, settings: DescribeConfig, provider: Provider, tools: list | None, *,
             rewrite: str, attempt: int) -> dict:
    """The write node's calls, made inside the budget's deadline."""
    drafts, paragraphs = state["drafts"], list(state["paragraphs"])
    spent = state["llm_seconds"]
    for position, draft in enumerate(drafts):
        whole = draft.kind == "overview" or (draft.kind == "section" and rewrite == "all")
        if not whole or spent >= settings.llm_budget_s:
            continue
        errors = None
        if attempt > 1:
            verification = state["verifications"][position]
            if paragraphs[position].written_by != "llm" or verification.ok:
                continue
            errors = verification.errors()
        started = time.perf_counter()
        try:
            text = rewrite_paragraph(provider.chat_model, draft.text, errors=errors,
                                     previous=paragraphs[position].text if errors else None, tools=tools,
                                     max_tool_rounds=settings.max_tool_rounds, words=settings.paragraph_words)
        except Exception as error:
            _warn(settings, f"the {provider.name} LLM failed ({error}); the deterministic writer takes over")
            return {"attempt": attempt, "provider": NONE, "paragraphs": drafts, "llm_seconds": spent}
        spent += time.perf_counter() - started
        # The overview spans the whole song and lists no events: the guard is for sections.
        if text and (draft.kind != "section" or not rewrite_problems(draft.text, text)):
            paragraphs[position] = draft.model_copy(update={"text": text, "written_by": "llm"})
    if rewrite == "overview+transitions" and attempt == 1 and spent < settings.llm_budget_s:
        started = time.perf_counter()
        try:
            paragraphs = _rewrite_transitions(state, provider, paragraphs,
                                              budget_s=settings.llm_budget_s - spent)
        except Exception as error:
            _warn(settings, f"the {provider.name} LLM failed ({error}); the deterministic writer takes over")
            return {"attempt": attempt, "provider": NONE, "paragraphs": drafts, "llm_seconds": spent}
        spent += time.perf_counter() - started
    return {"attempt": attempt, "paragraphs": paragraphs, "llm_seconds": spent}


def _rewrite_transitions(state: DescribeState, provider: Provider, paragraphs: list, *, budget_s: float) -> list:
    """Every section's first sentence rewritten in a few batched calls, none started after
    `budget_s`; a line that fails its check is dropped."""
    positions = [position for position, paragraph in enumerate(paragraphs) if paragraph.kind == "section"]
    openings = [split_opening(paragraphs[position].text) for position in positions]
    rewritten = rewrite_transitions(provider.chat_model, [opening for opening, _ in openings], budget_s=budget_s)
    updated = list(paragraphs)
    for position, (_, rest), line in zip(positions, openings, rewritten):
        if not line:
            continue
        candidate = paragraphs[position].model_copy(update={"text": f"{line} {rest}".strip(), "written_by": "llm"})
        if verify_paragraph(state["analysis"], state["outline"], candidate).ok and \
                not rewrite_problems(paragraphs[position].text, candidate.text):
            updated[position] = candidate
    return updated


def verify(state: DescribeState) -> dict:
    """Check every claim; after the retry, failed LLM paragraphs fall back to the deterministic text."""
    analysis, outline = state["analysis"], state["outline"]
    paragraphs = list(state["paragraphs"])
    verifications = [verify_paragraph(analysis, outline, paragraph) for paragraph in paragraphs]
    if state["attempt"] >= 2 or state["provider"].chat_model is None:
        for position, verification in enumerate(verifications):
            if not verification.ok and paragraphs[position].written_by == "llm":
                paragraphs[position] = state["drafts"][position]
                verifications[position] = verify_paragraph(analysis, outline, paragraphs[position])
    return {"paragraphs": paragraphs, "verifications": verifications}


def after_store(state: DescribeState, config: RunnableConfig) -> str:
    """Narrate, unless the run asked for the analysis alone (`analyze`, `--no-narrative`)."""
    return "plan" if _config(config).narrative else END


def after_verify(state: DescribeState) -> str:
    """Retry the writer once when an LLM paragraph failed verification."""
    failed = any(not verification.ok and paragraph.written_by == "llm"
                 for verification, paragraph in zip(state["verifications"], state["paragraphs"]))
    return "write" if failed and state["attempt"] < 2 else "report"


def report(state: DescribeState) -> dict:
    """The Markdown narrative, and the analysis carrying it."""
    provider: Provider = state["provider"]
    markdown = render_markdown(state["outline"], state["paragraphs"], source_path=state["analysis"].source.path)
    narrative = narrative_record(markdown, state["verifications"], provider=provider.name, model=provider.model)
    return {"markdown": markdown, "analysis": state["analysis"].model_copy(update={"narrative": narrative})}


def _add_narrative_nodes(builder: StateGraph) -> None:
    builder.add_node("plan", plan)
    builder.add_node("write", write)
    builder.add_node("verify", verify)
    builder.add_node("report", report)
    builder.add_edge("plan", "write")
    builder.add_edge("write", "verify")
    builder.add_conditional_edges("verify", after_verify, ["write", "report"])
    builder.add_edge("report", END)


def build_narrative_graph() -> StateGraph:
    """plan → write → verify → report alone: narrate an existing analysis (input: `analysis`)."""
    builder = StateGraph(DescribeState, input_schema=NarrateInput, output_schema=DescribeOutput)
    _add_narrative_nodes(builder)
    builder.add_edge(START, "plan")
    return builder


def build_graph() -> StateGraph:
    """The describe graph, uncompiled (to add a checkpointer or inspect it)."""
    builder = StateGraph(DescribeState, input_schema=DescribeInput,
                         output_schema=DescribeOutput)
    builder.add_node("load", load)
    builder.add_node("song_passes", song_passes)
    builder.add_node("segment", segment)
    builder.add_node("assemble", assemble)
    builder.add_node("store", store)
    _add_narrative_nodes(builder)
    builder.add_edge(START, "load")
    builder.add_conditional_edges("load", lambda state: "store" if state.get("analysis") else "song_passes",
                                  ["song_passes", "store"])
    builder.add_conditional_edges("song_passes", fan_out, ["segment"])
    builder.add_edge("segment", "assemble")
    builder.add_edge("assemble", "store")
    builder.add_conditional_edges("store", after_store, ["plan", END])
    return builder


graph = build_graph().compile(name="describe")
narrative_graph = build_narrative_graph().compile(name="narrate")
