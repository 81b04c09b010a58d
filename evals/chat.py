"""`linernotes eval chat`: questions with known answers, asked through the real chat, per provider.

Songs: the dev evalset's chat songs (`chat-questions.json`, read from the evalset folder by
path) and two songs rendered here with `tools/synth.py`: the demo song with its last chorus
a whole tone up, and two renders at 96 and 132 BPM played one after the other (a tempo
change). Each song is analysed (cached in the data directory) into a fresh store; every
question is asked through `ChatSession` in its thread. The first claim of an answer counts:
keys as keys, tempi within 4 % (or at half/double tempo where given), times within 3 s.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from linernotes.tools.vocabulary import TIMESTAMP_PATTERN, key_identity, KEY_PATTERN

TIME_TOLERANCE_S = 3.0
TEMPO_TOLERANCE = 0.04
_BPM = re.compile(r"(\d{2,3}(?:\.\d+)?)\s*BPM", re.I)


def evalset_root() -> Path:
    from linernotes.evals.speed import evalset_root as root

    return root()


def render_songs(folder: Path) -> dict[str, float]:
    """Render the benchmark's own songs; returns the facts the questions need (e.g. the tempo change time)."""
    import numpy as np
    import soundfile as sf

    from linernotes.tools.synth import render_demo_song

    modulating = folder / "demo_modulating.flac"
    _, plan = render_demo_song(modulating, duration_s=60, bpm=112)
    slow, slow_plan = render_demo_song(duration_s=30, bpm=96, key_change=False)
    fast, _ = render_demo_song(duration_s=30, bpm=132, key_change=False, seed=1)
    sf.write(folder / "tempo_change.flac", np.concatenate([slow, fast]), slow_plan.sample_rate)
    last_chorus = [section for section in plan.sections if section.label == "chorus"][-1]
    return {"modulation_s": last_chorus.start, "tempo_change_s": len(slow) / slow_plan.sample_rate,
            "bridge_start_s": next(section.start for section in plan.sections if section.label == "bridge")}


def synth_questions(facts: dict[str, float]) -> list[dict]:
    """Questions about the rendered songs, with the answers their plans fix."""
    modulation, change = facts["modulation_s"], facts["tempo_change_s"]
    return [
        {"thread": "s1", "q": "What is the tempo of demo_modulating?", "expect": {"bpm": [112, 56, 224]}},
        {"thread": "s1", "q": "What key is it in at 0:10?", "expect": {"key": "C major"}},
        {"thread": "s1", "q": "And in the last chorus?", "expect": {"key": "D major"}},
        {"thread": "s2", "q": "When does demo_modulating change key?", "expect": {"time_s": modulation}},
        {"thread": "s3", "q": "What is the time signature of demo_modulating?", "expect": {"text": "4/4"}},
        {"thread": "s4", "q": "In demo_modulating, what key is the music in at 0:50?", "expect": {"key": "D major"}},
        {"thread": "s5", "q": "What is the tempo of tempo_change at 0:20?", "expect": {"bpm": [96, 48, 192]}},
        {"thread": "s5", "q": "And at 0:55?", "expect": {"bpm": [132, 66, 264]}},
        {"thread": "s6", "q": "When does the tempo change in tempo_change?", "expect": {"time_s": change}},
        {"thread": "s7", "q": "Which of my songs change tempo?", "expect": {"songs": ["tempo_change"]}},
        {"thread": "s8", "q": "What is the longest song in my library?", "expect": {"songs": ["synth01_pop_modulation"]}},
        {"thread": "s9", "q": "Which of my songs is the fastest?",
         "expect": {"songs_any": ["synth04_waltz_3-4", "mix03_tts_syllables_over_waltz"]}},
        {"thread": "s10", "q": "Which of my songs are in G major?",
         "expect": {"songs": ["synth04_waltz_3-4", "mix03_tts_syllables_over_waltz"]}},
        {"thread": "s11", "q": "What key is synth04_waltz_3-4 in?", "expect": {"key": "G major"}},
        {"thread": "s12", "q": "What key is the bridge of synth01_pop_modulation in?", "expect": {"key": "A minor"}},
        {"thread": "s13", "q": "What key is the intro of synth01_pop_modulation in?", "expect": {"key": "C major"}},
        {"thread": "s14", "q": "When does synth04_waltz_3-4 first change key?", "expect": {"time_s": 19.2}},
        {"thread": "s15", "q": "Is there a voice in mix01_speech_over_jazz at 0:10?", "expect": {"yes_no": "yes"}},
        {"thread": "s16", "q": "What is the tempo of synth04_waltz_3-4?", "expect": {"bpm": [150, 75, 300]}},
        {"thread": "s17", "q": "When does the voice come in in mix03_tts_syllables_over_waltz?", "expect": {"time_s": 9.6}},
        {"thread": "s17", "q": "And when does it stop?", "expect": {"time_s": 28.8}},
        {"thread": "s18", "q": "What time signature is mix03_tts_syllables_over_waltz in?", "expect": {"text": "3/4"}},
        {"thread": "s19", "q": "Which song is the shortest?",
         "expect": {"songs_any": ["synth04_waltz_3-4", "mix03_tts_syllables_over_waltz"]}},
    ]


