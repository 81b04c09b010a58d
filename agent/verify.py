"""Verify: every checkable claim in the prose must match the analysis.

Claims are times (`m:ss`, inside the span the paragraph describes and, in a section, at
one of its events: no "At 1:17" in a chorus where nothing happens at 1:17), durations ("a
4-minute piece", "30 seconds"), keys, tempi (BPM), loudness (LUFS), units (LU measures a
difference: "louder by 7 LU", never "loud by 7 LU"), chords, instruments (and the voice),
genres and moods. Words the vocabulary does not
know are not claims; a paragraph passes when none of its claims fails.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel

from linernotes.agent.outline import Moment, SectionPlan
from linernotes.tools.vocabulary import TIMESTAMP_PATTERN, format_time
from linernotes.tools.vocabulary import (
    CHORD_TOKEN_PATTERN, GENRE_PATTERN, GENRE_WORDS, INSTRUMENT_PATTERN, INSTRUMENT_WORDS,
    KEY_PATTERN, MOOD_PATTERN, MOOD_WORDS, PROGRESSION_PATTERN, chord_identity, chord_symbol,
    family_of, is_negated, key_identity,
)
from linernotes.tools.schema import Segment, SongAnalysis, Summary, Tag

ClaimKind = Literal["time", "duration", "key", "tempo", "loudness", "unit", "chord", "instrument", "genre", "mood"]

TEMPO_PATTERN = re.compile(r"(\d{2,3}(?:\.\d+)?)\s*(?:-\s*)?(?:bpm|beats per minute)\b", re.I)
DURATION_PATTERN = re.compile(r"(\d+(?:\.\d+)?)[\s-](second|minute)s?\b", re.I)
LOUDNESS_PATTERN = re.compile(r"(-\d+(?:\.\d+)?)\s*LUFS\b")
# "louder by 7 LU" and "a loudness range of 7 LU" use the unit rightly; "loud by 7 LU" does not.
LU_PATTERN = re.compile(r"(\w+)\s+(?:by|of)\s+(\d+(?:\.\d+)?)\s*LU\b|(\d+(?:\.\d+)?)\s*LU\b")
_LU_WORDS = {"louder", "quieter", "softer", "range", "rises", "falls", "drops", "jumps", "step"}
UNSIGNED_LUFS_PATTERN = re.compile(r"(?<![-\d.−])(\d+(?:\.\d+)?)\s*LUFS\b")
SINGLE_CHORD_PATTERN = re.compile(r"(?<![\w#])([A-G](?:#|b|♯|♭)?\w*)\s+chords?\b")


class Scope(BaseModel):
    """What may be said in one paragraph: the facts of the span it describes."""

    start: float
    end: float
    keys: list[str]
    bpms: list[float]
    loudness: list[float]  # LUFS values that may be quoted
    chords: list[str]  # mir_eval labels
    instruments: list[str]  # tag labels
    vocals: bool
    genres: list[str]
    moods: list[str]
    moment_times: list[float] | None = None  # set for the key-moments list: times must hit one
    # Set for a section: a time inside the span must be one of these (its start, end and events);
    # `references` are earlier times it may point back at (the first statement it repeats).
    times: list[float] | None = None
    references: list[float] = []


class Claim(BaseModel):
    kind: ClaimKind
    text: str
    ok: bool
    reason: str | None = None


class Verification(BaseModel):
    claims: list[Claim]

    @property
    def failures(self) -> list[Claim]:
        return [claim for claim in self.claims if not claim.ok]

    @property
    def ok(self) -> bool:
        return not self.failures

    def errors(self) -> list[str]:
        """One line per failed claim, for the writer's retry prompt."""
        return [f"{claim.text!r}: {claim.reason}" for claim in self.failures]


# Scopes -------------------------------------------------------------------------------

def _labels(tags: list[Tag], *, floor: float) -> list[str]:
    return [tag.label for tag in tags if tag.score >= floor]


def section_scope(
    analysis: SongAnalysis, section: SectionPlan, *, tag_floor: float = 0.1
) -> Scope:
    """Facts of one section; genre and mood may also be the song's."""
    stored = _stored_sections(analysis, section)
    windows = [window for window in analysis.segments if window.start < section.end and window.end > section.start]
    keys = [section.key or analysis.summary.key]
    keys += [event.subject for event in section.events if event.kind == "key_change"]
    keys += [key for change in analysis.key_changes if section.start - 1 <= change.time <= section.end + 1
             for key in (change.from_key, change.to_key)]
    return Scope(
        start=section.start,
        end=section.end,
        keys=[key for key in keys if key],
        bpms=[bpm for bpm in (section.bpm or analysis.summary.bpm,) if bpm],
        loudness=[segment.loudness_lufs for segment in [*stored, *windows] if segment.loudness_lufs is not None],
        chords=section.chords + [chord.label for chord in analysis.chords
                                 if chord.start < section.end and chord.end > section.start],
        instruments=section.instruments + [label for part in stored for label in _labels(part.instruments, floor=tag_floor)],
        vocals=section.vocals or any(window.vocals.present for window in windows),
        genres=section.genres + _labels(analysis.summary.genres, floor=tag_floor)
        + [label for part in stored for label in _labels(part.genres, floor=tag_floor)],
        moods=section.moods + _labels(analysis.summary.moods, floor=tag_floor)
        + [label for part in stored for label in _labels(part.moods, floor=tag_floor)],
        times=[section.start, section.end] + [event.time for event in section.events],
        references=[earlier.start for earlier in analysis.sections if earlier.start < section.start],
    )


