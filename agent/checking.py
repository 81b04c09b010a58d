"""Checking an LLM's chat answer against the facts it was given, with the narrative's claim checker.

A phrased answer may only restate the deterministic answer's facts: its keys, tempi, times
and instruments must be among them, a yes/no must agree, and every song the facts name must
be named. Anything else and the deterministic answer is shown instead.
"""

from __future__ import annotations

import re

from linernotes.agent.answer import Reply
from linernotes.agent.library import Library
from linernotes.agent.verify import Scope, song_scope, verify_text
from linernotes.tools.vocabulary import (
    INSTRUMENT_PATTERN, INSTRUMENT_WORDS, KEY_PATTERN, TIMESTAMP_PATTERN, family_of, is_negated,
)
from linernotes.agent.verify import TEMPO_PATTERN

_YES_NO = re.compile(r"^\W*(yes|no)\b", re.I)


def _without_names(text: str, names: list[str]) -> str:
    """`text` with each song name blanked: a title that says "F# major" states no key."""
    for name in sorted(filter(None, set(names)), key=len, reverse=True):
        text = text.replace(name, " ")
    return text


def reply_scope(reply: Reply, *, names: list[str] = ()) -> Scope:
    """What the deterministic answer states: the only facts a phrasing of it may contain.

    The songs' `names` are blanked first: facts come from the measurements, never from a tag.
    """
    text = _without_names(reply.text, list(names))
    instruments = [match.group(0) for match in INSTRUMENT_PATTERN.finditer(text)
                   if not is_negated(text, match.start(), match.end()) and family_of(match.group(0), INSTRUMENT_WORDS) != "voice"]
    voiced = any(family_of(match.group(0), INSTRUMENT_WORDS) == "voice" and not is_negated(text, match.start(), match.end())
                 for match in INSTRUMENT_PATTERN.finditer(text))
    times = [int(match.group(1)) * 60 + int(match.group(2)) for match in TIMESTAMP_PATTERN.finditer(text)]
    return Scope(start=0.0, end=24 * 3600.0, keys=[match.group(0) for match in KEY_PATTERN.finditer(text)],
                 bpms=[float(match.group(1)) for match in TEMPO_PATTERN.finditer(text)], loudness=[
                     float(value) for value in re.findall(r"(-\d+(?:\.\d+)?) LUFS", text)],
                 chords=[], instruments=instruments, vocals=voiced, genres=[], moods=[],
                 moment_times=times or None)


def phrasing_problems(phrased: str, reply: Reply, *, names: list[str] = ()) -> list[str]:
    """Why a phrased answer may not replace the deterministic one; [] when it may.

    `names` are the library's song names: one repeated exactly is a name, not a claim.
    """
    text = phrased.strip()
    if not text or text.startswith(("{", "[", "```")):
        return ["empty or not prose"]
    claims = verify_text(_without_names(text, list(names)), reply_scope(reply, names=names))
    problems = [f"{claim.text!r}: {claim.reason}" for claim in claims.failures
                if claim.kind in ("time", "key", "tempo", "loudness", "instrument")]
    expected, stated = _YES_NO.match(reply.text), _YES_NO.match(text)
    if expected and (not stated or stated.group(1).lower() != expected.group(1).lower()):
        problems.append("the yes/no disagrees with the facts")
    for citation in reply.citations:
        if len(reply.citations) > 1 and citation.title in reply.text and citation.title not in text:
            problems.append(f"leaves out {citation.title}")
    return problems


def library_scope(library: Library, song_id: str | None = None) -> Scope:
    """Everything measured about one song, or about the whole library: the scope of a free answer."""
    songs = [song for song in library.songs if song_id is None or song.id == song_id]
    scopes = [song_scope(song.analysis) for song in songs]
    if not scopes:
        return Scope(start=0, end=0, keys=[], bpms=[], loudness=[], chords=[], instruments=[], vocals=False,
                     genres=[], moods=[])
    return Scope(start=0.0, end=max(scope.end for scope in scopes),
                 keys=[key for scope in scopes for key in scope.keys],
                 bpms=[bpm for scope in scopes for bpm in scope.bpms],
                 loudness=[value for scope in scopes for value in scope.loudness],
                 chords=[chord for scope in scopes for chord in scope.chords],
                 instruments=[label for scope in scopes for label in scope.instruments],
                 vocals=any(scope.vocals for scope in scopes),
                 genres=[label for scope in scopes for label in scope.genres],
                 moods=[label for scope in scopes for label in scope.moods])
