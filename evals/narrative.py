"""`linernotes eval narrative`: is the narrative one story, without filler, true to the music?

Unlike the faithfulness eval, nothing here asks `agent.verify`: the Markdown is read back
as a reader would, and its claims are set against each other and against ground truth.

- contradictions: a key change the key-moments list names and the section paragraphs do
  not (or the reverse, ±3 s), and a paragraph that calls the music both quiet and loud;
- repeated sentences: the share of body sentences written word for word before;
- flicker: an instrument (or the voice) that leaves and comes back, or comes and leaves,
  within two sections and about eight bars;
- coverage: the share of the analysis' main facts (key, tempo, metre, instruments, voice,
  every section longer than 10 s, each key change) that the text names;
- truth: every checkable claim (tempo, the key of each section and key change, section
  start times, instruments) scored against the ground truth, overall and where the
  analysis itself was right (the narrative's own errors).

Songs: the evalset files (their `.gt.json`) and demo songs rendered by `tools/synth.py`
with known plans.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

from pydantic import BaseModel

from linernotes.agent.config import LLM_BUDGET_S
from linernotes.evals.groundtruth import discover
from linernotes.evals.metrics import NO_KEY, Annotation, Span
from linernotes.tools.schema import SongAnalysis
from linernotes.tools.vocabulary import (
    INSTRUMENT_PATTERN, INSTRUMENT_WORDS, KEY_PATTERN, TIMESTAMP_PATTERN, family_of, key_identity,
    normalise_key, parse_time,
)

# Rendered songs with known truth: (name, render_demo_song options).
RENDERED_PLANS = [
    ("demo-112bpm", {}),
    ("demo-4min-120bpm", {"duration_s": 240.0, "bpm": 120.0}),
    ("demo-90bpm-one-key", {"bpm": 90.0, "key_change": False, "duration_s": 150.0}),
]
QUIET_WORDS = {"hushed", "quiet", "soft", "gentle", "whispered", "calm"}
LOUD_WORDS = {"loud", "intense", "aggressive", "energetic", "powerful", "thunderous"}
_HEADING = re.compile(r"^### (.+?) · (\d+:\d\d)–(\d+:\d\d)$")
_MOMENT = re.compile(r"^- \*\*(\d+:\d\d)\*\* — (.*)$")
_MOVE = re.compile(r"\b(?:(?:moves?|modulates?|shifts?|turns?|changes?|switches?|goes|returns?)(?:\s+back)?\s+(?:to|into)"
                   r"|into)\s+$")
_ENTRY = re.compile(r"\b(enters?|comes? in|drops? out|leaves?)\b")


class Parsed(BaseModel):
    """The narrative read back: overview, sections (heading, span, text) and the moments."""

    overview: str
    sections: list[tuple[str, float, float, str]]
    moments: list[tuple[float, str]]


class SongScore(BaseModel):
    song: str
    provider: str
    seconds: float
    contradictions: int
    key_disagreements: int  # moments vs paragraphs
    word_clashes: int  # quiet and loud in one paragraph
    sentences: int
    repeated: int
    flicker: int
    coverage: float
    truth_claims: int
    truth_correct: int
    truth_claims_where_analysis_right: int
    truth_correct_where_analysis_right: int
    llm_paragraphs: int = 0  # paragraphs that differ from the deterministic writer's
    errors: list[str]


def parse_markdown(markdown: str) -> Parsed:
    overview, sections, moments, current, part = [], [], [], None, None
    for line in markdown.splitlines():
        if line.startswith("## "):
            part = line[3:].strip().lower()
            continue
        heading = _HEADING.match(line)
        if heading:
            current = [heading.group(1), parse_time(heading.group(2)), parse_time(heading.group(3)), ""]
            sections.append(current)
            continue
        moment = _MOMENT.match(line)
        if part == "key moments" and moment:
            moments.append((parse_time(moment.group(1)), moment.group(2)))
        elif part == "overview" and line.strip():
            overview.append(line.strip())
        elif part == "sections" and current is not None and line.strip():
            current[3] = (current[3] + " " + line.strip()).strip()
    return Parsed(overview=" ".join(overview), sections=[tuple(section) for section in sections], moments=moments)


def sentences(text: str) -> list[str]:
    return [sentence.strip() for sentence in re.split(r"(?<=[.!?])\s+", text) if sentence.strip()]


def _times_in(sentence: str) -> list[float]:
    return [int(match.group(1)) * 60 + int(match.group(2)) for match in TIMESTAMP_PATTERN.finditer(sentence)]


def paragraph_key_moves(parsed: Parsed) -> list[tuple[float, str]]:
    """(time, key) of each key change a section paragraph names: "moves to D major" at its start or its own time."""
    moves = []
    for _, start, _, text in parsed.sections:
        for sentence in sentences(text):
            for match in KEY_PATTERN.finditer(sentence):
                if _MOVE.search(sentence[:match.start()]):
                    after = [time for time in _times_in(sentence[match.end():match.end() + 12])]
                    moves.append((after[0] if after else start, normalise_key(match.group(0))))
    return moves


def moment_key_moves(parsed: Parsed) -> list[tuple[float, str]]:
    moves = []
    for time, text in parsed.moments:
        keys = list(KEY_PATTERN.finditer(text))
        if "key" in text and keys:
            moves.append((time, normalise_key(keys[-1].group(0))))
    return moves


def key_disagreements(parsed: Parsed, *, tolerance_s: float = 3.0) -> list[str]:
    """Key changes named on one side (moments, paragraphs) and not on the other."""
    said, listed = paragraph_key_moves(parsed), moment_key_moves(parsed)
    problems = []
    for name, one, other in (("moments", listed, said), ("paragraphs", said, listed)):
        for time, key in one:
            if not any(abs(time - when) <= tolerance_s and key_identity(key) == key_identity(other_key)
                       for when, other_key in other):
                problems.append(f"{name} name a move to {key} at {time:.0f} s that the other side does not")
    return problems


def word_clashes(parsed: Parsed) -> list[str]:
    """Paragraphs that call the music both quiet and loud."""
    problems = []
    for label, text in [("overview", parsed.overview)] + [(section[0], section[3]) for section in parsed.sections]:
        words = set(re.findall(r"[a-z]+", text.lower()))
        if label == "overview":
            continue  # the overview spans the whole song: a quiet intro and a loud chorus both belong there
        if words & QUIET_WORDS and words & LOUD_WORDS:
            problems.append(f"{label}: {sorted(words & QUIET_WORDS)} beside {sorted(words & LOUD_WORDS)}")
    return problems


def repeated_sentences(parsed: Parsed) -> tuple[int, int]:
    """(body sentences, sentences already written word for word before)."""
    body = sentences(parsed.overview) + [sentence for section in parsed.sections for sentence in sentences(section[3])]
    seen, repeated = set(), 0
    for sentence in body:
        repeated += sentence in seen
        seen.add(sentence)
    return len(body), repeated


def flicker(parsed: Parsed, *, within_s: float = 16.0) -> int:
    """Entries and exits of one instrument (or the voice) reversed within two sections and
    `within_s` seconds (about eight bars): a tag crossing its threshold, not an arrangement."""
    events: dict[str, list[tuple[int, float, str]]] = {}
    for position, (_, start, _, text) in enumerate(parsed.sections):
        for sentence in sentences(text):
            times = _times_in(sentence)
            for clause in re.split(r",| and |;", sentence):
                verb = _ENTRY.search(clause)
                if not verb:
                    continue
                direction = "in" if verb.group(1).startswith(("enter", "come")) else "out"
                when = (_times_in(clause) or times or [start])[0]
                for match in INSTRUMENT_PATTERN.finditer(clause[:verb.start()]):
                    family = family_of(match.group(0), INSTRUMENT_WORDS)
                    events.setdefault(family, []).append((position, when, direction))
    count = 0
    for history in events.values():
        for (first, one_time, one), (second, other_time, other) in zip(history, history[1:]):
            count += one != other and second - first <= 2 and other_time - one_time < within_s
    return count


def coverage(parsed: Parsed, analysis: SongAnalysis, markdown: str) -> float:
    """The share of the analysis' main facts the narrative names."""
    summary, text = analysis.summary, markdown
    facts = []
    if summary.key:
        facts.append(any(key_identity(match.group(0)) == key_identity(summary.key) for match in KEY_PATTERN.finditer(text)))
    if summary.bpm:
        facts.append(f"{summary.bpm:.0f} BPM" in text)
    if summary.time_signature:
        facts.append(summary.time_signature in text)
    for tag in sorted(summary.instruments, key=lambda tag: -tag.score)[:2]:
        if tag.score >= 0.1 and family_of(tag.label, INSTRUMENT_WORDS) != "voice":
            family = family_of(tag.label, INSTRUMENT_WORDS)
            facts.append(any(family_of(match.group(0), INSTRUMENT_WORDS) == family
                             for match in INSTRUMENT_PATTERN.finditer(text)))
    if summary.vocals.present:
        facts.append(bool(re.search(r"\b(vocals?|voice|sings?)\b", text)))
    spans = [(start, end) for _, start, end, _ in parsed.sections]
    for section in analysis.sections:
        if section.end - section.start >= 10:
            facts.append(any(start - 1 <= section.start and section.end <= end + 1 for start, end in spans))
    return sum(facts) / len(facts) if facts else 1.0


