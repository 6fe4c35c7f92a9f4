"""DNSMOS (Reddy et al., 2022): reference-free MOS predictor; its ONNX models ship in ``speechmos``.

The TAAE paper reports MOSNet, whose weights cannot be fetched here; this is a different predictor
and is labelled by its real name everywhere ("DNSMOS OVRL"). It scores the decoded audio only.

Cost. The P.835 network, read from its ONNX graph, is: frame-local log-power features of
320-sample frames (hop 160) → four 3×3 conv + ReLU layers at full time resolution (95 % of the
cost) → max-pools, three more conv layers, a global max and dense layers, per 9.01 s window (900
frames). Windows hop by 1 s (100 frames), so consecutive windows share 800 of their frames. The
*shared* path runs the four expensive layers once over the whole (tiled) clip and, per window,
recomputes only the 4 frames at each window edge (the receptive field of four 3×3 layers, where the
window's own zero padding differs from the neighbouring audio); the rest of the network runs per
window on the result. Every window sees the same numbers as when scored alone (tested against
speechmos to 1e-6); a clip of a single window takes the plain one-window path.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bench.metrics import METRIC_SAMPLE_RATE, Metric, register_metric

DEFINITION = (  # computed by the fast path below; equal to speechmos's own function (tested)
    "DNSMOS P.835 OVRL (non-personalized model `sig_bak_ovr.onnx` shipped in speechmos 0.0.1.1), "
    "mean over 9.01 s windows hopped by 1 s (shorter clips are tiled to 9.01 s by the package); "
    "scores the decoded audio alone, clamped to [-1, 1]. Not MOSNet."
)


#: The package's constants (speechmos/dnsmos.py): window length and hop, non-personalized OVRL fit.
WINDOW_SECONDS = 9.01
HOP_SECONDS = 1
OVRL_POLY = (-0.06766283, 1.11546468, 0.04602535)

#: Tensors of ``sig_bak_ovr.onnx`` where the graph is cut (names as in the file).
INPUT = "input_1"  # [N, 144160] samples of one window
FEATURES = "adjusted_input6"  # [N, 1, 900, 161] log-power features, frame-local
TRUNK = "mos_estimator_logpow/conv2d_3/Relu:0"  # [N, 32, 900, 161] after the four 3×3 layers
OUTPUT = "Identity:0"  # [N, 3] raw SIG, BAK, OVRL
FRAMES = 900  # frames per window
HOP_FRAMES = 100  # frames per window hop (1 s at hop 160)
CHUNK_SAMPLES = 144000  # samples per 900 frames
HALO = 4  # receptive field of the four 3×3 layers, frames per side
EDGE = 16  # frames recomputed at each window edge (> 2 · HALO)
TILE = 900  # frames per call of the four layers over the whole clip (bounds memory)
GROUP = 64  # windows per shared pass (≤ 73 s of audio, ~150 MB of shared activations)


def _model_bytes() -> bytes:
    import os

    import speechmos

    path = os.path.join(os.path.dirname(speechmos.__file__), "dnsmos_models", "sig_bak_ovr.onnx")
    with open(path, "rb") as fh:
        return fh.read()


def _session(model: bytes) -> Any:
    """One-thread ONNX Runtime session (the harness parallelises across utterances)."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    return ort.InferenceSession(model, sess_options=opts, providers=["CPUExecutionProvider"])


def _sessions() -> dict[str, Any]:
    """The whole model and its three parts (features, shared trunk, per-window tail), built once
    per process."""
    cached = getattr(_sessions, "sessions", None)
    if cached is not None:
        return cached
    whole = _model_bytes()
    sessions = {
        "whole": _session(whole),
        "features": _session(submodel(whole, {INPUT: ["n", 144160]}, [FEATURES])),
        "trunk": _session(submodel(whole, {FEATURES: ["n", 1, "t", 161]}, [TRUNK])),
        "tail": _session(submodel(whole, {TRUNK: ["n", 32, FRAMES, 161]}, [OUTPUT])),
    }
    _sessions.sessions = sessions  # type: ignore[attr-defined]
    return sessions