def song_scope(
    analysis: SongAnalysis, *, moments: list[Moment] | None = None, tag_floor: float = 0.1
) -> Scope:
    """Facts of the whole song (the overview); with `moments`, the scope of the key-moments list."""
    segments = analysis.sections + analysis.segments
    keys = [analysis.summary.key] + [segment.key for segment in analysis.sections]
    keys += [key for change in analysis.key_changes for key in (change.from_key, change.to_key)]
    return Scope(
        start=0.0,
        end=analysis.source.duration_s,
        keys=[key for key in keys if key],
        bpms=[bpm for bpm in [analysis.summary.bpm] + [segment.bpm for segment in analysis.sections] if bpm],
        loudness=[value for value in [analysis.summary.loudness_lufs] + [segment.loudness_lufs for segment in segments]
                  + [point.value for point in analysis.loudness_curve] if value is not None],
        chords=[chord.label for chord in analysis.chords] + [label for segment in segments for label in segment.chords],
        instruments=_labels(analysis.summary.instruments, floor=tag_floor)
        + [label for segment in segments for label in _labels(segment.instruments, floor=tag_floor)],
        vocals=analysis.summary.vocals.present or any(segment.vocals.present for segment in segments),
        genres=_labels(analysis.summary.genres, floor=tag_floor)
        + [label for segment in segments for label in _labels(segment.genres, floor=tag_floor)],
        moods=_labels(analysis.summary.moods, floor=tag_floor)
        + [label for segment in segments for label in _labels(segment.moods, floor=tag_floor)],
        moment_times=[moment.time for moment in moments] if moments is not None else None,
    )


def _stored_sections(analysis: SongAnalysis, section: SectionPlan) -> list[Segment]:
    """The analysed sections a planned one covers (more than one when fragments were folded in)."""
    return [stored for stored in analysis.sections
            if stored.start >= section.start - 0.5 and stored.end <= section.end + 0.5]


# Checking -----------------------------------------------------------------------------

def _check_time(text: str, seconds: float, scope: Scope) -> Claim:
    if scope.moment_times is not None:
        near = [time for time in scope.moment_times if abs(seconds - int(time)) <= 1.5]
        reason = None if near else "no key moment at this time"
    elif any(abs(seconds - int(time)) <= 1.5 for time in scope.references):
        reason = None
    elif not scope.start - 1.0 <= seconds <= scope.end + 1.0:
        reason = f"outside the span this paragraph describes ({format_time(scope.start)}–{format_time(scope.end)})"
    elif scope.times is not None and not any(abs(seconds - int(time)) <= 1.5 for time in scope.times):
        reason = "nothing happens at this time in this paragraph's span"
    else:
        reason = None
    return Claim(kind="time", text=text, ok=reason is None, reason=reason)


def _check_key(text: str, scope: Scope) -> Claim:
    stated = key_identity(text)
    ok = stated is not None and any(key_identity(key) == stated for key in scope.keys)
    expected = ", ".join(dict.fromkeys(scope.keys)) or "no clear key"
    return Claim(kind="key", text=text, ok=ok, reason=None if ok else f"the analysis says {expected}")


def _check_tempo(text: str, bpm: float, scope: Scope) -> Claim:
    ok = any(abs(bpm - measured) <= max(2.0, 0.03 * measured) for measured in scope.bpms)
    expected = ", ".join(f"{value:.0f} BPM" for value in dict.fromkeys(scope.bpms)) or "no clear tempo"
    return Claim(kind="tempo", text=text, ok=ok, reason=None if ok else f"the analysis says {expected}")


def _check_duration(text: str, seconds: float, scope: Scope) -> Claim:
    length = scope.end - scope.start
    ok = abs(seconds - length) <= max(0.15 * length, 1.0)
    return Claim(kind="duration", text=text, ok=ok, reason=None if ok else f"it lasts {length:.0f} seconds")


