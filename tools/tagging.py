"""Genre, mood, instrument and vocal tags of a whole song, computed once and sliced per span.

Both musicnn taggers (MagnaTagATune and Million Song Dataset, 50 tags each) run over
consecutive 3 s patches; a span's tags are the mean of its patches' probabilities, mapped
from the 100 raw tags into genres, moods, instruments and vocals. When a folder of Essentia
TensorFlow models is given and usable, those models tag instead (see `tools.essentia_models`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from linernotes.tools import essentia_models as essentia_backend
from linernotes.tools import musicnn
from linernotes.tools.audio import Audio
from linernotes.tools.runtime import release_freed_memory
from linernotes.tools.schema import Tag, TagSummary, Vocals
from linernotes.tools.vocabulary import GENRES, INSTRUMENTS, MOODS, NO_VOICE, VOICE, VOICE_PRESENT, VOICE_TYPES

# Patches quieter than this (RMS, dBFS) are silence: nothing to tag there.
SILENCE_DB = -60.0
MIN_TAG_SCORE = 0.1
MAX_TAGS = 5
# Patches per network call. Four keep each convolution's output (36 MB) small enough for the
# allocator to reuse; sixteen (144 MB) were mapped afresh on every call, costing a 4-minute
# song 3 s of page-fault system time (790,000 faults) for 0.3 s less user time.
_BATCH = 4

@dataclass
class TagFrames:
    """Tag probabilities and embeddings per patch of a whole song.

    Attributes
    ----------
    starts : np.ndarray
        Start time (s) of each patch.
    patch_s : float
        Patch length in seconds.
    scores : dict
        `(model, raw tag)` to a per-patch probability array.
    embeddings : np.ndarray
        (patches, dims) penultimate-layer activations.
    audible : np.ndarray
        Per patch, whether it holds more than silence.
    backend : str
        "musicnn" or "essentia-tensorflow".
    notes : list of str
        Honest caveats, such as a requested backend that could not run.
    """

    starts: np.ndarray
    patch_s: float
    scores: dict[tuple[str, str], np.ndarray]
    embeddings: np.ndarray
    audible: np.ndarray
    backend: str
    genres: dict[tuple[str, str], str] = field(default_factory=lambda: GENRES)
    moods: dict[tuple[str, str], str] = field(default_factory=lambda: MOODS)
    instruments: dict[tuple[str, str], str] = field(default_factory=lambda: INSTRUMENTS)
    voice: set[tuple[str, str]] = field(default_factory=lambda: VOICE)
    no_voice: set[tuple[str, str]] = field(default_factory=lambda: NO_VOICE)
    voice_types: dict[str, set[tuple[str, str]]] = field(default_factory=lambda: VOICE_TYPES)
    notes: list[str] = field(default_factory=list)

    def _patches(self, start: float | None, end: float | None) -> np.ndarray:
        """Indices of the audible patches whose centre lies in the span (else the nearest one)."""
        start = 0.0 if start is None else start
        end = np.inf if end is None else end
        centres = self.starts + self.patch_s / 2
        inside = (centres >= start) & (centres < end)
        if not inside.any() and len(centres):
            middle = (start + min(end, centres[-1] + self.patch_s / 2)) / 2
            inside[np.argmin(np.abs(centres - middle))] = True
        return np.flatnonzero(inside & self.audible)

    def summary(self, *, start: float | None = None, end: float | None = None) -> TagSummary:
        """Top genres, moods and instruments and the vocals verdict for a span (whole song by default).

        Each list holds at most `MAX_TAGS` labels scoring at least `MIN_TAG_SCORE`, best first;
        a silent span has no tags and no vocals.
        """
        patches = self._patches(start, end)
        if not len(patches):
            return TagSummary(genres=[], moods=[], instruments=[],
                              vocals=Vocals(present=False, score=0.0))
        mean = {key: float(values[patches].mean()) for key, values in self.scores.items()}
        return TagSummary(genres=_top(mean, self.genres), moods=_top(mean, self.moods),
                          instruments=_top(mean, self.instruments), vocals=self._vocals(mean))

    def _vocals(self, mean: dict[tuple[str, str], float]) -> Vocals:
        voice = max((mean[key] for key in self.voice if key in mean), default=0.0)
        no_voice = max((mean[key] for key in self.no_voice if key in mean), default=0.0)
        if voice + no_voice == 0:
            return Vocals(present=False, score=0.0)
        score = voice / (voice + no_voice)
        present = score >= VOICE_PRESENT
        kinds = {kind: max((mean[key] for key in keys if key in mean), default=0.0)
                 for kind, keys in self.voice_types.items()}
        best = max(kinds, key=kinds.get) if kinds else None
        # A type only when it clearly leads the others.
        others = [value for kind, value in kinds.items() if kind != best]
        clear = best is not None and kinds[best] > 2 * max(others, default=0.0)
        return Vocals(present=present, score=round(score, 3),
                      type=best if present and clear else None)

    def embedding(self, *, start: float | None = None, end: float | None = None) -> list[float]:
        """The span's mean penultimate-layer vector, unit length ("sounds like" search).

        An empty list for a silent span.
        """
        patches = self._patches(start, end)
        if not len(patches):
            return []
        vector = self.embeddings[patches].mean(axis=0)
        norm = np.linalg.norm(vector)
        return (vector / norm if norm > 0 else vector).astype(float).tolist()


def _top(mean: dict[tuple[str, str], float], mapping: dict[tuple[str, str], str]) -> list[Tag]:
    merged: dict[str, float] = {}
    for key, label in mapping.items():
        if key in mean:
            merged[label] = max(merged.get(label, 0.0), mean[key])
    ranked = sorted(merged.items(), key=lambda item: -item[1])
    return [Tag(label=label, score=round(score, 3))
            for label, score in ranked[:MAX_TAGS] if score >= MIN_TAG_SCORE]


def run(audio: Audio, *, config) -> TagFrames:
    """The tagger's detector entry: `tag_audio` with the config's Essentia models folder."""
    return tag_audio(audio, essentia_models=config.essentia_models)


def tag_fields(frames: TagFrames | None, *, start: float | None = None, end: float | None = None,
               with_embedding: bool = True) -> dict:
    """Genres, moods and instruments of a span (and its embedding), as `Segment`/`Summary` fields.

    Empty lists (and no embedding) when the tagger did not run.
    """
    tags = frames.summary(start=start, end=end) if frames else None
    fields = {"genres": tags.genres if tags else [], "moods": tags.moods if tags else [],
              "instruments": tags.instruments if tags else []}
    if with_embedding:
        fields["audio_embedding"] = frames.embedding(start=start, end=end) if frames else None
    return fields


def tag_audio(audio: Audio, *, essentia_models: str | None = None) -> TagFrames:
    """Tag a whole song once, patch by patch.

    Parameters
    ----------
    audio : Audio
        The decoded song.
    essentia_models : str, optional
        Folder of Essentia TensorFlow models (else `$LINERNOTES_ESSENTIA_MODELS`); used instead
        of musicnn when it holds usable models and essentia-tensorflow is installed.

    Returns
    -------
    TagFrames
        Per-patch scores; `summary()` and `embedding()` slice them per span.
    """
    folder = essentia_backend.models_folder(essentia_models)
    notes = []
    if folder is not None:
        reason = essentia_backend.unusable_reason(folder)
        if reason is None:
            return essentia_frames(audio, folder=folder)
        notes.append(f"Essentia models not used ({reason}); tagged with musicnn")
    frames = musicnn_frames(audio)
    frames.notes.extend(notes)
    return frames


def essentia_frames(audio: Audio, *, folder) -> TagFrames:
    """The Essentia TensorFlow heads found in `folder`, as tag frames.

    A field no head covers (say, no instrument head in the folder) is tagged by musicnn,
    resampled to the Essentia patches; `backend` names the models behind each field.
    """
    predictions = essentia_backend.predict(audio, folder=folder)
    maps = essentia_backend.label_maps(predictions.heads)
    voice, no_voice, voice_types = essentia_backend.voice_keys(predictions.heads)
    sources = essentia_backend.sources(predictions.heads)
    scores = dict(predictions.scores)
    missing = [field for field in essentia_backend.FIELDS if field not in sources]
    if missing:
        fallback = musicnn_frames(audio)
        rows = essentia_backend.nearest_patches(predictions.starts + predictions.patch_s / 2,
                                                starts=fallback.starts, patch_s=fallback.patch_s)
        scores |= {key: values[rows] for key, values in fallback.scores.items()}
        maps |= {field: getattr(fallback, field) for field in missing if field != "vocals"}
        if "vocals" in missing:
            voice, no_voice, voice_types = fallback.voice, fallback.no_voice, fallback.voice_types
    backend = "; ".join(f"{field}: {', '.join(sources.get(field, ['musicnn']))}"
                        for field in essentia_backend.FIELDS)
    rate = predictions.sample_rate
    return TagFrames(
        starts=predictions.starts, patch_s=predictions.patch_s, scores=scores,
        embeddings=predictions.embeddings,
        audible=_audible(audio.at(rate), predictions.starts, predictions.patch_s, rate=rate),
        backend=f"essentia-tensorflow ({backend})", genres=maps["genres"], moods=maps["moods"],
        instruments=maps["instruments"], voice=voice, no_voice=no_voice, voice_types=voice_types,
        notes=essentia_backend.skipped_notes(folder),
    )


def musicnn_frames(audio: Audio) -> TagFrames:
    """Both musicnn taggers over consecutive 3 s patches (musicnn's own default hop)."""
    samples = audio.at(musicnn.SAMPLE_RATE)
    spectrogram = musicnn.log_mel(samples)
    length = musicnn.PATCH_FRAMES
    if len(spectrogram) < length:  # musicnn repeat-pads short inputs in training
        repeats = int(np.ceil(length / max(len(spectrogram), 1)))
        spectrogram = np.tile(spectrogram, (repeats, 1))[:length]
    count = (len(spectrogram) - length) // length + 1
    patches = np.stack([spectrogram[i * length:(i + 1) * length] for i in range(count)])
    hop_s = length * musicnn.FFT_HOP / musicnn.SAMPLE_RATE
    starts = np.arange(count) * hop_s
    audible = _audible(samples, starts, hop_s, rate=musicnn.SAMPLE_RATE)
    del spectrogram
    release_freed_memory()  # the mel spectrogram's working memory, before the networks'
    scores, embeddings = {}, []
    for model, labels in musicnn.LABELS.items():
        network = musicnn.load_musicnn(model)
        logits, penultimate = zip(*(network(torch.from_numpy(patches[i:i + _BATCH]))
                                    for i in range(0, count, _BATCH)))
        probabilities = torch.sigmoid(torch.cat(logits)).numpy()
        scores |= {(model, label): probabilities[:, j] for j, label in enumerate(labels)}
        embeddings.append(torch.cat(penultimate).numpy())
    return TagFrames(starts=starts, patch_s=hop_s, scores=scores,
                     embeddings=np.concatenate(embeddings, axis=1), audible=audible,
                     backend="musicnn")


def _audible(samples: np.ndarray, starts: np.ndarray, length_s: float, *, rate: int) -> np.ndarray:
    """Per patch, whether its RMS level is above `SILENCE_DB`."""
    levels = []
    for start in starts:
        patch = samples[int(start * rate):int((start + length_s) * rate)].astype(np.float64)
        levels.append(10 * np.log10(np.mean(np.square(patch)) + 1e-20) if len(patch) else -np.inf)
    return np.array(levels) > SILENCE_DB
