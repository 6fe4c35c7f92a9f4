"""The regression gate passes on an unchanged codec and bites on a planted degraded one."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch

from audiocodecs import Codec, CodecError, get_codec
from audiocodecs.opus import Opus
from audiocodecs.passthrough import Passthrough
from bench.check import run_check, update_baselines
from bench.data import folder_dataset
from tests.test_runner import NoisyPassthrough

METRICS = ["sisdr", "mel", "pesq_wb"]


def _baseline(tmp_path: Path, speech_folder: Path) -> Path:
    folder = tmp_path / "baselines"
    update_baselines(
        folder, ["passthrough"], workers=0, dataset=folder_dataset(speech_folder), metrics=METRICS
    )
    return folder


def test_gate_passes_when_nothing_changed(tmp_path: Path, speech_folder: Path) -> None:
    ok, report = run_check(_baseline(tmp_path, speech_folder), workers=0)
    assert ok, report
    assert "PASS" in report


def test_gate_fails_on_a_planted_degraded_codec(tmp_path: Path, speech_folder: Path) -> None:
    folder = _baseline(tmp_path, speech_folder)

    def degraded(name: str) -> Codec:
        codec = NoisyPassthrough(level=0.02)
        codec.name = name
        return codec

    ok, report = run_check(folder, workers=0, factory=degraded)
    assert not ok
    assert "FAIL" in report and "pesq_wb" in report


def test_gate_fails_when_a_baselined_codec_cannot_run(tmp_path: Path, speech_folder: Path) -> None:
    folder = _baseline(tmp_path, speech_folder)

    def missing(name: str) -> Codec:
        return get_codec("no_such_codec")

    ok, report = run_check(folder, workers=0, factory=missing)
    assert not ok and "cannot run" in report


def test_gate_without_baselines_fails_loudly(tmp_path: Path) -> None:
    ok, report = run_check(tmp_path / "empty", workers=0)
    assert not ok and "--update" in report


# ----------------------------------------------------------------------------- planted faults
class LatePassthrough(Passthrough):
    """Passthrough whose output arrives ``ms`` late (a broken delay compensation)."""

    def __init__(self, ms: float = 10.0) -> None:
        super().__init__(16000)
        self.shift = int(16 * ms)

    def _decode(self, codes: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.pad(super()._decode(codes), (self.shift, 0))


class SilentPassthrough(Passthrough):
    """Returns silence: degenerate output, recorded as failures of the codec."""

    def _decode(self, codes: torch.Tensor) -> torch.Tensor:
        return torch.zeros_like(super()._decode(codes))


class FailingOnLongest(Passthrough):
    """Raises on inputs longer than ``limit`` samples (a failure count that rises)."""

    def __init__(self, limit: int) -> None:
        super().__init__(16000)
        self.limit = limit

    def _encode(self, wav: torch.Tensor) -> torch.Tensor:
        if wav.shape[-1] > self.limit:
            raise CodecError("planted failure")
        return super()._encode(wav)


def _named_factory(make: Callable[[], Codec]) -> Callable[[str], Codec]:
    def factory(name: str) -> Codec:
        codec = make()
        codec.name = name
        return codec

    return factory


def _gate(tmp_path: Path, speech_folder: Path, base: Callable[[], Codec], name: str,
          planted: Callable[[], Codec]) -> tuple[bool, str]:  # fmt: skip
    folder = tmp_path / "baselines"
    update_baselines(folder, [name], workers=0, dataset=folder_dataset(speech_folder),
                     metrics=METRICS, factory=_named_factory(base))  # fmt: skip
    ok, report = run_check(folder, workers=0, factory=_named_factory(base))
    assert ok, f"the unchanged codec must pass:\n{report}"
    return run_check(folder, workers=0, factory=_named_factory(planted))


def _failed_rows(report: str) -> list[str]:
    return [line.split("|")[2].strip() for line in report.splitlines() if "| FAIL" in line]


def test_gate_catches_opus_2_kbps_over_target(tmp_path: Path, speech_folder: Path) -> None:
    ok, report = _gate(tmp_path, speech_folder, lambda: Opus(6000), "opus@6kbps",
                       lambda: Opus(8000))  # fmt: skip
    assert not ok and "payload bps" in _failed_rows(report), report


def test_gate_catches_a_codec_10_ms_late(tmp_path: Path, speech_folder: Path) -> None:
    ok, report = _gate(tmp_path, speech_folder, lambda: Passthrough(16000), "passthrough",
                       LatePassthrough)  # fmt: skip
    assert not ok and "sisdr" in _failed_rows(report), report


def test_gate_catches_added_noise(tmp_path: Path, speech_folder: Path) -> None:
    ok, report = _gate(tmp_path, speech_folder, lambda: Passthrough(16000), "passthrough",
                       lambda: NoisyPassthrough(level=1e-3))  # fmt: skip
    assert not ok and {"sisdr", "mel"} <= set(_failed_rows(report)), report


def test_gate_catches_a_codec_that_returns_silence(tmp_path: Path, speech_folder: Path) -> None:
    ok, report = _gate(tmp_path, speech_folder, lambda: Passthrough(16000), "passthrough",
                       lambda: SilentPassthrough(16000))  # fmt: skip
    rows = _failed_rows(report)
    assert not ok and "failed utterances" in rows and "sisdr n" in rows, report


def test_gate_catches_an_implausible_improvement(tmp_path: Path, speech_folder: Path) -> None:
    ok, report = _gate(tmp_path, speech_folder, lambda: NoisyPassthrough(level=0.02), "noisy",
                       lambda: Passthrough(16000))  # fmt: skip
    assert not ok and "pesq_wb" in _failed_rows(report), report


def test_gate_catches_a_rising_failure_count(tmp_path: Path, speech_folder: Path) -> None:
    ok, report = _gate(tmp_path, speech_folder, lambda: Passthrough(16000), "passthrough",
                       lambda: FailingOnLongest(limit=1))  # fmt: skip
    assert not ok and "failed utterances" in _failed_rows(report), report


def test_update_keeps_each_baselines_metrics(tmp_path: Path, speech_folder: Path) -> None:
    """Rewriting a baseline without naming metrics gates exactly what it gated before."""
    from bench.results import load_result

    folder = _baseline(tmp_path, speech_folder)
    update_baselines(folder, [], workers=0, dataset=folder_dataset(speech_folder))
    assert list(load_result(folder / "passthrough.json")["metrics"]) == METRICS


def test_gate_fails_when_a_gated_metric_cannot_run(
    tmp_path: Path,
    speech_folder: Path,
    monkeypatch,  # type: ignore[no-untyped-def]
) -> None:
    folder = tmp_path / "baselines"
    update_baselines(folder, ["passthrough"], workers=0, dataset=folder_dataset(speech_folder),
                     metrics=["sisdr", "mosnet"])  # fmt: skip
    monkeypatch.setenv("MOSNET_WEIGHTS", str(tmp_path / "absent.h5"))
    ok, report = run_check(folder, workers=0)
    assert not ok and "cannot run" in report and "absent.h5" in report


def test_visqol_of_an_identity_path_is_gated_as_a_floor() -> None:
    """ViSQOL flips by up to 0.11 near identity on 1e-6 input changes (bench.check docstring):
    a baseline ≥ 4.0 must only stay ≥ 4.0; a real codec's ViSQOL is two-sided at ±1e-3."""
    from bench.check import tolerance

    vq = tolerance("visqol")
    assert vq.accepts(4.387, 4.357) and vq.accepts(4.387, 4.45)
    assert not vq.accepts(4.387, 3.9)
    assert vq.accepts(1.390, 1.3905) and not vq.accepts(1.390, 1.392)
    assert not tolerance("mosnet").accepts(2.227, 2.229)


def test_gate_on_mosnet_and_visqol_bites_on_added_noise(
    tmp_path: Path, speech_folder: Path
) -> None:
    """The two MOS-type metrics every committed baseline gates fail a noisier passthrough."""
    folder = tmp_path / "baselines"
    update_baselines(folder, ["passthrough"], workers=0, dataset=folder_dataset(speech_folder),
                     metrics=["mosnet", "visqol"])  # fmt: skip

    def noisy(name: str) -> Codec:
        codec = NoisyPassthrough(level=0.02)
        codec.name = name
        return codec

    ok, report = run_check(folder, workers=0)
    assert ok, report
    ok, report = run_check(folder, workers=0, factory=noisy)
    failed = [line.split("|")[2].strip() for line in report.splitlines() if "| FAIL" in line]
    assert not ok and {"mosnet", "visqol"} <= set(failed), report
