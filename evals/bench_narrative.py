"""Narrative speed per provider, analysis excluded: `python -m evals.bench_narrative SONG`.

The song is analysed once (or a saved analysis JSON is read with `--analysis`); then each
provider writes the narrative `--repeats` times through the narrative graph (plan → write →
verify → report). Provider start-up (assembling/loading the GGUF) is timed apart.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from linernotes.agent.api import narrate
from linernotes.agent.config import LLM_BUDGET_S
from linernotes.agent.providers import resolve_provider
from linernotes.tools.schema import SongAnalysis


def llm_paragraph_count(markdown: str, deterministic: str) -> int:
    """Paragraphs of `markdown` that are not the deterministic writer's (so the LLM's)."""
    baseline = set(deterministic.split("\n\n"))
    return sum(1 for block in markdown.split("\n\n") if block not in baseline)


def bench_provider(analysis: SongAnalysis, spec: str, *, repeats: int = 1, n_threads: int | None = None,
                   llm_budget_s: float = LLM_BUDGET_S) -> dict:
    """Seconds to start the provider and to write one narrative (median of `repeats`)."""
    started = time.perf_counter()
    provider = resolve_provider(spec, n_threads=n_threads)
    startup_s = time.perf_counter() - started
    runs = []
    narrative = None
    for _ in range(repeats):
        started = time.perf_counter()
        narrative = narrate(analysis, chat_model=provider.chat_model, llm=provider.name,
                            llm_budget_s=llm_budget_s).narrative
        runs.append(time.perf_counter() - started)
    return {
        "provider": provider.name, "model": provider.model, "startup_s": round(startup_s, 2),
        "threads": getattr(provider.chat_model, "n_threads", None),
        "narrative_s": round(sorted(runs)[len(runs) // 2], 2), "runs_s": [round(run, 2) for run in runs],
        "verified": narrative.verified, "claims_checked": narrative.claims_checked,
        "claims_failed": narrative.claims_failed, "words": len(narrative.markdown.split()),
        "llm_paragraphs": llm_paragraph_count(narrative.markdown, narrate(analysis, llm="none").narrative.markdown),
        "markdown": narrative.markdown,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("audio", nargs="?", type=Path, help="the song (about 4 minutes)")
    parser.add_argument("--analysis", type=Path, help="a saved SongAnalysis JSON instead of analysing")
    parser.add_argument("--providers", default="none,local")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--threads", type=int, default=None, help="llama.cpp threads (default: 2, 1 when busy)")
    parser.add_argument("--budget", type=float, default=LLM_BUDGET_S, help="LLM seconds for the narrative")
    parser.add_argument("--json", type=Path, help="also write the results as JSON")
    parser.add_argument("--show", action="store_true", help="print each narrative")
    args = parser.parse_args(argv)
    if args.analysis:
        analysis = SongAnalysis.model_validate_json(args.analysis.read_text())
    elif args.audio:
        from linernotes.agent.describe import analyze

        analysis = analyze(args.audio)
    else:
        parser.error("give a song or --analysis")
    results = [bench_provider(analysis, spec.strip(), repeats=args.repeats, n_threads=args.threads,
                              llm_budget_s=args.budget) for spec in args.providers.split(",")]
    table = Table(title=f"Narrative for {analysis.source.duration_s / 60:.1f} min, analysis excluded")
    columns = ("provider", "threads", "startup_s", "narrative_s", "verified", "claims_checked", "claims_failed", "llm_paragraphs")
    for column in columns:
        table.add_column(column)
    for result in results:
        table.add_row(*(str(result[column]) for column in columns))
    console = Console()
    if args.show:
        for result in results:
            console.rule(result["provider"])
            console.print(result["markdown"])
    console.print(table)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
