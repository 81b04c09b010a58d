"""Typed state of the describe graph."""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

from linernotes.agent.outline import Outline
from linernotes.agent.providers import Provider
from linernotes.agent.verify import Verification
from linernotes.agent.writer import Paragraph
from linernotes.tools.schema import Segment, SongAnalysis, Summary


class DescribeInput(TypedDict):
    path: str


class NarrateInput(TypedDict):
    analysis: SongAnalysis


class DescribeOutput(TypedDict):
    analysis: SongAnalysis
    markdown: str


class DescribeState(TypedDict, total=False):
    path: str
    provider: Provider
    audio: Any  # tools.audio.Audio
    started: float  # perf_counter when decoding began
    timings: dict[str, float]  # stage -> seconds, before the whole-song passes
    passes: Any  # tools.analyze.SongPasses
    passes_finished: float  # perf_counter when the whole-song passes were done
    spans: list[Any]  # tools.analyze.SegmentSpan
    summary: Summary
    section_captioner: Any  # tools.captioner.Captioner
    window_captioner: Any
    segments: Annotated[list[Segment], operator.add]  # filled by the parallel segment branches
    analysis: SongAnalysis
    song_id: str | None
    outline: Outline
    drafts: list[Paragraph]  # the deterministic text, the fallback for each paragraph
    paragraphs: list[Paragraph]
    verifications: list[Verification]
    attempt: int
    llm_seconds: float
    markdown: str


class SegmentTask(TypedDict):
    """What one parallel branch needs: the passes and its span (and the one before, for context)."""

    passes: Any
    span: Any
    previous_span: Any | None
    summary: Summary
    captioner: Any  # tools.captioner.Captioner
