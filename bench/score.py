"""``bench score``: score audio decoded elsewhere against a dataset's references.

A codec may run on another machine or cluster, or in an environment this harness cannot
install. Its decoded files are brought here and scored exactly like ``bench run`` scores a
codec: same reference loading, metrics, comparison layer, result schema, per-utterance journal
(resume, ``--fresh``) and result files, so the leaderboard and report pick the result up
unchanged. The folder is wrapped in a pseudo-codec, :class:`DecodedFolder`, whose round trip for
an utterance returns that utterance's decoded file; :func:`bench.runner.run_built_codec` does
the rest.

Policy (the README's "Scoring audio decoded elsewhere" should quote it):

- **Matching**: a decoded file belongs to an utterance when its path relative to ``--decoded``
  without the extension is the utterance id (``1089-134686-0000``, ``sub/dir/x``) or the
  reference's own path relative to the dataset folder without the extension (a copy of a
  LibriSpeech tree: ``1089/134686/1089-134686-0000``). Any suffix soundfile reads counts
  (:func:`audio_suffixes`). Two files for one utterance (``x.wav`` and ``x.flac``) are a failure
  of that utterance, never a guess. Hidden files (``.name``) are ignored; audio files that match
  no utterance and non-audio files are listed in the result's ``notes``, never scored.
- **Reading**: :func:`bench.audio.load_audio` — soundfile decoding, downmix (mean), the harness's
  one resampler to 16 kHz; unreadable, empty, NaN/Inf, silent and too-short (< 0.5 s) files are
  failures. A float file beyond full scale, which ``load_audio`` refuses for references, is read
  with the same downmix and resampler and clamped to [-1, 1] by the runner, as codec output is.
- **Length**: the rule of ``bench run`` (:func:`audiocodecs.base.check_length`), with this
  door's tolerance: a decoded file whose duration (at 16 kHz) differs from its reference's by
  more than :data:`MAX_LENGTH_DIFF_MS` (= :data:`LENGTH_TOLERANCE_MS` + the :data:`LAG_WINDOW_MS`
  lag window, since the file still holds its codec's delay and framing, neither known here) is a
  failure ("length mismatch X s vs Y s"); within it, once the lag is removed it is trimmed or
  zero-padded at the end to the reference length and the difference recorded
  (``length_diff_ms``), like codec output.
- **Lag** (:func:`estimate_alignment`): the peak of the cross-correlation of the zero-mean
  reference and decoded waveforms within ±:data:`SEARCH_MS`, where the waveforms correlate
  (≥ :data:`WAVEFORM_MIN_CORRELATION` at that peak) and the peak of their log-energy envelopes'
  cross-correlation (:func:`log_envelope`) agrees with it within :data:`AGREE_MS`; else the
  envelopes' peak (codecs that send no phase: the waveform peak is noise).
  Recorded per utterance as ``lag_ms`` (> 0: the decoded audio is late), ``lag_method``
  (``waveform`` / ``envelope``), ``lag_correlation`` (the waveform correlation at the waveform
  peak) and ``envelope_correlation`` (the same for the envelopes). Removed (late: leading
  samples dropped; early: zeros prepended) unless ``align=False`` (``--no-align``).
- **Untrusted lag**: an envelope estimate below :data:`MIN_ENVELOPE_CORRELATION`, or a lag
  outside ±:data:`LAG_WINDOW_MS` (the search reaches ±:data:`SEARCH_MS` so that a larger delay is
  found, not mistaken for a spurious peak inside the window), is not removed: the
  utterance is scored with the file's own timing and recorded ``partial`` (stage ``align``) with
  the reason and the advice (``--no-align`` when the files carry no delay) — never a silent
  ``ok``. With ``--no-align`` nothing is removed and nothing is flagged. The thresholds and the
  false-alarm rate measured on real decodes are in the README ("bench score").
- **Payload bitrate**: ``--bitstreams DIR`` (one file per utterance, matched like decoded files,
  any extension): 8 × Σ bytes / Σ reference seconds over the scored utterances, as the harness
  computes it for byte-stream codecs; a missing or duplicated bitstream is a failure of that
  utterance. Else the ``--bps`` declared, recorded as declared. Neither: unknown (``None``), and
  the result's notes say so.
- Every failure is a per-utterance record of stage ``codec`` with its reason, exactly as the
  runner records a codec's failure.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from audiocodecs import Codec, CodecError, RoundTrip, align_length
from audiocodecs.base import check_length
from bench.audio import TARGET_SR, AudioError, LoadedAudio, load_audio
from bench.data import AUDIO_SUFFIXES, Dataset, Utterance, display_path
from bench.runner import RunError, RunOptions, run_built_codec
from bench.scoring import MetricPool

#: Half-width of the lag search: lags within ±100 ms are found (and removed with ``align``).
LAG_WINDOW_MS = 100.0
#: Length difference allowed beyond the lag window (codec framing, padding at the end).
LENGTH_TOLERANCE_MS = 100.0
#: A decoded file differing from its reference's duration by more than this is a failure.
MAX_LENGTH_DIFF_MS = LENGTH_TOLERANCE_MS + LAG_WINDOW_MS
#: Lags are searched within ± this: as far as a file's length may differ from its reference's,
#: so a delay beyond the ±LAG_WINDOW_MS that is removed is found (and flagged), not mistaken for
#: a spurious peak inside the window.
SEARCH_MS = MAX_LENGTH_DIFF_MS
#: Below this waveform correlation at the waveform peak, the decoded waveform does not follow the
#: reference's phase (parametric vocoders): the lag is estimated on the log-energy envelopes.
WAVEFORM_MIN_CORRELATION = 0.3
#: … and the waveform peak is used only where the envelope's lag agrees with it to within this
#: (a codec that half follows the phase, e.g. TAAE at r ≈ 0.38, can peak a pitch period or two
#: away: −22.8 ms against 0 on one test-clean utterance; on Opus the two agree within 0.12 ms).
AGREE_MS = 5.0
#: An envelope lag estimate below this correlation is not trusted. Measured (README "bench score"):
#: real decodes of test-clean (7 codecs × 122 utterances × 3 timings) ≥ 0.69, white noise ≤ 0.18,
#: another utterance's decode median 0.23; 0 of 2,562 real decodes flagged.
MIN_ENVELOPE_CORRELATION = 0.5
#: The envelope: log of the moving average of |x| over this many ms, floored at ENVELOPE_FLOOR.
ENVELOPE_MS = 10.0
ENVELOPE_FLOOR = 1e-4

#: How scored folders are scored (replaces the runner's policy text in their result files).
SCORING_POLICY = (
    "audio decoded elsewhere, read from files (bench score): bench.audio.load_audio (downmix, "
    "resampled to 16 kHz); lag estimated by cross-correlation (waveform, else 1 ms energy "
    "envelope) within ±{window:g} ms and {removed}; "
    "files whose duration differs from the reference's by more than {maxdiff:g} ms fail; then "
    "trimmed/zero-padded to the reference length, clamped to [-1, 1]; not re-quantised to 16 bit. "
    "Reference: the file as read (mono, 16 kHz). Failures are counted, never scored."
)


class DecodedFileError(CodecError):
    """A decoded (or bitstream) file cannot be scored; the message is the recorded reason."""


class ScoreUsageError(RunError):
    """The arguments of ``bench score`` are unusable (a missing folder, a taken name …): a usage
    error, exit 2 in the CLI."""


def audio_suffixes() -> frozenset[str]:
    """Lower-case suffixes counted as decoded audio: every format soundfile reads, plus aliases."""
    import soundfile as sf

    names = {"." + k.lower() for k in sf.available_formats()}
    return frozenset(names | set(AUDIO_SUFFIXES) | {".aif", ".oga", ".opus", ".wave"})


def index_folder(root: Path) -> dict[str, list[Path]]:
    """Every non-hidden file under ``root`` by its key: relative POSIX path without extension."""
    out: dict[str, list[Path]] = {}
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root)
        if any(part.startswith(".") for part in rel.parts) or not p.is_file():
            continue
        out.setdefault(rel.with_suffix("").as_posix(), []).append(p)
    return out


def estimate_lag(reference: np.ndarray, decoded: np.ndarray, max_lag: int) -> tuple[int, float]:
    """Lag in samples of ``decoded [T']`` behind ``reference [T]`` (> 0: decoded is late), and
    the normalised cross-correlation at that lag (1 for a delayed copy; near 0 when the decoded
    waveform does not follow the reference's phase, e.g. a parametric vocoder).

    The argmax over ``|k| ≤ max_lag`` of ``c[k] = Σ_t r[t] · d[t + k]`` on the zero-mean
    signals (float64, FFT); ties go to the smallest ``|k|``.
    """
    r = np.asarray(reference, dtype=np.float64)
    d = np.asarray(decoded, dtype=np.float64)
    r = r - r.mean()
    d = d - d.mean()
    n = 1 << int(math.ceil(math.log2(len(r) + len(d) + 1)))
    c = np.fft.irfft(np.conj(np.fft.rfft(r, n)) * np.fft.rfft(d, n), n)
    max_lag = max(0, min(max_lag, len(r) - 1, len(d) - 1))
    lags = np.arange(-max_lag, max_lag + 1)
    lags = lags[np.argsort(np.abs(lags), kind="stable")]  # 0, -1, 1 …: ties → smallest abs
    lag = int(lags[np.argmax(c[lags % n])])
    norm = float(np.linalg.norm(r) * np.linalg.norm(d))
    return lag, float(c[lag % n] / norm) if norm > 0 else 0.0


def log_envelope(x: np.ndarray, sr: int = TARGET_SR) -> np.ndarray:
    """Log-energy envelope of ``x [T]`` (same length): ``log(moving average of |x| over
    ENVELOPE_MS + ENVELOPE_FLOOR)``. The log weighs speech against pauses rather than the loudest
    syllables, which a vocoder's envelope follows (Codec 2 700C on 41 test-clean utterances:
    median r 0.90 against 0.66 for a 1 ms linear envelope, lowest 0.75 against 0.40, lag error
    ≤ 4.8 ms against ≤ 22.8 ms; README "bench score")."""
    k = max(1, int(sr * ENVELOPE_MS / 1000))
    smooth = np.convolve(np.abs(np.asarray(x, dtype=np.float64)), np.ones(k) / k, mode="same")
    return np.log(smooth + ENVELOPE_FLOOR)


@dataclass(frozen=True)
class Alignment:
    """One utterance's lag estimate (:func:`estimate_alignment`).

    Attributes:
        lag: samples the decoded audio is late (> 0) or early (< 0).
        method: ``"waveform"`` or ``"envelope"`` (the waveforms did not correlate).
        waveform_correlation: normalised waveform cross-correlation at the waveform peak.
        envelope_correlation: the same for the log-energy envelopes at the envelope peak.
        doubt: why the estimate is not trusted, or ``None``.
    """

    lag: int
    method: str
    waveform_correlation: float
    envelope_correlation: float
    doubt: str | None


def estimate_alignment(
    reference: np.ndarray,
    decoded: np.ndarray,
    window_ms: float = LAG_WINDOW_MS,
    search_ms: float = SEARCH_MS,
    sr: int = TARGET_SR,
) -> Alignment:
    """The lag of ``decoded [T']`` behind ``reference [T]``, searched within ``±search_ms``: the
    waveform peak where the waveforms correlate (≥ :data:`WAVEFORM_MIN_CORRELATION`) and the
    log-energy envelopes' peak agrees with it (±:data:`AGREE_MS`), else the envelopes' peak; with
    a reason to doubt it: an envelope estimate below :data:`MIN_ENVELOPE_CORRELATION`, or a lag
    outside ``±window_ms`` (module docstring: *Lag*, *Untrusted lag*)."""
    search = round(search_ms * sr / 1000)
    lag_w, r_wave = estimate_lag(reference, decoded, search)
    lag_e, r_env = estimate_lag(log_envelope(reference, sr), log_envelope(decoded, sr), search)
    if r_wave >= WAVEFORM_MIN_CORRELATION and abs(lag_w - lag_e) * 1000.0 <= AGREE_MS * sr:
        method, lag = "waveform", lag_w
    else:
        method, lag = "envelope", lag_e
    lag_ms = 1000.0 * lag / sr
    doubt = None
    if method == "envelope" and r_env < MIN_ENVELOPE_CORRELATION:
        doubt = (
            f"the decoded audio follows the reference too loosely to estimate its lag (waveform "
            f"r = {r_wave:.2f}, envelope r = {r_env:.2f} < {MIN_ENVELOPE_CORRELATION:g})"
        )
    elif abs(lag_ms) > window_ms:
        doubt = (
            f"the lag found, {lag_ms:+.1f} ms ({method} r = "
            f"{r_wave if method == 'waveform' else r_env:.2f}), is outside "
            f"the ±{window_ms:g} ms that are removed"
        )
    return Alignment(lag, method, r_wave, r_env, doubt)


def remove_lag(decoded: np.ndarray, lag: int) -> np.ndarray:
    """Shift ``decoded [T']`` earlier by ``lag`` samples (drop them; zeros first when < 0)."""
    if lag > 0:
        return decoded[lag:]
    if lag < 0:
        return np.concatenate([np.zeros(-lag, dtype=decoded.dtype), decoded])
    return decoded


@dataclass(frozen=True)
class _Match:
    """The files found for one utterance in one folder."""

    files: list[Path]
    others: list[Path]  # files with the utterance's key but not an audio suffix


class DecodedFolder(Codec):
    """A pseudo-codec whose "decode" of an utterance is the file decoded elsewhere for its id.

    It has no tokens and no encoder: :meth:`roundtrip_utterance` (called by the runner with the
    utterance) reads the file, estimates and removes the lag, and aligns the length; the plain
    :meth:`roundtrip` refuses (it cannot know which file an anonymous waveform is).

    Args:
        dataset: the references; files are matched to its utterances.
        decoded: folder of decoded audio (see the module docstring for matching).
        name: the result's codec name (``results/<dataset>/<name>.json``).
        bps: declared payload bitrate, or ``None``.
        bitstreams: folder of one bitstream file per utterance (sizes give the payload bitrate).
        align: remove the estimated lag (``False``: report it only).
    """

    stream = "decoded"
    frame_rate = 0.0
    num_codebooks = 0
    codebook_sizes = ()

    def __init__(
        self,
        dataset: Dataset,
        decoded: Path,
        name: str,
        bps: float | None = None,
        bitstreams: Path | None = None,
        align: bool = True,
    ) -> None:
        super().__init__()
        self.name = name
        self.decoded = Path(decoded)
        self.bitstreams = Path(bitstreams) if bitstreams is not None else None
        self.bps = float(bps) if bps is not None else None
        self.align = align
        self._suffixes = audio_suffixes()
        self._decoded_index = index_folder(self.decoded)
        self._bitstream_index = index_folder(self.bitstreams) if self.bitstreams else {}
        self._keys = {u.id: self._utterance_keys(dataset, u) for u in dataset.utterances}

    # ----------------------------------------------------------------------------- metadata
    @property
    def bps_source(self) -> str:
        """``"bitstreams"``, ``"declared"`` or ``"unknown"``."""
        if self.bitstreams is not None:
            return "bitstreams"
        return "declared" if self.bps is not None else "unknown"

    @property
    def nominal_bps(self) -> float:
        """The declared ``--bps`` (0 when measured from bitstreams or unknown)."""
        return self.bps if self.bps is not None else 0.0

    @property
    def bitrate_formula(self) -> str:
        return {
            "bitstreams": "measured: 8 × Σ bitstream file bytes / Σ reference seconds",
            "declared": f"{self.nominal_bps:g} bps (declared with --bps, not measured)",
            "unknown": "unknown (neither --bps nor --bitstreams given)",
        }[self.bps_source]

    def extra_config(self) -> dict[str, Any]:
        rate = {
            "bitstreams": "payload bps measured from the --bitstreams file sizes",
            "declared": "payload bps declared with --bps, not measured",
            "unknown": "payload bps unknown",
        }[self.bps_source]
        return {
            "scored_folder": True,
            "decoded": display_path(self.decoded),
            "bps_source": self.bps_source,
            "declared_bps": self.bps,
            "bitstreams": display_path(self.bitstreams) if self.bitstreams else None,
            "align": self.align,
            "lag_window_ms": LAG_WINDOW_MS,
            "max_length_diff_ms": MAX_LENGTH_DIFF_MS,
            "align_thresholds": {
                "waveform_min_correlation": WAVEFORM_MIN_CORRELATION,
                "min_envelope_correlation": MIN_ENVELOPE_CORRELATION,
                "agree_ms": AGREE_MS,
                "search_ms": SEARCH_MS,
                "envelope": f"log(moving average of |x| over {ENVELOPE_MS:g} ms + "
                f"{ENVELOPE_FLOOR:g})",
            },
            "caveat": f"audio decoded elsewhere, scored from files (`bench score`); {rate}",
        }

    # ------------------------------------------------------------------------------ matching
    @staticmethod
    def _utterance_keys(dataset: Dataset, utt: Utterance) -> tuple[str, ...]:
        rel = Path(dataset.relpath(utt)).with_suffix("").as_posix()
        return tuple(dict.fromkeys([Path(utt.id).as_posix(), rel]))

    def _match(self, index: dict[str, list[Path]], keys: tuple[str, ...], audio: bool) -> _Match:
        found = [p for k in keys for p in index.get(k, [])]
        if not audio:
            return _Match(found, [])
        return _Match(
            [p for p in found if p.suffix.lower() in self._suffixes],
            [p for p in found if p.suffix.lower() not in self._suffixes],
        )

    @staticmethod
    def _rel(root: Path, path: Path) -> str:
        return path.relative_to(root).as_posix()

    def _one(self, utt: Utterance, root: Path, match: _Match, what: str) -> Path:
        if len(match.files) > 1:
            names = ", ".join(self._rel(root, p) for p in match.files)
            raise DecodedFileError(
                f"duplicate {what} files for one utterance: {names} (ambiguous; keep one)"
            )
        if not match.files:
            also = ""
            if match.others:
                also = " (found only " + ", ".join(self._rel(root, p) for p in match.others)
                also += ": not an audio suffix)"
            raise DecodedFileError(
                f"missing {what} file: none named {utt.id}.* under {display_path(root)}{also}"
            )
        return match.files[0]

    # ------------------------------------------------------------------------------- reading
    def _read(self, path: Path) -> LoadedAudio:
        """``path`` as mono float32 ``[T]`` at 16 kHz; raises :class:`DecodedFileError`."""
        rel = self._rel(self.decoded, path)
        if path.stat().st_size == 0:
            raise DecodedFileError(f"decoded file {rel}: empty file (0 bytes)")
        try:
            return load_audio(path, allow_over_full_scale=True)
        except AudioError as exc:
            raise DecodedFileError(f"decoded file {rel}: {exc}") from None

    # ---------------------------------------------------------------------------- round trip
    def roundtrip(self, wav: torch.Tensor, sr: int) -> RoundTrip:
        raise CodecError(
            f"{self.name} scores files decoded elsewhere: it needs the utterance id "
            "(run it through bench.score.score_decoded)"
        )

    def roundtrip_utterance(
        self, utt: Utterance, wav: torch.Tensor, sr: int
    ) -> tuple[RoundTrip, dict[str, Any]]:
        """The decoded file of ``utt``, aligned to the reference ``wav [1, 1, T]`` at ``sr``.

        Returns the round trip (``wav [1, 1, T]`` at ``sr``, no codes, bitstream bytes when
        ``bitstreams`` is set, zero timings: nothing was encoded here) and the record fields
        ``decoded_file``, ``decoded_sha256``, ``decoded_sr``, ``decoded_notes``, ``lag_ms``,
        ``lag_method``, ``lag_correlation``, ``envelope_correlation``, ``length_diff_ms`` and,
        when the lag is not trusted, ``lag_removed: False`` and ``warnings`` (see
        :func:`estimate_alignment`); the runner then records the utterance ``partial``.
        Raises :class:`DecodedFileError` with the reason for every kind of unusable file.
        """
        if sr != TARGET_SR:
            raise CodecError(f"references are scored at {TARGET_SR} Hz, got {sr}")
        keys = self._keys.get(utt.id) or (utt.id,)
        num_bytes: list[int] | None = None
        if self.bitstreams is not None:
            match = self._match(self._bitstream_index, keys, audio=False)
            stream = self._one(utt, self.bitstreams, match, "bitstream")
            num_bytes = [stream.stat().st_size]
        path = self._one(utt, self.decoded, self._match(self._decoded_index, keys, True), "decoded")
        audio = self._read(path)
        ref = wav[0, 0].detach().cpu().numpy()
        dec = audio.wav
        rel = self._rel(self.decoded, path)
        try:
            check_length(len(dec), len(ref), TARGET_SR, MAX_LENGTH_DIFF_MS, f"decoded {rel}")
        except CodecError as exc:
            raise DecodedFileError(str(exc)) from None
        al = estimate_alignment(ref, dec)
        fields: dict[str, Any] = {
            "decoded_file": rel,
            "decoded_sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
            "decoded_sr": audio.source_sr,
            "decoded_notes": audio.notes,
            "lag_ms": 1000.0 * al.lag / TARGET_SR,
            "lag_method": al.method,
            "lag_correlation": al.waveform_correlation,
            "envelope_correlation": al.envelope_correlation,
        }
        if self.align and al.doubt is None:
            dec = remove_lag(dec, al.lag)
        elif self.align:
            # a wrong lag removed would be scored as the codec's quality: keep the file's timing
            fields["lag_removed"] = False
            fields["warnings"] = {
                "align": f"{al.doubt}; scored with the file's own timing, not realigned — "
                "rescore with --no-align if the files carry no delay, or remove the delay first"
            }
        diff = len(dec) - len(ref)
        fields["length_diff_ms"] = 1000.0 * diff / TARGET_SR
        y = align_length(torch.from_numpy(np.ascontiguousarray(dec))[None, None], wav.shape[-1])
        rt = RoundTrip(
            wav=y.float(),
            codes=None,
            num_bytes=num_bytes,
            encode_seconds=0.0,
            decode_seconds=0.0,
            payload_bytes=num_bytes,
            length_diff=diff,
        )
        return rt, fields

    # ----------------------------------------------------------------------------- result
    def amend_result(self, result: dict[str, Any], dataset: Dataset) -> None:
        """Called by :func:`bench.runner.finalize` before the result is written: the bitrate's
        source, scoring policy, throughput note, lag summary and notes of a scored folder."""
        removed = "removed" if self.align else "reported only (--no-align)"
        result["scoring"] = SCORING_POLICY.format(
            window=LAG_WINDOW_MS, removed=removed, maxdiff=MAX_LENGTH_DIFF_MS
        )
        notes = [f"scored from audio decoded elsewhere: {display_path(self.decoded)} (bench score)"]
        bitrate = result["bitrate"]
        if self.bps_source == "bitstreams":
            bitrate.setdefault("payload_bps", None)
            where = display_path(self.bitstreams) if self.bitstreams else "?"
            bitrate["payload_definition"] = (
                f"8 × Σ sizes of the --bitstreams files ({where}, one per utterance, any "
                "container counted) / Σ reference seconds, over the utterances scored"
            )
        elif self.bps_source == "declared":
            bitrate["payload_bps"] = self.bps
            bitrate["payload_definition"] = "declared with --bps, not measured"
        else:
            bitrate["payload_bps"] = None
            bitrate["payload_definition"] = "unknown: neither --bps nor --bitstreams given"
            notes.append("payload bps unknown: neither --bps nor --bitstreams was given")
        result["throughput"]["note"] = (
            "not measured: the audio was decoded elsewhere; here it was only read from files"
        )
        lags = [r["lag_ms"] for r in result["utterances"] if r.get("lag_ms") is not None]
        methods = [r["lag_method"] for r in result["utterances"] if r.get("lag_method")]
        result["alignment"] = {
            "align": self.align,
            "lag_window_ms": LAG_WINDOW_MS,
            "max_length_diff_ms": MAX_LENGTH_DIFF_MS,
            "waveform_min_correlation": WAVEFORM_MIN_CORRELATION,
            "min_envelope_correlation": MIN_ENVELOPE_CORRELATION,
            "search_ms": SEARCH_MS,
            "envelope_estimates": methods.count("envelope"),
            "not_trusted": sum(r.get("lag_removed") is False for r in result["utterances"]),
            "lag_ms": {
                "median": float(np.median(lags)),
                "min": float(np.min(lags)),
                "max": float(np.max(lags)),
                "nonzero": int(sum(x != 0 for x in lags)),
                "n": len(lags),
            }
            if lags
            else None,
        }
        claimed = {k for keys in self._keys.values() for k in keys}
        extra: list[str] = []
        ignored: list[str] = []
        for key, paths in self._decoded_index.items():
            for p in paths:
                rel = self._rel(self.decoded, p)
                if p.suffix.lower() not in self._suffixes:
                    ignored.append(rel)
                elif key not in claimed:
                    extra.append(rel)
        if extra:
            notes.append(
                f"{len(extra)} decoded audio file(s) match no utterance of {dataset.slug} and "
                f"were not scored: {_listing(extra)}"
            )
        if ignored:
            notes.append(f"{len(ignored)} non-audio file(s) ignored: {_listing(ignored)}")
        if self.bitstreams is not None:
            stray = [
                self._rel(self.bitstreams, p)
                for k, ps in self._bitstream_index.items()
                if k not in claimed
                for p in ps
            ]
            if stray:
                notes.append(
                    f"{len(stray)} bitstream file(s) match no utterance of {dataset.slug}: "
                    f"{_listing(stray)}"
                )
        result["notes"] = notes


def _listing(names: list[str], limit: int = 10) -> str:
    more = f" … (+{len(names) - limit} more)" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


def score_decoded(
    dataset: Dataset,
    decoded: Path,
    name: str,
    opts: RunOptions,
    pool: MetricPool | None = None,
    bps: float | None = None,
    bitstreams: Path | None = None,
    align: bool = True,
) -> Path:
    """Score the files decoded elsewhere in ``decoded`` against ``dataset``; returns the result
    JSON path (``<opts.out>/<dataset slug>/<name>.json``), like :func:`run_built_codec`.

    Resumes from the journal of an interrupted call with the same arguments; a journal written
    with another ``decoded`` / ``bps`` / ``bitstreams`` / ``align`` or metric list is refused
    (:class:`RunError`, ``opts.fresh`` discards it). Raises :class:`RunError` for unusable
    arguments: a missing folder, both ``bps`` and ``bitstreams``, a non-positive ``bps``, or a
    ``name`` that is a registered codec's (a scored folder must never replace that codec's result)
    — those as :class:`ScoreUsageError`.
    """
    from audiocodecs import codec_names

    decoded = Path(decoded)
    if not name or not name.strip():
        raise ScoreUsageError("a scored folder needs a --name")
    if name in codec_names():
        raise ScoreUsageError(
            f"{name!r} is a registered codec: give the scored folder a name of its own "
            f"(e.g. {name}-decoded) so its result never replaces that codec's"
        )
    if not decoded.is_dir():
        raise ScoreUsageError(
            f"decoded folder not found: {decoded} (--decoded takes the folder holding one decoded "
            "file per utterance, named by its id)"
        )
    if bps is not None and bitstreams is not None:
        raise ScoreUsageError("give --bps or --bitstreams, not both")
    if bps is not None and not (math.isfinite(bps) and bps > 0):
        raise ScoreUsageError(f"--bps must be a positive number, not {bps}")
    if bitstreams is not None and not Path(bitstreams).is_dir():
        raise ScoreUsageError(f"bitstream folder not found: {bitstreams}")
    codec = DecodedFolder(dataset, decoded, name, bps=bps, bitstreams=bitstreams, align=align)
    return run_built_codec(codec, dataset, opts, pool)
