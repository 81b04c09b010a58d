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

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def bind_tools(self, tools, **kwargs):  # the fake models in langchain-core lack it
        return self

    def _generate(self, messages: list[BaseMessage], stop=None, run_manager=None, **kwargs) -> ChatResult:
        self.calls += 1
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
