"""A hand-built `SongAnalysis` for the agent tests: every fact is known, so claims can be checked."""

from __future__ import annotations

from linernotes.tools.schema import (
    Chord, KeyChange, Segment, Source, SongAnalysis, Summary, Tag, TimedValue, Vocals,
)

SECTIONS = [
    # label, start, end, key, energy, instruments, vocals, chords, moods
    ("intro", 0.0, 15.0, "C major", 0.2, ["piano"], False, ["C:maj", "F:maj"], ["calm"]),
    ("verse", 15.0, 40.0, "C major", 0.55, ["piano", "drums", "bass"], True,
     ["C:maj", "G:maj", "A:min", "F:maj"], ["happy"]),
    ("chorus", 40.0, 60.0, "A minor", 0.95, ["guitar", "drums", "bass"], True,
     ["A:min", "F:maj", "C:maj", "G:maj"], ["energetic"]),
]


def _tags(labels: list[str]) -> list[Tag]:
    return [Tag(label=label, score=0.8 - 0.1 * rank) for rank, label in enumerate(labels)]


def _segment(kind: str, index: int, section_index: int, start: float, end: float) -> Segment:
    label, _, _, key, energy, instruments, vocals, chords, moods = SECTIONS[section_index]
    return Segment(
        kind=kind, index=index, section_index=section_index, start=start, end=end, label=label,
        cluster="ABC"[section_index], label_confidence=0.8, key=key, key_confidence=0.8, bpm=120.0,
        loudness_lufs=-30 + 20 * energy, energy=energy, genres=_tags(["pop", "rock"]), moods=_tags(moods),
        instruments=_tags(instruments), vocals=Vocals(present=vocals, score=0.9 if vocals else 0.1),
        chords=chords,
    )


def song_analysis() -> SongAnalysis:
    """60 s of pop at 120 BPM: intro in C major, verse with vocals, chorus in A minor with guitar."""
    sections = [_segment("section", index, index, start, end) for index, (_, start, end, *_) in enumerate(SECTIONS)]
    windows = []
    for index, start in enumerate(range(0, 60, 10)):
        owner = next(position for position, section in enumerate(sections) if section.start <= start < section.end)
        windows.append(_segment("window", index, owner, float(start), float(start + 10)))
    chords = [Chord(start=section.start + offset * 2.0, end=section.start + offset * 2.0 + 2.0, label=label)
              for section in sections for offset, label in enumerate(section.chords)]
    loudness = [TimedValue(time=float(t), value=-30 + 20 * sections[0 if t < 15 else 1 if t < 40 else 2].energy)
                for t in range(60)]
    loudness[52] = TimedValue(time=52.0, value=-9.0)
    return SongAnalysis(
        source=Source(path="/music/fixture.wav", sha256="f" * 64, duration_s=60.0, sample_rate=44100,
                      channels=2, title="Fixture Song", artist="The Testers"),
        summary=Summary(
            key="C major", key_confidence=0.8, bpm=120.0, bpm_confidence=0.9, time_signature="4/4",
            loudness_lufs=-14.0, loudness_range_lu=8.0, genres=_tags(["pop", "rock"]),
            moods=_tags(["happy", "energetic"]), instruments=_tags(["piano", "drums", "bass", "guitar"]),
            vocals=Vocals(present=True, score=0.9), valence=0.7, energy=0.6, danceability=0.6,
            instrumentalness=0.2, melody=None, silent=False,
        ),
        beats=[i * 0.5 for i in range(120)], downbeats=[i * 2.0 for i in range(30)],
        tempo_curve=[TimedValue(time=0.0, value=120.0)], loudness_curve=loudness, chords=chords,
        key_changes=[KeyChange(time=40.0, from_key="C major", to_key="A minor", confidence=0.7)],
        sections=sections, segments=windows, timings={},
    )


# A scripted chat model ------------------------------------------------------------------

from langchain_core.language_models.chat_models import BaseChatModel  # noqa: E402
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage  # noqa: E402
from langchain_core.outputs import ChatGeneration, ChatResult  # noqa: E402


class ScriptedWriter(BaseChatModel):
    """Plays an LLM writer: first asks `song_facts` (a real tool call), then returns the draft
    passed through `edit`. Records every tool result it was given."""

    edit: object = None  # callable(str) -> str; None keeps the draft
    tool_results: list = []
    calls: int = 0
    retries: int = 0  # calls that carried the verifier's errors back

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def bind_tools(self, tools, **kwargs):  # the fake models in langchain-core lack it
        return self

    def _generate(self, messages: list[BaseMessage], stop=None, run_manager=None, **kwargs) -> ChatResult:
        self.calls += 1
        self.retries += any("contradict the analysis" in str(message.content) for message in messages)
        if isinstance(messages[-1], ToolMessage):
            self.tool_results.append(messages[-1].content)
        draft = next((message.content.removeprefix("Draft:\n") for message in messages
                      if isinstance(message, HumanMessage) and message.content.startswith("Draft:")), None)
        if draft is not None and not any(isinstance(message, ToolMessage) for message in messages):
            reply = AIMessage(content="", tool_calls=[{"name": "song_facts", "args": {}, "id": f"call{self.calls}"}])
        else:
            text = draft if draft is not None else messages[-1].content
            reply = AIMessage(content=self.edit(text) if self.edit else text)
        return ChatResult(generations=[ChatGeneration(message=reply)])