def first_sentence(text: str) -> str:
    return re.split(r"(?<=[.!?])\s+(?=[A-Z(])", text.strip(), maxsplit=1)[0]


def is_correct(answer: str, expect: dict, *, song_names: list[str]) -> bool:
    """Whether the answer's first claim gives the expected value."""
    first = first_sentence(answer)
    if "key" in expect:
        found = KEY_PATTERN.search(answer)
        return bool(found) and key_identity(found.group(0)) == key_identity(expect["key"])
    if "bpm" in expect:
        found = _BPM.search(answer)
        return bool(found) and any(abs(float(found.group(1)) - bpm) <= TEMPO_TOLERANCE * bpm for bpm in expect["bpm"])
    if "time_s" in expect:
        found = TIMESTAMP_PATTERN.search(answer)
        return bool(found) and abs(int(found.group(1)) * 60 + int(found.group(2)) - expect["time_s"]) <= TIME_TOLERANCE_S
    if "yes_no" in expect:
        return first.lower().startswith(expect["yes_no"])
    if "text" in expect:
        return expect["text"] in first
    named = [name for name in song_names if re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", first)]
    if "songs_any" in expect:
        order = sorted(named, key=first.find)
        return bool(order) and order[0] in expect["songs_any"]
    return set(named) == set(expect["songs"])


@dataclass
class ProviderResult:
    provider: str
    correct: int = 0
    total: int = 0
    latencies: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    @property
    def median_s(self) -> float:
        return statistics.median(self.latencies) if self.latencies else 0.0


def build_library(folder: Path, store_dir: Path, evalset: Path) -> tuple[list[dict], list[str]]:
    """Render and analyse the songs into a fresh store; returns the questions and the song names."""
    from linernotes.agent.describe import analyze
    from linernotes.memory.store import SongStore

    questions_file = json.loads((evalset / "chat-questions.json").read_text())
    paths = [evalset / song for song in questions_file["songs"]]
    facts = render_songs(folder)
    paths += [folder / "demo_modulating.flac", folder / "tempo_change.flac"]
    store = SongStore(path=store_dir)
    for path in paths:
        store.add_song(analyze(path))
    questions = questions_file["questions"] + synth_questions(facts)
    return questions, [path.stem for path in paths]


def run_chat_eval(*, providers: list[str], evalset: Path | None = None, show=print) -> list[ProviderResult]:
    from linernotes.agent.chat import ChatConfig, ChatSession

    evalset = evalset or evalset_root()
    results = []
    with tempfile.TemporaryDirectory(prefix="linernotes-chat-eval-") as scratch:
        folder = Path(scratch)
        questions, names = build_library(folder, folder / "store", evalset)
        session = None
        for provider in providers:
            config = ChatConfig(llm=provider, store_path=str(folder / "store"), threads_file=str(folder / f"{provider}.sqlite"))
            if session is None:
                session = ChatSession(config)
            else:  # one store per process: reuse its answerer, change the model
                session = ChatSession(config, answerer=session.answerer)
            result = ProviderResult(provider=session.provider_name)
            for question in questions:
                thread = f"{provider}-{question['thread']}"
                started = time.perf_counter()
                answer = session.ask(question["q"], thread=thread)["text"]
                result.latencies.append(time.perf_counter() - started)
                result.total += 1
                if is_correct(answer, question["expect"], song_names=names):
                    result.correct += 1
                else:
                    result.failures.append(f"{question['q']} -> {answer[:160]!r} (expected {question['expect']})")
            results.append(result)
    return results


def to_markdown(results: list[ProviderResult]) -> str:
    lines = ["| provider | questions | correct | median latency | slowest |", "|---|---|---|---|---|"]
    for result in results:
        lines.append(f"| {result.provider} | {result.total} | {100 * result.correct / max(result.total, 1):.0f} % "
                     f"({result.correct}) | {result.median_s:.2f} s | {max(result.latencies, default=0):.2f} s |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="linernotes eval chat", description=__doc__.splitlines()[0])
    parser.add_argument("--providers", default="none", help="comma-separated: none, local, openai:MODEL")
    parser.add_argument("--evalset", type=Path, default=None)
    parser.add_argument("--verbose", action="store_true", help="print every wrong answer")
    args = parser.parse_args(argv)
    results = run_chat_eval(providers=[p for p in args.providers.split(",") if p], evalset=args.evalset)
    for result in results:
        if args.verbose:
            for failure in result.failures:
                print(f"[{result.provider}] {failure}")
    print(to_markdown(results))
    return 0
