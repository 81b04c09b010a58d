"""Write: the deterministic writer, and the Markdown layout every provider shares.

Prose is built only from the outline: the form first, then one paragraph per section that
tells what the event list says happens in it, then the key moments from the same list.
Repeats are told by how they differ; moods only where they change; no sentence twice.
Phrasing varies per song (seeded by its hash) so two songs do not read the same.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from linernotes.agent.outline import Moment, Outline, SectionPlan, describe_span, is_plural
from linernotes.tools.vocabulary import ATONAL_NOTE, chord_symbol, format_time


class Paragraph(BaseModel):
    """One unit of the narrative; `section_index` is set for section paragraphs."""

    kind: Literal["overview", "section", "moments"]
    section_index: int | None = None
    text: str
    written_by: Literal["deterministic", "llm"] = "deterministic"


def _rng(outline: Outline, salt: int) -> random.Random:
    return random.Random(f"{outline.song_id}:{salt}")


_NUMBER_WORDS = {2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight", 9: "nine",
                 10: "ten", 11: "eleven", 12: "twelve"}


def _count(number: int) -> str:
    """A small count in words ("five"), larger ones in digits."""
    return _NUMBER_WORDS.get(number, str(number))


def _join(words: list[str]) -> str:
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def heading(section: SectionPlan, *, sections: list[SectionPlan]) -> str:
    """The section heading: "Chorus · 0:40–1:00".

    A name that heads more than one section gets the section's material letter, the one
    the section table shows ("Driving passage B", "Driving passage D"), so headings that
    repeat say whether the music does.
    """
    name = section.name
    if sum(other.name == name for other in sections) > 1:
        name += f" {section.cluster}"
    return f"{name[:1].upper()}{name[1:]} · {describe_span(section.start, section.end)}"


def _a(word: str) -> str:
    return f"an {word}" if word[:1].lower() in "aeiou" else f"a {word}"


def _a_chord(symbol: str) -> str:
    """A chord symbol with the article it is read with: "an F", "an Em", "a C"."""
    return f"an {symbol}" if symbol[:1] in "AEF" else f"a {symbol}"


def energy_word(energy: float | None) -> str | None:
    """The word for a section's relative energy; the moods it may not sit beside are in CLASHES."""
    if energy is None:
        return None
    if energy < 0.25:
        return "hushed"
    if energy < 0.5:
        return "restrained"
    if energy < 0.75:
        return "full"
    return "intense"


# Mood words that contradict an energy word or a tempo: never written side by side.
CLASHES = {
    "hushed": {"loud", "energetic", "aggressive", "heavy", "powerful", "intense", "fast"},
    "restrained": {"loud", "aggressive", "powerful", "intense"},
    "full": {"quiet", "soft"},
    "intense": {"quiet", "soft", "calm", "relaxing", "gentle", "mellow"},
}
SLOW_BPM, FAST_BPM = 95.0, 125.0


def agreeing_moods(moods: list[str], *, energy: float | None, bpm: float | None) -> list[str]:
    """The moods that agree with the measured energy and tempo ("fast" is never said at 70 BPM)."""
    banned = set(CLASHES.get(energy_word(energy) or "", set()))
    if bpm is not None:
        banned |= {"fast"} if bpm < SLOW_BPM else set()
        banned |= {"slow"} if bpm > FAST_BPM else set()
    return [mood for mood in moods if mood.lower() not in banned]


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


def _loudness_sentence(outline: Outline) -> str | None:
    loudest = next((event for event in outline.events if event.kind == "loudest"), None)
    quietest = next((event for event in outline.events if event.kind == "quietest"), None)
    parts = []
    for event, word in ((loudest, "loudest"), (quietest, "quietest")):
        if event is not None:
            section = outline.sections[event.section_index] if outline.sections else None
            where = f" in the {section.reference}" if section else ""
            parts.append(f"it is {word} at {format_time(event.time)}{where}")
    return (parts[0][:1].upper() + parts[0][1:] + (f"; {parts[1]}" if len(parts) > 1 else "") + ".") if parts else None


