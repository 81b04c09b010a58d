"""`linernotes eval faithfulness DIR`: does the prose say what the analysis measured?

For each song and provider the narrative is written from one analysis, then two shares:

- claims matching: of the checkable claims in the narrative (times, keys, tempi, chords,
  instruments, genres, moods, as `agent.verify` extracts them), the share true of the
  song; and the same for the segment captions, each against its own segment.
- facts covered: of the analysis's headline facts (key, tempo, section changes, vocals,
  main instruments), the share the narrative states correctly.

The claims are extracted and checked by the agent's own verifier (`agent.verify`), so
the eval and the writer agree on what a claim is. The narrative is checked against the
whole song (`song_scope`), which is more lenient than the writer's per-paragraph check:
a claim passes when it is true somewhere in the song.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import numpy as np
from pydantic import BaseModel

from linernotes.evals.groundtruth import discover
from linernotes.tools.schema import SongAnalysis

FACTS = ("key", "tempo", "sections", "vocals", "instruments")
TEMPO_TOLERANCE = 0.04
SECTION_TIME_TOLERANCE_S = 2.0
MAIN_INSTRUMENT_THRESHOLD = 0.25
MAIN_INSTRUMENTS = 3
INSTRUMENTAL_PATTERN = re.compile(r"\binstrumental\b", re.I)

Progress = Callable[[str, float], None]


class FaithfulnessRow(BaseModel):
    file: str
    provider: str
    claims_checked: int
    claims_failed: int
    claim_precision: float | None  # None when the text makes no checkable claim
    caption_claims_checked: int
    caption_claims_failed: int
    caption_precision: float | None
    coverage: dict[str, float]  # fact -> share covered; a fact the analysis lacks is absent
    failed_claims: list[str]


class ProviderSummary(BaseModel):
    provider: str
    songs: int
    claims_checked: int
    claim_precision: float | None  # pooled over all claims of all songs
    caption_precision: float | None
    coverage: float | None  # mean over songs of the mean over their facts


class FaithfulnessReport(BaseModel):
    kind: str = "faithfulness"
    command: str
    directory: str
    providers: list[str]
    facts: list[str] = list(FACTS)
    created: str
    rows: list[FaithfulnessRow]
    summary: list[ProviderSummary]
    notes: list[str] = []

    def to_json(self) -> str:
        return self.model_dump_json(indent=2)


def fact_coverage(text: str, analysis: SongAnalysis) -> dict[str, float]:
    """Which of the analysis's headline facts `text` states correctly, as shares in [0, 1].

    Parameters
    ----------
    text : str
        The narrative (markdown).
    analysis : SongAnalysis
        The analysis it was written from.

    Returns
    -------
    dict
        "key" and "tempo": 1 when stated (a correct key claim naming the song's key; a tempo
        within 4 %); "sections": the share of section changes whose time (m:ss, ±2 s) appears;
        "vocals": 1 when the presence or absence of a voice is stated correctly;
        "instruments": the share of the main instrument families (up to 3 tags scoring at
        least 0.25) named. Facts the analysis does not have are left out.
    """
    from linernotes.tools.vocabulary import top_labels
    from linernotes.tools.vocabulary import TIMESTAMP_PATTERN
    from linernotes.agent.verify import TEMPO_PATTERN, song_scope, verify_text
    from linernotes.tools.vocabulary import INSTRUMENT_WORDS, family_of, key_identity

    summary = analysis.summary
    claims = [claim for claim in verify_text(text, song_scope(analysis)).claims if claim.ok]
    coverage: dict[str, float] = {}
    if summary.key:
        coverage["key"] = float(any(
            claim.kind == "key" and key_identity(claim.text) == key_identity(summary.key)
            for claim in claims))
    if summary.bpm:
        stated = [float(match.group(1)) for claim in claims if claim.kind == "tempo"
                  for match in [TEMPO_PATTERN.search(claim.text)] if match]
        coverage["tempo"] = float(any(abs(bpm - summary.bpm) <= TEMPO_TOLERANCE * summary.bpm
                                      for bpm in stated))
    changes = [section.start for section in analysis.sections[1:]]
    if changes:
        times = [int(m.group(1)) * 60 + int(m.group(2)) for m in TIMESTAMP_PATTERN.finditer(text)]
        coverage["sections"] = float(np.mean([
            any(abs(time - change) <= SECTION_TIME_TOLERANCE_S for time in times)
            for change in changes]))
    named = {family_of(claim.text, INSTRUMENT_WORDS) for claim in claims if claim.kind == "instrument"}
    if summary.vocals.present:
        coverage["vocals"] = float("voice" in named)
    else:
        coverage["vocals"] = float(bool(INSTRUMENTAL_PATTERN.search(text)))
    main = {family_of(label, INSTRUMENT_WORDS) for label in top_labels(
        summary.instruments, threshold=MAIN_INSTRUMENT_THRESHOLD, limit=MAIN_INSTRUMENTS)} - {None}
    if main:
        coverage["instruments"] = len(main & named) / len(main)
    return coverage


def check_text(text: str, analysis: SongAnalysis) -> tuple[int, list[str]]:
    """The number of checkable claims in a narrative, and the failing ones with their reason."""
    from linernotes.agent.verify import song_scope, verify_text

    verification = verify_text(text, song_scope(analysis))
    return len(verification.claims), [f"{claim.text}: {claim.reason}" for claim in verification.failures]


def check_captions(analysis: SongAnalysis) -> tuple[int, int]:
    """Claims checked and failed over every section and window caption, each in its own scope."""
    from linernotes.agent.verify import segment_scope, verify_text

    checked = failed = 0
    for segment in analysis.sections + analysis.segments:
        verification = verify_text(segment.caption, segment_scope(segment, summary=analysis.summary))
        checked += len(verification.claims)
        failed += len(verification.failures)
    return checked, failed


def run_faithfulness(
    directory: str | Path,
    *,
    providers: list[str] = ["none"],
    limit: int | None = None,
    progress: Progress | None = None,
) -> FaithfulnessReport:
    """Write each song's narrative with each provider and measure how faithful it is.

    Parameters
    ----------
    directory : str or Path
        An evalset folder; the music files in it are used (non-music controls are skipped).
    providers : list of str
        LLM provider specs as `describe --llm` takes them: "none", "local", "openai:MODEL".
    limit : int, optional
        Use only the first `limit` songs.
    progress : callable, optional
        Called as ``progress(message, fraction_done)``.
    """
    from linernotes.agent.api import narrate
    from linernotes.agent.describe import analyze
    from linernotes.tools.analyze import AnalysisConfig

    songs = [truth for truth in discover(directory) if truth.annotation.is_music]
    songs = songs[:limit] if limit is not None else songs
    rows = []
    for index, truth in enumerate(songs):
        if progress:
            progress(truth.label, index / max(len(songs), 1))
        analysis = analyze(truth.audio_path, config=AnalysisConfig(use_cache=False))
        caption_checked, caption_failed = check_captions(analysis)
        for provider in providers:
            narrated = narrate(analysis, llm=provider)
            text = narrated.narrative.markdown if narrated.narrative else ""
            checked, failures = check_text(text, narrated)
            rows.append(FaithfulnessRow(
                file=truth.label,
                provider=provider,
                claims_checked=checked,
                claims_failed=len(failures),
                claim_precision=1 - len(failures) / checked if checked else None,
                caption_claims_checked=caption_checked,
                caption_claims_failed=caption_failed,
                caption_precision=1 - caption_failed / caption_checked if caption_checked else None,
                coverage=fact_coverage(text, narrated),
                failed_claims=failures,
            ))
    if progress:
        progress("done", 1.0)
    return FaithfulnessReport(
        command=f"linernotes eval faithfulness {directory} --providers {','.join(providers)}"
        + (f" --limit {limit}" if limit is not None else ""),
        directory=str(directory),
        providers=providers,
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        rows=rows,
        summary=[summarize(rows, provider=provider) for provider in providers],
        notes=[
            "claims matching: the narrative's claims checked by agent.verify against the whole "
            "song; captions against their own segment. Captions come from the engine's "
            "captioner, the same for every provider.",
            "facts covered: key, tempo (±4 %), section changes (m:ss ±2 s), vocals present or "
            "not, up to 3 main instrument families; mean over the facts each song has.",
        ],
    )


def summarize(rows: list[FaithfulnessRow], *, provider: str) -> ProviderSummary:
    """One provider's pooled claim shares and mean coverage."""
    mine = [row for row in rows if row.provider == provider]
    checked = sum(row.claims_checked for row in mine)
    failed = sum(row.claims_failed for row in mine)
    caption_checked = sum(row.caption_claims_checked for row in mine)
    caption_failed = sum(row.caption_claims_failed for row in mine)
    coverages = [float(np.mean(list(row.coverage.values()))) for row in mine if row.coverage]
    return ProviderSummary(
        provider=provider,
        songs=len(mine),
        claims_checked=checked,
        claim_precision=1 - failed / checked if checked else None,
        caption_precision=1 - caption_failed / caption_checked if caption_checked else None,
        coverage=float(np.mean(coverages)) if coverages else None,
    )
