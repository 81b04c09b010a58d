"""`linernotes chat`: the terminal chat, with Markdown answers, input history and slash commands.

Ctrl-C interrupts an answer (the session goes on); Ctrl-D or /quit ends it. `/describe PATH`
reads only files inside the allowed folders (real paths: symlinks out of them are refused).
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.live import Live
from rich.markdown import Markdown

from linernotes.agent.allowed import PathRefused
from linernotes.agent.chat import ChatConfig, ChatSession

HELP = """\
Ask about your songs: "what key is it in at 0:30?", "when does the voice come in?",
"which of my songs is the fastest?". Follow-ups ("and at 1:05?") use the thread's song.

/songs            the songs in the library
/describe PATH    analyse a file and add it (allowed folders only)
/thread           this thread's id (resume it with --thread ID)
/threads          every stored thread
/reset            forget this thread and start a new one
/help             this help
/quit             leave (or Ctrl-D)"""


def _prompt_reader(history_file: Path):
    """A line reader with editing and history: prompt_toolkit in a terminal, plain input otherwise."""
    import sys

    if sys.stdin.isatty():
        from prompt_toolkit import PromptSession
        from prompt_toolkit.history import FileHistory

        session = PromptSession(history=FileHistory(str(history_file)))
        return lambda: session.prompt("you> ")
    return lambda: input("you> ")


def run_repl(
    *,
    llm: str | None = None,
    store_path: str | Path | None = None,
    store_url: str | None = None,
    song: str | None = None,
    thread: str | None = None,
    allow: list[str] | None = None,
    console: Console | None = None,
) -> int:
    """Read questions until /quit or Ctrl-D, answer each as Markdown; returns the exit code."""
    from linernotes.tools import settings

    console = console or Console(highlight=False)
    session = ChatSession(ChatConfig(llm=llm, store_path=str(store_path) if store_path else None,
                                     store_url=store_url, allowed_dirs=list(allow or [])))
    library = session.answerer.library.refresh()
    thread = thread or session.new_thread()
    if song:
        found = library.find_song(song)
        if found is None:
            console.print(f"linernotes: no song in the library matches {song!r}; /songs lists them", markup=False)
        else:
            session.focus(thread, found.id)
    console.print(f"[bold]linernotes chat[/] ({session.provider_name}, {len(library.songs)} songs, thread {thread})"
                  " — /help for commands, Ctrl-D to leave.")
    read = _prompt_reader(settings.data_dir() / "chat-history.txt")
    while True:
        try:
            line = read().strip()
        except EOFError:
            console.print()
            return 0
        except KeyboardInterrupt:
            continue
        if not line:
            continue
        if line.startswith("/"):
            command, _, argument = line.partition(" ")
            if command in ("/quit", "/exit"):
                return 0
            thread = _slash(command, argument.strip(), session=session, thread=thread, console=console)
            continue
        try:
            _answer(session, line, thread=thread, console=console)
        except KeyboardInterrupt:
            console.print("[dim](interrupted)[/]")


def _answer(session: ChatSession, question: str, *, thread: str, console: Console) -> None:
    """Stream an answer: the LLM's tokens as they come, then the checked answer as Markdown."""
    streamed = ""
    with Live(Markdown(""), console=console, transient=True, refresh_per_second=12) as live:
        for kind, payload in session.stream(question, thread=thread):
            if kind == "token":
                streamed += payload
                live.update(Markdown(streamed))
            else:
                result = payload
    console.print(Markdown(result["text"]))


def _slash(command: str, argument: str, *, session: ChatSession, thread: str, console: Console) -> str:
    """Run a slash command; returns the (possibly new) thread."""
    if command == "/help":
        console.print(HELP, markup=False)
    elif command == "/songs":
        console.print(Markdown(session.answerer.library.refresh() and session.answerer.library_lines()))
    elif command == "/thread":
        console.print(f"thread {thread}")
    elif command == "/threads":
        threads = session.threads()
        console.print("\n".join(f"{'*' if item == thread else ' '} {item}" for item in threads) or "no threads yet")
    elif command == "/reset":
        session.reset(thread)
        thread = session.new_thread()
        console.print(f"new thread {thread}")
    elif command == "/describe":
        _describe(argument, session=session, console=console)
    else:
        console.print(f"unknown command {command}; /help lists them", markup=False)
    return thread


def _describe(argument: str, *, session: ChatSession, console: Console) -> None:
    if not argument:
        console.print("usage: /describe PATH")
        return
    from linernotes.tools.audio import AudioError

    try:
        with console.status(f"describing {Path(argument).name}…"):
            summary = session.describe_file(argument)
    except PathRefused as error:
        console.print(f"refused: {error}", markup=False)
        return
    except AudioError as error:
        console.print(f"linernotes: {error}", markup=False)
        return
    console.print(summary, markup=False)