# Ground truth ----------------------------------------------------------------------------

def _truth_key_at(truth: Annotation, time: float) -> str | None:
    for span in truth.key_spans or []:
        if span.start <= time < span.end:
            return span.label
    return truth.key if not truth.key_spans else None


def _same_key(one: str | None, two: str | None) -> bool:
    if one is None or two is None or NO_KEY in (one, two):
        return False
    if " " not in two:  # a bare tonic: the mode is unknown
        return key_identity(one) is not None and key_identity(one)[0] == key_identity(f"{two} major")[0]
    return key_identity(one) == key_identity(two)


def _analysis_key_at(analysis: SongAnalysis, time: float) -> list[str]:
    keys = [section.key for section in analysis.sections if section.start <= time < section.end and section.key]
    path = analysis.summary.key
    for change in sorted(analysis.key_changes, key=lambda change: change.time):
        if change.time <= time + 3:
            path = change.to_key
    return keys + ([path] if path else [])


def _tempo_right(claimed: float, truth: float) -> bool:
    return any(abs(claimed * factor - truth) <= 0.04 * truth for factor in (1.0, 2.0, 0.5))


def truth_claims(parsed: Parsed, analysis: SongAnalysis, truth: Annotation,
                 instruments: list[str] | None) -> list[tuple[str, bool, bool]]:
    """(claim, correct against the truth, the analysis itself right about it) for each checkable claim."""
    claims = []
    if truth.bpm:
        for match in re.finditer(r"(\d{2,3}) BPM", parsed.overview):
            claimed = float(match.group(1))
            claims.append((f"tempo {claimed:.0f}", _tempo_right(claimed, truth.bpm),
                           bool(analysis.summary.bpm) and _tempo_right(analysis.summary.bpm, truth.bpm)))
    if truth.key_spans or truth.key:
        for name, start, end, text in parsed.sections:
            for sentence in sentences(text):
                for match in KEY_PATTERN.finditer(sentence):
                    after = _times_in(sentence[match.end():match.end() + 12])
                    moving = _MOVE.search(sentence[:match.start()])
                    if not moving and "from" in sentence[max(0, match.start() - 6):match.start()]:
                        continue  # "moves from X to Y": X is the past key
                    when = after[0] if after and moving else start + min(2.0, (end - start) / 2)
                    expected = _truth_key_at(truth, when + 0.5)
                    if expected is None:
                        continue
                    claimed = match.group(0)
                    claims.append((f"{name} in {claimed} at {when:.0f} s", _same_key(claimed, expected),
                                   any(_same_key(key, expected) for key in _analysis_key_at(analysis, when + 0.5))))
    if truth.sections:
        boundaries = [span.start for span in truth.sections]
        for name, start, _, _ in parsed.sections:
            near = any(abs(start - boundary) <= 2.0 for boundary in boundaries)
            # A heading's start is an analysed boundary: the analysis is right exactly when it is near a true one.
            claims.append((f"section starts at {start:.0f} s", near, near))
    if instruments:
        families = {family_of(match.group(0), INSTRUMENT_WORDS) for name in instruments
                    for match in INSTRUMENT_PATTERN.finditer(name.lower())}
        families.discard(None)
        if families:
            analysed = {family_of(tag.label, INSTRUMENT_WORDS) for tag in analysis.summary.instruments if tag.score >= 0.1}
            for match in INSTRUMENT_PATTERN.finditer(parsed.overview):
                family = family_of(match.group(0), INSTRUMENT_WORDS)
                if family == "voice":
                    continue
                claims.append((f"instrument {match.group(0)}", family in families, family in families and family in analysed))
    return claims


