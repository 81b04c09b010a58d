"""The programmatic API: `MusicAgent` describes songs and answers questions about them.

>>> from linernotes import MusicAgent
>>> agent = MusicAgent(llm="none")
>>> agent.describe("song.flac")                  # SongAnalysis, stored in the library
>>> answer = agent.ask("What key is it in at 0:30?")
>>> answer.text, answer.citations, answer.thread
>>> agent.ask("And at 1:05?", thread=answer.thread).text
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from pydantic import BaseModel

from linernotes.agent.answer import Citation
from linernotes.agent.chat import ChatConfig, ChatSession
from linernotes.agent.describe import analyze, describe, narrate
from linernotes.tools.schema import SongAnalysis

__all__ = ["Answer", "MusicAgent", "analyze", "describe", "narrate"]


class Answer(BaseModel):
    """A chat answer: its text, the song spans it rests on, and the thread it belongs to."""

    text: str
    citations: list[Citation]
    thread: str


class MusicAgent:
    """Describe songs into a library and converse about them.

    Parameters
    ----------
    llm : str, optional
        "none" (deterministic answers), "local" (the embedded model) or "openai:MODEL[@URL]";
        default `$LINERNOTES_LLM`, else local when installed, else none.
    store_path : str or Path, optional
        Directory of the embedded song store (default in the data directory).
    store_url : str, optional
        A Chroma server instead of the embedded store.
    threads_file : str or Path, optional
        SQLite file of the conversation threads (default in the data directory).
    """

    def __init__(self, *, llm: str | None = None, store_path: str | Path | None = None,
                 store_url: str | None = None, threads_file: str | Path | None = None) -> None:
        self._config = ChatConfig(llm=llm, store_path=str(store_path) if store_path else None, store_url=store_url,
                                  threads_file=str(threads_file) if threads_file else None)
        self._session: ChatSession | None = None

    @property
    def session(self) -> ChatSession:
        """The chat session, opened on first use (it loads the store and the model)."""
        if self._session is None:
            self._session = ChatSession(self._config)
        return self._session

    def describe(self, path: str | Path, *, narrative: bool = True) -> SongAnalysis:
        """Analyse a song, write its verified narrative, and store it in the library."""
        return describe(path, llm=self._config.llm, store=True, store_path=self._config.store_path,
                        store_url=self._config.store_url, narrative=narrative)

    def ask(self, question: str, *, thread: str | None = None) -> Answer:
        """Answer a question about the library; pass `thread` to follow up on earlier questions."""
        result = self.session.ask(question, thread=thread)
        return Answer(text=result["text"], citations=result["citations"], thread=result["thread"])

    async def adescribe(self, path: str | Path, *, narrative: bool = True) -> SongAnalysis:
        return await asyncio.to_thread(self.describe, path, narrative=narrative)

    async def aask(self, question: str, *, thread: str | None = None) -> Answer:
        return await asyncio.to_thread(self.ask, question, thread=thread)

    def new_thread(self) -> str:
        return self.session.new_thread()

    def threads(self) -> list[str]:
        """Every stored thread, most recent first."""
        return self.session.threads()

    def songs(self) -> list[str]:
        """The names of the songs in the library."""
        return [song.name for song in self.session.answerer.library.refresh().songs]

    def similar(self, song_or_segment: str, k: int = 5) -> str:
        """Songs that sound like a song, or passages like a moment: "Song title" or "Song title@0:45"."""
        song, _, time = song_or_segment.partition("@")
        from linernotes.tools.vocabulary import parse_time

        self.session.answerer.library.refresh()
        return self.session.answerer.similar_text(song, parse_time(time) if time else None, k=k)

    def forget(self, song: str) -> int:
        """Remove a song from the library; returns how many records went."""
        store = self.session.answerer.store
        return store.forget(song) if store is not None else 0
