"""Optional stronger taggers: Essentia TensorFlow `.pb` models from a folder the user provides.

Each Essentia model ships as `NAME.pb` plus `NAME.json` metadata. Everything needed to run
it is read from that metadata: the Essentia algorithm, the sample rate, the input node and
its patch shape, the output node of each purpose ("embeddings", "predictions") and the
class names. Embedding models (Discogs-EffNet, MusiCNN) turn 16 kHz audio into one vector
per patch; classification heads (`TensorflowPredict2D`) turn those vectors into class
probabilities, and name the embedding model they expect in `inference.embedding_model`.
Heads are recognised by the task in their name (genre_discogs400, mtg_jamendo_moodtheme,
mtg_jamendo_instrument, voice_instrumental, gender, danceability, mood_*, approachability).
They run with the `essentia-tensorflow` build of Essentia.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from linernotes.tools import settings
from linernotes.tools.audio import Audio
from linernotes.tools.vocabulary import NO_VOICE, VOICE, VOICE_TYPES

# TensorflowInputMusiCNN, the mel front end of both embedders: 512-sample frames every 256.
FRAME_HOP = 256
# Frames between patch starts: Essentia's documented defaults (the .json does not hold them);
# they are passed explicitly so the patch times are known.
PATCH_HOPS = {"TensorflowPredictEffnetDiscogs": 62, "TensorflowPredictMusiCNN": 93}
# Name prefix of a classification head -> the TagSummary field its classes describe
# ("voice_type" refines the vocals verdict).
TASKS = {
    "genre_discogs400": "genres",
    "mtg_jamendo_genre": "genres",
    "mtg_jamendo_moodtheme": "moods",
    "mood_": "moods",
    "danceability": "moods",
    "approachability_": "moods",
    "mtg_jamendo_instrument": "instruments",
    "voice_instrumental": "vocals",
    "gender": "voice_type",
}
FIELDS = ("genres", "moods", "instruments", "vocals")
# The class a binary head says "no" with: "non_happy", "not_danceable", "not approachable".
_NEGATIONS = ("non_", "not_", "not ")


@dataclass(frozen=True)
class Head:
    """A classification head: its graph, node names, classes and the embedding it reads."""

    name: str
    task: str
    classes: tuple[str, ...]
    graph: Path
    input_node: str
    output_node: str
    embedding_model: str


@dataclass(frozen=True)
class Embedder:
    """An embedding model such as discogs-effnet-bs64-1, run by the named Essentia algorithm."""

    name: str
    graph: Path
    algorithm: str
    input_node: str
    output_node: str
    sample_rate: int
    patch_frames: int
    batch_size: int | None  # fixed by the graph (bs64 EffNet), else Essentia's default

    @property
    def patch_s(self) -> float:
        """Length of one patch in seconds."""
        return self.patch_frames * FRAME_HOP / self.sample_rate

    @property
    def hop_s(self) -> float:
        """Seconds between the starts of consecutive patches."""
        return PATCH_HOPS[self.algorithm] * FRAME_HOP / self.sample_rate


@dataclass
class EssentiaPredictions:
    """Per-patch class probabilities of every head on the grid of one embedder.

    Heads on another embedder are resampled to that grid (nearest patch centre).
    """

    starts: np.ndarray
    patch_s: float
    scores: dict[tuple[str, str], np.ndarray]
    embeddings: np.ndarray
    heads: list[Head]
    embedder: str
    sample_rate: int


def models_folder(folder: str | None = None) -> Path | None:
    """The folder to look for models in: `folder`, else `$LINERNOTES_ESSENTIA_MODELS`, else None."""
    return settings.essentia_models_dir(folder)


def _output(outputs: list[dict], purpose: str) -> str | None:
    return next((out["name"] for out in outputs if out.get("output_purpose") == purpose), None)


def _embedder(name: str, graph: Path, metadata: dict) -> Embedder | None:
    inference, schema = metadata.get("inference", {}), metadata.get("schema", {})
    algorithm = inference.get("algorithm")
    output = _output(schema.get("outputs", []), "embeddings")
    inputs = schema.get("inputs") or [{}]
    shape = inputs[0].get("shape") or []
    if algorithm not in PATCH_HOPS or not output or len(shape) < 2:
        return None
    batch = shape[0] if len(shape) == 3 and isinstance(shape[0], int) and shape[0] > 0 else None
    return Embedder(name=name, graph=graph, algorithm=algorithm, input_node=inputs[0]["name"],
                    output_node=output, sample_rate=int(inference.get("sample_rate", 16000)),
                    patch_frames=int(shape[-2]), batch_size=batch)


def _head(name: str, graph: Path, metadata: dict) -> Head | None:
    inference, schema = metadata.get("inference", {}), metadata.get("schema", {})
    task = next((task for prefix, task in TASKS.items() if name.startswith(prefix)), None)
    embedding_model = inference.get("embedding_model", {}).get("model_name")
    predictions = _output(schema.get("outputs", []), "predictions")
    classes = metadata.get("classes") or []
    if not (task and embedding_model and predictions and schema.get("inputs") and len(classes) > 1):
        return None  # regression heads (one output) have no classes to tag with
    return Head(name=name, task=task, classes=tuple(classes), graph=graph,
                input_node=schema["inputs"][0]["name"], output_node=predictions,
                embedding_model=embedding_model)


def discover(folder: str | Path) -> tuple[list[Head], dict[str, Embedder]]:
    """Classification heads and embedding models whose `.json` and `.pb` are both in `folder`.

    Files with unreadable metadata, an unknown task or algorithm, or a missing graph are skipped.
    """
    heads, embedders = [], {}
    folder = Path(folder)
    if not folder.is_dir():
        return heads, embedders
    for metadata_path in sorted(folder.glob("*.json")):
        graph = metadata_path.with_suffix(".pb")
        try:
            metadata = json.loads(metadata_path.read_text())
        except (OSError, ValueError):
            continue
        if not graph.is_file() or not isinstance(metadata, dict):
            continue
        name = metadata_path.stem
        if metadata.get("inference", {}).get("embedding_model"):
            head = _head(name, graph, metadata)
            heads += [head] if head else []
        elif embedder := _embedder(name, graph, metadata):
            embedders[name] = embedder
    return heads, embedders


def essentia_standard():
    """`essentia.standard`, without TensorFlow's CUDA chatter or Essentia's per-graph info lines."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # read when libtensorflow loads
    import essentia

    essentia.log.infoActive = False
    import essentia.standard as standard

    return standard