def _key_path_sentence(outline: Outline) -> str | None:
    changes = [event for event in outline.events if event.kind == "key_change"]
    if not changes:
        return None
    if len(changes) <= 3:
        return f"The key moves {_join([f'to {event.subject} at {format_time(event.time)}' for event in changes])}."
    first, last = format_time(changes[0].time), format_time(changes[-1].time)
    keys = list(dict.fromkeys([outline.key_path[0].key] + [event.subject for event in changes]))
    if len(keys) == 2 and None not in keys:
        return (f"The key alternates between {keys[0]} and {keys[1]}: {_count(len(changes))} moves, "
                f"from {first} to {last}.")
    through = list(dict.fromkeys(event.subject for event in changes if event.subject))
    return f"The key moves {_count(len(changes))} times, from {first} to {last}, through {_join(through)}."


def write_overview(outline: Outline) -> str:
    """The overview: what the piece is, its form, its sound, its dynamic and melodic shape."""
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
        atonal = any(note.endswith(ATONAL_NOTE) for note in song.notes)
        sentences.append("No key centre holds: the harmony reads as atonal." if atonal
                         else "No single key is clear enough to name.")
    if song.form:
        form = f"It is in {song.form}" if not song.form.startswith(("through", "strophic")) else f"It is {song.form}"
        sentences.append(form + (f"; {song.form_detail}." if song.form_detail else "."))
    elif len(outline.sections) > 1:
        sentences.append(f"It moves through {len(outline.sections)} sections.")
    key_path = _key_path_sentence(outline)
    if key_path:
        sentences.append(key_path)
    if song.instruments:
        sentences.append(rng.choice([
            f"The sound is built on {_join(song.instruments)}",
            f"The main colour{'s are' if len(song.instruments) > 1 else ' is'} {_join(song.instruments)}",
        ]) + ((", with a spoken voice." if song.spoken else ", with vocals.") if song.vocals
               else ", and it is instrumental."))
    elif song.vocals:
        sentences.append("A speaking voice is present." if song.spoken else "A voice is present.")
    moods = agreeing_moods(song.moods, energy=None, bpm=song.bpm)
    if moods:
        sentences.append(rng.choice([f"Its mood reads as {_join(moods)}.", f"The taggers hear it as {_join(moods)}."]))
    if outline.arc.shape:
        sentences.append(rng.choice(_SHAPE_SENTENCES[outline.arc.shape]))
    loudness = _loudness_sentence(outline)
    if loudness:
        sentences.append(loudness)
    if song.melody:
        sentences.append(song.melody[:1].upper() + song.melody[1:] + ".")
    if song.tempo_feel:
        sentences.append(song.tempo_feel[:1].upper() + song.tempo_feel[1:] + ".")
    return " ".join(sentences)


# Sections -------------------------------------------------------------------------------

_BOUNDARY_KINDS = ("key_change", "tempo_change", "vocals_enter", "vocals_leave", "instrument_entry",
                   "instrument_exit", "breakdown", "drop", "energy_rise", "energy_fall")


def _event_phrase(event: Moment, *, inside: bool) -> str:
    """An event as a clause; inside a section it carries its own time."""
    if event.kind == "key_change":
        text = f"the music modulates to {event.subject}" if inside else f"the key moves to {event.subject}"
    elif event.kind == "instrument_entry":
        text = f"{event.subject} {'come' if is_plural(event.subject) else 'comes'} in"
    else:
        text = event.text
    return f"{text} at {format_time(event.time)}" if inside else text


