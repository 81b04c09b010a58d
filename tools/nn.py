"""Torch ports of madmom's pickled networks (beats/downbeats BLSTM, key CNN).

The weights are madmom's own, loaded through madmom and copied; only the arithmetic
changes: madmom's per-channel convolutions become torch `Conv2d`s, and its per-member,
per-direction LSTM loops become one batched numpy recurrence. Networks are built once per process and cached; they hold no
state between calls, so they are safe to use from several threads.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch
from scipy.special import expit
from torch import nn

from linernotes.tools.madmom_shim import madmom  # first: makes the submodule imports below work
import madmom.ml.nn.activations as _activations  # noqa: E402
import madmom.ml.nn.layers as _layers  # noqa: E402


# --- convolutional networks -------------------------------------------------------------


class _BatchNorm(nn.Module):
    """madmom's inference-time batch norm followed by its activation."""

    def __init__(self, layer):
        super().__init__()
        scale = layer.gamma * layer.inv_std
        self.register_buffer("scale", _tensor(scale).view(1, -1, 1, 1))
        self.register_buffer("shift", _tensor(layer.beta - layer.mean * scale).view(1, -1, 1, 1))
        self.activation = _torch_activation(layer.activation_fn)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.activation(x * self.scale + self.shift)


def _convolution(layer) -> nn.Module:
    if layer.pad != "valid" or layer.stride not in (None, 1, (1, 1)):
        raise NotImplementedError(f"convolution with pad={layer.pad} stride={layer.stride}")
    in_channels, out_channels, *kernel = layer.weights.shape
    conv = nn.Conv2d(in_channels, out_channels, tuple(kernel))
    # madmom convolves (flipped kernel); torch correlates.
    conv.weight.data = _tensor(layer.weights.transpose(1, 0, 2, 3)[:, :, ::-1, ::-1])
    conv.bias.data = _tensor(np.broadcast_to(layer.bias, (out_channels,)))
    activation = _torch_activation(layer.activation_fn)
    return conv if isinstance(activation, nn.Identity) else nn.Sequential(conv, activation)


def _convert_layer(layer) -> nn.Module:
    if isinstance(layer, _layers.ConvolutionalLayer):
        return _convolution(layer)
    if isinstance(layer, _layers.BatchNormLayer):
        return _BatchNorm(layer)
    if isinstance(layer, _layers.PadLayer):
        if tuple(layer.axes) != (0, 1) or layer.value != 0:
            raise NotImplementedError(f"padding axes={layer.axes} value={layer.value}")
        return nn.ZeroPad2d(layer.width)
    if isinstance(layer, _layers.MaxPoolLayer):
        if layer.axis is not None or tuple(layer.size) != tuple(layer.stride):
            raise NotImplementedError(f"max pool size={layer.size} stride={layer.stride}")
        return nn.MaxPool2d(tuple(layer.size))
    raise NotImplementedError(f"no torch port of madmom's {type(layer).__name__}")


def convolutional_network(path: str, *, drop_final_average: bool = False) -> nn.Sequential:
    """A madmom CNN as a torch module mapping (batch, 1, frames, bins) to feature maps.

    Parameters
    ----------
    path : str
        madmom model pickle.
    drop_final_average : bool
        Leave out a trailing global `AverageLayer` so the caller can pool over any span.
    """
    layers = list(madmom.ml.nn.NeuralNetwork.load(path).layers)
    if drop_final_average and isinstance(layers[-1], _layers.AverageLayer):
        layers = layers[:-1]
    return nn.Sequential(*(_convert_layer(layer) for layer in layers)).eval()


@lru_cache(maxsize=None)
def key_network() -> nn.Sequential:
    """madmom's 2018 key CNN without its global average: per-position key logits (24 maps)."""
    return convolutional_network(madmom.models.KEY_CNN[0], drop_final_average=True)


def run_convolutional(network: nn.Module, spectrogram: torch.Tensor) -> torch.Tensor:
    """Apply a ported CNN to a (frames, bins) spectrogram; returns (frames', bins', maps)."""
    with torch.inference_mode():
        out = network(spectrogram[None, None])
    return out[0].permute(1, 2, 0)


