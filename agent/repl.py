"""`linernotes chat`: an interactive chat over the library, rendered with rich."""

from __future__ import annotations

from pathlib import Path

from langchain_core.messages import BaseMessage
from rich.console import Console
from rich.markdown import Markdown

from linernotes.agent.chat import ChatConfig, ask
from linernotes.agent.providers import resolve_provider


def run_repl(
    *,
    llm: str | None = None,
    store_path: str | Path | None = None,
    store_url: str | None = None,
    console: Console | None = None,
) -> int:
    """Read questions until EOF, `exit` or `quit`, answer each as Markdown; returns the exit code."""
    console = console or Console()
    provider = resolve_provider(llm)
    config = ChatConfig(llm=provider.name, chat_model=provider.chat_model,
                        store_path=str(store_path) if store_path else None, store_url=store_url)
    history: list[BaseMessage] = []
    mode = provider.name if provider.chat_model is not None else "none: search only"
    console.print(f"[bold]linernotes chat[/] ({mode}) — ask about your songs (Ctrl-D or 'quit' ends).")
    while True:
        try:
            question = console.input("[bold cyan]you>[/] ").strip()
        except (EOFError, KeyboardInterrupt):
            console.print()
            return 0
        if question.lower() in {"exit", "quit"}:
            return 0
        if not question:
            continue
        with console.status("thinking…"):
            answer = ask(question, history=history, config=config)
        console.print(Markdown(answer))
