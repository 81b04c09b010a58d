"""Essentia's TensorFlow path for real: toy frozen graphs shaped like the published models.

The toy embedders put the low mel bands' energy in their first half of dimensions and the
high bands' in the second; every toy head compares the halves. So on a song whose first
10 s are a 200 Hz tone and whose last 10 s are a 5 kHz tone, each head must name its
"low" class in the first half and its "high" class in the second (see essentia_graphs.HEADS).
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

import essentia_graphs as toy
from audio_factory import as_audio
from linernotes.tools import essentia_models
from linernotes.tools.schema import SongAnalysis
from linernotes.tools.tagging import tag_audio

pytestmark = pytest.mark.skipif(not essentia_models.tensorflow_available(),
                                reason="needs the essentia-tensorflow build")
RATE = 44100
HALF_S = 10.0
# Essentia's patch grid: 62 frames of 256 samples at 16 kHz between starts, 128-frame patches.
EFFNET_HOP_S, EFFNET_PATCH_S = 62 * 256 / 16000, 128 * 256 / 16000
MUSICNN_HOP_S = 93 * 256 / 16000


def two_tones() -> np.ndarray:
    t = np.arange(int(HALF_S * RATE)) / RATE
    return np.concatenate([0.5 * np.sin(2 * np.pi * 200 * t), 0.5 * np.sin(2 * np.pi * 5000 * t)])


@pytest.fixture(scope="module")
def full_folder(tmp_path_factory):
    return toy.write_model_folder(tmp_path_factory.mktemp("essentia") / "models")


@pytest.fixture(scope="module")
def song_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("songs") / "two-tones.wav"
    sf.write(path, two_tones(), RATE)
    return path


def test_metadata_gives_patch_shapes_rates_nodes_and_classes(full_folder):
    toy.write_embedder(full_folder, toy.MUSICNN)
    heads, embedders = essentia_models.discover(full_folder)
    effnet, musicnn = embedders[toy.EFFNET], embedders[toy.MUSICNN]
    assert (effnet.patch_frames, effnet.batch_size, effnet.sample_rate) == (128, 64, 16000)
    assert (effnet.input_node, effnet.output_node) == ("serving_default_melspectrogram",
                                                       "PartitionedCall:1")
    assert (musicnn.patch_frames, musicnn.batch_size, musicnn.output_node) == (
        187, None, "model/dense/BiasAdd")
    genre = next(head for head in heads if head.task == "genres")
    assert (genre.input_node, genre.output_node) == ("serving_default_model_Placeholder",
                                                     "PartitionedCall:0")
    assert genre.classes == tuple(toy.GENRE_CLASSES)
    assert {head.name.split("-")[0] for head in heads} == set(toy.HEADS)
    (full_folder / f"{toy.MUSICNN}.json").unlink()
    (full_folder / f"{toy.MUSICNN}.pb").unlink()


def test_label_maps_come_from_the_classes_in_the_metadata(tmp_path):
    toy.write_model_folder(tmp_path, tasks=("danceability", "voice_instrumental", "gender"))
    metadata_path = tmp_path / "gender-discogs-effnet-1.json"
    metadata = json.loads(metadata_path.read_text())
    metadata["classes"] = ["choir", "male"]  # a head's own classes decide what it can say
    metadata_path.write_text(json.dumps(metadata))
    heads, _ = essentia_models.runnable_heads(tmp_path)
    assert essentia_models.label_maps(heads)["moods"] == {
        ("danceability-discogs-effnet-1", "danceable"): "danceable"}
    voice, no_voice, types = essentia_models.voice_keys(heads)
    assert voice == {("voice_instrumental-discogs-effnet-1", "voice")}
    assert no_voice == {("voice_instrumental-discogs-effnet-1", "instrumental")}
    assert types == {"choir": {("gender-discogs-effnet-1", "choir")},
                     "male": {("gender-discogs-effnet-1", "male")}}


def test_effnet_chain_predicts_each_half_on_essentias_patch_grid(full_folder):
    frames = tag_audio(as_audio(two_tones(), sample_rate=RATE), essentia_models=str(full_folder))
    mel_frames = 1 + int(np.ceil((2 * HALF_S * 16000 - 256) / 256))
    patches = 1 + int(np.ceil((mel_frames - 128) / 62))  # the last patch is filled by repeating
    np.testing.assert_allclose(frames.starts, np.arange(patches) * EFFNET_HOP_S)
    assert frames.patch_s == EFFNET_PATCH_S and frames.embeddings.shape == (patches, 1280)
    assert frames.notes == []
    assert frames.backend.startswith("essentia-tensorflow (genres: genre_discogs400-discogs-effnet-1;")
    low, high = frames.summary(start=0, end=HALF_S), frames.summary(start=HALF_S, end=2 * HALF_S)
    assert [tag.label for tag in low.genres] == ["ambient"]
    assert [tag.label for tag in high.genres] == ["heavy metal"]
    assert {"calm", "happy", "approachable"} <= {tag.label for tag in low.moods}
    assert {"energetic", "danceable"} <= {tag.label for tag in high.moods}
    assert [tag.label for tag in low.instruments] == ["piano"]
    assert [tag.label for tag in high.instruments] == ["electricguitar"]
    assert not low.vocals.present and low.vocals.score < 0.01
    assert high.vocals.present and high.vocals.type == "female"


def test_a_song_shorter_than_one_patch_gets_one_repeated_patch(full_folder):
    t = np.arange(RATE) / RATE
    frames = tag_audio(as_audio(0.5 * np.sin(2 * np.pi * 5000 * t), sample_rate=RATE),
                       essentia_models=str(full_folder))
    assert len(frames.starts) == 1 and frames.patch_s == EFFNET_PATCH_S
    assert [tag.label for tag in frames.summary().genres] == ["heavy metal"]


def test_musicnn_chain_and_missing_heads_fall_back_to_musicnn_with_a_note(tmp_path):
    folder = toy.write_model_folder(tmp_path, embedder=toy.MUSICNN,
                                    tasks=("voice_instrumental", "mtg_jamendo_moodtheme"))
    toy.write_head(folder, "genre_discogs400")  # its embedder (EffNet) is not in the folder
    frames = tag_audio(as_audio(two_tones(), sample_rate=RATE), essentia_models=str(folder))
    np.testing.assert_allclose(frames.starts, np.arange(len(frames.starts)) * MUSICNN_HOP_S)
    assert frames.embeddings.shape[1] == 200
    assert frames.notes == [
        "Essentia head genre_discogs400-discogs-effnet-1 skipped: its embedding model "
        "discogs-effnet-bs64-1 is not in the folder",
        "no Essentia genres head in the folder: genres tagged with musicnn",
        "no Essentia instruments head in the folder: instruments tagged with musicnn"]
    assert frames.backend == (
        "essentia-tensorflow (genres: musicnn; moods: mtg_jamendo_moodtheme-msd-musicnn-1; "
        "instruments: musicnn; vocals: voice_instrumental-msd-musicnn-1)")
    high = frames.summary(start=HALF_S + 2, end=2 * HALF_S)  # patches clear of the low tone
    assert high.vocals.present and high.vocals.type is None  # no gender head: no type
    assert [tag.label for tag in high.moods] == ["energetic"]
    assert all(key[0].endswith("_musicnn") for key in frames.genres)


def field_names(value) -> object:
    """The nested field names of a dumped model: what memory, narrative and chat read."""
    if isinstance(value, dict):
        return {key: field_names(item) for key, item in value.items()}
    if isinstance(value, list):
        return [field_names(value[0])] if value and isinstance(value[0], dict) else []
    return None


def run_describe(song_path, tmp_path, *extra):
    env = {**os.environ, "LINERNOTES_DATA_DIR": str(tmp_path / "data"), "LINERNOTES_LLM": "none"}
    env.pop("LINERNOTES_ESSENTIA_MODELS", None)
    result = subprocess.run([sys.executable, "-m", "linernotes", "describe", str(song_path),
                             "--json", "--no-store", "--no-cache", *extra],
                            capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    return SongAnalysis.model_validate_json(result.stdout)


def test_describe_with_essentia_models_tags_each_half_and_keeps_the_analysis_shape(
        full_folder, song_path, tmp_path):
    essentia = run_describe(song_path, tmp_path, "--essentia-models", str(full_folder))
    summary = essentia.summary
    assert summary.tagger.startswith("essentia-tensorflow (genres: genre_discogs400-discogs-effnet-1")
    assert "instruments: mtg_jamendo_instrument-discogs-effnet-1" in summary.tagger
    # The 10 s windows lie on either side of the change at 10 s (give or take a beat).
    low = [window for window in essentia.segments if window.end <= HALF_S + 1]
    high = [window for window in essentia.segments if window.start >= HALF_S - 1]
    assert low and high and len(low) + len(high) == len(essentia.segments)
    for windows, genre, voiced in ((low, "ambient", False), (high, "heavy metal", True)):
        for window in windows:
            assert window.genres[0].label == genre and window.vocals.present == voiced, window
    assert {tag.label for tag in summary.genres} == {"ambient", "heavy metal"}
    musicnn = run_describe(song_path, tmp_path)
    assert musicnn.summary.tagger == "musicnn"
    assert field_names(essentia.model_dump()) == field_names(musicnn.model_dump())
