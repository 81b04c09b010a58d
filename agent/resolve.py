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
Intent = Literal["lookup", "event", "compare", "library", "similar", "sections", "songs", "overview", "search",
                 "explain"]
EventKind = Literal["start", "stop", "change", "loudest", "quietest", "rise", "fall"]  # rise, fall: of the energy


class SectionRef(BaseModel):
    """A section named in words: "the second chorus" is (chorus, 2), "the last section" (None, -1).

    A follow-up names one by the thread's focus: the section playing at a time ("how long does
    it last?" after "what plays at 2:20?"), or the one after it ("and the next one?").
    """

    label: str | None = None
    ordinal: int | None = None  # 1-based; -1 is the last
    at: float | None = None  # the section playing at this time
    step: int = 0  # this many sections after the one named (-1: the one before)


class Span(BaseModel):
    """A point, a range or a section of a song."""

    time: float | None = None
    end: float | None = None
    section: SectionRef | None = None
    starting: bool = False  # "the section starting at 0:19": the section nearest that start
    around: bool = False  # "the chords around 1:10": a few seconds either side of the time


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
    ("time_signature", re.compile(r"time sig(?:nature)?\b|\bmet(?:er|re)\b|\b\d/\d\b|\bwaltz", re.I)),
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
_SONG_NOUN = re.compile(r"\b(?:song|track|piece|tune)s?\b", re.I)  # "shortest track?" ranks the library
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
# A follow-up that points at the thread's focus: "what key is it in there?", "which section is that?".
_THERE = re.compile(r"\b(?:in|at|around|near|by) (?:there|here|it|that(?: point| moment| time)?)\b|"
                    r"\bthat(?: part| section| bit| point| moment)?(?: in)?\W*$", re.I)
_IT = re.compile(r"\bit\b", re.I)
# The words around the field word of a bare follow-up: "what chords?", "what's the key?".
_BARE_WORDS = {"what", "s", "the", "which", "how", "is", "are", "and", "about"}
_WHY = re.compile(r"^\W*(?:and |but |so |ok )?why\b|\bhow do you know\b|\bare you sure\b", re.I)
_AROUND = re.compile(r"\baround\b|\bnear\b", re.I)
# "20 seconds later", "a minute earlier": a time relative to the one in focus.
_SHIFT = re.compile(r"\b(?P<amount>\d+(?:\.\d+)?|an?)\s*(?P<unit>s|secs?|seconds?|m|mins?|minutes?)\s+"
                    r"(?P<way>later|after(?:wards)?|on|earlier|before|back)\b", re.I)
# "the next one", "what happens after it?": the section after (or before) the one in focus.
_STEPS = [
    (re.compile(r"\bnext (?:one|section|part|bit)\b|\bthe one after\b|\bcomes? (?:after|next)\b|"
                r"\bafter (?:it|that|this)\b", re.I), 1),
    (re.compile(r"\b(?:previous|preceding) (?:one|section|part|bit)\b|\bthe one before\b|\bcomes? before\b|"
                r"\bbefore (?:it|that|this)\b", re.I), -1),
]
# Points named as a share of the song: "halfway through", "in the middle of the song".
_FRACTIONS = [
    (re.compile(r"\bhalf[- ]?way\b|\bmid[- ]?way\b|\bmiddle of (?:the |this |that )?(?:song|track|piece|tune|it)\b",
                re.I), 0.5),
    (re.compile(r"\ba quarter (?:of the way|through)\b", re.I), 0.25),
    (re.compile(r"\bthree quarters (?:of the way|through)\b", re.I), 0.75),
]


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


def parse_shift(text: str) -> float | None:
    """A time relative to the one in focus, in seconds: "20 seconds later" is 20, "10 s earlier" -10."""
    match = _SHIFT.search(text)
    if match is None:
        return None
    amount = 1.0 if match.group("amount").lower() in ("a", "an") else float(match.group("amount"))
    seconds = amount * (60.0 if match.group("unit").lower().startswith("m") else 1.0)
    return -seconds if match.group("way").lower() in ("earlier", "before", "back") else seconds


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


