"""``bench selftest CODEC``: the conformance checks a codec (a plugin's too) must pass.

One implementation for two callers: a plugin author runs ``python -m bench selftest NAME
--plugin my_codec.py`` before a benchmark, and ``tests/test_codecs.py`` runs the same checks over
every registered codec. Each check returns a :class:`Check` (passed, skipped or failed, with the
measured figure), never raises for a codec's misbehaviour.

Checks (on real speech from the embedded set, at 16 kHz):

- ``metadata``: ``len(codebook_sizes) == num_codebooks``; FSQ-style ``codebook_levels`` multiply
  to the sizes; ``describe()`` agrees with the attributes.
- ``nominal bps``: token codecs: ``frame_rate × Σ log2(codebook_size)`` equals ``nominal_bps``.
- ``codes``: int64 ``[B, K, F]`` with ``K = num_codebooks``, every code in ``[0, size)``, ``F``
  within 2 frames of ``duration × frame_rate``; byte codecs: payload within ×0.6–1.4 of nominal.
- ``length``: the codec's own decode, once its delay is removed, is within
  :attr:`~audiocodecs.Codec.length_tolerance_ms` (one frame + 10 ms) of the input's length —
  the rule every utterance of a run is held to.
- ``determinism``: the same input twice gives the same codes and audio.
- ``delay``: after the declared ``delay_samples`` are removed, the lag left between output and
  input, estimated by cross-correlation, is at most :data:`DELAY_TOLERANCE_MS` (waveform) or
  :data:`ENVELOPE_DELAY_TOLERANCE_MS` (the 1 ms energy envelope, for codecs whose waveform does
  not follow the input: no phase sent). Skipped for random-init codecs and where even the
  envelopes correlate below :data:`MIN_ENVELOPE_CORRELATION` (no lag can be estimated).
- ``batch``: a batch of 2 gives what two single calls give (to 1e-4 of full scale, but for at
  most 0.1 % of samples a step ≤ 1e-2: float noise tipping a quantizer over a boundary).
- ``silence`` and ``short input``: 1 s of zeros and a 0.3 s clip give finite audio of the input's
  length, or a clear :class:`~audiocodecs.CodecError` (never another exception).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from audiocodecs import Codec, CodecError
from bench.score import estimate_lag

#: Largest lag (ms) left between output and input once the declared delay is removed, when the
#: waveforms correlate (the peak is sharp) …
DELAY_TOLERANCE_MS = 2.5
#: … and when only the 1 ms energy envelopes do (no phase sent: the peak is broad; half a frame).
ENVELOPE_DELAY_TOLERANCE_MS = 10.0
#: Below this envelope correlation no lag can be estimated (degenerate models): skipped, not failed.
MIN_ENVELOPE_CORRELATION = 0.5
#: Largest difference (of full scale) between a batch of 2 and two single calls.
BATCH_ATOL = 1e-4
#: … except for rare quantizer-boundary flips (fraction of samples, and their largest size).
BATCH_FLIP_FRACTION = 1e-3
BATCH_FLIP_ATOL = 1e-2
SR = 16000


@dataclass(frozen=True)
class Check:
    """One conformance check's outcome."""

    name: str
    status: str  # "pass", "fail" or "skip"
    detail: str

    @property
    def ok(self) -> bool:
        return self.status != "fail"


