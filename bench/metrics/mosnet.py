"""MOSNet (Lo et al., Interspeech 2019): the TAAE paper's reference-free MOS predictor, in PyTorch.

This is the project's own implementation of the authors' CNN-BLSTM; only the *weights* come from
them: ``cnn_blstm.h5`` (lochenchou/MOSNet ``pre_trained/``, MIT, "MOSNet, Lo et al. 2019"), read
with ``h5py`` from ``weights=``, else ``$MOSNET_WEIGHTS`` (a file, or a folder holding
``cnn_blstm.h5``), else ``../shared/models/mosnet/cnn_blstm.h5`` beside this repository, and
checked against the published file's SHA-256 before use. Nothing is downloaded; without the file
the metric is unavailable and says where it looked (:func:`unavailable`).

**Features** (as the authors' ``get_spectrograms``): magnitude STFT of the 16 kHz signal, n_fft
512, hop 256, window = symmetric Hamming of 512 (``scipy.signal.hamming(512)``), centred frames;
no log, no pre-emphasis, no normalisation → ``[T, 257]`` with ``T = 1 + samples // 256``.
Centring pads 256 samples each side by **reflection**: the librosa the authors trained with (2019,
≤ 0.9) padded with ``reflect``; librosa ≥ 0.10 pads with zeros by default, which moves a score by
up to a few hundredths (both variants are recorded in ``tests/golden/mosnet_reference.json``).
Reflection needs more than 256 samples, so shorter clips are refused (``ValueError``).

**Network** (read from the file's ``model_config``): ``[T, 257, 1]`` → four blocks of three 3×3
ReLU convolutions (16, 32, 64, 128 filters; the third of each strides 3 along frequency:
257 → 86 → 29 → 10 → 4) with TensorFlow's ``same`` padding (for a stride, the odd padding sample
goes to the end) → ``[T, 512]`` (frequency-major, channel-minor, as Keras's channels-last reshape)
→ bidirectional LSTM, 128 units each way, outputs concatenated (forward, backward) → per-frame
Dense 128 ReLU (its dropout is off at inference) → per-frame Dense 1 → mean over frames.

**The LSTM is the saved one**, not TF2's default: gates ordered i, f, c, o as Keras stores them;
``recurrent_activation = hard_sigmoid`` in Keras 2.1.2's definition ``clip(0.2·x + 0.5, 0, 1)``
(Keras 3's ``hard_sigmoid`` is ``relu6(x + 3) / 6``, a different function); cell and output
activation ``tanh``. With a plain sigmoid the saved weights give very different scores.

**Batching**: :func:`mosnet_scores` scores clips of any lengths together; padded frames are zeroed
after every convolution (which then sees exactly the zeros of its own ``same`` padding), the
backward LSTM runs each clip reversed within its own length, and the mean covers each clip's own
frames, so a clip scores the same in any batch as alone (tested). On one CPU thread batching does
not pay (padding and larger activations: 61 against 45 ms per audio-second one clip at a time);
it is there for devices where the LSTM's per-step overhead dominates.

**Cost** (``benchmarks/metric_cost.py``, one thread, 2-core machine under a load average of ~6;
PESQ-WB beside it: 39 ms, DNSMOS: 164 ms per audio-second): 35-46 ms per audio-second, first call
in a process 0.6 s (hashing and reading the 14 MB file). Not in the default metric set all the
same: its weights live outside the repository and ``h5py`` comes with the ``[metrics]`` extra, and
the default set is what a fresh clone's first ``bench run`` and the regression gate compute.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from bench.metrics import METRIC_SAMPLE_RATE, Metric, MetricUnavailable, register_metric

H5PY_PIN = "h5py==3.16.0"
WEIGHTS_ENV = "MOSNET_WEIGHTS"
WEIGHTS_FILE = "cnn_blstm.h5"
#: Where the weights sit in this project's layout (``../shared/models/mosnet/cnn_blstm.h5``).
SHARED_WEIGHTS = (
    Path(__file__).resolve().parent.parent.parent.parent / "shared" / "models" / "mosnet"
) / WEIGHTS_FILE
#: SHA-256 of the authors' published ``pre_trained/cnn_blstm.h5``.
WEIGHTS_SHA256 = "78b75e7d76ee6074ea7d57dcffa56d0c90be9d3d8dedc2217e25e259423cb756"
SOURCE = "lochenchou/MOSNet, pre_trained/cnn_blstm.h5 (MIT)"

N_FFT = 512
HOP = 256
BINS = N_FFT // 2 + 1  # 257
CONV_FILTERS = (16, 32, 64, 128)  # per block; three 3×3 layers each, the third strides 3 in freq
HIDDEN = 128  # LSTM units per direction
#: Padded frames (16 ms hop each) per batch of :func:`mosnet_scores`, which bounds memory: the
#: first block's activations are 16 × 257 floats per frame, ~66 MB per layer at 4000 frames (64 s).
BATCH_FRAMES = 4000

DEFINITION = (
    "MOSNet (Lo et al. 2019) CNN-BLSTM with the authors' published weights `cnn_blstm.h5` "
    "(Keras 2.1.2, trained on the VCC 2018 listening test), run by the project's own PyTorch "
    "port (tested against a TensorFlow build of the same file): |STFT| of the decoded audio "
    "alone (16 kHz float clipped to [-1, 1]; n_fft 512, hop 256, symmetric Hamming 512, centred "
    "frames with reflect padding, no log), LSTM with Keras 2's hard_sigmoid(x) = "
    "clip(0.2x + 0.5, 0, 1) as saved; utterance score = mean of the frame scores (MOS 1-5 scale)."
)


class MOSNetUnavailable(MetricUnavailable):
    """MOSNet cannot run here (weights or ``h5py`` missing); the message says where and the fix."""


# ------------------------------------------------------------------------------ weights
def weights_path(weights: str | os.PathLike[str] | None = None) -> Path:
    """The file the weights are read from: ``weights``, else ``$MOSNET_WEIGHTS``, else
    ``../shared/models/mosnet/cnn_blstm.h5``; a folder means ``<folder>/cnn_blstm.h5``."""
    if weights is None:
        env = os.environ.get(WEIGHTS_ENV)
        path = Path(env).expanduser() if env else SHARED_WEIGHTS
    else:
        path = Path(weights).expanduser()
    return path / WEIGHTS_FILE if path.is_dir() else path


def unavailable(weights: str | os.PathLike[str] | None = None) -> str | None:
    """``None`` when MOSNet can run with these weights, else why not (with the path and the fix)."""
    try:
        import h5py  # noqa: F401
    except ImportError:
        return f"h5py not installed: pip install {H5PY_PIN} (or the project's [metrics] extra)"
    path = weights_path(weights)
    if not path.is_file():
        return (
            f"MOSNet weights not found at {path}: put {SOURCE} there "
            f"or set ${WEIGHTS_ENV} to the file"
        )
    st = path.stat()
    return _check_sha256(str(path), st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=8)
def _check_sha256(path: str, size: int, mtime_ns: int) -> str | None:
    # keyed on size and mtime: the 14 MB file is hashed once per process, not per utterance
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    if digest != WEIGHTS_SHA256:
        return (
            f"{path} has SHA-256 {digest[:12]}…, not the published {WEIGHTS_SHA256[:12]}… "
            f"of {SOURCE}: replace it with that file"
        )
    return None


def read_weights(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """Every array under ``model_weights`` of a Keras HDF5 file, keyed ``layer/.../name:0``, after
    checking that the saved LSTM is the one this port implements (hard_sigmoid, tanh, 128 units)."""
    import h5py

    with h5py.File(path, "r") as fh:
        config = json.loads(fh.attrs["model_config"])
        layers = {layer["name"]: layer for layer in config["config"]["layers"]}
        lstm = layers["bidirectional_1"]["config"]["layer"]["config"]
        expected = {"recurrent_activation": "hard_sigmoid", "activation": "tanh", "units": HIDDEN}
        wrong = {k: lstm.get(k) for k, v in expected.items() if lstm.get(k) != v}
        if wrong or layers["bidirectional_1"]["config"].get("merge_mode") != "concat":
            raise ValueError(f"{path}: not the MOSNet CNN-BLSTM this port implements ({wrong})")
        arrays: dict[str, np.ndarray] = {}

        def collect(name: str, obj: object) -> None:
            if isinstance(obj, h5py.Dataset):
                arrays[name] = obj[()]

        fh["model_weights"].visititems(collect)
    return arrays


# ------------------------------------------------------------------------------ features
def magnitude_spectrogram(wav: torch.Tensor, pad_mode: str = "reflect") -> torch.Tensor:
    """``|STFT|`` of one 16 kHz clip ``wav [S]`` → ``[T, 257]``, ``T = 1 + S // 256`` (centred
    frames, symmetric Hamming window; module docstring). ``pad_mode="constant"`` gives librosa
    ≥ 0.10's default zero padding instead of the authors' reflection, for comparisons."""
    if wav.ndim != 1:
        raise ValueError(f"expected one clip [S], got shape {tuple(wav.shape)}")
    if wav.shape[0] <= N_FFT // 2:
        raise ValueError(
            f"clip of {wav.shape[0]} samples is too short for MOSNet's reflect-padded STFT "
            f"(needs more than {N_FFT // 2})"
        )
    window = torch.hamming_window(N_FFT, periodic=False, dtype=wav.dtype, device=wav.device)
    spec = torch.stft(
        wav, n_fft=N_FFT, hop_length=HOP, win_length=N_FFT, window=window,
        center=True, pad_mode=pad_mode, return_complex=True,
    )  # fmt: skip
    return spec.abs().transpose(0, 1)


# ------------------------------------------------------------------------------ network
def hard_sigmoid(x: torch.Tensor) -> torch.Tensor:
    """Keras 2.1.2's ``hard_sigmoid``: ``clip(0.2·x + 0.5, 0, 1)``."""
    return torch.clamp(0.2 * x + 0.5, 0.0, 1.0)