def _keeps_focus(text: str, *, previous: Question | None, named: bool, relative: bool, field: Field | None) -> bool:
    """Whether a question that names no time or section asks about the previous question's.

    "and the tempo?", "what key is it in there?", "which section is that?", "what chords?",
    "20 seconds later?" and "why?" do; so do "how long does it last?" and "where is it?" after a
    question about a section. One that names a song asks afresh, unless it follows on ("and in
    synth01?"), and so does one that asks when something happens ("when is it loudest?").
    """
    if previous is None or previous.intent not in ("lookup", "explain") or not previous.spans:
        return False
    if _FOLLOW_UP.search(text) or relative:
        return True
    if named or (_WHEN.search(text) and field is not None):
        return False
    bare = [word for word in re.findall(r"[a-z0-9]+", text.lower()) if word not in _BARE_WORDS]
    on_section = previous.field == "section" or any(span.section is not None for span in previous.spans)
    return (bool(_THERE.search(text)) or (len(bare) <= 2 and "it" not in bare)
            or (on_section and bool(_IT.search(text))))


def _in_section(span: Span, *, step: int) -> Span:
    """The span as a section: the one it names or plays in, `step` sections on ("the next one")."""
    ref = span.section or SectionRef(at=span.time)
    return Span(section=ref.model_copy(update={"step": ref.step + step}))


def resolve(text: str, *, library: Library, previous: Question | None = None) -> Question:
    """What the question asks, with what it leaves out taken from the previous question.

    Parameters
    ----------
    text : str
        The question as typed.
    library : Library
        The songs it may name.
    previous : Question, optional
        The thread's last resolved question: a follow-up keeps its song, field, event and the
        time or section in focus.
    """
    songs = library.find_songs(text)
    if songs and _BETWEEN_SONGS.search(text):
        # "is brahms faster than the maple leaf rag?": the second song may be named more loosely.
        songs += [song for song in library.find_songs(without_names(text, songs)) if song not in songs][:1]
    song_ids = [song.id for song in songs]
    asked, text = text, without_names(text, songs)
    library_wide = bool(_LIBRARY.search(text)) or (not songs and bool(_SUPERLATIVE_PATTERN.search(text))
                                                   and not _THIS.search(text) and bool(_SONG_NOUN.search(text)))
    shift, unshifted = parse_shift(text), _SHIFT.sub(" ", text)  # "10 s before that" names no time, no section
    spans = _spans(unshifted)
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
    why = bool(_WHY.search(text))
    follow_up = previous is not None and (bool(_FOLLOW_UP.search(text)) or field is None)

    if not song_ids and previous is not None and not library_wide and previous.intent != "library":
        song_ids = previous.song_ids[:1]
    if not song_ids and not library_wide and len(library.songs) == 1:
        song_ids = [library.songs[0].id]
    fraction = next((share for pattern, share in _FRACTIONS if pattern.search(text)), None)
    song = library.get(song_ids[0]) if song_ids else None
    if fraction is not None and not spans and song is not None:
        spans = [Span(time=round(fraction * song.analysis.source.duration_s, 1))]
    focus = not spans and _keeps_focus(text, previous=previous, named=bool(songs), relative=shift is not None or why,
                                       field=field)
    if focus:
        spans = previous.spans  # "what key at 0:45?" then "and the tempo?" or "what chords are there?": still at 0:45
    if follow_up and previous is not None:
        if field is None:
            field, instrument = previous.field, instrument or previous.instrument
        if event is None and not spans and previous.intent == "event" and _WHEN.search(text):
            event = previous.event
    if shift is not None and spans and spans[0].time is not None:
        spans = [Span(time=max(0.0, spans[0].time + shift))]  # "and 20 seconds later?": from the time in focus
    step = next((value for pattern, value in _STEPS if pattern.search(unshifted)), 0) if event is None else 0
    if spans and (step or (focus and field == "duration")):
        spans = [_in_section(spans[0], step=step)]  # "how long does it last?" of a moment: its section's length
    if _AROUND.search(text):
        spans = [span.model_copy(update={"around": True}) for span in spans]
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
    if why:
        return question.model_copy(update={"intent": "explain"})
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
