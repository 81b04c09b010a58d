"""musicnn in PyTorch: the MTT and MSD 50-tag taggers, read straight from their TF1 checkpoints.

The `musicnn` package ships TensorFlow 1 checkpoints and needs TensorFlow to run them. This
module reads those checkpoints with a small pure-Python reader (a TF checkpoint is an
SSTable `.index` of `BundleEntryProto` records plus one raw `.data` shard) and rebuilds
the network of `musicnn/models.py` (`build_musicnn`) layer for layer, in eval mode.
Preprocessing follows `musicnn/extractor.py`: 16 kHz, 96-band librosa mel, `log10(10000 x + 1)`
on a float16 spectrogram, 187-frame (3 s) patches.
"""

from __future__ import annotations

import struct
from functools import lru_cache
from importlib.util import find_spec
from pathlib import Path

import librosa
import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

SAMPLE_RATE = 16000
FFT_SIZE = 512
FFT_HOP = 256
N_MELS = 96
PATCH_FRAMES = 187  # 3 s: librosa.time_to_frames(3, sr=16000, n_fft=512, hop_length=256) + 1
# tf.compat.v1.layers.batch_normalization's default.
_BN_EPSILON = 1e-3

MTT_LABELS = [
    "guitar", "classical", "slow", "techno", "strings", "drums", "electronic", "rock", "fast",
    "piano", "ambient", "beat", "violin", "vocal", "synth", "female", "indian", "opera", "male",
    "singing", "vocals", "no vocals", "harpsichord", "loud", "quiet", "flute", "woman",
    "male vocal", "no vocal", "pop", "soft", "sitar", "solo", "man", "classic", "choir", "voice",
    "new age", "dance", "male voice", "female vocal", "beats", "harp", "cello", "no voice",
    "weird", "country", "metal", "female voice", "choral",
]
MSD_LABELS = [
    "rock", "pop", "alternative", "indie", "electronic", "female vocalists", "dance", "00s",
    "alternative rock", "jazz", "beautiful", "metal", "chillout", "male vocalists",
    "classic rock", "soul", "indie rock", "Mellow", "electronica", "80s", "folk", "90s", "chill",
    "instrumental", "punk", "oldies", "blues", "hard rock", "ambient", "acoustic", "experimental",
    "female vocalist", "guitar", "Hip-Hop", "70s", "party", "country", "easy listening", "sexy",
    "catchy", "funk", "electro", "heavy metal", "Progressive rock", "60s", "rnb", "indie pop",
    "sad", "House", "happy",
]
LABELS = {"MTT_musicnn": MTT_LABELS, "MSD_musicnn": MSD_LABELS}


# --- TF1 checkpoint reader -------------------------------------------------------------------

