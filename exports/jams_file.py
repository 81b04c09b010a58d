"""The analysis as a JAMS document, readable by mir_eval, mirdata and the JAMS tools."""

from __future__ import annotations

from linernotes import __version__
from linernotes.exports.lanes import beat_positions, key_regions, vocal_regions
from linernotes.tools.schema import SongAnalysis, Tag
from linernotes.tools.vocabulary import key_identity, pitch_name


def jams_key(key: str) -> str | None:
    """A linernotes key ("F# minor") in JAMS `key_mode` syntax ("F#:minor"); None if it is no key."""
    identity = key_identity(key)
    return None if identity is None else f"{pitch_name(identity[0])}:{identity[1]}"


def to_jams(analysis: SongAnalysis):
    """The analysis as a `jams.JAMS`: beat, tempo, key_mode, chord, segment_open, tag_open
    (genre, mood, instrument) and vocals as timed tag_open; `validate()` holds for it."""
    import jams

    duration = analysis.source.duration_s
    document = jams.JAMS()
    document.file_metadata.duration = duration
    document.file_metadata.title = analysis.source.title or ""
    document.file_metadata.artist = analysis.source.artist or ""
    document.sandbox.sha256 = analysis.source.sha256

    def annotation(namespace: str, **sandbox) -> "jams.Annotation":
        made = jams.Annotation(namespace=namespace, time=0, duration=duration)
        made.annotation_metadata = jams.AnnotationMetadata(
            data_source="linernotes", version=__version__,
            annotation_tools=f"linernotes analyser {analysis.analyzer_version}")
        for name, value in sandbox.items():
            setattr(made.sandbox, name, value)
        document.annotations.append(made)
        return made

    beats = annotation("beat")
    for time, position in beat_positions(analysis):
        beats.append(time=time, duration=0.0, value=position, confidence=None)
    summary = analysis.summary
    if summary.bpm:
        annotation("tempo").append(time=0.0, duration=duration, value=summary.bpm,
                                   confidence=min(max(summary.bpm_confidence, 0.0), 1.0))
    keys = annotation("key_mode")
    _append_keys(keys, analysis)
    chords = annotation("chord")
    for chord in analysis.chords:
        chords.append(time=chord.start, duration=chord.end - chord.start, value=chord.label,
                      confidence=chord.confidence)
    sections = annotation("segment_open")
    for section in analysis.sections:
        sections.append(time=section.start, duration=section.end - section.start, value=section.label,
                        confidence=section.label_confidence)
    for category, tags in (("genre", summary.genres), ("mood", summary.moods),
                           ("instrument", summary.instruments)):
        _append_tags(annotation("tag_open", category=category), tags, duration=duration)
    vocals = annotation("tag_open", category="vocals")
    for region in vocal_regions(analysis):
        vocals.append(time=region.start, duration=region.end - region.start, value="vocals",
                      confidence=summary.vocals.score)
    return document


def _append_keys(keys, analysis: SongAnalysis) -> None:
    for region in key_regions(analysis):
        value = jams_key(region.label)
        if value is not None:
            keys.append(time=region.start, duration=region.end - region.start, value=value,
                        confidence=analysis.summary.key_confidence if not analysis.key_changes else None)


def _append_tags(annotation, tags: list[Tag], *, duration: float) -> None:
    for tag in tags:
        annotation.append(time=0.0, duration=duration, value=tag.label,
                          confidence=min(max(tag.score, 0.0), 1.0))


def jams_text(analysis: SongAnalysis) -> str:
    """The JAMS document as JSON text, validated against the JAMS schema first."""
    document = to_jams(analysis)
    document.validate()
    return document.dumps(indent=2)
