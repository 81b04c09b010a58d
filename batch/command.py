"""`describe PATH...`: one file to stdout or `-o`, or a batch into `--output-dir` (resumable,
in worker processes or on Ray) that ends with a summary table."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from rich.console import Console

from linernotes.tools import settings

log = logging.getLogger("linernotes")

# Config keys (`linernotes.toml`, top level or `[describe]`) → describe flags they default.
_CONFIG_FLAGS = {"llm": "llm", "store": "store", "store_url": "store_url", "format": "format",
                 "output_dir": "output_dir", "jobs": "jobs", "max_duration": "max_duration",
                 "essentia_models": "essentia_models"}
_CONFIG_SWITCHES = {"narrative": "no_narrative", "cache": "no_cache", "store_songs": "no_store",
                    "embed_audio": "embed_audio"}
# A flag's environment variable outranks the config file.
_FLAG_ENV = {"llm": settings.LLM_ENV, "store": settings.STORE_ENV, "store_url": settings.CHROMA_URL_ENV,
             "essentia_models": settings.ESSENTIA_MODELS_ENV}
BATCH_FORMATS = ("json", "md")  # what --output-dir writes when --format is not given


class UsageError(ValueError):
    """Arguments that do not fit together; one line for the user."""


def option_strings(parser: argparse.ArgumentParser) -> set[str]:
    """Every option string of `parser` and of its subcommands' parsers ("-o", "--json", ...)."""
    found: set[str] = set()
    for action in parser._actions:
        found.update(action.option_strings)
        if isinstance(action.choices, dict):  # a subparsers action: one parser per command
            for subparser in action.choices.values():
                if isinstance(subparser, argparse.ArgumentParser):
                    found |= option_strings(subparser)
    return found


def dash_paths(argv: list[str], *, options: set[str]) -> list[str]:
    """`argv` with each argument that looks like an option but names an existing file made a path.

    `describe -song.wav` would otherwise be refused as an unknown option: an argument that
    starts with "-", is none of `options` (nor its `--option=value` form) and names an
    existing file or folder is written "./-song.wav", which argparse takes as a path and
    which names the same file. After "--" nothing changes.
    """
    result: list[str] = []
    for position, argument in enumerate(argv):
        if argument == "--":
            return result + argv[position:]
        if argument.startswith("-") and argument != "-" and not _is_option(argument, options) \
                and Path(argument).exists():
            argument = os.path.join(".", argument)
        result.append(argument)
    return result


def _is_option(argument: str, options: set[str]) -> bool:
    # Only a whole option ("-q", "--json", "--format=md") is taken as one: an existing file
    # named like "-qv" or "--js" is more likely meant than flags run together or abbreviated.
    return argument.split("=", 1)[0] in options


class _LevelFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if record.levelno >= logging.ERROR:
            return f"linernotes: error: {message}"
        return f"warning: {message}" if record.levelno >= logging.WARNING else message


def configure_logging(*, quiet: bool, verbose: int) -> None:
    """linernotes' messages on stderr: errors only with --quiet, info by default, debug with -v."""
    level = logging.ERROR if quiet else logging.DEBUG if verbose else logging.INFO
    for handler in [h for h in log.handlers if getattr(h, "linernotes", False)]:
        log.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.linernotes = True
    handler.setFormatter(_LevelFormatter())
    log.addHandler(handler)
    log.setLevel(level)
    log.propagate = False


def apply_config(args: argparse.Namespace, config: dict, *, defaults: dict) -> None:
    """Fill the flags left at their defaults from the config (its `[describe]` table wins over
    the top level); a flag given, or its environment variable, wins over both."""
    merged = {**{k: v for k, v in config.items() if not isinstance(v, dict)}, **config.get("describe", {})}
    unknown = set(merged) - set(_CONFIG_FLAGS) - set(_CONFIG_SWITCHES)
    if unknown:
        raise UsageError(f"unknown config key(s): {', '.join(sorted(unknown))}")
    for key, flag in _CONFIG_FLAGS.items():
        if key in merged and getattr(args, flag) == defaults.get(flag) and not os.environ.get(_FLAG_ENV.get(flag, "")):
            value = merged[key]
            setattr(args, flag, Path(value).expanduser() if flag in ("store", "output_dir") else value)
    for key, flag in _CONFIG_SWITCHES.items():
        if key in merged and getattr(args, flag) == defaults.get(flag):
            wanted = bool(merged[key])
            setattr(args, flag, wanted if flag == "embed_audio" else not wanted)


def _formats(args: argparse.Namespace, *, batch: bool) -> list[str]:
    from linernotes.exports.formats import format_of, parse_formats

    if args.json:
        return ["json"]
    if args.format:
        return parse_formats(args.format)
    if args.output is not None:
        return [format_of(args.output) or "json"]  # an unknown extension keeps the JSON it always got
    return list(BATCH_FORMATS) if batch else ["rich"]