def _opening(outline: Outline, section: SectionPlan, at_start: list[Moment],
             rng: random.Random) -> list[str | list[str]]:
    """The opening sentences; a list among them holds alternatives (the first unused one is written)."""
    name, when = section.name, format_time(section.start)
    if section.index == 0:
        first = name.removeprefix("opening ")  # not "the song opens with an opening passage"
        return [rng.choice([
            f"The song opens with {_a(first)} that runs to {format_time(section.end)}.",
            f"{_a(first).capitalize()} starts things off, lasting until {format_time(section.end)}.",
        ])]
    clauses = [_event_phrase(event, inside=False) for event in at_start if event.kind in _BOUNDARY_KINDS][:4]
    if section.repeats is not None:
        first = outline.sections[section.repeats]
        lead = rng.choice([f"The {name} returns at {when}", f"At {when} the {name} comes back",
                           f"Back comes the {name} at {when}"])
        if first.name != name:
            lead += f" with the material of the {first.name} at {format_time(first.start)}"
        if first.name == name and section.label == "section":
            lead += f", the material of {format_time(first.start)}"
        differences = section.differences
        tail = f": {_join(differences)}" if differences else ", much as before"
        sentences = [lead + tail + "."]
        if clauses:
            frames = ["With it, {}.", "This time {}.", "As it arrives, {}."]
            start = rng.randrange(len(frames))
            sentences.append([frame.format(_join(clauses)) for frame in frames[start:] + frames[:start]])
        return sentences
    lead = rng.choice([f"At {when}", f"From {when}", f"When the {name} begins at {when},"])
    if clauses:
        return [f"{lead} {_join(clauses)}."]
    return [rng.choice([f"The {name} follows at {when}.", f"Next, at {when}, comes the {name}."])]


_ENERGY_NAMES = {"hushed", "driving"}  # the words of `outline.descriptive_name` that name an energy


def _texture_sentence(section: SectionPlan, first: SectionPlan | None, rng: random.Random) -> str | None:
    texture = section.instruments + (["vocals"] if section.vocals else [])
    if first is not None and first.instruments == section.instruments and first.vocals == section.vocals:
        return None  # a repeat with the same line-up: its differences were told
    energy = energy_word(section.energy)
    if texture:
        verb = rng.choice(["is carried by", "is built on", "features"])
        # A descriptive name already says its energy: no "hushed hushed interlude".
        adjective = f"{energy} " if energy and not set(section.name.split()) & _ENERGY_NAMES else ""
        return f"This {adjective}{section.name} {verb} {_join(texture)}."
    return f"The {section.name} is {energy}." if energy else None


def _harmony_sentences(outline: Outline, section: SectionPlan, first: SectionPlan | None,
                       inside: list[Moment], rng: random.Random) -> list[str]:
    sentences = []
    previous = outline.sections[section.index - 1] if section.index else None
    say_key = section.key and (previous is None or previous.key != section.key or first is None)
    same_chords = first is not None and first.loop == section.loop and first.chords == section.chords
    harmony = []
    if say_key and not any(event.kind == "key_change" and abs(event.time - section.start) < 0.01
                           for event in section.events):
        harmony.append(f"sits in {section.key}")
    if not same_chords:
        if section.loop:
            size = _count(len(section.loop))
            harmony.append(f"turns on {_a(size)}-chord loop, {' – '.join(section.loop)}")
        else:
            symbols = list(dict.fromkeys(filter(None, map(chord_symbol, section.chords))))[:4]
            if len(symbols) >= 2:
                harmony.append(f"moves through {' – '.join(symbols)}")
            elif len(symbols) == 1:
                harmony.append(f"rests on {_a_chord(symbols[0])} chord")
    if harmony:
        sentences.append(rng.choice(["Harmonically it ", "It ", "The harmony here "]).replace(
            "The harmony here ", "Here the harmony ") + _join(harmony) + ".")
    if section.borrowed and not same_chords:
        sentences.append(f"The {' and '.join(section.borrowed[:2])} {'is' if len(section.borrowed) == 1 else 'are'} "
                         f"borrowed from the parallel {'minor' if 'major' in (section.key or '') else 'major'}.")
    if section.cadence and not same_chords:
        sentences.append(f"It closes on {section.cadence}.")
    modulations = [event for event in inside if event.kind == "key_change"]
    if modulations:
        sentences.append(f"Within it, {_join([_event_phrase(event, inside=True) for event in modulations])}.")
    return sentences