def _check_loudness(text: str, lufs: float, scope: Scope) -> Claim:
    ok = any(abs(lufs - measured) <= 1.5 for measured in scope.loudness)
    return Claim(kind="loudness", text=text, ok=ok, reason=None if ok else "no such loudness was measured here")


def _check_chord(symbol: str, scope: Scope) -> Claim:
    allowed = {chord_identity(chord_symbol(label) or "") for label in scope.chords}
    ok = chord_identity(symbol) in allowed
    heard = ", ".join(dict.fromkeys(filter(None, map(chord_symbol, scope.chords)))) or "none"
    return Claim(kind="chord", text=symbol, ok=ok, reason=None if ok else f"chords here: {heard}")


def _check_family(kind: ClaimKind, word: str, labels: list[str], families: dict, *, vocals: bool | None = None) -> Claim:
    family = family_of(word, families)
    if family == "voice" and vocals is not None:
        ok = vocals
    else:
        ok = any(family_of(label, families) == family for label in labels)
    named = ", ".join(dict.fromkeys(labels)) or "none"
    reason = None if ok else ("no vocals detected here" if family == "voice" else f"the analysis has {named}")
    return Claim(kind=kind, text=word, ok=ok, reason=reason)


def verify_text(text: str, scope: Scope) -> Verification:
    """Extract the claims in `text` and check each against `scope`."""
    claims: list[Claim] = []
    masked = text
    for match in TIMESTAMP_PATTERN.finditer(text):
        seconds = int(match.group(1)) * 60 + int(match.group(2))
        claims.append(_check_time(match.group(0), seconds, scope))
    for match in KEY_PATTERN.finditer(text):
        claims.append(_check_key(match.group(0), scope))
        masked = masked[:match.start()] + " " * (match.end() - match.start()) + masked[match.end():]
    for match in TEMPO_PATTERN.finditer(text):
        claims.append(_check_tempo(match.group(0), float(match.group(1)), scope))
    for match in DURATION_PATTERN.finditer(text):
        seconds = float(match.group(1)) * (60 if match.group(2).lower() == "minute" else 1)
        claims.append(_check_duration(match.group(0), seconds, scope))
    for match in LU_PATTERN.finditer(text):
        word = (match.group(1) or "").lower()
        ok = match.group(1) is not None and (word in _LU_WORDS or word.endswith("er"))
        claims.append(Claim(kind="unit", text=match.group(0), ok=ok,
                            reason=None if ok else "LU measures a difference: say louder or quieter by N LU"))
    for match in UNSIGNED_LUFS_PATTERN.finditer(text):
        claims.append(Claim(kind="unit", text=match.group(0), ok=False,
                            reason="a loudness in LUFS is negative"))
    for match in LOUDNESS_PATTERN.finditer(text):
        claims.append(_check_loudness(match.group(0), float(match.group(1)), scope))
    for match in PROGRESSION_PATTERN.finditer(masked):
        claims += [_check_chord(token.group(0), scope) for token in CHORD_TOKEN_PATTERN.finditer(match.group(0))]
    for match in SINGLE_CHORD_PATTERN.finditer(masked):
        if chord_identity(match.group(1)) is not None and re.fullmatch(CHORD_TOKEN_PATTERN, match.group(1)):
            claims.append(_check_chord(match.group(1), scope))
    for pattern, kind, families, labels, vocals in (
        (INSTRUMENT_PATTERN, "instrument", INSTRUMENT_WORDS, scope.instruments, scope.vocals),
        (GENRE_PATTERN, "genre", GENRE_WORDS, scope.genres, None),
        (MOOD_PATTERN, "mood", MOOD_WORDS, scope.moods, None),
    ):
        for match in pattern.finditer(masked):
            if is_negated(masked, match.start(), match.end()):
                continue
            claims.append(_check_family(kind, match.group(0), labels, families, vocals=vocals))
    return Verification(claims=claims)


def segment_scope(segment: Segment, *, summary: Summary | None = None, tag_floor: float = 0.1) -> Scope:
    """Facts of one segment, for checking its caption; genre and mood may also be the song's."""
    return Scope(
        start=segment.start,
        end=segment.end,
        keys=[key for key in (segment.key or (summary.key if summary else None),) if key],
        bpms=[bpm for bpm in (segment.bpm or (summary.bpm if summary else None),) if bpm],
        loudness=[value for value in (segment.loudness_lufs,) if value is not None],
        chords=segment.chords,
        instruments=_labels(segment.instruments, floor=tag_floor),
        vocals=segment.vocals.present,
        genres=_labels(segment.genres, floor=tag_floor) + (_labels(summary.genres, floor=tag_floor) if summary else []),
        moods=_labels(segment.moods, floor=tag_floor) + (_labels(summary.moods, floor=tag_floor) if summary else []),
    )
