"""Captions of segments: the `Captioner` interface and a deterministic feature captioner.

`FeatureCaptioner` follows LP-MusicCaps' tag-to-caption idea without a language model:
it writes sentences from a segment's measured features only. What a detector is sure of
is stated, what it half-believes is hedged ("possibly"), the rest is left out; every
number (time, tempo, key, loudness) is copied from the segment. The sentence frames rotate
with the segment's index so consecutive captions do not read alike.
"""

from __future__ import annotations

from typing import Protocol

from linernotes.tools.schema import Segment, Summary, Tag
from linernotes.tools.vocabulary import chord_symbol, format_time

SURE_TAG = 0.5  # a tag at or above this is stated
HEDGED_TAG = 0.3  # between this and SURE_TAG it is hedged; below, left out
SURE_KEY = 0.6
HEDGED_KEY = 0.35
SURE_LABEL = 0.5
HEDGED_LABEL = 0.3
SILENT_LUFS = -60.0
AUDIBLE_CHANGE_LU = 3.0  # smaller level changes are not worth a word
_MAX_TAGS = 3


class Captioner(Protocol):
    """Writes one caption for a segment, given the song summary and the segment before."""

    def caption(self, segment: Segment, *, summary: Summary,
                previous: Segment | None = None) -> str: ...


class FeatureCaptioner:
    """Deterministic captions from detector outputs, hedged by their confidence."""

    def caption(self, segment: Segment, *, summary: Summary,
                previous: Segment | None = None) -> str:
        """One caption of one to five sentences about `segment`.

        Parameters
        ----------
        segment : Segment
            The section or window to describe.
        summary : Summary
            The whole song's summary; a silent song gets a silent caption.
        previous : Segment, optional
            The segment just before, for what changes (level, key, vocals).
        """
        span = f"{format_time(segment.start)}–{format_time(segment.end)}"
        if summary.silent or _is_silent(segment):
            return f"{span}: silence, nothing audible to describe."
        sentences = [_opening(segment, span), _sound(segment), _voice(segment),
                     _changes(segment, previous)]
        return " ".join(sentence for sentence in sentences if sentence)


def _is_silent(segment: Segment) -> bool:
    return segment.loudness_lufs is not None and segment.loudness_lufs <= SILENT_LUFS


def _role(segment: Segment) -> str:
    if segment.label == "section" or segment.label_confidence < HEDGED_LABEL:
        return "a passage"
    if segment.label_confidence < SURE_LABEL:
        return f"what is likely the {segment.label}"
    return f"the {segment.label}"


def _opening(segment: Segment, span: str) -> str:
    facts = []
    if segment.key and segment.key_confidence >= SURE_KEY:
        facts.append(f"in {segment.key}")
    elif segment.key and segment.key_confidence >= HEDGED_KEY:
        facts.append(f"probably in {segment.key}")
    if segment.bpm is not None:
        facts.append(f"at about {segment.bpm:.0f} BPM")
    level = _level_words(segment)
    role = _role(segment)
    where = f"within {role}" if segment.kind == "window" else role
    detail = ", ".join(facts)
    frames = [
        "{span} is {where}{comma}{detail}.",
        "{span} falls {where}{comma}{detail}.",
        "The stretch {span} sits {where}{comma}{detail}.",
    ] if segment.kind == "window" else [
        "{span} is {where}{comma}{detail}.",
        "At {span} comes {where}{comma}{detail}.",
        "{where_cap} runs {span}{comma}{detail}.",
    ]
    sentence = frames[segment.index % len(frames)].format(
        span=span, where=where, where_cap=where[0].upper() + where[1:],
        comma=", " if detail else "", detail=detail)
    chords = _chord_words(segment.chords)
    if level:
        sentence += f" It is {level}."
    if chords:
        sentence += f" The harmony moves through {chords}."
    return sentence


def _level_words(segment: Segment) -> str:
    if segment.energy is None:
        return ""
    word = "quiet" if segment.energy < 0.33 else "loud" if segment.energy > 0.66 else "moderate"
    if segment.loudness_lufs is None:
        return f"{word} for this song"
    return f"{word} for this song ({segment.loudness_lufs:.0f} LUFS)"


def _chord_words(chords: list[str]) -> str:
    names = [symbol for symbol in map(chord_symbol, chords) if symbol]
    return ", ".join(names[:4]) + (" and more" if len(names) > 4 else "")


def _tag_words(tags: list[Tag]) -> tuple[list[str], list[str]]:
    """Labels to state and labels to hedge, strongest first."""
    ranked = sorted(tags, key=lambda tag: -tag.score)[:_MAX_TAGS]
    sure = [tag.label for tag in ranked if tag.score >= SURE_TAG]
    hedged = [tag.label for tag in ranked if HEDGED_TAG <= tag.score < SURE_TAG]
    return sure, hedged


def _listing(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _sound(segment: Segment) -> str:
    instruments, maybe_instruments = _tag_words(segment.instruments)
    heard = [*instruments, *(f"possibly {label}" for label in maybe_instruments)]
    genres, maybe_genres = _tag_words(segment.genres)
    moods, maybe_moods = _tag_words(segment.moods)
    style = []
    if genres or moods:
        words = ', '.join(moods + genres)
        style.append(f"{'an' if words[:1] in 'aeiou' else 'a'} {words} feel")
    if maybe_genres or maybe_moods:
        style.append(f"something {_listing(maybe_moods + maybe_genres)} about it")
    if heard and style:
        return f"It features {_listing(heard)}, with {' and '.join(style)}."
    if heard:
        return f"It features {_listing(heard)}."
    if style:
        return f"It has {' and '.join(style)}."
    return ""


def _voice(segment: Segment) -> str:
    vocals = segment.vocals
    if vocals.present:
        verb = "speaks" if vocals.delivery == "speech" else "sings"
        return f"A {vocals.type} voice {verb}." if vocals.type else f"A voice {verb}."
    if vocals.score <= 0.2:
        return "No voice is heard."
    return ""  # in between the tagger cannot tell: say nothing rather than guess


def _changes(segment: Segment, previous: Segment | None) -> str:
    if previous is None:
        return ""
    changes = []
    if segment.loudness_lufs is not None and previous.loudness_lufs is not None:
        step = segment.loudness_lufs - previous.loudness_lufs
        if abs(step) >= AUDIBLE_CHANGE_LU:
            changes.append(f"{'louder' if step > 0 else 'quieter'} by {abs(step):.0f} LU")
    sure_keys = (segment.key and previous.key and segment.key_confidence >= SURE_KEY
                 and previous.key_confidence >= SURE_KEY)
    if sure_keys and segment.key != previous.key:
        changes.append(f"moving from {previous.key} to {segment.key}")
    if segment.vocals.present and not previous.vocals.present:
        changes.append("the voice enters")
    elif previous.vocals.present and not segment.vocals.present:
        changes.append("the voice drops out")
    if not changes:
        return ""
    return f"Compared with {format_time(previous.start)}–{format_time(previous.end)}: {_listing(changes)}."
