"""The engine's memory-saving block-at-a-time paths give the values of the whole-song forms."""

import numpy as np
import pytest
import torch
from audio_factory import as_audio, triad

from linernotes.tools import melody, nn, spectrogram
from linernotes.tools.runtime import release_freed_memory


def _noise_song(seconds: float, *, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    tone = triad((60, 64, 67), seconds)
    return (tone + 0.05 * rng.standard_normal(len(tone))).astype(np.float32)


@pytest.mark.parametrize("frame_size, fps", [(1024, 100), (4096, 100), (8192, 10)])
def test_filtered_stft_equals_filtering_the_whole_magnitude(frame_size, fps):
    # 7.3 s: several blocks of frames, the last one partial.
    samples = _noise_song(7.3)
    bands = dict(num_bands=12, fmin=30, fmax=17000, norm_filters=True)
    whole = spectrogram.log_filtered(spectrogram.stft_magnitude(samples, frame_size=frame_size, fps=fps),
                                     frame_size=frame_size, **bands)
    blockwise = spectrogram.log_filtered_stft(samples, frame_size=frame_size, fps=fps, **bands)
    assert blockwise.shape == whole.shape
    assert torch.equal(blockwise, whole)


def test_stft_blocks_do_not_depend_on_the_block_size(monkeypatch):
    samples = _noise_song(3.1)
    small = spectrogram.stft_magnitude(samples, frame_size=2048, fps=100)
    monkeypatch.setattr(spectrogram, "_BLOCK_VALUES", 1 << 26)  # one block for the whole signal
    one_block = spectrogram.stft_magnitude(samples, frame_size=2048, fps=100)
    assert torch.equal(small, one_block)
    # A signal shorter than one frame is zero-padded as madmom pads it.
    assert spectrogram.stft_magnitude(samples[:300], frame_size=2048, fps=100).shape == (1, 1024)


@pytest.mark.parametrize("frames", [5, 1023, 1024, 3000])
def test_projection_blocks_cover_the_frames_and_are_never_short(frames):
    blocks = nn._blocks(frames)
    assert blocks[0][0] == 0 and blocks[-1][1] == frames
    assert all(a[1] == b[0] for a, b in zip(blocks, blocks[1:]))
    if frames >= nn._PROJECTION_FRAMES:
        assert all(last - first >= nn._PROJECTION_FRAMES for first, last in blocks)


def test_blstm_output_does_not_depend_on_the_projection_block(monkeypatch):
    features = np.abs(np.random.default_rng(1).standard_normal((700, 314))).astype(np.float32)
    ensemble = nn.downbeat_ensemble()
    whole = ensemble(features)  # one block
    monkeypatch.setattr(nn, "_PROJECTION_FRAMES", 64)
    blockwise = ensemble(features)
    assert whole.shape == (700, 3)
    # float32 GEMMs of other shapes sum in another order: a few 1e-6 apart on some BLAS paths
    # (seen once under load); a wrong block boundary moves the output by 1e-2 or more.
    np.testing.assert_allclose(blockwise, whole, rtol=0, atol=2e-5)
    np.testing.assert_allclose(whole.sum(axis=1), 1.0, atol=1e-5)


@pytest.mark.parametrize("length", [1000, melody.WINDOW_SAMPLES, 100_003])
def test_melody_windows_are_basic_pitchs(length):
    samples = _noise_song(5.0)[:length]
    # basic-pitch's own cut (`run_inference`): pad the front, slice, pad each slice's end.
    overlap = melody.OVERLAP_FRAMES * melody.FFT_HOP
    padded = np.concatenate([np.zeros(overlap // 2, np.float32), samples])
    pieces = [padded[i:i + melody.WINDOW_SAMPLES]
              for i in range(0, len(padded), melody.WINDOW_SAMPLES - overlap)]
    expected = np.stack([np.pad(p, (0, melody.WINDOW_SAMPLES - len(p))) for p in pieces])[..., None]
    assert np.array_equal(melody.signal_windows(samples), expected)


def test_release_freed_memory_runs():
    release_freed_memory()