def write_section(outline: Outline, index: int, *, said: set[str] | None = None,
                  moods_said: list[str] | None = None) -> str:
    """One paragraph for one section: what the events say changes, what plays, its harmony.

    `said` holds the sentences already written in this narrative (none is written twice);
    `moods_said` the last moods mentioned (a mood is said again only when it changes).
    """
    section = outline.sections[index]
    rng = _rng(outline, index)
    said = set() if said is None else said
    first = outline.sections[section.repeats] if section.repeats is not None else None
    at_start = [event for event in section.events if abs(event.time - section.start) < 0.01]
    inside = [event for event in section.events if event.time - section.start >= 0.01]
    sentences: list[str | list[str] | None] = [*_opening(outline, section, at_start, rng)]
    sentences.append(_texture_sentence(section, first, rng))
    sentences += _harmony_sentences(outline, section, first, inside, rng)
    others = [event for event in inside if event.kind in _BOUNDARY_KINDS and event.kind != "key_change"]
    if others:
        sentences.append(f"Later, {_join([_event_phrase(event, inside=True) for event in others[:3]])}.")
    if section.feel:
        sentences.append(f"The drums settle into a {section.feel} feel.")
    if section.folded:
        folded = list(dict.fromkeys(section.folded))
        sentences.append(f"A short {folded[0]} passage is folded into it." if len(folded) == 1
                         else f"Short {_join(folded)} passages are folded into it.")
    moods = agreeing_moods(section.moods, energy=section.energy, bpm=section.bpm or outline.character.bpm)
    if moods and moods_said is not None and set(moods) != set(moods_said):
        sentences.append(f"It feels {_join(moods)}." if index == 0 else
                         rng.choice([f"The mood turns {_join(moods)}.", f"It feels {_join(moods)}."]))
        moods_said[:] = moods
    kept = []
    for choice in sentences:
        options = choice if isinstance(choice, list) else [choice]
        fresh = next((option for option in options if option and option not in said), None)
        if fresh:
            said.add(fresh)
            kept.append(fresh)
    return " ".join(kept)


def write_moments(outline: Outline) -> str:
    """The key moments as a time-stamped list."""
    if not outline.moments:
        return "No single moment stands out: the song keeps one character throughout."
    return "\n".join(f"- **{format_time(moment.time)}** — {moment.text}" for moment in outline.moments)


def deterministic_paragraphs(outline: Outline) -> list[Paragraph]:
    """The whole narrative from the deterministic writer."""
    said: set[str] = set()
    moods_said = list(agreeing_moods(outline.character.moods, energy=None, bpm=outline.character.bpm))
    paragraphs = [Paragraph(kind="overview", text=write_overview(outline))]
    paragraphs += [
        Paragraph(kind="section", section_index=section.index,
                  text=write_section(outline, section.index, said=said, moods_said=moods_said))
        for section in outline.sections
    ]
    paragraphs.append(Paragraph(kind="moments", text=write_moments(outline)))
    return paragraphs


_MARKDOWN_SPECIAL = set("\\`*_{}[]()<>#+-.!|~&")


def escape_markdown(text: str) -> str:
    """`text` with every Markdown and HTML special character backslash-escaped."""
    return "".join(f"\\{char}" if char in _MARKDOWN_SPECIAL else char for char in text)


def render_markdown(outline: Outline, paragraphs: list[Paragraph], *, source_path: str | None = None) -> str:
    """Lay the paragraphs out as Markdown: title, overview, sections with `m:ss` spans, key moments."""
    song = outline.character
    title = song.title or (Path(source_path).stem if source_path else "Untitled")
    # Title and artist come from the file's tags: text, never Markdown or HTML.
    lines = [f"# {escape_markdown(title)}" + (f" — {escape_markdown(song.artist)}" if song.artist else ""), ""]
    for paragraph in paragraphs:
        if paragraph.kind == "overview":
            lines += ["## Overview", "", paragraph.text, ""]
        elif paragraph.kind == "section":
            section = outline.sections[paragraph.section_index]
            if paragraph.section_index == 0:
                lines += ["## Sections", ""]
            lines += [f"### {heading(section, sections=outline.sections)}", "", paragraph.text, ""]
        else:
            lines += ["## Key moments", "", paragraph.text, ""]
    if song.notes:
        lines += ["## Notes", ""] + [f"- {note}" for note in song.notes] + [""]
    return "\n".join(lines).rstrip() + "\n"
