"""Resolve a question before anything answers it: which song, which time or section, which field.

`resolve` turns "and at 0:25?" or "when does the voice come in in mix01?" into a `Question`,
using the library's song names and the thread's previous question for what a follow-up
leaves out. Pure and fast: no model runs here.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel

from linernotes.agent.library import Library, without_names
from linernotes.tools.vocabulary import INSTRUMENT_PATTERN, INSTRUMENT_WORDS, TIMESTAMP_PATTERN, family_of, normalise_key

Field = Literal["key", "tempo", "time_signature", "chords", "section", "vocals", "instruments", "loudness",
                "energy", "mood", "genre", "duration"]
Intent = Literal["lookup", "event", "compare", "library", "similar", "sections", "songs", "overview", "search"]
EventKind = Literal["start", "stop", "change", "loudest", "quietest", "rise", "fall"]  # rise, fall: of the energy


class SectionRef(BaseModel):
    """A section named in words: "the second chorus" is (chorus, 2), "the last section" (None, -1)."""

    label: str | None = None
    ordinal: int | None = None  # 1-based; -1 is the last


class Span(BaseModel):
    """A point, a range or a section of a song."""

    time: float | None = None
    end: float | None = None
    section: SectionRef | None = None
    starting: bool = False  # "the section starting at 0:19": the section nearest that start


class Question(BaseModel):
    """What a question asks, resolved."""

    text: str
    intent: Intent
    song_ids: list[str] = []  # the songs it is about; empty for the library or when none was named
    spans: list[Span] = []
    field: Field | None = None
    event: EventKind | None = None
    instrument: str | None = None  # an instrument family, or "voice"
    ordinal: int = 1  # "the second time the key changes"
    library: str | None = None  # fastest, slowest, longest, shortest, loudest, quietest, minor, major, ...
    value: str | None = None  # the key or metre a library question asks for
    yes_no: bool = False


_ORDINALS = {"first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3, "fourth": 4, "4th": 4,
             "fifth": 5, "5th": 5, "last": -1, "final": -1}
_SECTION_LABELS = {"intro": "intro", "introduction": "intro", "verse": "verse", "chorus": "chorus",
                   "refrain": "chorus", "bridge": "bridge", "solo": "solo", "breakdown": "breakdown",
                   "outro": "outro", "coda": "outro", "pre-chorus": "pre-chorus"}
_SECTION_WORDS = "|".join(sorted(map(re.escape, _SECTION_LABELS), key=len, reverse=True))
_ORDINAL_WORDS = "|".join(_ORDINALS)
_SECTION_PATTERN = re.compile(
    rf"\b(?:(?P<ordinal>{_ORDINAL_WORDS})\s+)?(?P<label>{_SECTION_WORDS}|section|part)s?\b(?:\s+(?P<number>\d))?", re.I)
_POSITIONAL = [
    (re.compile(r"\b(?:the\s+)?(?:opening|beginning|start of the song)\b", re.I), SectionRef(ordinal=1)),
    (re.compile(r"\b(?:the\s+)?(?:ending|end of the song|close)\b|\bat the (?:very )?end\b", re.I), SectionRef(ordinal=-1)),
]
_SECONDS = re.compile(r"\b(\d+(?:\.\d+)?)\s*(?:s|sec|secs|second|seconds)\b", re.I)
_MINUTES = re.compile(r"\b(\d+)\s*(?:min|minute|minutes|m)(?:\s*(?:and\s*)?(\d+)(?:\s*(?:s|sec|seconds?))?)?\b", re.I)
_RANGE = re.compile(r"\b(?:between|from)\b", re.I)

_FIELD_WORDS: list[tuple[Field, re.Pattern[str]]] = [
    ("time_signature", re.compile(r"time signature|\bmet(?:er|re)\b|\b\d/\d\b|\bwaltz", re.I)),
    ("key", re.compile(r"\bkeys?\b|tonality|tonal centre|tonal center|modulat|\b(?:major|minor)\b", re.I)),
    ("tempo", re.compile(r"tempo|\bbpm\b|beats per minute|\bfast(?:er|est)?\b|\bslow(?:er|est)?\b|\bspeed", re.I)),
    ("chords", re.compile(r"\bchords?\b|harmony|progression", re.I)),
    ("vocals", re.compile(r"\bvoices?\b|vocal|\bsing|\bsung\b|singer|speech|spoken|speak|lyrics|\bvocalist", re.I)),
    ("loudness", re.compile(r"\bloud|\bquiet|\bsoft(?:est)?\b|volume|\blufs\b", re.I)),
    ("energy", re.compile(r"\benerg|\bintens", re.I)),
    ("mood", re.compile(r"\bmood|\bfeel|emotion|\bvibe|\bhappy|\bsad\b|\bcheerful|\bgloomy|\bupbeat|\bmelanchol", re.I)),
    ("genre", re.compile(r"\bgenre|\bstyle\b|kind of music|type of music", re.I)),
    ("duration", re.compile(r"how long|\blength\b|duration|\blong(?:er|est)\b|\bshort(?:er|est)\b", re.I)),
    ("section", re.compile(r"\b(?:what|which) (?:section|part)\b|\bsection (?:is|are) (?:playing|on)\b", re.I)),
    ("instruments", re.compile(r"instrument|\bplays?\b|playing", re.I)),
]
_START = re.compile(r"come[s]? in|coming in|\benter|\bstart|\bbegin|kick[s]? in|first appear|\bappear|\bjoin", re.I)
_STOP = re.compile(r"\bstop|drop[s]? out|\bleave|\bend[s]?\b|go(?:es)? away|fade[s]? out|disappear|cut[s]? out|\bquit", re.I)
_CHANGE = re.compile(r"\bchang|modulat|\bshift|\bswitch", re.I)
_FALL = re.compile(r"\bdrop|\bfall|\bdip|\bdies? down|\bdecreas|\blower", re.I)
_RISE = re.compile(r"\bris(?:e|es|ing)\b|\bbuild|\bsurge|\bclimb|\bincreas|\bgrow", re.I)
# A question that only names a song ("green river?", "tell me about Green River"): its overview.
_OVERVIEW = re.compile(r"(?:\W|\b(?:tell|me|about|describe|what|is|what's|how|an?|the|overview|summary|of|song|"
                       r"track|please|give|show)\b)*", re.I)
_WHEN = re.compile(r"\bwhen\b|what time|at what point|\bwhere\b|how far in|what moment", re.I)
_LIBRARY = re.compile(
    r"\bmy (?:songs|tracks|library|music)\b|\bwhich (?:songs?|tracks?|ones?)\b|which of\b|\bany (?:songs|tracks)\b|"
    r"\bwhat songs\b|\bhow many songs\b|\ball (?:my |the )?songs\b|\bthe library\b|\bin my collection\b|\bsongs (?:are|have|do)\b",
    re.I)
_SUPERLATIVES = {
    "fastest": "fastest", "quickest": "fastest", "slowest": "slowest", "longest": "longest", "shortest": "shortest",
    "loudest": "loudest", "quietest": "quietest", "softest": "quietest",
}
_SUPERLATIVE_PATTERN = re.compile(r"\b(" + "|".join(_SUPERLATIVES) + r")\b", re.I)
_SIMILAR = re.compile(r"\bsimilar\b|sounds? like|\bsongs? like\b|\blike this\b|\bresembl", re.I)
_COMPARE = re.compile(r"\bcompare|\bdiffer|\bdifference|\bversus\b|\bvs\.?\b|\bthan\b", re.I)
_SECTIONS = re.compile(r"\bstructure\b|\bform\b|what (?:are the |)sections|which sections|list (?:the )?sections|"
                       r"how many sections", re.I)
_SONGS = re.compile(r"\b(?:list|show) (?:my |the |all )?songs\b|what songs do i have|which songs do i have|"
                    r"what(?:'s| is) in (?:my|the) library", re.I)
_BETWEEN_SONGS = re.compile(r"\bthan\b|\bor\b|\band\b|\bvs\.?\b|\bversus\b|\bcompare|\bboth\b|\bbetween\b", re.I)
_YES_NO = re.compile(r"(?:^|,)\s*(?:and\s+)?(?:is|are|does|do|did|was|were|has|have|can)\b", re.I)
_THIS = re.compile(r"\b(?:this|that|the) (?:song|track|piece|tune)\b|\bit\b", re.I)
_FOLLOW_UP = re.compile(r"^\s*(?:and|what about|how about|then|also)\b", re.I)


def parse_times(text: str) -> list[float]:
    """Every time named in the text, in seconds, in order: "0:48", "48 seconds", "1 minute 5"."""
    found: list[tuple[int, float]] = []
    for match in TIMESTAMP_PATTERN.finditer(text):
        found.append((match.start(), int(match.group(1)) * 60 + int(match.group(2))))
    masked = TIMESTAMP_PATTERN.sub(lambda match: " " * len(match.group(0)), text)
    for match in _MINUTES.finditer(masked):
        found.append((match.start(), int(match.group(1)) * 60 + int(match.group(2) or 0)))
    masked = _MINUTES.sub(lambda match: " " * len(match.group(0)), masked)
    for match in _SECONDS.finditer(masked):
        found.append((match.start(), float(match.group(1))))
    return [seconds for _, seconds in sorted(found)]


def parse_sections(text: str) -> list[SectionRef]:
    """Sections named in the text, in order: "the second chorus", "chorus 2", "the last section", "the opening"."""
    refs: list[tuple[int, SectionRef]] = []
    for match in _SECTION_PATTERN.finditer(text):
        word = match.group("label").lower()
        ordinal = _ORDINALS.get((match.group("ordinal") or "").lower())
        if match.group("number"):
            ordinal = int(match.group("number"))
        if word in ("section", "part"):
            if ordinal is None:
                continue  # "which section" asks for the section; it names none
            refs.append((match.start(), SectionRef(ordinal=ordinal)))
        else:
            refs.append((match.start(), SectionRef(label=_SECTION_LABELS[word], ordinal=ordinal)))
    for pattern, ref in _POSITIONAL:
        for match in pattern.finditer(text):
            refs.append((match.start(), ref))
    return [ref for _, ref in sorted(refs, key=lambda pair: pair[0])]


def _field(text: str) -> Field | None:
    for name, pattern in _FIELD_WORDS:
        if pattern.search(text):
            return name
    return None


def _instrument(text: str) -> str | None:
    for match in INSTRUMENT_PATTERN.finditer(text):
        family = family_of(match.group(0), INSTRUMENT_WORDS)
        if family:
            return family
    return None


def _event(text: str) -> EventKind | None:
    lowered = text.lower()
    if re.search(r"\bloudest\b", lowered):
        return "loudest"
    if re.search(r"\bquietest\b|\bsoftest\b", lowered):
        return "quietest"
    if _CHANGE.search(text):
        return "change"
    if _STOP.search(text):
        return "stop"
    if _START.search(text):
        return "start"
    return None


def _energy_event(text: str, event: EventKind | None) -> EventKind:
    """Energy moves rather than comes and goes: "when does the energy drop?" asks for its falls."""
    if _FALL.search(text) or event == "stop":
        return "fall"
    if _RISE.search(text) or event == "start":
        return "rise"
    return "change"


def _spans(text: str) -> list[Span]:
    times = parse_times(text)
    spans: list[Span] = []
    starting = bool(re.search(r"\b(?:start(?:s|ing)?|begin(?:s|ning)?)\s+(?:at|around)\b", text, re.I))
    if len(times) >= 2 and _RANGE.search(text) and not _COMPARE.search(text):
        spans.append(Span(time=times[0], end=times[1]))
    else:
        spans += [Span(time=time, starting=starting) for time in times]
    if not times or starting:
        refs = parse_sections(text)
        if not starting:
            spans += [Span(section=ref) for ref in refs]
    return spans


def resolve(text: str, *, library: Library, previous: Question | None = None) -> Question:
    """What the question asks, with what it leaves out taken from the previous question.

    Parameters
    ----------
    text : str
        The question as typed.
    library : Library
        The songs it may name.
    previous : Question, optional
        The thread's last resolved question: a follow-up keeps its song, field and event.
    """
    songs = library.find_songs(text)
    if songs and _BETWEEN_SONGS.search(text):
        # "is brahms faster than the maple leaf rag?": the second song may be named more loosely.
        songs += [song for song in library.find_songs(without_names(text, songs)) if song not in songs][:1]
    song_ids = [song.id for song in songs]
    asked, text = text, without_names(text, songs)
    library_wide = bool(_LIBRARY.search(text)) or (not songs and bool(_SUPERLATIVE_PATTERN.search(text))
                                                   and not _THIS.search(text) and "song" in text.lower())
    spans = _spans(text)
    # A name may hold field words ("tempo_change"): the question's own words first, then the whole
    # text, unless the question only names a song ("Slow River?" asks no tempo: its overview).
    overview = bool(songs) and bool(_OVERVIEW.fullmatch(text.strip()))
    instrument = _instrument(text)
    field = _field(text) or (None if overview or instrument else _field(without_names(asked, songs, full_names=False)))
    if instrument == "voice":
        field, instrument = "vocals", None
    elif instrument and field in (None, "instruments", "section"):
        field = "instruments"
    event = (_event(text) or _event(without_names(asked, songs, full_names=False))) if (_WHEN.search(text) or re.search(r"\bloudest\b|\bquietest\b", text, re.I)) else None
    if field == "energy" and _WHEN.search(text):
        event = _energy_event(text, event)
    ordinal = next((value for word, value in _ORDINALS.items() if re.search(rf"\b{word}\b", text, re.I)), 1)
    follow_up = previous is not None and (bool(_FOLLOW_UP.search(text)) or field is None)

    if not song_ids and previous is not None and not library_wide and previous.intent != "library":
        song_ids = previous.song_ids[:1]
    if not song_ids and not library_wide and len(library.songs) == 1:
        song_ids = [library.songs[0].id]
    if previous is not None and _FOLLOW_UP.search(text) and not spans and previous.intent == "lookup":
        spans = previous.spans  # "what key at 0:45?" then "and the tempo?": still at 0:45
    if follow_up and previous is not None:
        if field is None:
            field, instrument = previous.field, instrument or previous.instrument
        if event is None and not spans and previous.intent == "event" and _WHEN.search(text):
            event = previous.event
    if event in ("start", "stop") and field is None and instrument is None \
            and any(span.section is not None for span in spans):
        field, event = "section", None  # "when does the last chorus start?": the section's own times
    if event in ("start", "stop") and field is None:
        field = "vocals"
    if event == "change" and field not in ("key", "tempo"):
        field = "key" if field is None else field

    question = Question(text=asked, intent="lookup", song_ids=song_ids, spans=spans, field=field, event=event,
                        instrument=instrument, ordinal=ordinal if ordinal > 0 else 1,
                        yes_no=bool(_YES_NO.search(text)))
    if _SONGS.search(text):
        return question.model_copy(update={"intent": "songs"})
    if _SIMILAR.search(text):
        return question.model_copy(update={"intent": "similar"})
    if library_wide:
        return question.model_copy(update={"intent": "library", "song_ids": [], **_library_ask(text, field)})
    if _SECTIONS.search(text) and not spans:
        return question.model_copy(update={"intent": "sections"})
    if len(spans) >= 2 and (_COMPARE.search(text) or re.search(r"\band\b", text)):
        return question.model_copy(update={"intent": "compare"})
    if event is not None and not (event in ("loudest", "quietest") and spans):
        return question.model_copy(update={"intent": "event"})
    if field is not None or spans:
        return question
    if overview:
        return question.model_copy(update={"intent": "overview"})
    return question.model_copy(update={"intent": "search"})


def _library_ask(text: str, field: Field | None) -> dict:
    """What a library-wide question asks: a superlative, a mode, a key, a metre, vocals, changes."""
    superlative = _SUPERLATIVE_PATTERN.search(text)
    if superlative:
        return {"library": _SUPERLATIVES[superlative.group(1).lower()]}
    metre = re.search(r"\b(\d)/(\d)\b", text)
    if metre:
        return {"library": "metre", "value": metre.group(0), "field": "time_signature"}
    if re.search(r"\bwaltz", text, re.I):
        return {"library": "metre", "value": "3/4", "field": "time_signature"}
    key = re.search(r"\b([A-G](?:#|b|♯|♭)?)\s*(major|minor)\b", text)
    if key:
        return {"library": "key", "value": normalise_key(f"{key.group(1)} {key.group(2)}"), "field": "key"}
    if _CHANGE.search(text):
        return {"library": "changes", "field": "tempo" if field == "tempo" else "key"}
    if re.search(r"\bminor\b", text, re.I):
        return {"library": "minor", "field": "key"}
    if re.search(r"\bmajor\b", text, re.I):
        return {"library": "major", "field": "key"}
    if re.search(r"instrumental|without (?:a )?(?:voice|vocals)|no (?:voice|vocals)", text, re.I):
        return {"library": "instrumental", "field": "vocals"}
    if field == "vocals":
        return {"library": "vocals"}
    instrument = _instrument(text)
    if instrument and instrument != "voice":
        return {"library": "instrument", "value": instrument, "field": "instruments"}
    return {"library": "list"}
