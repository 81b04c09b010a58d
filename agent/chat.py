"""The chat agent: a LangGraph tool-calling agent over the song library.

Its tools query the store (list songs, a song's summary, what plays at a time, a
section's segments, search by meaning, similar songs) and can describe a new file.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode, tools_condition

from linernotes.agent.providers import resolve_provider
from linernotes.agent.tools import memory_tools

CHAT_SYSTEM = (
    "You answer questions about the user's music library. Use the tools to look facts up; "
    "state only what they return, with times as m:ss. Be brief. If the library has no answer, say so."
)

_AGENTS: dict[tuple, object] = {}


@dataclass(kw_only=True)
class ChatConfig:
    """What a chat turn needs: the provider (or a ready model) and where the store is."""

    llm: str | None = None
    chat_model: BaseChatModel | None = None
    store_path: str | None = None
    store_url: str | None = None
    max_steps: int = 8
    describe_options: dict = field(default_factory=dict)  # passed to `agent.api.describe` by the describe tool


def build_chat_agent(model: BaseChatModel, *, config: ChatConfig):
    """The compiled tool-calling agent: the model, then the tools it calls, until it answers."""
    from linernotes.agent.api import describe
    from linernotes.memory.store import SongStore

    store = SongStore(path=config.store_path, url=config.store_url)

    def describe_file(path: str) -> str:
        analysis = describe(path, store=True, store_path=config.store_path, store_url=config.store_url,
                            **config.describe_options)
        return analysis.narrative.markdown if analysis.narrative else analysis.summary.model_dump_json()

    tools = memory_tools(store, describe_file=describe_file)
    bound = model.bind_tools(tools)

    def agent(state: MessagesState) -> dict:
        return {"messages": [bound.invoke([SystemMessage(content=CHAT_SYSTEM), *state["messages"]])]}

    builder = StateGraph(MessagesState)
    builder.add_node("agent", agent)
    builder.add_node("tools", ToolNode(tools))
    builder.add_edge(START, "agent")
    builder.add_conditional_edges("agent", tools_condition)
    builder.add_edge("tools", "agent")
    return builder.compile(name="chat")


def ask(question: str, *, history: list[BaseMessage] | None = None, config: ChatConfig | None = None) -> str:
    """Answer one question, given the conversation so far; `history` is extended in place.

    Without an LLM (provider `none`) there is no agent to plan tool calls: the answer is a
    search of the library by meaning, and says how to get a conversation.
    """
    config = config or ChatConfig()
    model = config.chat_model or resolve_provider(config.llm).chat_model
    if model is None:
        return search_answer(question, config=config)
    history = history if history is not None else []
    history.append(HumanMessage(content=question))
    key = (id(model), config.store_path, config.store_url)
    if key not in _AGENTS:  # opening the store loads the embedder: once per session, not per turn
        _AGENTS[key] = build_chat_agent(model, config=config)
    agent = _AGENTS[key]
    result = agent.invoke({"messages": list(history)},
                          config={"recursion_limit": 2 * config.max_steps + 1})
    answer = next((message for message in reversed(result["messages"]) if isinstance(message, AIMessage)
                   and not message.tool_calls), None)
    text = answer.text.strip() if answer is not None else "I could not finish answering that."
    history.append(AIMessage(content=text))
    return text


def search_answer(question: str, *, config: ChatConfig, k: int = 5) -> str:
    """The passages of the library nearest in meaning to the question, without an LLM."""
    from linernotes.memory.store import SongStore
    from linernotes.tools.vocabulary import format_time

    store = SongStore(path=config.store_path, url=config.store_url)
    songs = {song.id: song.display_name for song in store.list_songs()}
    if not songs:
        return "The library is empty: describe a song first (describe FILE)."
    lines = [f"Without an LLM I can only search (--llm local or --llm openai:MODEL to converse). "
             f"The passages nearest to your question in {len(songs)} songs:"]
    for hit in store.search_segments(question, k=k):
        segment = hit.segment
        lines.append(f"- {songs.get(segment.song_id, segment.song_id[:12])}, {segment.label} "
                     f"{format_time(segment.start)}–{format_time(segment.end)}: {segment.caption}")
    return "\n".join(lines)