def tensorflow_available() -> bool:
    """Whether this Essentia build can run TensorFlow graphs (the essentia-tensorflow package)."""
    try:
        return hasattr(essentia_standard(), "TensorflowPredict2D")
    except ImportError:
        return False


def runnable_heads(folder: str | Path) -> tuple[list[Head], dict[str, Embedder]]:
    """The discovered heads whose embedding model is present too, with those embedders."""
    heads, embedders = discover(folder)
    return [head for head in heads if head.embedding_model in embedders], embedders


def skipped_notes(folder: str | Path) -> list[str]:
    """Honest notes on what the folder lacks: heads without their embedder, fields without a head."""
    heads, embedders = discover(folder)
    notes = [f"Essentia head {head.name} skipped: its embedding model {head.embedding_model} "
             f"is not in the folder" for head in heads if head.embedding_model not in embedders]
    covered = {"vocals" if head.task == "voice_type" else head.task
               for head in heads if head.embedding_model in embedders}
    notes += [f"no Essentia {field} head in the folder: {field} tagged with musicnn"
              for field in FIELDS if field not in covered]
    return notes


def unusable_reason(folder: str | Path) -> str | None:
    """Why the models in `folder` cannot tag here, or None when they can."""
    if not Path(folder).is_dir():
        return f"{folder} is not a folder"
    heads, _ = runnable_heads(folder)
    if not heads:
        return f"no classification head with its embedding model in {folder}"
    if not tensorflow_available():
        return "essentia-tensorflow is not installed"
    return None


def _embed(audio: Audio, embedder: Embedder) -> np.ndarray:
    standard = essentia_standard()
    options = {"graphFilename": str(embedder.graph), "input": embedder.input_node,
               "output": embedder.output_node, "patchSize": embedder.patch_frames,
               "patchHopSize": PATCH_HOPS[embedder.algorithm],
               # Fill the last patch by repeating frames: a song shorter than a patch still gets one.
               "lastPatchMode": "repeat"}
    if embedder.batch_size:
        options["batchSize"] = embedder.batch_size
    run = getattr(standard, embedder.algorithm)(**options)
    return np.asarray(run(audio.at(embedder.sample_rate).astype(np.float32)))


