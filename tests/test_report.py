"""The terminal report tells the key as the narrative does: the same changes, at the same times."""

from __future__ import annotations

import re

from agent_fixtures import song_analysis
from rich.console import Console

from linernotes.agent.api import narrate
from linernotes.report import section_table, summary_table
from linernotes.tools.schema import KeyChange


def _text(renderable) -> str:
    console = Console(width=200, record=True, file=open("/dev/null", "w"))
    console.print(renderable)
    return console.export_text()


def _moments(markdown: str) -> list[str]:
    return re.findall(r"(\d+:\d\d)\W* — the key moves from", markdown)


def test_a_change_the_narrative_places_at_a_section_border_is_reported_there():
    analysis = song_analysis()
    # Measured 2.5 s before the chorus: the narrative tells it at the chorus, 0:40.
    analysis.key_changes = [KeyChange(time=37.5, from_key="C major", to_key="A minor", confidence=0.7)]
    narrative = narrate(analysis, llm="none").narrative.markdown
    summary = _text(summary_table(analysis))
    assert _moments(narrative) == ["0:40"]
    assert "0:40 C major → A minor" in summary and "0:37" not in summary


def test_a_section_that_modulates_inside_shows_both_keys_in_order():
    analysis = song_analysis()
    analysis.key_changes = [KeyChange(time=25.0, from_key="C major", to_key="G major", confidence=0.7),
                            KeyChange(time=40.0, from_key="G major", to_key="A minor", confidence=0.7)]
    rows = [line for line in _text(section_table(analysis)).splitlines() if re.search(r"\d:\d\d–", line)]
    intro, verse, chorus = rows
    assert "C major" in intro and "G major" not in intro
    assert "C major → G major" in verse
    assert "A minor" in chorus and "→" not in chorus
    summary = _text(summary_table(analysis))
    assert "0:25 C major → G major; 0:40 G major → A minor" in summary
