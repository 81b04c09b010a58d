"""Optional stronger taggers: Essentia TensorFlow `.pb` models from a folder the user provides.

Each Essentia model ships as `NAME.pb` plus `NAME.json` metadata (class labels, graph node
names, which embedding model a classification head expects). Heads are recognised by the
task in their name (genre_discogs400, mtg_jamendo_moodtheme, mtg_jamendo_instrument,
voice_instrumental, gender...). They run only with the `essentia-tensorflow` build of
Essentia, which conflicts with the plain `essentia` package: when it is missing, or the
folder holds nothing usable, `unusable_reason` says why and the caller falls back to musicnn.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from linernotes.tools import settings

SAMPLE_RATE = 16000
# Name prefix of a classification head -> what its classes describe.
TASKS = {
    "genre_discogs400": "genres",
    "mtg_jamendo_genre": "genres",
    "mtg_jamendo_moodtheme": "moods",
    "mtg_jamendo_instrument": "instruments",
    "voice_instrumental": "vocals",
    "gender": "voice_type",
}


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
    output_node: str


@dataclass
class EssentiaPredictions:
    """Per-patch class probabilities of every head, and the embedder's vectors."""

    starts: np.ndarray
    patch_s: float
    scores: dict[tuple[str, str], np.ndarray]
    embeddings: np.ndarray
    heads: list[Head]


def models_folder(folder: str | None = None) -> Path | None:
    """The folder to look for models in: `folder`, else `$LINERNOTES_ESSENTIA_MODELS`, else None."""
    return settings.essentia_models_dir(folder)


def discover(folder: str | Path) -> tuple[list[Head], dict[str, Embedder]]:
    """Classification heads and embedding models whose `.json` and `.pb` are both in `folder`.

    Files with unreadable metadata, an unknown task or a missing graph are skipped.
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
        schema = metadata.get("schema", {})
        inference = metadata.get("inference", {})
        outputs = schema.get("outputs", [])
        task = next((task for prefix, task in TASKS.items() if name.startswith(prefix)), None)
        embedding_model = inference.get("embedding_model", {}).get("model_name")
        if task and embedding_model and metadata.get("classes") and outputs:
            predictions = next((out["name"] for out in outputs
                                if out.get("output_purpose") == "predictions"), outputs[0]["name"])
            heads.append(Head(name=name, task=task, classes=tuple(metadata["classes"]),
                              graph=graph, input_node=schema["inputs"][0]["name"],
                              output_node=predictions, embedding_model=embedding_model))
        elif not embedding_model and inference.get("algorithm", "").startswith("TensorflowPredict"):
            embedding = next((out["name"] for out in outputs
                              if out.get("output_purpose") == "embeddings"), None)
            if embedding:
                embedders[name] = Embedder(name=name, graph=graph,
                                           algorithm=inference["algorithm"], output_node=embedding)
    return heads, embedders


def tensorflow_available() -> bool:
    """Whether this Essentia build can run TensorFlow graphs (the essentia-tensorflow package)."""
    try:
        from essentia.standard import TensorflowPredict2D  # noqa: F401
    except ImportError:
        return False
    return True


def runnable_heads(folder: str | Path) -> tuple[list[Head], dict[str, Embedder]]:
    """The discovered heads whose embedding model is present too, with those embedders."""
    heads, embedders = discover(folder)
    return [head for head in heads if head.embedding_model in embedders], embedders


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


def predict(samples: np.ndarray, *, folder: str | Path) -> EssentiaPredictions:
    """Run every runnable head over a 16 kHz mono signal.

    Raises
    ------
    RuntimeError
        When `unusable_reason(folder)` is not None.
    """
    reason = unusable_reason(folder)
    if reason is not None:
        raise RuntimeError(reason)
    import essentia.standard as standard

    heads, embedders = runnable_heads(folder)
    embeddings = {}
    for name in {head.embedding_model for head in heads}:
        embedder = embedders[name]
        algorithm = getattr(standard, embedder.algorithm)
        run = algorithm(graphFilename=str(embedder.graph), output=embedder.output_node)
        embeddings[name] = np.asarray(run(samples.astype(np.float32)))
    scores = {}
    for head in heads:
        run = standard.TensorflowPredict2D(graphFilename=str(head.graph),
                                           input=head.input_node, output=head.output_node)
        probabilities = np.asarray(run(embeddings[head.embedding_model]))
        scores |= {(head.name, label): probabilities[:, j] for j, label in enumerate(head.classes)}
    vectors = embeddings[heads[0].embedding_model]
    # Embedders emit evenly spaced patches over the whole signal.
    patch_s = len(samples) / SAMPLE_RATE / max(len(vectors), 1)
    return EssentiaPredictions(starts=np.arange(len(vectors)) * patch_s, patch_s=patch_s,
                               scores=scores, embeddings=vectors, heads=heads)


def label_maps(heads: list[Head]) -> dict[str, dict[tuple[str, str], str]]:
    """Per task, `(head, class)` -> shown label ("Rock---Heavy Metal" shows as "heavy metal")."""
    maps: dict[str, dict[tuple[str, str], str]] = {task: {} for task in set(TASKS.values())}
    for head in heads:
        for label in head.classes:
            maps[head.task][(head.name, label)] = label.split("---")[-1].lower()
    return maps
