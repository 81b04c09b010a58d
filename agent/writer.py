"""Write: the deterministic writer, and the Markdown layout every provider shares.

Prose is built only from outline facts, in words the verifier knows, with phrasing
varied per song (seeded by its hash) so two songs do not read the same.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from linernotes.agent.outline import Outline, SectionPlan, describe_span, ordinal
from linernotes.tools.vocabulary import format_time
from linernotes.tools.vocabulary import chord_symbol


class Paragraph(BaseModel):
    """One unit of the narrative; `section_index` is set for section paragraphs."""

    kind: Literal["overview", "section", "moments"]
    section_index: int | None = None
    text: str
    written_by: Literal["deterministic", "llm"] = "deterministic"


def _rng(outline: Outline, salt: int) -> random.Random:
    return random.Random(f"{outline.song_id}:{salt}")


def _join(words: list[str]) -> str:
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def section_name(section: SectionPlan) -> str:
    """The section's role, or "passage" when structure analysis could not name one."""
    return "passage" if section.label == "section" else section.label


def _a(word: str) -> str:
    return f"an {word}" if word[:1].lower() in "aeiou" else f"a {word}"


def _energy_word(energy: float | None) -> str | None:
    if energy is None:
        return None
    if energy < 0.25:
        return "hushed"
    if energy < 0.5:
        return "restrained"
    if energy < 0.75:
        return "full"
    return "intense"


def _minutes(duration_s: float) -> str:
    minutes = duration_s / 60
    if minutes < 1:
        return f"{duration_s:.0f}-second"
    return f"{minutes:.1f}-minute".replace(".0-", "-")


_SHAPE_SENTENCES = {
    "builds": ["Its energy builds from start to finish.", "The arc is a steady build: it ends far stronger than it begins."],
    "fades": ["It spends its strength early and winds down towards the end.", "The energy ebbs as it goes on."],
    "arch": ["The energy rises to a peak in the middle and settles again.", "Its arc is an arch: a low-key start, a strong middle, a gentler close."],
    "valley": ["It opens strong, dips in the middle and comes back.", "A quieter middle stretch sits between two strong ends."],
    "steady": ["The energy holds steady throughout.", "It keeps a constant level of intensity from start to finish."],
    "wavering": ["The energy rises and falls from section to section.", "Its intensity keeps shifting between sections."],
}


def write_overview(outline: Outline) -> str:
    """The overview paragraph: character and arc."""
    rng = _rng(outline, -1)
    song = outline.character
    if song.silent:
        return "The recording is silent: there is no music to describe."
    facts = []
    if song.key:
        facts.append(f"in {song.key}")
    if song.bpm:
        facts.append(f"at {song.bpm:.0f} BPM")
    if song.time_signature:
        facts.append(f"in {song.time_signature} time")
    genre = f"{_join(song.genres)} " if song.genres else ""
    opener = rng.choice(["This is a", "The song is a", "What we hear is a"])
    sentences = [f"{opener} {_minutes(song.duration_s)} {genre}piece {' '.join(facts)}".rstrip() + "."]
    if song.key is None:
        sentences.append("No single key is clear enough to name.")
    if song.moods:
        sentences.append(rng.choice([
            f"Its mood reads as {_join(song.moods)}.",
            f"The taggers hear it as {_join(song.moods)}.",
        ]))
    if song.instruments:
        sentences.append(rng.choice([
            f"The sound is built on {_join(song.instruments)}",
            f"The main colour{'s are' if len(song.instruments) > 1 else ' is'} {_join(song.instruments)}",
        ]) + (", with vocals." if song.vocals else ", and it is instrumental."))
    elif song.vocals:
        sentences.append("A voice is present.")
    sections = outline.sections
    if len(sections) > 1:
        labels = [section.label for section in sections if section.label != "section"]
        named = f" ({_join(labels)})" if len(labels) == len(sections) else ""
        sentences.append(f"It moves through {len(sections)} sections{named}.")
    if outline.arc.shape:
        sentences.append(rng.choice(_SHAPE_SENTENCES[outline.arc.shape]))
    return " ".join(sentences)