def _onnx_classes() -> dict[str, type]:
    """Message classes for the few ONNX protobuf fields edited here (every other field round-trips
    untouched as an unknown field), so no ``onnx`` package is needed (its protobuf floor conflicts
    with the DAC extra's pin)."""
    cached = getattr(_onnx_classes, "classes", None)
    if cached is not None:
        return cached
    from google.protobuf import descriptor_pb2, descriptor_pool

    pkg = "bench_dnsmos_onnx"
    fdp = descriptor_pb2.FileDescriptorProto(name=f"{pkg}.proto", package=pkg, syntax="proto2")
    f = descriptor_pb2.FieldDescriptorProto
    opt, rep = f.LABEL_OPTIONAL, f.LABEL_REPEATED
    msg, string, int32, int64 = f.TYPE_MESSAGE, f.TYPE_STRING, f.TYPE_INT32, f.TYPE_INT64
    schema: dict[str, list[tuple[str, int, int, int, str]]] = {  # ONNX field numbers (onnx.proto)
        "Model": [("graph", 7, msg, opt, "Graph")],
        "Graph": [
            ("node", 1, msg, rep, "Node"),
            ("initializer", 5, msg, rep, "Tensor"),
            ("input", 11, msg, rep, "ValueInfo"),
            ("output", 12, msg, rep, "ValueInfo"),
            ("value_info", 13, msg, rep, "ValueInfo"),
        ],
        "Node": [("input", 1, string, rep, ""), ("output", 2, string, rep, "")],
        "Tensor": [("name", 8, string, opt, "")],
        "ValueInfo": [("name", 1, string, opt, ""), ("type", 2, msg, opt, "Type")],
        "Type": [("tensor_type", 1, msg, opt, "TensorType")],
        "TensorType": [("elem_type", 1, int32, opt, ""), ("shape", 2, msg, opt, "Shape")],
        "Shape": [("dim", 1, msg, rep, "Dim")],
        "Dim": [("dim_value", 1, int64, opt, ""), ("dim_param", 2, string, opt, "")],
    }
    for name, fields in schema.items():
        message = fdp.message_type.add(name=name)
        for fname, number, ftype, label, type_name in fields:
            field = message.field.add(name=fname, number=number, type=ftype, label=label)
            if type_name:
                field.type_name = f".{pkg}.{type_name}"
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fdp)
    descriptors = {n: pool.FindMessageTypeByName(f"{pkg}.{n}") for n in schema}
    try:  # protobuf ≥ 4.21
        from google.protobuf.message_factory import GetMessageClass

        classes = {n: GetMessageClass(d) for n, d in descriptors.items()}
    except ImportError:  # protobuf 3.x (the DAC extra pins < 3.20)
        from google.protobuf.message_factory import MessageFactory

        factory = MessageFactory(pool)
        classes = {n: factory.GetPrototype(d) for n, d in descriptors.items()}
    _onnx_classes.classes = classes  # type: ignore[attr-defined]
    return classes


def submodel(model_bytes: bytes, inputs: dict[str, list[int | str]], outputs: list[str]) -> bytes:
    """The part of an ONNX graph between ``inputs`` (tensor name → shape; a ``str`` is a symbolic
    dimension) and ``outputs``: the nodes those outputs need, their initializers, float32 I/O."""
    model = _onnx_classes()["Model"]()
    model.ParseFromString(model_bytes)
    graph = model.graph
    needed, keep = set(outputs), []
    for node in reversed(graph.node):
        if any(o in needed for o in node.output):
            keep.append(node)
            needed.update(i for i in node.input if i not in inputs)
    produced = {o for node in keep for o in node.output}
    if not set(outputs) <= produced:
        raise ValueError(f"no node produces {sorted(set(outputs) - produced)}")
    nodes = [node.__class__() for node in keep]
    for dst, src in zip(nodes, reversed(keep), strict=True):
        dst.CopyFrom(src)
    used = [t for t in graph.initializer if t.name in needed]
    inits = [t.__class__() for t in used]
    for dst, src in zip(inits, used, strict=True):
        dst.CopyFrom(src)
    for field in ("node", "initializer", "input", "output", "value_info"):
        graph.ClearField(field)
    graph.node.extend(nodes)
    graph.initializer.extend(inits)
    for name, shape in inputs.items():
        tensor_type = graph.input.add(name=name).type.tensor_type
        tensor_type.elem_type = 1  # FLOAT
        for d in shape:
            dim = tensor_type.shape.dim.add()
            if isinstance(d, str):
                dim.dim_param = d
            else:
                dim.dim_value = d
    for name in outputs:
        graph.output.add(name=name).type.tensor_type.elem_type = 1
    return model.SerializeToString()


def tiled(audio: np.ndarray, sr: int = METRIC_SAMPLE_RATE) -> np.ndarray:
    """The clip as speechmos scores it: doubled until it is at least 9.01 s."""
    length = int(WINDOW_SECONDS * sr)
    x = np.asarray(audio, dtype=np.float32)
    while len(x) < length:
        x = np.append(x, x)
    return x


def window_starts(audio: np.ndarray, sr: int = METRIC_SAMPLE_RATE) -> tuple[np.ndarray, list[int]]:
    """The tiled clip and the sample offsets of the 9.01 s windows speechmos scores: hopped by 1 s,
    keeping only windows whose slice ``x[int(i·sr) : int((i + 9.01)·sr)]`` is a full 144,160
    samples, exactly as ``speechmos.dnsmos.DNSMOS.__call__``. (Float rounding makes that slice one
    sample short for i = 7…23 and 119…122, so the package, and therefore this metric, skips those
    windows: a 30 s clip is scored on windows starting at 0…6 s only.)"""
    length = int(WINDOW_SECONDS * sr)
    x = tiled(audio, sr)
    num_hops = int(np.floor(len(x) / sr) - WINDOW_SECONDS) + 1
    starts = []
    for i in range(num_hops):
        a, b = int(i * HOP_SECONDS * sr), int((i + WINDOW_SECONDS) * HOP_SECONDS * sr)
        if len(x[a:b]) >= length:
            starts.append(a)
    return x, starts