def score_song(name: str, provider: str, markdown: str, analysis: SongAnalysis, seconds: float,
               truth: Annotation | None = None, instruments: list[str] | None = None) -> SongScore:
    parsed = parse_markdown(markdown)
    keys, clashes = key_disagreements(parsed), word_clashes(parsed)
    total, repeated = repeated_sentences(parsed)
    claims = truth_claims(parsed, analysis, truth, instruments) if truth else []
    where_right = [claim for claim in claims if claim[2]]
    return SongScore(
        song=name, provider=provider, seconds=round(seconds, 2), contradictions=len(keys) + len(clashes),
        key_disagreements=len(keys), word_clashes=len(clashes), sentences=total, repeated=repeated,
        flicker=flicker(parsed), coverage=round(coverage(parsed, analysis, markdown), 3),
        truth_claims=len(claims), truth_correct=sum(claim[1] for claim in claims),
        truth_claims_where_analysis_right=len(where_right),
        truth_correct_where_analysis_right=sum(claim[1] for claim in where_right),
        errors=keys + clashes + [f"untrue: {claim[0]}" for claim in where_right if not claim[1]],
    )


def plan_truth(plan) -> Annotation:
    """A rendered song's `SongPlan` as an `Annotation`."""
    return Annotation(
        duration_s=plan.duration_s, bpm=plan.bpm, key=normalise_key(plan.sections[0].key),
        key_spans=[Span(start=section.start, end=section.end, label=normalise_key(section.key))
                   for section in plan.sections],
        sections=[Span(start=section.start, end=section.end, label=section.label) for section in plan.sections],
    )