def _change_sentence(section: SectionPlan, rng: random.Random) -> str | None:
    if not section.changes:
        return None
    when = format_time(section.start)
    lead = rng.choice([f"At {when}", f"From {when}", f"As it begins at {when}"])
    return f"{lead} {_join(section.changes)}."


def write_section(outline: Outline, index: int) -> str:
    """One paragraph for one section: what changes, what plays, harmony and mood."""
    section = outline.sections[index]
    name = section_name(section)
    rng = _rng(outline, index)
    sentences = []
    if index == 0:
        sentences.append(rng.choice([
            f"The song opens with {_a(name)} running to {format_time(section.end)}.",
            f"{_a(name).capitalize()} starts things off, lasting until {format_time(section.end)}.",
        ]))
    else:
        sentences.append(_change_sentence(section, rng) or f"The {name} follows at {format_time(section.start)}.")
    energy = _energy_word(section.energy)
    texture = section.instruments + (["vocals"] if section.vocals else [])
    if texture:
        verb = rng.choice(["is carried by", "is built on", "features"])
        adjective = f"{energy} " if energy else ""
        sentences.append(f"This {adjective}{name} {verb} {_join(texture)}.")
    elif energy:
        sentences.append(f"The {name} is {energy}.")
    harmony = []
    if section.key:
        harmony.append(f"sits in {section.key}")
    symbols = [symbol for symbol in map(chord_symbol, section.chords) if symbol][:4]
    if len(symbols) >= 2:
        harmony.append(f"turns on the chords {' – '.join(symbols)}")
    elif len(symbols) == 1:
        harmony.append(f"rests on a {symbols[0]} chord")
    if harmony:
        sentences.append(f"Harmonically it {_join(harmony)}.")
    if section.moods:
        sentences.append(rng.choice([f"The feel is {_join(section.moods)}.", f"It comes across as {_join(section.moods)}."]))
    if section.repeats is not None and not any(change.startswith("material") for change in section.changes):
        sentences.append(f"It restates the {ordinal(section.repeats)} section.")
    return " ".join(sentences)


def write_moments(outline: Outline) -> str:
    """The key moments as a time-stamped list."""
    if not outline.moments:
        return "No single moment stands out: the song keeps one character throughout."
    return "\n".join(f"- **{format_time(moment.time)}** — {moment.text}" for moment in outline.moments)


def deterministic_paragraphs(outline: Outline) -> list[Paragraph]:
    """The whole narrative from the deterministic writer."""
    paragraphs = [Paragraph(kind="overview", text=write_overview(outline))]
    paragraphs += [
        Paragraph(kind="section", section_index=section.index, text=write_section(outline, section.index))
        for section in outline.sections
    ]
    paragraphs.append(Paragraph(kind="moments", text=write_moments(outline)))
    return paragraphs


def render_markdown(outline: Outline, paragraphs: list[Paragraph], *, source_path: str | None = None) -> str:
    """Lay the paragraphs out as Markdown: title, overview, sections with `m:ss` spans, key moments."""
    song = outline.character
    title = song.title or (Path(source_path).stem if source_path else "Untitled")
    lines = [f"# {title}" + (f" — {song.artist}" if song.artist else ""), ""]
    for paragraph in paragraphs:
        if paragraph.kind == "overview":
            lines += ["## Overview", "", paragraph.text, ""]
        elif paragraph.kind == "section":
            section = outline.sections[paragraph.section_index]
            if paragraph.section_index == 0:
                lines += ["## Sections", ""]
            title = section.label.capitalize() if section.label != "section" else f"Part {section.index + 1}"
            lines += [f"### {title} · {describe_span(section.start, section.end)}", "",
                      paragraph.text, ""]
        else:
            lines += ["## Key moments", "", paragraph.text, ""]
    if song.notes:
        lines += ["## Notes", ""] + [f"- {note}" for note in song.notes] + [""]
    return "\n".join(lines).rstrip() + "\n"