def _classify(embeddings: np.ndarray, head: Head) -> np.ndarray:
    run = essentia_standard().TensorflowPredict2D(graphFilename=str(head.graph),
                                          input=head.input_node, output=head.output_node)
    return np.asarray(run(embeddings.astype(np.float32)))


def nearest_patches(centres: np.ndarray, *, starts: np.ndarray, patch_s: float) -> np.ndarray:
    """For each time in `centres`, the index of the patch (of `starts`, `patch_s`) centred nearest."""
    return np.abs(centres[:, None] - (starts + patch_s / 2)[None, :]).argmin(axis=1)


def predict(audio: Audio, *, folder: str | Path) -> EssentiaPredictions:
    """Run every runnable head over the song, on the grid of the embedder most heads read.

    Raises
    ------
    RuntimeError
        When `unusable_reason(folder)` is not None.
    """
    reason = unusable_reason(folder)
    if reason is not None:
        raise RuntimeError(reason)
    heads, embedders = runnable_heads(folder)
    used = sorted({head.embedding_model for head in heads},
                  key=lambda name: (-sum(head.embedding_model == name for head in heads), name))
    vectors = {name: _embed(audio, embedders[name]) for name in used}
    grid = embedders[used[0]]
    starts = np.arange(len(vectors[grid.name])) * grid.hop_s
    scores = {}
    for head in heads:
        embedder = embedders[head.embedding_model]
        probabilities = _classify(vectors[embedder.name], head)
        rows = nearest_patches(starts + grid.patch_s / 2, patch_s=embedder.patch_s,
                               starts=np.arange(len(probabilities)) * embedder.hop_s)
        scores |= {(head.name, label): probabilities[rows, j] for j, label in enumerate(head.classes)}
    return EssentiaPredictions(starts=starts, patch_s=grid.patch_s, scores=scores,
                               embeddings=vectors[grid.name], heads=heads, embedder=grid.name,
                               sample_rate=grid.sample_rate)


def _shown(label: str) -> str:
    """"Rock---Heavy Metal" shows as "heavy metal", "not_danceable" as "not danceable"."""
    return label.split("---")[-1].replace("_", " ").lower()


def label_maps(heads: list[Head]) -> dict[str, dict[tuple[str, str], str]]:
    """Per field, `(head, class)` -> shown label; the "no" class of a binary head is not a tag."""
    maps: dict[str, dict[tuple[str, str], str]] = {field: {} for field in FIELDS[:3]}
    for head in heads:
        if head.task in maps:
            maps[head.task] |= {(head.name, label): _shown(label) for label in head.classes
                                if not label.lower().startswith(_NEGATIONS)}
    return maps


def voice_keys(heads: list[Head]) -> tuple[set, set, dict[str, set]]:
    """The `(head, class)` keys meaning voice, no voice, and each voice type.

    Classes are matched against the vocabulary's own voice words ("voice", "instrumental",
    "female", "male"), so a head's metadata decides what it can say.
    """
    voice_words = {tag for _, tag in VOICE}
    no_voice_words = {tag for _, tag in NO_VOICE}
    voice, no_voice = set(), set()
    types: dict[str, set] = {kind: set() for kind in VOICE_TYPES}
    for head in heads:
        for label in head.classes:
            if head.task == "vocals" and label in voice_words:
                voice.add((head.name, label))
            elif head.task == "vocals" and label in no_voice_words:
                no_voice.add((head.name, label))
            elif head.task == "voice_type" and label in types:
                types[label].add((head.name, label))
    return voice, no_voice, {kind: keys for kind, keys in types.items() if keys}


def sources(heads: list[Head]) -> dict[str, list[str]]:
    """Per field, the heads that tag it ("vocals" includes the voice-type heads)."""
    by_field: dict[str, list[str]] = {}
    for head in heads:
        field = "vocals" if head.task == "voice_type" else head.task
        by_field.setdefault(field, []).append(head.name)
    return by_field