def _songs(evalset: Path | None, *, rendered: bool, limit: int | None, workdir: Path):
    """(name, audio path, truth, instruments) for each song."""
    from linernotes.tools.synth import render_demo_song

    if rendered:
        for name, options in RENDERED_PLANS:
            path = workdir / f"{name}.flac"
            _, plan = render_demo_song(path, **options)
            yield name, path, plan_truth(plan), None
    if evalset is not None:
        for truth in discover(evalset, limit=limit):
            if truth.annotation.is_music is False:
                continue
            fields = json.loads(truth.audio_path.with_name(f"{truth.name}.gt.json").read_text())
            instruments = fields.get("instruments_all") or fields.get("instruments")
            yield truth.label, truth.audio_path, truth.annotation, instruments if isinstance(instruments, list) else None


def run_narrative_eval(evalset: Path | None, *, providers: list[str], rendered: bool = True,
                       limit: int | None = None, workdir: Path = Path("/tmp/linernotes-narrative-eval"),
                       llm_budget_s: float = LLM_BUDGET_S) -> list[SongScore]:
    """Analyse each song (cached), narrate it with each provider, score every narrative."""
    from linernotes.agent.api import narrate
    from linernotes.agent.describe import analyze
    from linernotes.agent.providers import resolve_provider

    workdir.mkdir(parents=True, exist_ok=True)
    models = {spec: resolve_provider(spec) for spec in providers}
    scores = []
    for name, path, truth, instruments in _songs(evalset, rendered=rendered, limit=limit, workdir=workdir):
        analysis = analyze(path)
        deterministic = narrate(analysis, llm="none").narrative.markdown
        for spec, provider in models.items():
            started = time.perf_counter()
            markdown = narrate(analysis, llm=provider.name, chat_model=provider.chat_model,
                               llm_budget_s=llm_budget_s).narrative.markdown
            score = score_song(name, provider.name, markdown, analysis, time.perf_counter() - started,
                               truth, instruments)
            score.llm_paragraphs = len(set(markdown.split("\n\n")) - set(deterministic.split("\n\n")))
            scores.append(score)
    return scores


def summary_rows(scores: list[SongScore]) -> list[dict]:
    """One row per provider: the targets' figures over all songs."""
    rows = []
    for provider in dict.fromkeys(score.provider for score in scores):
        mine = [score for score in scores if score.provider == provider]
        sentences_total = sum(score.sentences for score in mine) or 1
        right = sum(score.truth_claims_where_analysis_right for score in mine)
        rows.append({
            "provider": provider, "songs": len(mine),
            "contradictions": sum(score.contradictions for score in mine),
            "repeated_sentences": sum(score.repeated for score in mine) / sentences_total,
            "flicker_per_song": sum(score.flicker for score in mine) / len(mine),
            "coverage": sum(score.coverage for score in mine) / len(mine),
            "truth_correct": sum(score.truth_correct for score in mine) / max(1, sum(score.truth_claims for score in mine)),
            "truth_correct_where_analysis_right":
                sum(score.truth_correct_where_analysis_right for score in mine) / max(1, right),
            "truth_claims": sum(score.truth_claims for score in mine),
            "median_seconds": sorted(score.seconds for score in mine)[len(mine) // 2],
            "max_seconds": max(score.seconds for score in mine),
            "llm_paragraphs": sum(score.llm_paragraphs for score in mine),
        })
    return rows


def to_markdown(rows: list[dict]) -> str:
    """The README table."""
    lines = ["| provider | songs | contradictions | repeated sentences | flicker / song | fact coverage "
             "| truth-checked claims correct (all / where the analysis is right) | narrative s (median / max) "
             "| paragraphs the LLM rewrote |",
             "|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        lines.append(f"| {row['provider']} | {row['songs']} | {row['contradictions']} | "
                     f"{row['repeated_sentences']:.1%} | {row['flicker_per_song']:.2f} | {row['coverage']:.0%} | "
                     f"{row['truth_correct']:.0%} / {row['truth_correct_where_analysis_right']:.0%} "
                     f"({row['truth_claims']} claims) | {row['median_seconds']:.1f} / {row['max_seconds']:.1f} "
                     f"| {row['llm_paragraphs']} |")
    return "\n".join(lines)
