"""`linernotes eval accuracy|faithfulness|speed|memory|narrative|chat`: run a harness, show it, optionally save it."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console

README = Path(__file__).resolve().parents[1] / "README.md"


def add_eval_arguments(parser: argparse.ArgumentParser) -> None:
    kinds = parser.add_subparsers(dest="eval_kind", required=True)
    accuracy = kinds.add_parser("accuracy", help="score detectors and peers against ground truth")
    accuracy.add_argument("directory", type=Path)
    accuracy.add_argument("--peers", default="essentia,librosa,madmom",
                          help="comma-separated peers, or 'none'")
    accuracy.add_argument("--limit", type=int, default=None, help="score only the first N files")
    accuracy.add_argument("--engines", default="default",
                          help="comma-separated linernotes modes: default, clean (licence-clean), or 'none'")
    faithfulness = kinds.add_parser("faithfulness", help="check narratives against the analysis")
    faithfulness.add_argument("directory", type=Path)
    faithfulness.add_argument("--providers", default="none",
                              help="comma-separated: none, local, openai:MODEL, a base URL")
    faithfulness.add_argument("--limit", type=int, default=None)
    speed = kinds.add_parser("speed", help="real-time factors per stage, beside the peers")
    speed.add_argument("--audio", type=Path, default=None, help="a 4-minute song (default: rendered)")
    speed.add_argument("--no-peers", action="store_true")
    speed.add_argument("--repeats", type=int, default=1,
                       help="interleaved runs of each process; the medians are reported")
    memory = kinds.add_parser("memory", help="store insert time and query latency")
    memory.add_argument("--songs", type=int, default=1000)
    narrative = kinds.add_parser("narrative", help="narrative quality: contradictions, repetition, flicker, "
                                 "coverage, claims against ground truth")
    narrative.add_argument("directory", type=Path, nargs="?", default=None,
                           help="an evalset folder (default: rendered songs only)")
    narrative.add_argument("--providers", default="none,local")
    narrative.add_argument("--limit", type=int, default=None, help="score only the first N evalset files")
    narrative.add_argument("--no-rendered", action="store_true", help="skip the songs rendered by tools/synth.py")
    narrative.add_argument("--json", type=Path, default=None, metavar="FILE", help="also write every song's scores")
    chat = kinds.add_parser("chat", help="questions with known answers through the chat, per provider")
    chat.add_argument("--providers", default="none", help="comma-separated: none, local, openai:MODEL")
    chat.add_argument("--evalset", type=Path, default=None, help="the dev evalset folder")
    chat.add_argument("--verbose", action="store_true", help="print every wrong answer")
    for sub in (accuracy, faithfulness, speed):
        sub.add_argument("--json", type=Path, default=None, metavar="FILE",
                         help="also write the report as JSON")
        sub.add_argument("--update-readme", action="store_true",
                         help="regenerate this eval's section of README.md")


def run_eval(args: argparse.Namespace) -> int:
    from linernotes.evals import report as reporting

    if args.eval_kind == "memory":
        from linernotes.evals.bench_memory import main

        main(["--songs", str(args.songs)])
        return 0
    if args.eval_kind == "chat":
        from linernotes.evals.chat import main

        options = ["--providers", args.providers] + (["--evalset", str(args.evalset)] if args.evalset else [])
        return main(options + (["--verbose"] if args.verbose else []))
    if args.eval_kind == "narrative":
        import json

        from linernotes.evals.narrative import run_narrative_eval, summary_rows, to_markdown

        scores = run_narrative_eval(args.directory, providers=args.providers.split(","),
                                    rendered=not args.no_rendered, limit=args.limit)
        print(to_markdown(summary_rows(scores)))
        if args.json:
            args.json.write_text(json.dumps([score.model_dump() for score in scores], indent=1))
        return 0

    if args.eval_kind == "accuracy":
        from linernotes.evals.accuracy import run_accuracy

        peers = [] if args.peers == "none" else [p for p in args.peers.split(",") if p]
        engines = () if args.engines == "none" else tuple(mode for mode in args.engines.split(",") if mode)
        result = run_accuracy(args.directory, peers=peers, engines=engines, limit=args.limit)
    elif args.eval_kind == "faithfulness":
        from linernotes.evals.faithfulness import run_faithfulness

        result = run_faithfulness(args.directory, providers=args.providers.split(","),
                                  limit=args.limit)
    else:
        from linernotes.evals.speed import run_speed

        result = run_speed(audio=args.audio, peers=not args.no_peers, repeats=args.repeats)
    Console().print(reporting.render(result))
    if args.json:
        args.json.write_text(result.to_json())
    if args.update_readme:
        reporting.update_readme(README, args.eval_kind, reporting.to_markdown(result))
    return 0
