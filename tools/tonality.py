"""Key of a song, of any span of it, and where it modulates: madmom's key CNN and key profiles.

madmom's 2018 key network is fully convolutional up to a global average; that average
is left out (see `tools.nn.key_network`), so one pass gives key logits every 1.6 s. The
same spectrum's chroma, correlated with the Krumhansl and Temperley key profiles
(`tools.keyprofiles`), is a second, independent opinion: the key of any span is the
product of the two opinions over it (the CNN's softmax of averaged logits, and the
profiles' softmax of correlations). Modulations come from a Viterbi path over the 24 keys
with a switching penalty, each change then placed at the downbeat where the two keys'
evidence crosses. A span gets no key when both opinions are weak: the CNN unsure and the
chroma far from any diatonic scale (speech, birdsong, noise, drums). A song gets no key,
in any span, when it is pitched but atonal: the CNN's key posterior, step by step, stays
spread over many keys and the chroma fits no key profile well (twelve-tone rows, clusters,
whole-tone writing; see `MAX_KEY_ENTROPY`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import torch
from scipy.ndimage import uniform_filter1d

from linernotes.tools import spectrogram
from linernotes.tools.audio import Audio
from linernotes.tools.keyprofiles import chroma, diatonic_share, key_correlations
from linernotes.tools.nn import key_network, run_convolutional
from linernotes.tools.schema import KeyChange, KeyEstimate
from linernotes.tools.vocabulary import ATONAL_NOTE

# madmom's class order.
KEY_LABELS = ("A major", "Bb major", "B major", "C major", "Db major", "D major", "Eb major",
              "E major", "F major", "F# major", "G major", "Ab major", "A minor", "Bb minor",
              "B minor", "C minor", "C# minor", "D minor", "D# minor", "E minor", "F minor",
              "F# minor", "G minor", "G# minor")
SPECTRUM_FPS = 10  # the shared harmonic spectrum; the key network reads every other frame
KEY_FPS = 5
FRAMES_PER_LOGIT = 8  # three 2x2 max pools
LOGIT_PERIOD_S = FRAMES_PER_LOGIT / KEY_FPS
# A key is called only when the CNN is at least this sure, or the span's chroma at least
# this diatonic (on the evalset, speech, birdsong and whale song read 0.08-0.23 and 0.62-0.68;
# every tonal recording at least 0.35 or 0.75).
MIN_CNN_PROBABILITY = 0.4
MIN_DIATONIC_SHARE = 0.7
# Sharpness of the profile opinion: softmax(PROFILE_SHARPNESS * correlation). At 20, a
# correlation lead of 0.05 weighs as much as a CNN odds ratio of e.
PROFILE_SHARPNESS = 20.0
# Spans whose log-spectrogram peak is below this are treated as silence.
MIN_LEVEL = 0.05
MIN_SEGMENT_S = 4.8
# Atonal music: the CNN's per-step key posterior stays spread (mean entropy over the
# pitched steps, in nats; uniform over 24 keys is 3.18) AND the song's chroma fits no key
# profile well. Calibrated on 96 passages of 16 s of the kinds
# `tools.synth.calibration_family` renders (two seeds), not on any recording. With rich
# textures, tonal passages read entropy 0.08-1.53 and twelve-tone rows, clusters and
# whole-tone passages 1.57-2.61: the entropy threshold is the middle of that gap. But bare
# block triads in minor modes reach 1.63-1.99, with a top profile correlation of 0.64-0.80,
# so the correlation must also be low: below 0.625, midway between the lowest such tonal
# passage (0.64) and the atonal one just under it (0.61). Atonal passages with a higher
# correlation (5 of 24 in the family) keep a key, as before.
MAX_KEY_ENTROPY = 1.54
MAX_ATONAL_CORRELATION = 0.625
# Atonality is judged on the whole song and spans inherit the verdict: judged alone, 16-30 s
# spans of tonal recordings read atonal too often (the intro of the evalset's synth pop
# song, a minute of the Nutcracker arrangement), while drum breaks and noise, the common
# keyless spans inside tonal songs, are caught span by span by the rule above.
SWITCH_PENALTY = 16.0  # log-probability cost of a modulation in the Viterbi path
SMOOTHING_LOGITS = 3  # logits averaged (centred) before decoding


@dataclass
class Tonality:
    """Whole-song key evidence: key logits every `LOGIT_PERIOD_S` seconds.

    Attributes
    ----------
    logits : np.ndarray, shape (steps, 24)
        Key logits, step `i` covering [i, i + 1) * LOGIT_PERIOD_S.
    level : np.ndarray, shape (steps,)
        Peak log-spectrogram magnitude per step, to tell silence from music.
    duration_s : float
    pitch_classes : np.ndarray, shape (steps, 12)
        Per step, the summed chroma of its frames (C first).
    pitch_weight : np.ndarray, shape (steps,)
        Per step, the summed chroma energy of its frames: divided into `pitch_classes`
        summed over a span, the span's profile.
    """

    logits: np.ndarray
    level: np.ndarray
    duration_s: float
    pitch_classes: np.ndarray
    pitch_weight: np.ndarray

    def key(self, *, start: float | None = None, end: float | None = None) -> KeyEstimate:
        """The key of [start, end) seconds (the whole song by default).

        A span's key is the one the modulation path (`changes`) holds longest in it; its
        confidence is that key's probability from the span's averaged evidence.

        None with confidence 0 and a note for silence, when no key is clear (percussive
        or noisy spans), and for every span of an atonal song (note `ATONAL_NOTE`).
        """
        first, last = self._steps(start, end)
        if last <= first or self.level[first:last].max(initial=0.0) < MIN_LEVEL:
            return KeyEstimate(key=None, confidence=0.0, notes=["silence"])
        network = _softmax(self.logits[first:last].mean(axis=0))
        profile = self.profile(first, last)
        if network.max() < MIN_CNN_PROBABILITY and diatonic_share(profile) < MIN_DIATONIC_SHARE:
            return KeyEstimate(key=None, confidence=0.0, notes=["no clear key"])
        if self._song_atonal:
            return KeyEstimate(key=None, confidence=0.0, notes=[ATONAL_NOTE])
        probabilities = _key_probabilities(network, profile)
        if start is None and end is None:
            best = int(np.argmax(probabilities))
        else:
            # A span takes the key the modulation path holds longest in it, so section
            # keys and key changes never contradict each other.
            best = int(np.argmax(np.bincount(self._key_path[first:last], minlength=24)))
        return KeyEstimate(key=KEY_LABELS[best], confidence=round(float(probabilities[best]), 3))

    def key_entropy(self, first: int, last: int) -> tuple[float, int]:
        """Mean entropy (nats) of the CNN's per-step key posterior over the pitched steps.

        Returns the entropy and how many pitched steps it averages. Steps that are silent,
        or unpitched (CNN unsure and chroma not diatonic: drums, noise), are left out, so a
        drum break does not make a tonal song look atonal. (nan, 0) without the network.
        """
        if not self.logits[first:last].any():
            return float("nan"), 0  # licence-clean mode: no CNN opinion to read
        logits = self.logits[first:last]
        posterior = np.exp(logits - logits.max(axis=1, keepdims=True))
        posterior /= posterior.sum(axis=1, keepdims=True)
        entropy = -(posterior * np.log(posterior + 1e-12)).sum(axis=1)
        pitched = self._keyed[first:last]
        if not pitched.any():
            return float("nan"), 0
        return float(entropy[pitched].mean()), int(pitched.sum())

    @cached_property
    def _song_atonal(self) -> bool:
        """Whether the song is pitched but atonal (see `MAX_KEY_ENTROPY`)."""
        entropy, steps = self.key_entropy(0, len(self.logits))
        return (steps > 0 and entropy > MAX_KEY_ENTROPY
                and key_correlations(self.profile(0, len(self.logits))).max()
                < MAX_ATONAL_CORRELATION)

    def network_key(self) -> KeyEstimate:
        """The key CNN's own answer for the whole song, as madmom's processor gives it.

        For checking the port against madmom; `key` is the engine's answer.
        """
        if len(self.logits) == 0:
            return KeyEstimate(key=None, confidence=0.0, notes=["silence"])
        probabilities = _softmax(self.logits.mean(axis=0))
        best = int(np.argmax(probabilities))
        return KeyEstimate(key=KEY_LABELS[best], confidence=round(float(probabilities[best]), 3))

    def profile(self, first: int, last: int) -> np.ndarray:
        """The energy-weighted pitch-class profile (C first, sums to 1) of steps [first, last)."""
        return self._profile_of(slice(first, last))

    def _profile_of(self, steps: slice | np.ndarray) -> np.ndarray:
        weight = self.pitch_weight[steps].sum()
        if weight <= 0:
            return np.zeros(12)
        return self.pitch_classes[steps].sum(axis=0) / weight

    def changes(self, *, downbeats: list[float] | None = None) -> list[KeyChange]:
        """Modulations, each placed at a downbeat when downbeats are given."""
        path = self._key_path
        changes = []
        if self._song_atonal:
            return changes  # no key, so no modulation
        boundaries = np.flatnonzero(np.diff(path)) + 1
        for index, step in enumerate(boundaries):
            before, after = int(path[step - 1]), int(path[step])
            left = boundaries[index - 1] if index else 0
            right = boundaries[index + 1] if index + 1 < len(boundaries) else len(path)
            time = self._locate(step, before, after, left, right, downbeats)
            split = int(np.clip(round(time / LOGIT_PERIOD_S), left + 1, right - 1))
            confidence = min(self._held_confidence(left, split, before),
                             self._held_confidence(split, right, after))
            if confidence == 0.0:
                continue  # one side has no clear key: a change of texture, not a modulation
            changes.append(KeyChange(time=round(time, 3), from_key=KEY_LABELS[before],
                                     to_key=KEY_LABELS[after], confidence=round(confidence, 3)))
        return changes

    def _held_confidence(self, first: int, last: int, key: int) -> float:
        """The probability of `key` from the evidence of the keyed steps in [first, last).

        Only steps with a key count: a keyless intro or drum break that the path lends its
        neighbour's key must not dilute that key's evidence (averaged in, it made a clear
        A minor stretch after a 26 s electronic intro read "no clear key"). Fewer than
        `MIN_SEGMENT_S` of keyed steps are no key at all: 0.
        """
        steps = np.flatnonzero(self._keyed[first:last]) + first
        if len(steps) < round(MIN_SEGMENT_S / LOGIT_PERIOD_S):
            return 0.0
        probabilities = _key_probabilities(_softmax(self.logits[steps].mean(axis=0)), self._profile_of(steps))
        return float(probabilities[key])

    @cached_property
    def _keyed(self) -> np.ndarray:
        """Per step, whether it has a key: sounding, and the CNN sure or the chroma diatonic."""
        posterior = np.apply_along_axis(_softmax, 1, self.logits) if len(self.logits) else self.logits
        weight = np.maximum(self.pitch_weight, 1e-9)[:, None]
        diatonic = np.array([diatonic_share(row) for row in self.pitch_classes / weight])
        return ((self.level >= MIN_LEVEL)
                & ~((posterior.max(axis=1, initial=0.0) < MIN_CNN_PROBABILITY)
                    & (diatonic < MIN_DIATONIC_SHARE)))

    def _steps(self, start: float | None, end: float | None) -> tuple[int, int]:
        first = 0 if start is None else int(np.floor(max(start, 0.0) / LOGIT_PERIOD_S))
        last = len(self.logits) if end is None else int(np.ceil(end / LOGIT_PERIOD_S))
        return first, min(last, len(self.logits))

    @cached_property
    def _key_path(self) -> np.ndarray:
        """Viterbi key per step; silent or unclear steps inherit their neighbours' key."""
        if len(self.logits) == 0:
            return np.zeros(0, dtype=int)
        emission = self._evidence(smoothing=SMOOTHING_LOGITS)
        emission[self.level < MIN_LEVEL] = 0.0
        path = _viterbi(emission, SWITCH_PENALTY)
        return _merge_short_runs(path, int(round(MIN_SEGMENT_S / LOGIT_PERIOD_S)))

    @cached_property
    def _step_evidence(self) -> np.ndarray:
        return self._evidence(smoothing=1)

    def _evidence(self, *, smoothing: int) -> np.ndarray:
        """Per step, the log-probability of each key: CNN plus profiles, over `smoothing` steps."""
        logits = uniform_filter1d(self.logits, smoothing, axis=0, mode="nearest")
        pitch = uniform_filter1d(self.pitch_classes, smoothing, axis=0, mode="nearest")
        correlations = np.array([key_correlations(row) for row in pitch]).reshape(-1, 24)
        return (np.log(np.apply_along_axis(_softmax, 1, logits) + 1e-9)
                + np.log(np.apply_along_axis(_softmax, 1, PROFILE_SHARPNESS * correlations) + 1e-9))

    def _locate(self, step: int, before: int, after: int, left: int, right: int,
                downbeats: list[float] | None) -> float:
        """The time between steps `left` and `right` that best splits `before` from `after`."""
        evidence = self._step_evidence
        margin = evidence[left:right, before] - evidence[left:right, after]
        # Split after step k: evidence for `before` up to k, for `after` from k on.
        scores = np.concatenate([[0.0], np.cumsum(margin)])
        split = left + int(np.argmax(scores[1:-1])) + 1 if right - left > 1 else step
        time = split * LOGIT_PERIOD_S
        if downbeats:
            candidates = np.asarray(downbeats)
            time = float(candidates[np.argmin(np.abs(candidates - time))])
        return time


