"""madmom's bar-pointer HMM Viterbi, with back-pointers kept only where a state has a choice.

madmom's `HiddenMarkovModel.viterbi` stores a back-pointer for every frame and state: for a
4-minute song at 100 fps, its 4/4 downbeat model (14,876 states) needs a 1.2 GB table, the
engine's whole memory budget. In the bar-pointer state space almost every state has one
predecessor (the previous position at the same tempo); only the first state of each beat
chooses among tempi. Storing pointers for those states alone takes 240 columns instead of
14,876, and the decoded path is the same (the same loop order and strict comparison).
"""

from __future__ import annotations

import numba
import numpy as np


class SparseViterbiHMM:
    """A madmom `HiddenMarkovModel` decoded with `viterbi` below; the rest is the model's own."""

    def __init__(self, hmm):
        self.transition_model = hmm.transition_model
        self.observation_model = hmm.observation_model
        self.initial_distribution = hmm.initial_distribution
        pointers = self.transition_model.pointers
        choices = np.flatnonzero(np.diff(pointers) > 1)
        self._column = np.full(self.transition_model.num_states, -1, dtype=np.int64)
        self._column[choices] = np.arange(len(choices))

    def viterbi(self, observations: np.ndarray) -> tuple[np.ndarray, float]:
        """The best state path and its log probability, exactly as madmom's `viterbi`."""
        tm, om = self.transition_model, self.observation_model
        with np.errstate(divide="ignore"):
            log_initial = np.log(self.initial_distribution)
        path, log_probability = _viterbi(
            tm.states.astype(np.int64), tm.pointers.astype(np.int64), tm.log_probabilities,
            om.pointers.astype(np.int64), np.ascontiguousarray(om.log_densities(observations), dtype=np.float64),
            log_initial, self._column, int((self._column >= 0).sum()))
        if np.isinf(log_probability):
            return np.empty(0, dtype=np.uint32), log_probability
        return path.astype(np.uint32), log_probability


def sparse_viterbi(processor):
    """`processor` (a madmom DBN beat or downbeat processor) with its HMMs decoded sparsely."""
    processor.hmms = [SparseViterbiHMM(hmm) for hmm in processor.hmms]
    return processor


@numba.njit(cache=True)
def _viterbi(tm_states, tm_pointers, tm_log_probabilities, om_pointers, om_densities, log_initial,
             column, columns):
    frames, states = om_densities.shape[0], len(tm_pointers) - 1
    choice = np.empty((frames, max(columns, 1)), dtype=np.int32)
    previous = log_initial.copy()
    current = np.empty(states)
    for frame in range(frames):
        for state in range(states):
            best = -np.inf
            best_previous = -1
            density = om_densities[frame, om_pointers[state]]
            for pointer in range(tm_pointers[state], tm_pointers[state + 1]):
                probability = previous[tm_states[pointer]] + tm_log_probabilities[pointer] + density
                if probability > best:
                    best = probability
                    best_previous = tm_states[pointer]
            current[state] = best
            if column[state] >= 0:
                choice[frame, column[state]] = best_previous
        previous, current = current, previous
    state = int(np.argmax(previous))
    log_probability = previous[state]
    path = np.empty(frames, dtype=np.int64)
    for frame in range(frames - 1, -1, -1):
        path[frame] = state
        if column[state] >= 0:
            state = choice[frame, column[state]]
        else:
            state = tm_states[tm_pointers[state]]
    return path, log_probability
