"""The chat: a LangGraph graph that answers from measured facts, with threads kept in SQLite.

One turn runs ``answer`` (resolve the question, answer it deterministically), then, with an
LLM, either ``phrase`` (the model rewords the resolved facts in one short turn) or, when the
resolver could not pin the question down, ``agent`` ⇄ ``tools`` (a small tool-calling loop).
``check`` runs every LLM answer through the claim checker; one that contradicts the facts is
replaced by the deterministic answer. The thread's state (messages, the last resolved
question) is checkpointed, so ``--thread ID`` resumes a conversation after the process exits.
"""

from __future__ import annotations

import logging
import sqlite3
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Iterator

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from typing_extensions import TypedDict

from linernotes.agent.answer import Answerer, Citation, Reply
from linernotes.agent.checking import library_scope, phrasing_problems
from linernotes.agent.library import Library
from linernotes.agent.prompts import (
    CHAT_PHRASE_SYSTEM, CHAT_TOOLS_SYSTEM, chat_phrase_prompt, fence, fence_names, unfence,
)
from linernotes.agent.resolve import Question
from linernotes.agent.verify import verify_text
from linernotes.tools import settings

log = logging.getLogger("linernotes")

# The tool loop of an unresolved question: at most this many model calls.
MAX_TOOL_ROUNDS = 3
# A phrased answer is one to three sentences: a small model's turn stays short.
PHRASE_MAX_TOKENS = 96


class ChatState(TypedDict, total=False):
    """A thread: its messages, and the last resolved question (for follow-ups)."""

    messages: Annotated[list[AnyMessage], add_messages]
    question: dict | None  # the resolved `Question` of the last turn
    reply: dict | None  # the deterministic `Reply` of this turn
    answer: str  # the text shown
    citations: list[dict]


@dataclass(kw_only=True)
class ChatRuntime:
    """What the graph's nodes use, passed in `configurable["runtime"]`: never checkpointed."""

    answerer: Answerer
    model: BaseChatModel | None = None
    tools: list = field(default_factory=list)


def _runtime(config: RunnableConfig) -> ChatRuntime:
    runtime = (config.get("configurable") or {}).get("runtime")
    if runtime is None:  # under `langgraph dev`: the default store, no LLM
        from linernotes.memory.store import SongStore

        store = SongStore()
        runtime = ChatRuntime(answerer=Answerer(Library(store=store).refresh(), store=store))
    return runtime


def _answer(state: ChatState, config: RunnableConfig) -> dict:
    runtime = _runtime(config)
    text = state["messages"][-1].content
    previous = Question.model_validate(state["question"]) if state.get("question") else None
    reply = runtime.answerer.answer(str(text), previous=previous)
    return {"reply": reply.model_dump(), "question": reply.question.model_dump(), "answer": reply.text,
            "citations": [citation.model_dump() for citation in reply.citations]}


def _after_answer(state: ChatState, config: RunnableConfig) -> str:
    runtime = _runtime(config)
    if runtime.model is None:
        return "finish"
    return "phrase" if state["reply"]["resolved"] else "agent"


def _phrase(state: ChatState, config: RunnableConfig) -> dict:
    runtime = _runtime(config)
    reply = Reply.model_validate(state["reply"])
    names = [name for song in runtime.answerer.library.songs for name in song.names]
    prompt = chat_phrase_prompt(question=fence(reply.question.text), facts=fence_names(reply.text, names))
    try:
        message = runtime.model.invoke([SystemMessage(content=CHAT_PHRASE_SYSTEM), HumanMessage(content=prompt)],
                                       config=config, max_tokens=PHRASE_MAX_TOKENS)
        phrased = unfence(message.text).strip()
    except Exception as error:  # a provider that fails mid-chat: the facts still answer
        _llm_failed(error)
        return {"answer": reply.text}
    return {"answer": reply.text if phrasing_problems(phrased, reply, names=names) else phrased}


def _llm_failed(error: Exception) -> None:
    # One line on the "linernotes" logger: the command line counts it (exit code 3).
    log.warning("the LLM failed (%s); the answer is the deterministic one", error)


def _agent(state: ChatState, config: RunnableConfig) -> dict:
    runtime = _runtime(config)
    turn = [message for message in state["messages"]][-(2 * MAX_TOOL_ROUNDS + 1):]
    start = max(index for index, message in enumerate(turn) if isinstance(message, HumanMessage))
    bound = runtime.model.bind_tools(runtime.tools)
    try:
        message = bound.invoke([SystemMessage(content=CHAT_TOOLS_SYSTEM), *turn[start:]], config=config)
    except Exception as error:
        _llm_failed(error)
        return {"messages": [AIMessage(content="")]}  # `check` answers with the facts
    return {"messages": [message]}