def harmonic_spectrum(audio: Audio) -> torch.Tensor:
    """The 8192-sample, 10 fps magnitude spectrum the key network and the chroma read."""
    return spectrogram.stft_magnitude(audio.at(spectrogram.SAMPLE_RATE), frame_size=8192,
                                      fps=SPECTRUM_FPS)


def analyze_tonality(audio: Audio, *, use_network: bool = True) -> Tonality:
    """Run the key network once over the song, and read its chroma.

    Parameters
    ----------
    audio : Audio
    use_network : bool
        False for licence-clean mode: madmom's key CNN (CC BY-NC-SA weights) is left out
        and its logits are zeros, a uniform opinion, so only the key profiles decide.
    """
    spectrum = harmonic_spectrum(audio)
    spec = spectrogram.log_filtered(spectrum[::SPECTRUM_FPS // KEY_FPS], frame_size=8192,
                                    num_bands=24, fmin=65, fmax=2100, norm_filters=True)
    steps = len(spec) // FRAMES_PER_LOGIT
    if steps == 0:
        return Tonality(logits=np.zeros((0, 24)), level=np.zeros(0), duration_s=audio.duration_s,
                        pitch_classes=np.zeros((0, 12)), pitch_weight=np.zeros(0))
    if use_network:
        maps = run_convolutional(key_network(), spec)  # (steps, bins, 24)
        logits = maps.mean(dim=1).numpy().astype(np.float64)
    else:
        logits = np.zeros((steps, 24))
    level = spec[: steps * FRAMES_PER_LOGIT].reshape(steps, -1).amax(dim=1).numpy()
    pitch_classes, pitch_weight = _pitch_steps(chroma(spectrum.numpy()), steps)
    return Tonality(logits=logits[:steps], level=level, duration_s=audio.duration_s,
                    pitch_classes=pitch_classes, pitch_weight=pitch_weight)


def _pitch_steps(frames: np.ndarray, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Chroma frames (10 fps) summed per key step, with their summed energy.

    A span's profile, the sum divided by the energy, is the mean of its frames normalised
    to sum 1, each weighted by its energy: loud frames count more, silence not at all.
    """
    per_step = FRAMES_PER_LOGIT * SPECTRUM_FPS // KEY_FPS
    frames = frames[: steps * per_step]
    frames = np.concatenate([frames, np.zeros((steps * per_step - len(frames), 12))])
    return (frames.reshape(steps, per_step, 12).sum(axis=1).astype(np.float64),
            frames.sum(axis=1).reshape(steps, per_step).sum(axis=1).astype(np.float64))


def _key_probabilities(network: np.ndarray, profile: np.ndarray) -> np.ndarray:
    """A span's key probabilities: the CNN's averaged posterior times the profile opinion."""
    return _softmax(np.log(network + 1e-9) + PROFILE_SHARPNESS * key_correlations(profile))


def _softmax(values: np.ndarray) -> np.ndarray:
    exp = np.exp(values - values.max())
    return exp / exp.sum()


def _viterbi(emission: np.ndarray, penalty: float) -> np.ndarray:
    steps, states = emission.shape
    score = emission[0].copy()
    back = np.zeros((steps, states), dtype=int)
    for t in range(1, steps):
        best = int(np.argmax(score))
        stay_or_switch = np.where(score >= score[best] - penalty, score, score[best] - penalty)
        back[t] = np.where(score >= score[best] - penalty, np.arange(states), best)
        score = stay_or_switch + emission[t]
    path = np.empty(steps, dtype=int)
    path[-1] = int(np.argmax(score))
    for t in range(steps - 1, 0, -1):
        path[t - 1] = back[t, path[t]]
    return path


def _merge_short_runs(path: np.ndarray, min_steps: int) -> np.ndarray:
    """Give runs shorter than `min_steps` the key of the longer neighbouring run."""
    path = path.copy()
    while True:
        starts = np.concatenate([[0], np.flatnonzero(np.diff(path)) + 1])
        ends = np.concatenate([starts[1:], [len(path)]])
        lengths = ends - starts
        short = [i for i in range(len(starts)) if lengths[i] < min_steps and len(starts) > 1]
        if not short:
            return path
        i = min(short, key=lambda j: lengths[j])
        neighbours = [j for j in (i - 1, i + 1) if 0 <= j < len(starts)]
        donor = max(neighbours, key=lambda j: lengths[j])
        path[starts[i]:ends[i]] = path[starts[donor]]
