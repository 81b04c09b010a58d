"""Discovery of Essentia TensorFlow models in a folder, and the fallback when they cannot run."""

import json

import numpy as np
import pytest

from linernotes.tools import essentia_models, settings
from linernotes.tools.audio import Audio
from linernotes.tools.tagging import tag_audio


def write_model(folder, name, metadata, *, graph=True):
    (folder / f"{name}.json").write_text(json.dumps(metadata))
    if graph:
        (folder / f"{name}.pb").write_bytes(b"not a real graph")


HEAD = {
    "classes": ["Rock---Heavy Metal", "Electronic---Ambient"],
    "schema": {"inputs": [{"name": "model/Placeholder"}],
               "outputs": [{"name": "model/Softmax", "output_purpose": "predictions"},
                           {"name": "model/dense/BiasAdd", "output_purpose": "embeddings"}]},
    "inference": {"sample_rate": 16000, "algorithm": "TensorflowPredict2D",
                  "embedding_model": {"algorithm": "TensorflowPredictEffnetDiscogs",
                                      "model_name": "discogs-effnet-bs64-1"}},
}
EMBEDDER = {
    "classes": ["..."],
    "schema": {"inputs": [{"name": "serving_default_melspectrogram", "shape": [64, 128, 96]}],
               "outputs": [{"name": "PartitionedCall:0", "output_purpose": "predictions"},
                           {"name": "PartitionedCall:1", "output_purpose": "embeddings"}]},
    "inference": {"sample_rate": 16000, "algorithm": "TensorflowPredictEffnetDiscogs"},
}


@pytest.fixture
def model_folder(tmp_path):
    write_model(tmp_path, "genre_discogs400-discogs-effnet-1", HEAD)
    write_model(tmp_path, "discogs-effnet-bs64-1", EMBEDDER)
    write_model(tmp_path, "voice_instrumental-discogs-effnet-1", HEAD | {
        "classes": ["instrumental", "voice"]}, graph=False)  # metadata without its graph
    write_model(tmp_path, "tonal_atonal-discogs-effnet-1", HEAD)  # a task not used here
    (tmp_path / "broken.json").write_text("{not json")
    return tmp_path


def test_discovery_finds_heads_with_graphs_and_their_embedder(model_folder):
    heads, embedders = essentia_models.discover(model_folder)
    assert [head.name for head in heads] == ["genre_discogs400-discogs-effnet-1"]
    head = heads[0]
    assert head.task == "genres" and head.classes == ("Rock---Heavy Metal", "Electronic---Ambient")
    assert (head.input_node, head.output_node) == ("model/Placeholder", "model/Softmax")
    assert list(embedders) == ["discogs-effnet-bs64-1"]
    assert embedders["discogs-effnet-bs64-1"].output_node == "PartitionedCall:1"
    assert essentia_models.label_maps(heads)["genres"] == {
        (head.name, "Rock---Heavy Metal"): "heavy metal",
        (head.name, "Electronic---Ambient"): "ambient"}


def test_a_head_without_its_embedding_model_is_not_runnable(tmp_path):
    write_model(tmp_path, "genre_discogs400-discogs-effnet-1", HEAD)
    assert essentia_models.runnable_heads(tmp_path)[0] == []
    assert "no classification head" in essentia_models.unusable_reason(tmp_path)


def test_folder_from_environment(monkeypatch, tmp_path):
    monkeypatch.delenv(settings.ESSENTIA_MODELS_ENV, raising=False)
    assert essentia_models.models_folder() is None
    monkeypatch.setenv(settings.ESSENTIA_MODELS_ENV, str(tmp_path))
    assert essentia_models.models_folder() == tmp_path
    assert essentia_models.models_folder(str(tmp_path / "given")) == tmp_path / "given"


def test_unusable_models_fall_back_to_musicnn_and_say_why(model_folder, monkeypatch):
    # As on an Essentia build without TensorFlow: the fake graphs must then never be loaded.
    monkeypatch.setattr(essentia_models, "tensorflow_available", lambda: False)
    assert essentia_models.unusable_reason(model_folder) == "essentia-tensorflow is not installed"
    rate = 44100
    samples = (0.3 * np.sin(2 * np.pi * 440 * np.arange(4 * rate) / rate)).astype(np.float32)
    audio = Audio(samples=samples, sample_rate=rate, path="synthetic.wav", sha256="0" * 64,
                  channels=1, native_rate=rate)
    with pytest.raises(RuntimeError):
        essentia_models.predict(audio, folder=model_folder)
    frames = tag_audio(audio, essentia_models=str(model_folder))
    assert frames.backend == "musicnn"
    assert frames.notes == ["Essentia models not used (essentia-tensorflow is not installed); "
                            "tagged with musicnn"]