class FailingModel(BaseChatModel):
    """A provider that is down: every call raises."""

    @property
    def _llm_type(self) -> str:
        return "failing"

    def bind_tools(self, tools, **kwargs):
        return self

    def _generate(self, messages, stop=None, run_manager=None, **kwargs) -> ChatResult:
        raise ConnectionError("connection refused")


class ScriptedChat(BaseChatModel):
    """Plays a chat agent: calls `tool` with `args` once, then answers with what the tool returned."""

    tool: str
    args: dict = {}

    @property
    def _llm_type(self) -> str:
        return "scripted-chat"

    def bind_tools(self, tools, **kwargs):
        return self

    def _generate(self, messages, stop=None, run_manager=None, **kwargs) -> ChatResult:
        if isinstance(messages[-1], ToolMessage):
            reply = AIMessage(content=f"From the library: {messages[-1].content}")
        else:
            reply = AIMessage(content="", tool_calls=[{"name": self.tool, "args": self.args, "id": "chat1"}])
        return ChatResult(generations=[ChatGeneration(message=reply)])


# Synthetic analyses of rendered plans ----------------------------------------------------

def analysis_from_plan(plan, *, seed: int = 0, blips: bool = True) -> SongAnalysis:
    """What a fallible analyser might say about a `tools.synth` plan, with its known truth.

    Sections and keys come from the plan, but as real detectors report them: key changes
    lag by up to two bars, short spurious keys blip in (with low confidence), the instrument
    scores wobble around the tag threshold, the vocal score hovers near its decision and a
    short fragment section is split off one section.
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    bar_s = 4 * 60.0 / plan.bpm
    instruments = ["piano", "drums", "bass", "guitar"]
    base = {name: rng.uniform(0.25, 0.7) for name in instruments}
    sections: list[Segment] = []
    spans = [(section, section.start, section.end) for section in plan.sections]
    split = int(rng.integers(1, len(spans)))  # one section loses a short tail as its own fragment
    section, start, end = spans[split]
    cut = end - min(0.6 * bar_s, (end - start) / 3)
    spans[split:split + 1] = [(section, start, cut), (section, cut, end)]
    clusters: dict[tuple[str, str], str] = {}
    for index, (planned, start, end) in enumerate(spans):
        energy = float(np.clip(1.0 + planned.gain_db / 10.0 + rng.normal(0, 0.05), 0.05, 1.0))
        quiet = planned.gain_db < -8
        scores = {name: (0.0 if quiet and name == "drums" else base[name] + rng.normal(0, 0.12))
                  for name in instruments}
        cluster = clusters.setdefault((planned.label, planned.key), "ABCDEFGH"[len(clusters) % 8])
        vocal_score = float(np.clip((0.85 if not quiet else 0.3) + rng.normal(0, 0.15), 0, 1))
        sections.append(Segment(
            kind="section", index=index, section_index=index, start=start, end=end, label=planned.label,
            cluster=cluster, label_confidence=0.8, key=planned.key, key_confidence=0.8, bpm=plan.bpm,
            loudness_lufs=-30 + 20 * energy, energy=energy, genres=_tags(["pop"]), moods=_tags(["happy"]),
            instruments=sorted((Tag(label=name, score=float(np.clip(score, 0, 1))) for name, score in scores.items()),
                               key=lambda tag: -tag.score),
            vocals=Vocals(present=vocal_score >= 0.7, score=vocal_score),
            chords=list(dict.fromkeys(planned.chords)),
        ))
    changes = []
    for previous, current in zip(plan.sections, plan.sections[1:]):
        if previous.key != current.key:
            changes.append(KeyChange(time=current.start + rng.uniform(0, 2 * bar_s), from_key=previous.key,
                                     to_key=current.key, confidence=0.8))
    if blips:
        middle = plan.sections[len(plan.sections) // 2]
        blip_at = middle.start + rng.uniform(0.2, 0.5) * (middle.end - middle.start)
        wrong = "E minor" if middle.key != "E minor" else "G major"
        changes += [KeyChange(time=blip_at, from_key=middle.key, to_key=wrong, confidence=0.3),
                    KeyChange(time=blip_at + bar_s, from_key=wrong, to_key=middle.key, confidence=0.6)]
    changes.sort(key=lambda change: change.time)
    duration = plan.duration_s
    loudness = [TimedValue(time=float(t), value=next((s.loudness_lufs for s in sections if s.start <= t < s.end), -40.0))
                for t in range(int(duration))]
    return SongAnalysis(
        source=Source(path="/music/rendered.flac", sha256=f"{seed:064x}", duration_s=duration, sample_rate=44100,
                      channels=1, title="Rendered Song"),
        summary=Summary(
            key=plan.sections[0].key, key_confidence=0.9, bpm=plan.bpm, bpm_confidence=0.9, time_signature="4/4",
            loudness_lufs=-14.0, loudness_range_lu=8.0, genres=_tags(["pop"]), moods=_tags(["happy", "calm"]),
            instruments=sorted((Tag(label=name, score=score) for name, score in base.items()), key=lambda tag: -tag.score),
            vocals=Vocals(present=True, score=0.9), valence=0.6, energy=0.6, danceability=0.6,
            instrumentalness=0.3, melody=None, silent=False,
        ),
        beats=plan.beats, downbeats=plan.downbeats, tempo_curve=[TimedValue(time=0.0, value=plan.bpm)],
        loudness_curve=loudness, chords=plan.chords, key_changes=changes, sections=sections, segments=[],
        timings={},
    )