# --- recurrent ensemble -----------------------------------------------------------------


class BLSTMEnsemble:
    """All members of a madmom BLSTM ensemble run as one batch of recurrences.

    Every (member, direction) pair is an independent LSTM with peephole connections;
    the 16 are stacked and stepped together (madmom steps each alone), with the input
    projections done a block of `_PROJECTION_FRAMES` frames ahead of the recurrence (all
    frames at once took 0.35 GB for a 4-minute song: the projections, their reversed
    and transposed copies). The recurrence runs in
    numpy: its steps are tiny, and numpy's single-threaded ufuncs cost far less per
    step than torch's thread pool on a busy machine. Cutting time into chunks stepped
    in parallel was tried: the LSTMs remember for longer than 10 s (activations off by
    up to 0.17) and it was no faster on 2 cores.
    """

    def __init__(self, paths: list[str]):
        networks = [madmom.ml.nn.NeuralNetwork.load(path) for path in paths]
        # Per layer: stacked (member, direction) weights, shape (streams, ...).
        self.layers = []
        for depth in range(len(networks[0].layers) - 1):
            lstms = []
            for network in networks:
                layer = network.layers[depth]
                lstms += [layer.fwd_layer, layer.bwd_layer]
            self.layers.append(_stack_lstms(lstms))
        outputs = [network.layers[-1] for network in networks]
        if any(layer.activation_fn is not _activations.softmax for layer in outputs):
            raise NotImplementedError("ensemble output layer other than softmax")
        self.out_weights = np.stack([layer.weights for layer in outputs]).astype(np.float32)
        self.out_bias = np.stack([layer.bias for layer in outputs]).astype(np.float32)[:, None]
        self.num_members = len(networks)

    def __call__(self, features: np.ndarray) -> np.ndarray:
        """Mean of the members' outputs, shape (frames, outputs), for (frames, inputs)."""
        # Each layer reads the one below it: the features (shared by all members), then the
        # previous layer's outputs; streams alternate forward/backward per member.
        below = np.asarray(features, dtype=np.float32)
        for weights in self.layers:
            below = _run_lstm(below, weights)  # (frames, streams, hidden), each stream in its own time
        # Per member, the last layer's forward and (time-restored) backward outputs side by side.
        x = np.concatenate([below[:, 0::2], below[::-1, 1::2]], axis=2).transpose(1, 0, 2)
        del below
        x = np.ascontiguousarray(x)
        logits = x @ self.out_weights + self.out_bias
        logits -= logits.max(axis=2, keepdims=True)
        probabilities = np.exp(logits)
        probabilities /= probabilities.sum(axis=2, keepdims=True)
        return probabilities.mean(axis=0)


def _stack_lstms(lstms) -> dict[str, np.ndarray]:
    for lstm in lstms:
        if lstm.activation_fn is not _activations.tanh or np.any(lstm.init) or np.any(lstm.cell_init):
            raise NotImplementedError("LSTM with a non-tanh output or a non-zero initial state")
    gates = ("input_gate", "forget_gate", "cell", "output_gate")
    peepholes = ("input_gate", "forget_gate", "output_gate")
    stacked = {
        "input": [np.concatenate([getattr(l, g).weights for g in gates], 1) for l in lstms],
        "bias": [np.concatenate([getattr(l, g).bias for g in gates]) for l in lstms],
        "recurrent": [np.concatenate([getattr(l, g).recurrent_weights for g in gates], 1)
                      for l in lstms],
        "peephole": [np.stack([getattr(l, g).peephole_weights for g in peepholes]) for l in lstms],
    }
    return {name: np.stack(value).astype(np.float32) for name, value in stacked.items()}


# Frames whose input projections are computed at once, ahead of the recurrence (6.5 MB for
# 16 streams of 100 gates). Every block but a lone short song's has at least this many rows
# (the remainder joins the last block), so no block falls to BLAS's small-matrix paths: the
# activations came out bit-identical to projecting all frames at once (two evalset songs,
# random inputs of 5 to 3,000 frames).
_PROJECTION_FRAMES = 1024