def _varint(buffer: bytes, position: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = buffer[position]
        position += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return result, position


def _proto_fields(buffer: bytes):
    """(field number, value) pairs of a protobuf message: ints for varints, bytes otherwise."""
    position = 0
    while position < len(buffer):
        tag, position = _varint(buffer, position)
        field, wire_type = tag >> 3, tag & 7
        if wire_type == 0:
            value, position = _varint(buffer, position)
        elif wire_type == 2:
            length, position = _varint(buffer, position)
            value, position = buffer[position:position + length], position + length
        elif wire_type == 5:
            value, position = buffer[position:position + 4], position + 4
        elif wire_type == 1:
            value, position = buffer[position:position + 8], position + 8
        else:
            raise ValueError(f"unsupported protobuf wire type {wire_type}")
        yield field, value


def _sstable_block(table: bytes, handle: bytes):
    """The (key, value) entries of the SSTable block a BlockHandle points to."""
    offset, position = _varint(handle, 0)
    size, _ = _varint(handle, position)
    if table[offset + size] != 0:
        raise ValueError("compressed checkpoint index blocks are not supported")
    block = table[offset:offset + size]
    restarts = struct.unpack_from("<I", block, len(block) - 4)[0]
    end = len(block) - 4 - 4 * restarts
    position, key = 0, b""
    while position < end:
        shared, position = _varint(block, position)
        unshared, position = _varint(block, position)
        value_length, position = _varint(block, position)
        key = key[:shared] + block[position:position + unshared]
        position += unshared
        yield key, block[position:position + value_length]
        position += value_length


def read_checkpoint(prefix: str | Path) -> dict[str, np.ndarray]:
    """Every float32 variable of a single-shard TF checkpoint, optimizer slots left out.

    Parameters
    ----------
    prefix : str or Path
        The checkpoint prefix: `{prefix}.index` and `{prefix}.data-00000-of-00001` must exist.
        musicnn's prefix is its model folder plus "/" (the files are named `.index`, `.data...`).

    Returns
    -------
    dict
        Variable name (e.g. "conv2d_3/kernel") to array, in TensorFlow's layout.
    """
    index = Path(f"{prefix}.index").read_bytes()
    data = Path(f"{prefix}.data-00000-of-00001").read_bytes()
    # Footer: metaindex and index BlockHandles (varints), padding to 40 bytes, 8-byte magic.
    footer = index[-48:]
    _, position = _varint(footer, 0)
    _, position = _varint(footer, position)
    index_handle = footer[position:]
    variables = {}
    for _, data_handle in _sstable_block(index, index_handle):
        for key, entry in _sstable_block(index, data_handle):
            name = key.decode()
            if not name or "Adam" in name or name.endswith("_power"):
                continue
            fields = dict(_proto_fields(entry))
            if fields.get(1) != 1:  # DT_FLOAT
                continue
            shape = [dict(_proto_fields(dim)).get(1, 0)
                     for field, dim in _proto_fields(fields.get(2, b"")) if field == 2]
            offset, size = fields.get(4, 0), fields[5]
            array = np.frombuffer(data, dtype="<f4", count=size // 4, offset=offset)
            variables[name] = array.reshape(shape).copy()
    return variables


# --- network -----------------------------------------------------------------------------------

def _batch_norm(variables: dict[str, np.ndarray], name: str) -> nn.BatchNorm1d:
    gamma = variables[f"{name}/gamma"]
    layer = nn.BatchNorm1d(len(gamma), eps=_BN_EPSILON)
    layer.weight.data = torch.from_numpy(gamma)
    layer.bias.data = torch.from_numpy(variables[f"{name}/beta"])
    layer.running_mean = torch.from_numpy(variables[f"{name}/moving_mean"])
    layer.running_var = torch.from_numpy(variables[f"{name}/moving_variance"])
    return layer.eval()


def _conv2d(variables: dict[str, np.ndarray], name: str) -> nn.Conv2d:
    kernel = variables[f"{name}/kernel"]  # (height=time, width=freq, in, out)
    layer = nn.Conv2d(kernel.shape[2], kernel.shape[3], kernel_size=kernel.shape[:2])
    layer.weight.data = torch.from_numpy(kernel.transpose(3, 2, 0, 1).copy())
    layer.bias.data = torch.from_numpy(variables[f"{name}/bias"])
    return layer


def _conv_over_features(variables: dict[str, np.ndarray], name: str) -> nn.Conv1d:
    """A TF conv2d whose kernel spans the whole feature axis, as a Conv1d over time."""
    kernel = variables[f"{name}/kernel"]  # (7, features, 1, out)
    layer = nn.Conv1d(kernel.shape[1], kernel.shape[3], kernel_size=kernel.shape[0])
    layer.weight.data = torch.from_numpy(kernel[:, :, 0, :].transpose(2, 1, 0).copy())
    layer.bias.data = torch.from_numpy(variables[f"{name}/bias"])
    return layer


def _dense(variables: dict[str, np.ndarray], name: str) -> nn.Linear:
    kernel = variables[f"{name}/kernel"]
    layer = nn.Linear(*kernel.shape)
    layer.weight.data = torch.from_numpy(kernel.T.copy())
    layer.bias.data = torch.from_numpy(variables[f"{name}/bias"])
    return layer


class Musicnn(nn.Module):
    """`build_musicnn` of musicnn/models.py, eval mode, weights from its TF checkpoint.

    Layer names follow the order in which TensorFlow created them: the input batch norm,
    timbral 7x38 and 7x67 blocks, temporal 128/64/32 blocks, three mid-end convolutions,
    then the back-end's batch norm, dense(200), batch norm, dense(50).
    """

    def __init__(self, variables: dict[str, np.ndarray]):
        super().__init__()
        self.input_norm = _batch_norm(variables, "batch_normalization")
        self.timbral = nn.ModuleList(_conv2d(variables, f"conv2d{suffix}") for suffix in ("", "_1"))
        self.timbral_norms = nn.ModuleList(
            _batch_norm(variables, f"batch_normalization_{i}") for i in (1, 2))
        self.temporal = nn.ModuleList(_conv2d(variables, f"conv2d_{i}") for i in (2, 3, 4))
        self.temporal_norms = nn.ModuleList(
            _batch_norm(variables, f"batch_normalization_{i}") for i in (3, 4, 5))
        self.midend = nn.ModuleList(_conv_over_features(variables, f"conv2d_{i}") for i in (5, 6, 7))
        self.midend_norms = nn.ModuleList(
            _batch_norm(variables, f"batch_normalization_{i}") for i in (6, 7, 8))
        self.pool_norm = _batch_norm(variables, "batch_normalization_9")
        self.penultimate = _dense(variables, "dense")
        self.penultimate_norm = _batch_norm(variables, "batch_normalization_10")
        self.output_layer = _dense(variables, "dense_1")
        self.eval().requires_grad_(False)

    @torch.inference_mode()
    def forward(self, patches: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits (batch, 50) and penultimate embedding (batch, 200) of (batch, time, 96) patches."""
        scale, shift = _affine(self.input_norm)
        # channels_last lets oneDNN run the wide single-channel convolutions faster.
        x = (patches * scale + shift).unsqueeze(1).contiguous(memory_format=torch.channels_last)
        features = []
        padded = F.pad(x, (0, 0, 3, 3))
        for conv, bn in zip(self.timbral, self.timbral_norms):
            features.append(self._conv_block(padded, conv, bn))
        for conv, bn in zip(self.temporal, self.temporal_norms):
            # TF "same" padding puts the extra frame of an even kernel at the end.
            size = conv.kernel_size[0]
            features.append(self._conv_block(F.pad(x, (0, 0, (size - 1) // 2, size // 2)), conv, bn))
        frontend = torch.cat(features, dim=1)  # (B, 561, T)
        layers = [frontend]
        hidden = None
        for conv, bn in zip(self.midend, self.midend_norms):
            source = frontend if hidden is None else hidden
            out = bn(F.relu(conv(F.pad(source, (3, 3)))))
            hidden = out if hidden is None else out + hidden
            layers.append(hidden)
        midend = torch.cat(layers, dim=1)  # (B, 753, T)
        # TF concatenates [max, mean] on a trailing axis, then flattens: features interleave.
        pooled = torch.stack([midend.amax(dim=2), midend.mean(dim=2)], dim=2).flatten(1)
        embedding = self.penultimate_norm(F.relu(self.penultimate(self.pool_norm(pooled))))
        return self.output_layer(embedding), embedding

    @staticmethod
    def _conv_block(x: torch.Tensor, conv: nn.Conv2d, bn: nn.BatchNorm1d) -> torch.Tensor:
        """Convolution, ReLU, batch norm over channels, then max over the frequency axis."""
        # The max over frequency commutes with ReLU and, channel by channel, with the batch
        # norm's affine map (becoming a min where its scale is negative): reducing first
        # spares two passes over the large (batch, channels, time, frequency) tensor.
        low, high = torch.aminmax(conv(x), dim=3)
        scale, shift = _affine(bn)
        scale, shift = scale[None, :, None], shift[None, :, None]
        return torch.where(scale >= 0, F.relu(high), F.relu(low)) * scale + shift


def _affine(bn: nn.BatchNorm1d) -> tuple[torch.Tensor, torch.Tensor]:
    """An eval-mode batch norm as `x * scale + shift`."""
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    return scale, bn.bias - bn.running_mean * scale


def checkpoint_prefix(model: str) -> Path:
    """Where the `musicnn` package keeps a model's checkpoint ("MTT_musicnn", "MSD_musicnn")."""
    spec = find_spec("musicnn")
    if spec is None or spec.origin is None:
        raise FileNotFoundError("the musicnn package (its checkpoints) is not installed: "
                                "pip install --no-deps musicnn")
    return Path(spec.origin).parent / model


@lru_cache(maxsize=2)
def load_musicnn(model: str = "MTT_musicnn") -> Musicnn:
    """The ported network for "MTT_musicnn" or "MSD_musicnn", built once per process."""
    if model not in LABELS:
        raise ValueError(f"unknown musicnn model {model!r}; choose from {sorted(LABELS)}")
    return Musicnn(read_checkpoint(f"{checkpoint_prefix(model)}/"))


def log_mel(samples: np.ndarray) -> np.ndarray:
    """musicnn's input representation of a 16 kHz signal: (frames, 96) log-compressed mel."""
    mel = librosa.feature.melspectrogram(y=samples, sr=SAMPLE_RATE, hop_length=FFT_HOP,
                                         n_fft=FFT_SIZE, n_mels=N_MELS).T
    # musicnn rounds the spectrogram to float16; its log is taken here in float32, because
    # float16 overflows (to inf, then NaN in the network) once 10000 * power passes 65504.
    return np.log10(10000 * mel.astype(np.float16).astype(np.float32) + 1)