def windows(audio: np.ndarray, sr: int = METRIC_SAMPLE_RATE) -> np.ndarray:
    """The windows speechmos scores (:func:`window_starts`), ``[W, 144160]``."""
    length = int(WINDOW_SECONDS * sr)
    x, starts = window_starts(audio, sr)
    return np.stack([x[a : a + length] for a in starts]).astype(np.float32)


def raw_scores_per_window(wins: np.ndarray) -> np.ndarray:
    """Reference path: each window ``[144160]`` through the whole model → ``[W, 3]``."""
    session = _sessions()["whole"]
    return np.concatenate(
        [session.run(None, {INPUT: wins[i : i + 1]})[0] for i in range(len(wins))]
    )


def raw_scores_shared(signal: np.ndarray, starts: list[int]) -> np.ndarray:
    """Shared path (module docstring): the same ``[W, 3]`` as :func:`raw_scores_per_window` for
    the windows of ``signal`` starting at sample offsets ``starts`` (multiples of 160, ascending,
    as :func:`window_starts` gives them)."""
    s = _sessions()
    offsets = [(a - starts[0]) // 160 for a in starts]  # first frame of each window in the span
    total = offsets[-1] + FRAMES  # frames spanned by all windows
    span = signal[starts[0] : starts[-1] + CHUNK_SAMPLES + 160]
    # features in 900-frame chunks (frame-local, so chunking changes nothing)
    chunks = []
    for start in range(0, total, FRAMES):
        piece = span[start * 160 : start * 160 + CHUNK_SAMPLES + 160]
        chunks.append(np.pad(piece, (0, CHUNK_SAMPLES + 160 - len(piece))))
    feats = np.concatenate([s["features"].run(None, {INPUT: c[None]})[0] for c in chunks], axis=2)
    feats = feats[:, :, :total]  # [1, 1, total, 161]
    # the four 3×3 layers over the whole span, in tiles with a HALO-frame margin each side
    trunk = np.empty((1, 32, total, feats.shape[-1]), dtype=np.float32)
    for a in range(0, total, TILE):
        b = min(total, a + TILE)
        lo, hi = max(0, a - HALO), min(total, b + HALO)
        out = s["trunk"].run(None, {FEATURES: feats[:, :, lo:hi]})[0]
        trunk[:, :, a:b] = out[:, :, a - lo : a - lo + (b - a)]
    # each window's edges, where its own zero padding matters, recomputed from its features
    left = np.concatenate([feats[:, :, i : i + EDGE] for i in offsets])
    right = np.concatenate([feats[:, :, i + FRAMES - EDGE : i + FRAMES] for i in offsets])
    left_out = s["trunk"].run(None, {FEATURES: left})[0][:, :, :HALO]
    right_out = s["trunk"].run(None, {FEATURES: right})[0][:, :, -HALO:]
    raws = []
    for k, i in enumerate(offsets):
        window = trunk[:, :, i : i + FRAMES].copy()
        window[:, :, :HALO] = left_out[k]
        window[:, :, -HALO:] = right_out[k]
        raws.append(s["tail"].run(None, {TRUNK: window})[0])
    return np.concatenate(raws)


def dnsmos_ovrl(reference: np.ndarray, decoded: np.ndarray, device: str = "cpu") -> float:
    """DNSMOS OVRL of ``decoded`` (``reference`` is unused: the predictor is reference-free).

    Same windows, model and polynomial as ``speechmos.dnsmos.run(x, 16000)["ovrl_mos"]`` (tested
    to 1e-6), but without the package's per-window P.808 model and mel spectrogram (they feed only
    ``p808_mos``, which is not reported), and with the shared path for clips of several windows.
    """
    x = np.clip(np.asarray(decoded, dtype=np.float32), -1.0, 1.0)
    signal, starts = window_starts(x)
    if len(starts) == 1:
        raw = raw_scores_per_window(signal[None, starts[0] : starts[0] + CHUNK_SAMPLES + 160])
    else:  # runs of consecutive windows, at most GROUP each (bounded memory on long files)
        groups: list[list[int]] = []
        for a in starts:
            if groups and a - groups[-1][-1] == HOP_SECONDS * METRIC_SAMPLE_RATE:
                if len(groups[-1]) < GROUP:
                    groups[-1].append(a)
                    continue
            groups.append([a])
        raw = np.concatenate([raw_scores_shared(signal, group) for group in groups])
    return float(np.mean(np.poly1d(OVRL_POLY)(raw[:, 2])))


register_metric(
    Metric(
        name="dnsmos_ovrl",
        label="DNSMOS OVRL",
        unit="MOS",
        higher_is_better=True,
        fn=dnsmos_ovrl,
        definition=DEFINITION,
        intrusive=False,
    )
)