def _layer_rows(below: np.ndarray, member: int, first: int, last: int) -> np.ndarray:
    """A member's layer input at frames [first, last), (frames, inputs).

    `below` is the network's input (frames, inputs), shared by all members, or the layer
    below's outputs (frames, streams, hidden): the member's forward outputs beside its
    backward ones, whose step `t` is frame ``frames - 1 - t``.
    """
    if below.ndim == 2:
        return below[first:last]
    frames = len(below)
    return np.concatenate([below[first:last, 2 * member],
                           below[frames - last:frames - first, 2 * member + 1][::-1]], axis=1)


def _projections(below: np.ndarray, weights: dict[str, np.ndarray], first: int, last: int
                 ) -> np.ndarray:
    """Input projections plus bias of steps [first, last), shape (steps, streams, 4 * hidden).

    A backward stream's step `t` is frame ``frames - 1 - t``; see `_layer_rows` for `below`.
    """
    inputs, bias = weights["input"], weights["bias"]
    frames, streams = len(below), len(inputs)
    block = np.empty((last - first, streams, inputs.shape[2]), np.float32)
    for stream in range(streams):
        if stream % 2:
            rows = _layer_rows(below, stream // 2, frames - last, frames - first)
            block[:, stream] = (rows @ inputs[stream])[::-1]
        else:
            block[:, stream] = _layer_rows(below, stream // 2, first, last) @ inputs[stream]
        block[:, stream] += bias[stream]
    return block


def _blocks(frames: int) -> list[tuple[int, int]]:
    """[first, last) steps of the projection blocks; the remainder joins the last block."""
    edges = list(range(0, frames, _PROJECTION_FRAMES))[:max(1, frames // _PROJECTION_FRAMES)]
    return list(zip(edges, edges[1:] + [frames]))


def _run_lstm(below: np.ndarray, weights: dict[str, np.ndarray]) -> np.ndarray:
    """Peephole LSTMs, forward and backward per member, over the layer below (`_layer_rows`).

    Input projections are made a block at a time (`_projections`); only the recurrence
    is stepped. Returns (frames, streams, hidden), each stream in its own time order (a
    backward stream's first step is the last frame).
    """
    hidden = weights["bias"].shape[1] // 4
    recurrent = weights["recurrent"]
    peep_i, peep_f, peep_o = weights["peephole"].transpose(1, 0, 2)
    frames, streams = len(below), len(recurrent)
    h = np.zeros((streams, 1, hidden), np.float32)
    c = np.zeros((streams, hidden), np.float32)
    outputs = np.empty((frames, streams, hidden), np.float32)
    for first, last in _blocks(frames):
        for t, projection in enumerate(_projections(below, weights, first, last), start=first):
            gates = (h @ recurrent)[:, 0] + projection
            g_i, g_f = gates[:, :hidden], gates[:, hidden:2 * hidden]
            g_c, g_o = gates[:, 2 * hidden:3 * hidden], gates[:, 3 * hidden:]
            c = np.tanh(g_c) * expit(g_i + c * peep_i) + c * expit(g_f + c * peep_f)
            out = np.tanh(c) * expit(g_o + c * peep_o)
            outputs[t] = out
            h = out[:, None]
    return outputs


@lru_cache(maxsize=None)
def downbeat_ensemble() -> BLSTMEnsemble:
    """madmom's 2016 joint beat/downbeat BLSTM ensemble (8 members, 100 fps)."""
    return BLSTMEnsemble(list(madmom.models.DOWNBEATS_BLSTM))


# --- helpers ----------------------------------------------------------------------------


def _tensor(array) -> torch.Tensor:
    return torch.tensor(np.array(array, dtype=np.float32))


def _torch_activation(function) -> nn.Module:
    known = {
        _activations.linear: nn.Identity,
        _activations.relu: nn.ReLU,
        _activations.elu: nn.ELU,
        _activations.sigmoid: nn.Sigmoid,
        _activations.tanh: nn.Tanh,
    }
    if function is None:
        return nn.Identity()
    if function is _activations.softmax:
        return nn.Softmax(dim=-1)
    if function not in known:
        raise NotImplementedError(f"no torch port of activation {function}")
    return known[function]()
