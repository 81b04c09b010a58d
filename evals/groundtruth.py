"""Reading an evalset folder: each `NAME.<audio>` beside a `NAME.gt.json`, into `Annotation`s.

The `.gt.json` fields differ by folder (see the evalset's README); every field is read
for what it says, and a field given only as prose (for example "not constant") leaves that
part of the truth unknown rather than guessed.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import mir_eval
from pydantic import BaseModel

from linernotes.evals.metrics import NO_KEY, Annotation, Span, normalise_key
from linernotes.tools.vocabulary import pitch_class

GT_SUFFIX = ".gt.json"


class GroundTruth(BaseModel):
    """One evalset file: where its audio is, and what is known about it."""

    name: str
    folder: str  # relative to the evalset root, e.g. "github/librosa"
    audio_path: Path
    annotation: Annotation

    @property
    def label(self) -> str:
        """How reports name the file: "symbolic/bach_bwv66.6_organ"."""
        return self.name if self.folder == "." else f"{self.folder}/{self.name}"


def discover(directory: str | Path, *, limit: int | None = None) -> list[GroundTruth]:
    """Every `*.gt.json` under `directory` (recursively) whose audio file exists, by path.

    Parameters
    ----------
    directory : str or Path
        An evalset root, or any folder inside one.
    limit : int, optional
        Keep only the first `limit` files (in path order).
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"{directory}: no such evalset folder")
    truths = []
    for gt_path in sorted(directory.rglob(f"*{GT_SUFFIX}")):
        truth = load_groundtruth(gt_path, root=directory)
        if truth is not None:
            truths.append(truth)
    return truths[:limit] if limit is not None else truths


def load_groundtruth(gt_path: str | Path, *, root: str | Path | None = None) -> GroundTruth | None:
    """One `.gt.json` as a `GroundTruth`; None when its audio file is missing.

    Parameters
    ----------
    gt_path : str or Path
        The `.gt.json` file.
    root : str or Path, optional
        The evalset root, to name the file's folder relative to it.
    """
    gt_path = Path(gt_path)
    fields = json.loads(gt_path.read_text())
    audio_path = gt_path.parent / fields.get("file", "")
    if not fields.get("file") or not audio_path.is_file():
        return None
    folder = gt_path.parent.relative_to(root) if root is not None else Path(gt_path.parent.name)
    return GroundTruth(
        name=gt_path.name.removesuffix(GT_SUFFIX),
        folder=folder.as_posix(),
        audio_path=audio_path,
        annotation=annotation_from_fields(fields),
    )


def annotation_from_fields(fields: dict) -> Annotation:
    """The reference `Annotation` a `.gt.json` dictionary supports."""
    duration_s = float(fields["duration_s"])
    return Annotation(
        duration_s=duration_s,
        key=_key(fields),
        key_spans=_key_spans(fields),
        bpm=_bpm(fields),
        beats=fields.get("beats_s"),
        downbeats=_downbeats(fields),
        chords=[Span(start=c["start"], end=c["end"], label=_chord_label(c))
                for c in fields.get("chords") or []] or None,
        sections=_sections(fields),
        voice_active=[tuple(pair) for pair in fields["voice_active"]]
        if "voice_active" in fields else None,
        is_music=_is_music(fields),
    )


# A lead sheet's chord symbol (music21's "C7", "B-", "Dm7") -> the mir_eval quality it spells.
_FIGURE_QUALITIES = {"": "maj", "m": "min", "7": "7", "m7": "min7", "maj7": "maj7", "M7": "maj7",
                     "dim": "dim", "o": "dim", "o7": "dim7", "dim7": "dim7", "ø7": "hdim7", "+": "aug",
                     "aug": "aug", "6": "maj6", "m6": "min6", "9": "9", "sus4": "sus4", "sus2": "sus2"}
_FIGURE = re.compile(r"([A-G])(-|#|b)?(.*)")


def _chord_label(chord: dict) -> str:
    """A chord's mir_eval label, with the seventh its lead-sheet `figure` names.

    The symbolic set's labels are the figures' triads ("C:maj" for "C7"): scored as they
    are, a heard seventh would count against the sevenths metric. A figure is used only
    when it spells the label's own root and triad.
    """
    label, figure = chord["label"], chord.get("figure")
    match = _FIGURE.fullmatch(figure.strip()) if isinstance(figure, str) else None
    if match is None or match.group(3) not in _FIGURE_QUALITIES or ":" not in label:
        return label
    root = match.group(1) + {"-": "b"}.get(match.group(2) or "", match.group(2) or "")
    quality = _FIGURE_QUALITIES[match.group(3)]
    same_root = pitch_class(root) == pitch_class(label.split(":")[0])
    same_triad = mir_eval.chord.majmin([label], [f"{label.split(':')[0]}:{quality}"])[0] == 1.0
    return f"{label.split(':')[0]}:{quality}" if same_root and same_triad else label


def _key(fields: dict) -> str | None:
    text = fields.get("key")
    if not isinstance(text, str):
        return None
    # A score's key applied to an arrangement nobody checked is not a truth to score against.
    if "not verified" in text:
        return None
    return normalise_key(text)


def _key_spans(fields: dict) -> list[Span] | None:
    changes = fields.get("key_changes")
    if changes:
        return [Span(start=c["start"], end=c["end"], label=normalise_key(c["key"]) or NO_KEY)
                for c in changes]
    sections = fields.get("sections") or []
    if sections and all(section.get("key") for section in sections):
        return [Span(start=s["start"], end=s["end"], label=normalise_key(s["key"]) or NO_KEY)
                for s in sections]
    return None


def _bpm(fields: dict) -> float | None:
    value = fields.get("tempo_bpm")
    return float(value) if isinstance(value, (int, float)) else None


def _downbeats(fields: dict) -> list[float] | None:
    if "downbeats_s" in fields:
        return list(fields["downbeats_s"])
    if fields.get("downbeats"):
        return [entry["time"] for entry in fields["downbeats"]]
    return None


def _sections(fields: dict) -> list[Span] | None:
    sections = fields.get("sections") or []
    return [Span(start=s["start"], end=s["end"], label=s["label"]) for s in sections] or None


def _is_music(fields: dict) -> bool | None:
    """False for the declared non-music controls, True where the file is known music."""
    text = fields.get("music")
    if isinstance(text, str):
        return not text.lower().startswith("none")
    # Every other evalset file is music: a recording, a render, or a voice mixed over one.
    return True