def _options(args: argparse.Namespace, formats: list[str], *, processes: int):
    from linernotes.batch.job import DescribeOptions

    essentia = settings.essentia_models_dir(args.essentia_models)
    return DescribeOptions(
        formats=tuple(formats), output_dir=str(args.output_dir) if args.output_dir else None, llm=args.llm,
        narrative=not args.no_narrative, store=not args.no_store,
        store_path=str(args.store) if args.store else None, store_url=settings.chroma_url(args.store_url),
        essentia_models=str(essentia) if essentia else None, max_duration_s=args.max_duration,
        noncommercial_models=not args.no_noncommercial_models,
        use_cache=not args.no_cache, embed_audio=args.embed_audio, workers=2 if processes <= 1 else 1)


def run_describe(args: argparse.Namespace, *, progress, stderr: Console) -> int:
    """The describe command; `progress` is the single-file progress bar's context manager."""
    from linernotes.batch.inputs import collect_songs

    configure_logging(quiet=args.quiet, verbose=args.verbose)
    songs = collect_songs(args.paths)
    batch = (args.output_dir is not None or args.ray is not None or len(songs) > 1
             or any(Path(path).is_dir() for path in args.paths))
    return _run_batch(args, songs, stderr=stderr) if batch else _run_single(args, songs[0], progress=progress)


def _run_single(args: argparse.Namespace, song: Path, *, progress) -> int:
    from linernotes.exports.formats import STDOUT_FORMATS
    from linernotes.tools.audio import check_path
    from linernotes.tools.packages import require_engine_models
    from linernotes.tools.settings import MAX_DURATION_S

    formats = _formats(args, batch=False)
    if args.output is None and (len(formats) > 1 or formats[0] not in STDOUT_FORMATS):
        raise UsageError(f"--format {','.join(formats)} writes files: give -o FILE or --output-dir DIR")
    # Bad paths and missing models are told before torch, chromadb and the models load.
    check_path(song, max_duration_s=args.max_duration or MAX_DURATION_S)
    require_engine_models()

    from linernotes.batch.job import describe_with_narrative
    from linernotes.exports.formats import format_of, render_file, render_text, write_outputs

    options = _options(args, formats, processes=1)
    with progress(enabled=not args.quiet) as report:
        analysis, reused = describe_with_narrative(str(song), options=options, progress=report)
    if reused:
        log.debug("reused the narrative written before for this analysis and provider")
    if args.output is None:
        if formats == ["rich"]:
            from linernotes.report import render_analysis

            Console().print(render_analysis(analysis))
        else:
            sys.stdout.write(render_text(analysis, formats[0]) + "\n")
        return 0
    files: dict[str, bytes] = {}
    for output_format in formats:
        files.update(render_file(analysis, output_format, html_dir=args.output.parent,
                                 embed_audio=args.embed_audio))
    if len(files) == 1:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_bytes(next(iter(files.values())))
        written = [args.output]
    else:  # several files: -o names their common stem
        stem = args.output.with_suffix("") if format_of(args.output) else args.output
        written = write_outputs(files, stem=stem)
    for path in written:
        log.info("wrote %s", path)
    return 0


def _run_batch(args: argparse.Namespace, songs: list[Path], *, stderr: Console) -> int:
    from linernotes.batch.display import BatchDisplay
    from linernotes.batch.inputs import output_names
    from linernotes.batch.job import SongJob
    from linernotes.batch.runner import run_batch
    from linernotes.tools.packages import require_engine_models

    if args.output is not None:
        raise UsageError("-o names one file; write several songs with --output-dir DIR")
    if args.format and args.output_dir is None:
        raise UsageError("--format with several songs needs --output-dir DIR")
    formats = _formats(args, batch=True) if args.output_dir is not None else []
    processes = max(1, args.jobs or 1)
    options = _options(args, formats, processes=processes)
    if args.ray is not None and options.store and not options.store_url:
        raise UsageError("--ray writes to a Chroma server: give --store-url URL (or set "
                         f"{settings.CHROMA_URL_ENV}), or --no-store")
    require_engine_models()
    jobs = [SongJob(path=str(song), name=name) for song, name in zip(songs, output_names(songs))]
    with BatchDisplay(console=stderr, total=len(jobs), enabled=not args.quiet) as display:
        outcome = run_batch(jobs, options=options, processes=processes, on_stage=display.song_stage,
                            on_result=lambda result: display.song_finished(result.job.name),
                            ray_address=args.ray)
    if not args.quiet:
        from linernotes.batch.summary import summary_table

        Console().print(summary_table(outcome, output_dir=args.output_dir))
    return 1 if outcome.failed else 0
