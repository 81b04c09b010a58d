"""The sparse Viterbi decodes madmom's downbeat HMMs to the very same beats, in far less memory."""

import numpy as np

from linernotes.tools.madmom_shim import madmom  # first: makes the submodule import below work
import madmom.features.downbeats  # noqa: E402
from linernotes.tools.viterbi import SparseViterbiHMM, sparse_viterbi  # noqa: E402

FPS = 100


def _activations(*, bpm: float, beats_per_bar: int, seconds: float, seed: int) -> np.ndarray:
    """Noisy (beat, downbeat) activations with peaks on a steady pulse."""
    rng = np.random.default_rng(seed)
    activations = 0.05 * rng.random((int(seconds * FPS), 2))
    for index, time in enumerate(np.arange(0.5, seconds - 0.5, 60.0 / bpm)):
        frame = int(time * FPS)
        column = 1 if index % beats_per_bar == 0 else 0
        activations[frame - 1:frame + 2, column] += [0.3, 0.8, 0.3]
    return np.clip(activations, 0.0, 0.95)


def _decoder():
    return madmom.features.downbeats.DBNDownBeatTrackingProcessor(beats_per_bar=[3, 4], fps=FPS)


def test_sparse_viterbi_finds_madmoms_beats_and_downbeats():
    sparse = sparse_viterbi(_decoder())
    for bpm, beats_per_bar, seed in ((96.0, 4, 0), (150.0, 3, 1)):
        activations = _activations(bpm=bpm, beats_per_bar=beats_per_bar, seconds=20.0, seed=seed)
        expected = _decoder()(activations)
        found = sparse(activations)
        np.testing.assert_array_equal(found, expected)
        assert int(found[:, 1].max()) == beats_per_bar
        assert abs(60.0 / np.median(np.diff(found[:, 0])) - bpm) < 0.03 * bpm


def test_sparse_viterbi_paths_and_log_probabilities_match_madmom():
    activations = _activations(bpm=120.0, beats_per_bar=4, seconds=12.0, seed=2)
    for hmm in _decoder().hmms:
        path, log_probability = SparseViterbiHMM(hmm).viterbi(activations)
        expected_path, expected_log_probability = hmm.viterbi(activations)
        np.testing.assert_array_equal(path, expected_path)
        assert log_probability == expected_log_probability


def test_only_states_with_a_choice_keep_back_pointers():
    hmm = SparseViterbiHMM(_decoder().hmms[1])  # 4/4
    kept = int((hmm._column >= 0).sum())
    assert kept * 50 < hmm.transition_model.num_states
