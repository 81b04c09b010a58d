"""Small real frozen TensorFlow graphs shaped like Essentia's published models, for tests.

Each graph is a `GraphDef` protobuf written field by field (the few message types a frozen
graph needs: NodeDef, AttrValue, TensorProto, TensorShapeProto), so the tests need no
TensorFlow install. The node names, input shapes and output widths follow Essentia's
published `.json` metadata; the weights are chosen so the outputs are predictable:

* the embedder's first half of dimensions is the mean log-mel energy of the low 48 mel
  bands, the second half that of the high 48 bands;
* every head compares the two halves, so a low tone and a high tone get opposite classes.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

FLOAT, INT32 = 1, 3  # tensorflow DataType enum
BANDS = 96
# Essentia's published sizes (discogs-effnet-bs64-1.json, msd-musicnn-1.json).
EFFNET_BATCH, EFFNET_PATCH, EFFNET_DIMS, DISCOGS_STYLES = 64, 128, 1280, 400
MUSICNN_PATCH, MUSICNN_DIMS, MUSICNN_TAGS = 187, 200, 50
# Log-mel contrast between the band halves that saturates the heads' sigmoid and softmax.
GAIN = 40.0


# Protobuf wire format ------------------------------------------------------------------

def _varint(value: int) -> bytes:
    value &= (1 << 64) - 1  # negative int64 as two's complement
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _field(number: int, payload: bytes | int) -> bytes:
    if isinstance(payload, int):
        return _varint(number << 3) + _varint(payload)
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _shape(dims: list[int]) -> bytes:
    return b"".join(_field(2, _field(1, size)) for size in dims)


def _tensor(array: np.ndarray) -> bytes:
    dtype = {np.float32: FLOAT, np.int32: INT32}[array.dtype.type]
    return (_field(1, dtype) + _field(2, _shape(list(array.shape)))
            + _field(4, np.ascontiguousarray(array).tobytes()))


def _attr(value) -> bytes:
    """AttrValue: ("type", t), ("shape", dims), ("types", [t...]), ndarray, or bool."""
    if isinstance(value, np.ndarray):
        return _field(8, _tensor(value))
    if isinstance(value, bool):
        return _field(5, int(value))
    kind, content = value
    if kind == "type":
        return _field(6, content)
    if kind == "shape":
        return _field(7, _shape(content))
    return _field(1, b"".join(_field(6, item) for item in content))  # list(type)


def _node(name: str, op: str, inputs: tuple[str, ...] = (), **attrs) -> bytes:
    body = _field(1, name.encode()) + _field(2, op.encode())
    body += b"".join(_field(3, item.encode()) for item in inputs)
    body += b"".join(_field(5, _field(1, key.encode()) + _field(2, _attr(value)))
                     for key, value in attrs.items())
    return _field(1, body)


class _Graph:
    """Builds a frozen GraphDef of float tensors."""

    def __init__(self) -> None:
        self.nodes: list[bytes] = []

    def placeholder(self, name: str, shape: list[int]) -> str:
        self.nodes.append(_node(name, "Placeholder", dtype=("type", FLOAT), shape=("shape", shape)))
        return name

    def const(self, name: str, array: np.ndarray) -> str:
        dtype = FLOAT if array.dtype == np.float32 else INT32
        self.nodes.append(_node(name, "Const", dtype=("type", dtype), value=array))
        return name

    def op(self, name: str, op: str, *inputs: str, **attrs) -> str:
        self.nodes.append(_node(name, op, inputs, T=("type", FLOAT), **attrs))
        return name

    def dense(self, name: str, x: str, weights: np.ndarray, bias: np.ndarray) -> str:
        product = self.op(f"{name}/MatMul", "MatMul", x,
                          self.const(f"{name}/kernel", weights.astype(np.float32)))
        return self.op(f"{name}/BiasAdd", "BiasAdd", product,
                       self.const(f"{name}/bias", bias.astype(np.float32)))

    def outputs(self, name: str, *tensors: str) -> None:
        """One node with several outputs, as `PartitionedCall:0`, `PartitionedCall:1`..."""
        self.nodes.append(_node(name, "IdentityN", tensors, T=("types", [FLOAT] * len(tensors))))

    def write(self, path: Path) -> None:
        path.write_bytes(b"".join(self.nodes) + _field(4, _field(1, 27)))  # versions.producer


# The toy models ------------------------------------------------------------------------

def _band_halves(dims: int) -> np.ndarray:
    """(96, dims) weights: first half of dims = mean of the low bands, second = the high ones."""
    weights = np.zeros((BANDS, dims), np.float32)
    weights[:BANDS // 2, :dims // 2] = 1 / (BANDS // 2)
    weights[BANDS // 2:, dims // 2:] = 1 / (BANDS // 2)
    return weights


def _contrast(dims: int, signs: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Dense weights giving class j GAIN * sign_j * (high half - low half); sign 0: always off."""
    direction = np.concatenate([-np.ones(dims // 2), np.ones(dims // 2)]) / (dims // 2)
    weights = GAIN * np.outer(direction, signs)
    bias = np.where(np.array(signs) == 0, -GAIN, 0.0)
    return weights, bias


def _embedder(path: Path, *, input_name: str, input_shape: list[int], dims: int, classes: int,
              embeddings_name: str, predictions_name: str | None) -> None:
    graph = _Graph()
    x = graph.placeholder(input_name, input_shape)
    axis = graph.const("time_axis", np.array([1], np.int32))
    mean = graph.op("mean_over_time", "Mean", x, axis, Tidx=("type", INT32), keep_dims=False)
    embedding = graph.dense("embedding", mean, _band_halves(dims), np.zeros(dims))
    weights, bias = _contrast(dims, [1] + [0] * (classes - 1))
    logits = graph.dense("classifier", embedding, weights, bias)
    if predictions_name is None:  # MusiCNN style: one node per output
        graph.op("model/Sigmoid", "Sigmoid", logits)
        graph.op(embeddings_name, "Identity", embedding)
    else:
        graph.outputs(predictions_name.split(":")[0], graph.op("activations", "Sigmoid", logits),
                      embedding)
    graph.write(path)


def _head(path: Path, *, input_name: str, output_name: str, dims: int, signs: list[int],
          activation: str) -> None:
    graph = _Graph()
    x = graph.placeholder(input_name, [-1, dims])
    weights, bias = _contrast(dims, signs)
    logits = graph.dense("model/dense", x, weights, bias)
    if ":" in output_name:
        graph.outputs(output_name.split(":")[0], graph.op("activations", activation, logits))
    else:
        graph.op(output_name, activation, logits)
    graph.write(path)


def _metadata(name: str, *, algorithm: str, inputs: list[dict], outputs: list[dict],
              classes: list[str], embedding_model: dict | None = None) -> dict:
    inference = {"sample_rate": 16000, "algorithm": algorithm}
    if embedding_model:
        inference["embedding_model"] = embedding_model
    return {"name": name, "type": "toy test model", "version": "1", "framework": "tensorflow",
            "classes": classes, "inference": inference,
            "schema": {"inputs": inputs, "outputs": outputs}}


EFFNET = "discogs-effnet-bs64-1"
MUSICNN = "msd-musicnn-1"
EMBEDDERS = {
    EFFNET: {"algorithm": "TensorflowPredictEffnetDiscogs", "dims": EFFNET_DIMS},
    MUSICNN: {"algorithm": "TensorflowPredictMusiCNN", "dims": MUSICNN_DIMS},
}
# Heads: classes, and per class +1 (high tone), -1 (low tone) or 0 (never).
GENRE_CLASSES = ["Electronic---Ambient", "Rock---Heavy Metal"] + [
    f"Toy---Style {i}" for i in range(DISCOGS_STYLES - 2)]
HEADS = {
    "genre_discogs400": (GENRE_CLASSES, [-1, 1] + [0] * (DISCOGS_STYLES - 2)),
    "mtg_jamendo_moodtheme": (["calm", "energetic", "dark"], [-1, 1, 0]),
    "mtg_jamendo_instrument": (["piano", "electricguitar", "drums"], [-1, 1, 0]),
    "voice_instrumental": (["instrumental", "voice"], [-1, 1]),
    "gender": (["female", "male"], [1, -1]),
    "danceability": (["danceable", "not_danceable"], [1, -1]),
    "approachability_2c": (["not approachable", "approachable"], [1, -1]),
    "mood_happy": (["happy", "non_happy"], [-1, 1]),
}


def write_embedder(folder: Path, name: str = EFFNET) -> None:
    """An embedding model with its metadata, as Essentia publishes it."""
    spec = EMBEDDERS[name]
    if name == EFFNET:
        inputs = [{"name": "serving_default_melspectrogram", "type": "float",
                   "shape": [EFFNET_BATCH, EFFNET_PATCH, BANDS]}]
        outputs = [{"name": "PartitionedCall:0", "type": "float", "op": "Sigmoid",
                    "shape": [EFFNET_BATCH, DISCOGS_STYLES], "output_purpose": "predictions"},
                   {"name": "PartitionedCall:1", "type": "float", "op": "Flatten",
                    "shape": [EFFNET_BATCH, EFFNET_DIMS], "output_purpose": "embeddings"}]
        _embedder(folder / f"{name}.pb", input_name=inputs[0]["name"],
                  input_shape=inputs[0]["shape"], dims=spec["dims"], classes=DISCOGS_STYLES,
                  embeddings_name="PartitionedCall:1", predictions_name="PartitionedCall:0")
        classes = GENRE_CLASSES
    else:
        inputs = [{"name": "model/Placeholder", "type": "float", "shape": [MUSICNN_PATCH, BANDS]}]
        outputs = [{"name": "model/Sigmoid", "type": "float", "op": "Sigmoid",
                    "shape": [1, MUSICNN_TAGS], "output_purpose": "predictions"},
                   {"name": "model/dense/BiasAdd", "type": "float", "op": "fully connected",
                    "shape": [1, MUSICNN_DIMS], "output_purpose": "embeddings"}]
        _embedder(folder / f"{name}.pb", input_name="model/Placeholder",
                  input_shape=[-1, MUSICNN_PATCH, BANDS], dims=spec["dims"],
                  classes=MUSICNN_TAGS, embeddings_name="model/dense/BiasAdd",
                  predictions_name=None)
        classes = [f"tag {i}" for i in range(MUSICNN_TAGS)]
    metadata = _metadata(name, algorithm=spec["algorithm"], inputs=inputs, outputs=outputs,
                         classes=classes)
    (folder / f"{name}.json").write_text(json.dumps(metadata))


def write_head(folder: Path, task: str, embedder: str = EFFNET) -> str:
    """A classification head for `embedder` with its metadata; returns its name."""
    classes, signs = HEADS[task]
    suffix = "discogs-effnet-1" if embedder == EFFNET else "msd-musicnn-1"
    name = f"{task}-{suffix}"
    dims = EMBEDDERS[embedder]["dims"]
    if task == "genre_discogs400":
        input_name, output_name, activation = ("serving_default_model_Placeholder",
                                               "PartitionedCall:0", "Sigmoid")
    else:
        activation = "Sigmoid" if task.startswith("mtg_jamendo") else "Softmax"
        input_name, output_name = "model/Placeholder", f"model/{activation}"
    _head(folder / f"{name}.pb", input_name=input_name, output_name=output_name, dims=dims,
          signs=signs, activation=activation)
    metadata = _metadata(
        name, algorithm="TensorflowPredict2D", classes=classes,
        inputs=[{"name": input_name, "type": "float", "shape": ["batch_size", dims]}],
        outputs=[{"name": output_name, "type": "float", "op": activation,
                  "shape": ["batch_size", len(classes)], "output_purpose": "predictions"}],
        embedding_model={"algorithm": EMBEDDERS[embedder]["algorithm"], "model_name": embedder})
    (folder / f"{name}.json").write_text(json.dumps(metadata))
    return name


def write_model_folder(folder: Path, *, embedder: str = EFFNET,
                       tasks: tuple[str, ...] = tuple(HEADS)) -> Path:
    """An embedder and its heads for `tasks`, the folder a user would fill from essentia.upf.edu."""
    folder.mkdir(parents=True, exist_ok=True)
    write_embedder(folder, embedder)
    for task in tasks:
        if task != "genre_discogs400" or embedder == EFFNET:
            write_head(folder, task, embedder)
    return folder