def speech_clip(seconds: float, index: int = 0) -> torch.Tensor:
    """``[1, 1, T]`` of real speech at 16 kHz from the embedded set (utterance ``index``)."""
    from bench.audio import load_audio
    from bench.data import get_dataset

    utts = get_dataset("default").utterances
    x = load_audio(utts[index % len(utts)].path).wav
    n = int(seconds * SR)
    start = min(len(x) - n, SR // 2) if len(x) > n else 0
    x = np.asarray(x[start : start + n], dtype=np.float32)
    return torch.from_numpy(np.pad(x, (0, n - len(x))))[None, None]


def _envelope(x: np.ndarray, ms: float = 1.0) -> np.ndarray:
    k = max(1, int(SR * ms / 1000))
    return np.convolve(np.abs(x), np.ones(k) / k, mode="same")


def _guard(name: str, fn: Callable[[], Check]) -> Check:
    try:
        return fn()
    except Exception as exc:  # a check that crashes is that check failing, with the reason
        return Check(name, "fail", f"{type(exc).__name__}: {str(exc)[:200]}")


def selftest(codec: Codec) -> list[Check]:
    """Run every conformance check on ``codec`` (already on its device)."""
    x = speech_clip(2.0, 0)
    x2 = torch.cat([speech_clip(2.0, 1), speech_clip(2.0, 2)])
    tokens = codec.stream == "tokens" and codec.num_codebooks > 0
    checks: list[tuple[str, Callable[[], Check]]] = [
        ("metadata", lambda: _metadata(codec)),
        ("nominal bps", lambda: _nominal(codec, tokens)),
        ("codes", lambda: _codes(codec, x, tokens)),
        ("length", lambda: _length(codec, x, tokens)),
        ("determinism", lambda: _determinism(codec, x)),
        ("delay", lambda: _delay(codec, x)),
        ("batch", lambda: _batch(codec, x2)),
        ("silence", lambda: _handles(codec, torch.zeros(1, 1, SR), "silence")),
        ("short input", lambda: _handles(codec, speech_clip(0.3, 3), "short input")),
    ]
    return [_guard(name, fn) for name, fn in checks]


def _metadata(codec: Codec) -> Check:
    problems = []
    if len(codec.codebook_sizes) != codec.num_codebooks:
        problems.append(
            f"{len(codec.codebook_sizes)} codebook sizes for num_codebooks = {codec.num_codebooks}"
        )
    if codec.codebook_levels is not None:
        for size, levels in zip(codec.codebook_sizes, codec.codebook_levels, strict=False):
            if math.prod(levels) != size:
                problems.append(f"levels {levels} multiply to {math.prod(levels)}, not {size}")
    desc = codec.describe()
    if not math.isclose(desc["nominal_bps"], codec.nominal_bps, rel_tol=1e-9):
        problems.append(f"describe() says {desc['nominal_bps']} bps, attribute {codec.nominal_bps}")
    if codec.sample_rate <= 0:
        problems.append(f"sample_rate = {codec.sample_rate}")
    if problems:
        return Check("metadata", "fail", "; ".join(problems))
    return Check(
        "metadata",
        "pass",
        f"{codec.sample_rate} Hz, {codec.num_codebooks} codebooks "
        f"{list(codec.codebook_sizes)[:4]}{' …' if codec.num_codebooks > 4 else ''}",
    )


def _nominal(codec: Codec, tokens: bool) -> Check:
    if not tokens:
        return Check(
            "nominal bps",
            "skip",
            f"{codec.stream} stream: configured rate "
            f"{codec.nominal_bps:g} bps (payload checked under 'codes')",
        )
    derived = codec.frame_rate * sum(math.log2(s) for s in codec.codebook_sizes)
    ok = math.isclose(derived, codec.nominal_bps, rel_tol=1e-6)
    return Check(
        "nominal bps",
        "pass" if ok else "fail",
        f"frame_rate {codec.frame_rate:g} Hz × Σ log2 sizes = {derived:.1f} bps; "
        f"declared {codec.nominal_bps:.1f}",
    )


def _codes(codec: Codec, x: torch.Tensor, tokens: bool) -> Check:
    seconds = x.shape[-1] / SR
    if codec.stream == "bytes":
        rt = codec.roundtrip(x, SR)
        if not rt.payload_bytes:
            return Check("codes", "fail", "byte-stream codec reported no payload bytes")
        bps = 8 * rt.payload_bytes[0] / seconds
        if not codec.nominal_bps:
            return Check("codes", "pass", f"payload {bps:.0f} bps (no nominal rate declared)")
        ratio = bps / codec.nominal_bps
        return Check(
            "codes",
            "pass" if 0.6 < ratio < 1.4 else "fail",
            f"payload {bps:.0f} bps = {ratio:.2f} × nominal",
        )
    codes = codec.encode(x, SR)
    if codes.dtype != torch.int64 or codes.dim() != 3:
        return Check(
            "codes", "fail", f"encode gave {codes.dtype} {tuple(codes.shape)}, want int64 [B, K, F]"
        )
    if codes.shape[:2] != (1, codec.num_codebooks):
        return Check(
            "codes", "fail", f"codes {tuple(codes.shape)} for num_codebooks = {codec.num_codebooks}"
        )
    if not tokens:
        return Check("codes", "pass", "no codebooks declared (tokenless)")
    for k, size in enumerate(codec.codebook_sizes):
        lo, hi = int(codes[:, k].min()), int(codes[:, k].max())
        if lo < 0 or hi >= size:
            return Check("codes", "fail", f"codebook {k}: codes in [{lo}, {hi}], size {size}")
    frames, expected = codes.shape[-1], seconds * codec.frame_rate
    ok = abs(frames - expected) <= 2
    return Check(
        "codes",
        "pass" if ok else "fail",
        f"{frames} frames for {seconds:g} s (frame_rate says {expected:g}); codes in range",
    )


def _length(codec: Codec, x: torch.Tensor, tokens: bool) -> Check:
    from audiocodecs.resample import resample

    native = resample(x.to(codec.device), SR, codec.sample_rate)
    if codec.stream == "bytes":
        y = codec.decode_bytes(codec.encode_bytes(native))
    else:
        y = codec._decode(codec._encode(native).long())
    if y.dim() != 3 or y.shape[:2] != native.shape[:2]:
        return Check("length", "fail", f"wrong shape {list(y.shape)}: expected [B, 1, T]")
    y = y[..., codec.delay_samples :]
    diff = y.shape[-1] - native.shape[-1]
    ms = 1000.0 * diff / codec.sample_rate
    # the rule Codec.roundtrip applies to every utterance of a run (audiocodecs.base.check_length)
    ok = abs(ms) <= codec.length_tolerance_ms
    return Check(
        "length",
        "pass" if ok else "fail",
        f"decode {y.shape[-1]} vs input {native.shape[-1]} samples at {codec.sample_rate} Hz "
        f"({diff:+d}, {ms:+.1f} ms; allowed ±{codec.length_tolerance_ms:g} ms: one frame + slack)",
    )


def _determinism(codec: Codec, x: torch.Tensor) -> Check:
    a, b = codec.roundtrip(x, SR), codec.roundtrip(x, SR)
    same_codes = a.codes is None or torch.equal(a.codes, b.codes)
    diff = float((a.wav - b.wav).abs().max())
    ok = same_codes and diff == 0.0
    return Check(
        "determinism",
        "pass" if ok else "fail",
        f"codes {'identical' if same_codes else 'DIFFER'}; audio max |Δ| = {diff:.3g}",
    )


def _delay(codec: Codec, x: torch.Tensor) -> Check:
    if not codec.pretrained:
        return Check("delay", "skip", "random-init codec: its output need not follow the input")
    y = codec.roundtrip(x, SR).wav
    ref, out = x.flatten().numpy(), y.flatten().cpu().numpy()
    max_lag = SR // 20  # ±50 ms
    lag, corr = estimate_lag(ref, out, max_lag)
    how, tol = "waveform", DELAY_TOLERANCE_MS
    if corr < 0.3:  # no phase sent (parametric vocoders): follow the energy envelope
        lag, corr = estimate_lag(_envelope(ref), _envelope(out), max_lag)
        how, tol = "1 ms envelope", ENVELOPE_DELAY_TOLERANCE_MS
        if corr < MIN_ENVELOPE_CORRELATION:
            return Check(
                "delay",
                "skip",
                f"output follows the input too loosely to estimate a "
                f"lag (envelope r = {corr:.2f} < {MIN_ENVELOPE_CORRELATION:g})",
            )
    ms = 1000 * lag / SR
    ok = abs(ms) <= tol
    declared = 1000 * codec.delay_samples / codec.sample_rate
    return Check(
        "delay",
        "pass" if ok else "fail",
        f"declared {declared:g} ms; lag left after removing it {ms:+.2f} ms "
        f"(≤ {tol:g}; {how} cross-correlation, r = {corr:.2f}); estimated delay "
        f"{declared + ms:.2f} ms",
    )


def _batch(codec: Codec, x2: torch.Tensor) -> Check:
    both = codec.roundtrip(x2, SR).wav
    singles = torch.cat([codec.roundtrip(x2[i : i + 1], SR).wav for i in range(2)])
    delta = (both - singles).abs()
    diff = float(delta.max())
    # Batched float kernels may differ in the last bits, which can tip a quantizer across a
    # boundary: a few samples one step apart are that, not batch leakage.
    flips = float((delta > BATCH_ATOL).float().mean())
    ok = diff <= BATCH_ATOL or (flips <= BATCH_FLIP_FRACTION and diff <= BATCH_FLIP_ATOL)
    detail = f"batch of 2 vs two singles: max |Δ| = {diff:.3g}"
    if diff > BATCH_ATOL:
        detail += (
            f"; {100 * flips:.3f} % of samples beyond {BATCH_ATOL:g} (allowed: ≤ "
            f"{100 * BATCH_FLIP_FRACTION:g} % and each ≤ {BATCH_FLIP_ATOL:g}: quantizer flips)"
        )
    return Check("batch", "pass" if ok else "fail", detail)


def _handles(codec: Codec, x: torch.Tensor, what: str) -> Check:
    try:
        y = codec.roundtrip(x, SR).wav
    except CodecError as exc:
        return Check(what, "pass", f"refused with a clear CodecError: {str(exc)[:120]}")
    if y.shape != x.shape:
        return Check(what, "fail", f"output {tuple(y.shape)} for input {tuple(x.shape)}")
    if not bool(torch.isfinite(y).all()):
        return Check(what, "fail", "non-finite output")
    peak = float(y.abs().max())
    return Check(what, "pass", f"{x.shape[-1] / SR:g} s → finite audio, peak {peak:.3g}")


__all__ = ["Check", "selftest", "speech_clip"]