def _after_agent(state: ChatState) -> str:
    last = state["messages"][-1]
    rounds = sum(isinstance(message, ToolMessage) for message in state["messages"][-2 * MAX_TOOL_ROUNDS:])
    return "tools" if isinstance(last, AIMessage) and last.tool_calls and rounds < MAX_TOOL_ROUNDS else "check"


def _tools(state: ChatState, config: RunnableConfig) -> dict:
    runtime = _runtime(config)
    by_name = {tool.name: tool for tool in runtime.tools}
    results = []
    for call in state["messages"][-1].tool_calls:
        tool = by_name.get(call["name"])
        try:
            content = tool.invoke(call["args"]) if tool else f"error: no tool {call['name']!r}"
        except Exception as error:  # bad arguments from the model: tell it, do not end the chat
            content = f"error: {error}"
        names = [name for song in runtime.answerer.library.songs for name in song.names]
        results.append(ToolMessage(content=fence_names(str(content), names), tool_call_id=call["id"], name=call["name"]))
    return {"messages": results}


def _check(state: ChatState, config: RunnableConfig) -> dict:
    runtime = _runtime(config)
    reply = Reply.model_validate(state["reply"])
    last = state["messages"][-1]
    text = unfence(last.text).strip() if isinstance(last, AIMessage) and not last.tool_calls else ""
    song_id = reply.question.song_ids[0] if reply.question.song_ids else None
    scope = library_scope(runtime.answerer.library, song_id)
    if not text or text.startswith(("{", "[")) or not verify_text(text, scope).ok:
        return {"answer": reply.text}
    return {"answer": text}


def _finish(state: ChatState) -> dict:
    return {"messages": [AIMessage(content=state["answer"])]}


def build_chat_graph() -> StateGraph:
    """The chat's graph, uncompiled: compile it with a checkpointer to keep threads."""
    builder = StateGraph(ChatState)
    builder.add_node("answer", _answer)
    builder.add_node("phrase", _phrase)
    builder.add_node("agent", _agent)
    builder.add_node("tools", _tools)
    builder.add_node("check", _check)
    builder.add_node("finish", _finish)
    builder.add_edge(START, "answer")
    builder.add_conditional_edges("answer", _after_answer, ["phrase", "agent", "finish"])
    builder.add_edge("phrase", "finish")
    builder.add_conditional_edges("agent", _after_agent, ["tools", "check"])
    builder.add_edge("tools", "agent")
    builder.add_edge("check", "finish")
    builder.add_edge("finish", END)
    return builder


# For `langgraph dev` / LangGraph Studio (langgraph.json): the server brings its own persistence.
graph = build_chat_graph().compile(name="chat")


def threads_path() -> Path:
    """The SQLite file of the chat's threads, in the data directory."""
    return settings.data_dir() / "chat-threads.sqlite"


@dataclass(kw_only=True)
class ChatConfig:
    """What a chat needs: the provider (or a ready model), the store, and where threads live."""

    llm: str | None = None
    chat_model: BaseChatModel | None = None
    store_path: str | None = None
    store_url: str | None = None
    threads_file: str | None = None  # default `threads_path()`
    allowed_dirs: list[str] = field(default_factory=list)  # folders `describe` may read


class TurnResult(TypedDict):
    text: str
    citations: list[Citation]
    thread: str


