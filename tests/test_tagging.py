"""musicnn port (checkpoint reader, front-end, network) and the tag frames built on it."""

import librosa
import numpy as np
import pytest
import torch

from linernotes.tools import musicnn
from linernotes.tools.tagging import TagFrames, tag_audio
from audio_factory import as_audio

RATE = 44100



def tone(frequency: float, seconds: float, amplitude: float = 0.5) -> np.ndarray:
    return amplitude * np.sin(2 * np.pi * frequency * np.arange(int(seconds * RATE)) / RATE)


def test_checkpoint_reader_gives_the_shapes_build_musicnn_expects():
    variables = musicnn.read_checkpoint(f"{musicnn.checkpoint_prefix('MTT_musicnn')}/")
    assert variables["conv2d/kernel"].shape == (7, 38, 1, 204)  # timbral 7 x 0.4*96
    assert variables["conv2d_1/kernel"].shape == (7, 67, 1, 204)  # timbral 7 x 0.7*96
    assert variables["conv2d_2/kernel"].shape == (128, 1, 1, 51)  # temporal
    assert variables["conv2d_5/kernel"].shape == (7, 561, 1, 64)  # mid-end over 561 features
    assert variables["batch_normalization_9/gamma"].shape == (1506,)  # [max, mean] of 753
    assert variables["dense/kernel"].shape == (1506, 200)
    assert variables["dense_1/kernel"].shape == (200, 50)
    assert not any("Adam" in name for name in variables)
    assert all(np.isfinite(array).all() for array in variables.values())


def test_log_mel_equals_musicnn_librosa_preprocessing_on_a_tone():
    samples = tone(440, 3.0)
    at_16k = librosa.resample(samples, orig_sr=RATE, target_sr=16000)
    reference = librosa.feature.melspectrogram(y=at_16k, sr=16000, hop_length=256, n_fft=512,
                                               n_mels=96).T.astype(np.float16)
    reference = np.log10(10000 * reference.astype(np.float32) + 1)
    ours = musicnn.log_mel(at_16k)
    assert ours.shape == reference.shape and ours.shape[1] == 96
    np.testing.assert_allclose(ours, reference, rtol=1e-6)
    # The tone's energy sits in the mel band holding 440 Hz.
    band = np.argmin(np.abs(librosa.mel_frequencies(n_mels=96, fmax=8000) - 440))
    assert abs(int(np.argmax(ours.mean(axis=0))) - band) <= 1


def test_network_matches_a_numpy_reference_of_the_first_layers():
    """The timbral 7x38 block recomputed independently from the TF kernel."""
    network = musicnn.load_musicnn("MTT_musicnn")
    variables = musicnn.read_checkpoint(f"{musicnn.checkpoint_prefix('MTT_musicnn')}/")
    rng = np.random.default_rng(0)
    patch = rng.uniform(0, 3, (musicnn.PATCH_FRAMES, 96)).astype(np.float32)
    bn = {k: variables[f"batch_normalization/{k}"] for k in ("gamma", "beta", "moving_mean",
                                                             "moving_variance")}
    normalized = (patch - bn["moving_mean"]) / np.sqrt(bn["moving_variance"] + 1e-3) \
        * bn["gamma"] + bn["beta"]
    padded = np.pad(normalized, ((3, 3), (0, 0)))
    kernel, bias = variables["conv2d/kernel"][:, :, 0, :], variables["conv2d/bias"]
    frames = np.lib.stride_tricks.sliding_window_view(padded, (7, 38))
    conv = np.maximum(np.einsum("tfab,abo->tfo", frames, kernel) + bias, 0)
    bn1 = {k: variables[f"batch_normalization_1/{k}"] for k in ("gamma", "beta", "moving_mean",
                                                                "moving_variance")}
    conv = (conv - bn1["moving_mean"]) / np.sqrt(bn1["moving_variance"] + 1e-3) \
        * bn1["gamma"] + bn1["beta"]
    expected = conv.max(axis=1)  # (time, 204)
    x = torch.from_numpy(patch)[None]
    scale, shift = musicnn._affine(network.input_norm)
    inputs = (x * scale + shift).unsqueeze(1)
    ours = network._conv_block(torch.nn.functional.pad(inputs, (0, 0, 3, 3)), network.timbral[0],
                               network.timbral_norms[0])[0].T.numpy()
    np.testing.assert_allclose(ours, expected, rtol=1e-3, atol=1e-3)


def test_silence_has_no_tags_and_no_vocals():
    frames = tag_audio(as_audio(np.zeros(int(7 * RATE))))
    summary = frames.summary()
    assert frames.backend == "musicnn"
    assert summary.genres == summary.moods == summary.instruments == []
    assert not summary.vocals.present and summary.vocals.score == 0
    assert frames.embedding() == []


@pytest.fixture(scope="module")
def two_part_frames() -> TagFrames:
    """9 s of a soft sine, then 9 s of loud noise bursts."""
    rng = np.random.default_rng(1)
    noise = rng.standard_normal(int(9 * RATE)) * 0.5
    noise *= (np.arange(len(noise)) % (RATE // 4)) < RATE // 20  # 4 bursts a second
    return tag_audio(as_audio(np.concatenate([tone(330, 9.0, 0.2), noise])))


def test_halves_of_a_two_part_signal_get_different_summaries(two_part_frames):
    first = two_part_frames.summary(start=0, end=9)
    second = two_part_frames.summary(start=9, end=18)
    assert first != second
    a, b = two_part_frames.embedding(end=9), two_part_frames.embedding(start=9)
    assert len(a) == len(b) == 400
    assert np.isclose(np.linalg.norm(a), 1) and np.dot(a, b) < 0.99


def test_summary_lists_are_sorted_short_and_above_threshold(two_part_frames):
    summary = two_part_frames.summary()
    for tags in (summary.genres, summary.moods, summary.instruments):
        scores = [tag.score for tag in tags]
        assert scores == sorted(scores, reverse=True) and len(scores) <= 5
        assert all(0.1 <= score <= 1 for score in scores)
    # A span shorter than a patch still gets the patch it falls in.
    assert two_part_frames.summary(start=10, end=10.5) == two_part_frames.summary(start=9, end=12)


def test_missing_essentia_folder_falls_back_to_musicnn_with_a_note(tmp_path):
    frames = tag_audio(as_audio(tone(440, 3.5)), essentia_models=str(tmp_path / "absent"))
    assert frames.backend == "musicnn"
    assert any("Essentia models not used" in note for note in frames.notes)