@dataclass
class MOSNetOutput:
    """What :class:`MOSNet` predicts for a batch.

    Attributes:
        frame_scores: per-frame scores ``[B, T]`` (frames past a clip's length are 0).
        scores: utterance scores ``[B]``: the mean of each clip's own frame scores.
    """

    frame_scores: torch.Tensor
    scores: torch.Tensor


class MOSNet(nn.Module):
    """The CNN-BLSTM (module docstring); ``forward(spec [B, T, 257], lengths [B])``."""

    def __init__(self) -> None:
        super().__init__()
        convs, strides, channels = [], [], 1
        for filters in CONV_FILTERS:
            for j in range(3):
                convs.append(nn.Conv2d(channels, filters, kernel_size=3))
                strides.append(3 if j == 2 else 1)
                channels = filters
        self.convs = nn.ModuleList(convs)
        self.freq_strides = tuple(strides)
        # Keras layout, gates i, f, c, o along the last axis; index 0 forward, 1 backward.
        self.kernel = nn.Parameter(torch.zeros(2, 4 * CONV_FILTERS[-1], 4 * HIDDEN))
        self.recurrent_kernel = nn.Parameter(torch.zeros(2, HIDDEN, 4 * HIDDEN))
        self.bias = nn.Parameter(torch.zeros(2, 4 * HIDDEN))
        self.dense = nn.Linear(2 * HIDDEN, 128)
        self.frame_score = nn.Linear(128, 1)

    @classmethod
    def from_keras_h5(cls, path: str | os.PathLike[str]) -> MOSNet:
        """The network with the weights of the authors' Keras file at ``path``."""
        w = read_weights(path)
        model = cls()
        with torch.no_grad():
            for k, conv in enumerate(model.convs, start=1):
                kernel = w[f"conv2d_{k}/conv2d_{k}/kernel:0"]  # [kt, kf, in, out]
                conv.weight.copy_(torch.from_numpy(kernel.transpose(3, 2, 0, 1).copy()))
                conv.bias.copy_(torch.from_numpy(w[f"conv2d_{k}/conv2d_{k}/bias:0"]))
            for d, direction in enumerate(("forward", "backward")):
                prefix = f"bidirectional_1/bidirectional_1/{direction}_lstm_1/"
                model.kernel[d].copy_(torch.from_numpy(w[prefix + "kernel:0"]))
                model.recurrent_kernel[d].copy_(torch.from_numpy(w[prefix + "recurrent_kernel:0"]))
                model.bias[d].copy_(torch.from_numpy(w[prefix + "bias:0"]))
            for layer, name in (
                (model.dense, "time_distributed_2"),
                (model.frame_score, "Frame_score"),
            ):
                layer.weight.copy_(torch.from_numpy(w[f"{name}/{name}/kernel:0"].T.copy()))
                layer.bias.copy_(torch.from_numpy(w[f"{name}/{name}/bias:0"]))
        return model.eval()

    def cnn(self, spec: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``spec [B, T, 257]``, ``mask [B, T]`` (1 = real frame) → features ``[B, T, 512]``."""
        x = spec.unsqueeze(1)  # [B, 1, T, 257]: channels first, (time, frequency)
        keep = mask[:, None, :, None]
        for conv, stride in zip(self.convs, self.freq_strides, strict=True):
            bins = x.shape[-1]
            out = -(-bins // stride)
            pad = max((out - 1) * stride + 3 - bins, 0)  # TF 'same': the odd sample at the end
            x = F.pad(x, (pad // 2, pad - pad // 2, 1, 1))
            x = torch.relu(F.conv2d(x, conv.weight, conv.bias, stride=(1, stride))) * keep
        b, c, t, f = x.shape  # [B, 128, T, 4]
        return x.permute(0, 2, 3, 1).reshape(b, t, f * c)  # Keras: frequency-major, channel-minor

    def blstm(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Bidirectional hard-sigmoid LSTM: ``x [B, T, 512]`` → ``[B, T, 256]`` (forward ‖
        backward); the backward direction reads each clip from its own last frame."""
        b, t, _ = x.shape
        steps = torch.arange(t, device=x.device)
        valid = steps[None, :] < lengths[:, None]  # [B, T]
        rev = torch.where(valid, lengths[:, None] - 1 - steps[None, :], steps[None, :])
        x_rev = torch.gather(x, 1, rev[:, :, None].expand_as(x))
        # gates reordered i, f, o, c so that one hard_sigmoid covers the three sigmoid gates
        perm = torch.cat([torch.arange(0, 2 * HIDDEN), torch.arange(3 * HIDDEN, 4 * HIDDEN),
                          torch.arange(2 * HIDDEN, 3 * HIDDEN)]).to(x.device)  # fmt: skip
        kernel, recurrent = self.kernel[..., perm], self.recurrent_kernel[..., perm]
        proj = torch.matmul(torch.stack([x, x_rev]).reshape(2, b * t, -1), kernel)
        proj = (proj + self.bias[:, None, perm]).reshape(2, b, t, 4 * HIDDEN).transpose(1, 2)
        proj = proj.contiguous()  # [2, T, B, 4H]: one contiguous slab per step
        h = x.new_zeros(2, b, HIDDEN)
        c = x.new_zeros(2, b, HIDDEN)
        outs = []
        for step in range(t):
            z = torch.baddbmm(proj[:, step], h, recurrent)  # [2, B, 4H]
            gates = hard_sigmoid(z[..., : 3 * HIDDEN])
            i, f, o = gates.split(HIDDEN, dim=-1)
            c = torch.addcmul(f * c, i, torch.tanh(z[..., 3 * HIDDEN :]))
            h = o * torch.tanh(c)
            outs.append(h)
        out = torch.stack(outs, dim=2)  # [2, B, T, H]
        backward = torch.gather(out[1], 1, rev[:, :, None].expand(b, t, HIDDEN))
        return torch.cat([out[0], backward], dim=-1)

    def forward(self, spec: torch.Tensor, lengths: torch.Tensor) -> MOSNetOutput:
        """Scores for a batch of spectrograms ``spec [B, T, 257]`` whose clip ``b`` has
        ``lengths[b]`` real frames (the rest is padding)."""
        t = spec.shape[1]
        lengths = lengths.to(spec.device)
        mask = (torch.arange(t, device=spec.device)[None, :] < lengths[:, None]).to(spec.dtype)
        h = self.blstm(self.cnn(spec, mask), lengths)
        frames = self.frame_score(torch.relu(self.dense(h))).squeeze(-1) * mask  # [B, T]
        return MOSNetOutput(frame_scores=frames, scores=frames.sum(1) / lengths.to(spec.dtype))


@functools.lru_cache(maxsize=4)
def _load(path: str, device: str) -> MOSNet:
    return MOSNet.from_keras_h5(path).to(device)


def load_mosnet(
    weights: str | os.PathLike[str] | None = None, device: str | torch.device = "cpu"
) -> MOSNet:
    """The pretrained network on ``device`` (cached per file and device);
    :class:`MOSNetUnavailable` with the path and the fix when it cannot be loaded."""
    reason = unavailable(weights)
    if reason is not None:
        raise MOSNetUnavailable(reason)
    return _load(str(weights_path(weights).resolve()), str(torch.device(device)))


# ------------------------------------------------------------------------------ scoring
def mosnet_scores(
    clips: list[np.ndarray],
    device: str | torch.device = "cpu",
    weights: str | os.PathLike[str] | None = None,
    batch_frames: int = BATCH_FRAMES,
    pad_mode: str = "reflect",
) -> list[float]:
    """MOSNet scores of 16 kHz ``clips`` (1-D float arrays of any lengths, each > 256 samples,
    clipped to [-1, 1]), scored in batches of at most ``batch_frames`` padded frames (clips sorted
    by length). ``pad_mode``: see :func:`magnitude_spectrogram`."""
    model = load_mosnet(weights, device)
    dev = next(model.parameters()).device
    specs = [
        magnitude_spectrogram(
            torch.from_numpy(np.clip(np.asarray(c, dtype=np.float32), -1.0, 1.0)).to(dev),
            pad_mode,
        )
        for c in clips
    ]
    order = sorted(range(len(specs)), key=lambda i: specs[i].shape[0])
    scores: list[float] = [float("nan")] * len(specs)
    batch: list[int] = []

    def flush() -> None:
        longest = specs[batch[-1]].shape[0]
        padded = torch.stack([F.pad(specs[i], (0, 0, 0, longest - specs[i].shape[0]))
                              for i in batch])  # fmt: skip
        lengths = torch.tensor([specs[i].shape[0] for i in batch], device=dev)
        with torch.inference_mode():
            out = model(padded, lengths).scores.cpu().tolist()
        for i, s in zip(batch, out, strict=True):
            scores[i] = float(s)
        batch.clear()

    for i in order:  # ascending length: a batch's padding is at most its own spread
        if batch and (len(batch) + 1) * specs[i].shape[0] > batch_frames:
            flush()
        batch.append(i)
    if batch:
        flush()
    return scores


def mosnet(reference: np.ndarray, decoded: np.ndarray, device: str = "cpu") -> float:
    """MOSNet score of ``decoded`` (``reference`` is unused: the predictor is reference-free)."""
    return mosnet_scores([decoded], device=device)[0]


register_metric(
    Metric(
        name="mosnet",
        label="MOSNet",
        unit="MOS",
        higher_is_better=True,
        fn=mosnet,
        definition=DEFINITION,
        intrusive=False,
        sample_rate=METRIC_SAMPLE_RATE,
        default=False,
        unavailable=unavailable,
    )
)