class ChatSession:
    """A chat over a library, its threads persisted in SQLite.

    Parameters
    ----------
    config : ChatConfig
    answerer : Answerer, optional
        A ready answerer (tests, benchmarks); default one over the store in `config`.
    """

    def __init__(self, config: ChatConfig | None = None, *, answerer: Answerer | None = None) -> None:
        from langgraph.checkpoint.sqlite import SqliteSaver

        self.config = config or ChatConfig()
        if answerer is None:
            from linernotes.memory.store import SongStore

            store = SongStore(path=self.config.store_path, url=self.config.store_url)
            answerer = Answerer(Library(store=store), store=store)
        self.answerer = answerer
        self.model = self.config.chat_model
        self.provider_name = "custom" if self.model is not None else "none"
        if self.model is None:
            from linernotes.agent.providers import resolve_provider

            provider = resolve_provider(self.config.llm)
            self.model, self.provider_name = provider.chat_model, provider.name
        path = Path(self.config.threads_file) if self.config.threads_file else threads_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        self._connection = sqlite3.connect(str(path), check_same_thread=False)
        self.checkpointer = SqliteSaver(self._connection)
        self.graph = build_chat_graph().compile(checkpointer=self.checkpointer, name="chat")
        self.runtime = ChatRuntime(answerer=self.answerer, model=self.model, tools=self._tools())

    def _tools(self) -> list:
        from linernotes.agent.tools import chat_tools

        if self.model is None:
            return []
        return chat_tools(self.answerer, describe_file=self.describe_file, narrate_song=self.narrate_song)

    def allowed_folders(self) -> list[Path]:
        """Where `describe_file` may read: the current folder, `allowed_dirs`, the songs' folders."""
        from linernotes.agent.allowed import default_allowed

        return default_allowed(self.config.allowed_dirs,
                               song_paths=[song.analysis.source.path for song in self.answerer.library.songs])

    def describe_file(self, path: str) -> str:
        """Describe a file inside the allowed folders into the store; returns its overview.

        Raises `PathRefused` for a path outside them (the tool returns that as an error message).
        """
        from linernotes.agent.allowed import allowed_path
        from linernotes.agent.describe import describe

        real = allowed_path(path, allowed=self.allowed_folders())
        analysis = describe(real, llm=self.config.llm, chat_model=self.config.chat_model, store=True,
                            store_path=self.config.store_path, store_url=self.config.store_url, narrative=False)
        self.answerer.library.refresh()
        return "described " + self.answerer.overview_text(analysis.source.sha256)

    def narrate_song(self, song: str) -> str:
        """Write a stored song's verified narrative again; returns its Markdown."""
        from linernotes.agent.describe import narrate

        found = self.answerer.library.find_song(song) or self.answerer.library.get(song)
        if found is None:
            raise LookupError(f"no song in the library matches {song!r}")
        analysis = narrate(found.analysis, llm=self.config.llm, chat_model=self.config.chat_model)
        return analysis.narrative.markdown if analysis.narrative else "no narrative was written"

    def _config(self, thread: str) -> RunnableConfig:
        return {"configurable": {"thread_id": thread, "runtime": self.runtime},
                "recursion_limit": 4 * MAX_TOOL_ROUNDS + 8}

    def new_thread(self) -> str:
        return uuid.uuid4().hex[:12]

    def ask(self, question: str, *, thread: str | None = None) -> TurnResult:
        """Answer one question in a thread (a new one when None)."""
        thread = thread or self.new_thread()
        self.answerer.library.refresh()
        result = self.graph.invoke({"messages": [HumanMessage(content=question)]}, config=self._config(thread))
        return TurnResult(text=result["answer"], thread=thread,
                          citations=[Citation.model_validate(item) for item in result.get("citations") or []])

    def stream(self, question: str, *, thread: str) -> Iterator[tuple[str, Any]]:
        """Yield ("token", text) while an LLM phrases, then ("answer", TurnResult)."""
        self.answerer.library.refresh()
        final: dict = {}
        for mode, payload in self.graph.stream({"messages": [HumanMessage(content=question)]},
                                               config=self._config(thread), stream_mode=["messages", "values"]):
            if mode == "messages":
                chunk, metadata = payload
                if metadata.get("langgraph_node") in ("phrase", "agent") and isinstance(chunk, AIMessage) and chunk.text:
                    yield "token", chunk.text
            else:
                final = payload
        yield "answer", TurnResult(text=final.get("answer", ""), thread=thread,
                                   citations=[Citation.model_validate(item) for item in final.get("citations") or []])

    def focus(self, thread: str, song_id: str) -> None:
        """Make `song_id` the thread's current song: questions that name none are about it."""
        question = Question(text="", intent="lookup", song_ids=[song_id])
        self.graph.update_state(self._config(thread), {"question": question.model_dump()}, as_node="finish")

    def history(self, thread: str) -> list[AnyMessage]:
        state = self.graph.get_state(self._config(thread))
        return list(state.values.get("messages", [])) if state and state.values else []

    def current_song(self, thread: str) -> str | None:
        state = self.graph.get_state(self._config(thread))
        question = state.values.get("question") if state and state.values else None
        return question["song_ids"][0] if question and question.get("song_ids") else None

    def threads(self) -> list[str]:
        """Every thread in the file, most recent first."""
        seen: dict[str, None] = {}
        for checkpoint in self.checkpointer.list(None):
            seen.setdefault(checkpoint.config["configurable"]["thread_id"], None)
        return list(seen)

    def reset(self, thread: str) -> None:
        self.checkpointer.delete_thread(thread)

    def close(self) -> None:
        self._connection.close()
