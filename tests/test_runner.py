"""The runner end to end with the passthrough reference codec: scores, failures, resume, workers."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from audiocodecs import Codec, CodecError, get_codec
from audiocodecs.passthrough import Passthrough
from bench.data import folder_dataset
from bench.results import load_result
from bench.runner import RunError, RunOptions, run_built_codec, run_codec
from tests.conftest import speech

FAST = ["sisdr", "mel", "stft", "pesq_wb", "stoi"]


class NoisyPassthrough(Passthrough):
    """Passthrough plus white noise at a fixed level: a planted, measurably worse codec."""

    def __init__(self, level: float = 0.05) -> None:
        super().__init__(16000)
        self.level = level

    def _decode(self, codes: torch.Tensor) -> torch.Tensor:
        y = super()._decode(codes)
        g = torch.Generator().manual_seed(0)
        return y + self.level * torch.randn(y.shape, generator=g)


class CountingPassthrough(Passthrough):
    """Counts encodes; raises KeyboardInterrupt on call number ``stop_at`` (a simulated Ctrl-C)."""

    def __init__(self, stop_at: int | None = None) -> None:
        super().__init__(16000)
        self.calls = 0
        self.stop_at = stop_at

    def _encode(self, wav: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        if self.stop_at is not None and self.calls == self.stop_at:
            raise KeyboardInterrupt
        return super()._encode(wav)


def _opts(tmp_path: Path, **kw: object) -> RunOptions:
    return RunOptions(metrics=kw.pop("metrics", FAST), out=tmp_path / "out", progress=False, **kw)  # type: ignore[arg-type]


def test_passthrough_scores_perfectly(speech_folder: Path, tmp_path: Path) -> None:
    ds = folder_dataset(speech_folder)
    res = load_result(run_codec("passthrough", ds, _opts(tmp_path)))
    s = res["summary"]
    assert res["counts"]["ok"] == 3 and res["counts"]["failed"] == 0
    assert s["sisdr"]["mean"] > 100
    assert s["mel"]["mean"] == pytest.approx(0.0, abs=1e-9)
    assert s["stft"]["mean"] == pytest.approx(0.0, abs=1e-6)
    assert s["pesq_wb"]["mean"] == pytest.approx(4.64, abs=0.01)
    assert s["stoi"]["mean"] > 0.999
    prov = res["provenance"]
    assert prov["git"]["commit"] and prov["packages"]["torch"] and prov["resampler"]
    assert res["dataset"]["ids_sha256"] == ds.ids_hash


def test_noisy_codec_scores_measurably_worse(speech_folder: Path, tmp_path: Path) -> None:
    ds = folder_dataset(speech_folder)
    clean = load_result(run_codec("passthrough", ds, _opts(tmp_path)))["summary"]
    noisy = load_result(run_built_codec(_named(NoisyPassthrough(), "noisy"), ds, _opts(tmp_path)))
    noisy = noisy["summary"]
    assert noisy["sisdr"]["mean"] < 30
    assert noisy["pesq_wb"]["mean"] < clean["pesq_wb"]["mean"] - 1.0
    assert noisy["mel"]["mean"] > clean["mel"]["mean"] + 0.1


def _write_bad_inputs(folder: Path) -> dict[str, str]:
    """Every kind of bad input the harness must survive; returns id → expected outcome."""
    folder.mkdir()
    good = speech(1.5)
    sf.write(folder / "good.wav", good, 16000)
    (folder / "corrupt.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt garbage")
    (folder / "notaudio.flac").write_text("this is text, not audio")
    sf.write(folder / "empty.wav", np.zeros(0, dtype=np.float32), 16000)
    sf.write(folder / "silent.wav", np.zeros(16000, dtype=np.float32), 16000)
    sf.write(folder / "short.wav", good[:2000], 16000)
    nan = good.copy()
    nan[100:200] = np.nan
    sf.write(folder / "nan.wav", nan, 16000, subtype="FLOAT")
    sf.write(folder / "clipped.wav", np.clip(good * 20, -1, 1), 16000)
    sf.write(folder / "stereo.wav", np.stack([good, good * 0.5], axis=1), 16000)
    import torchaudio.functional as AF

    g441 = AF.resample(torch.from_numpy(good), 16000, 44100).numpy()
    sf.write(folder / "rate44k.wav", g441, 44100)
    return {
        "good": "ok",
        "corrupt": "failed",
        "notaudio": "failed",
        "empty": "failed",
        "silent": "failed",
        "short": "failed",
        "nan": "failed",
        "clipped": "ok",
        "stereo": "ok",
        "rate44k": "ok",
    }


def test_bad_inputs_are_recorded_never_crash(tmp_path: Path) -> None:
    expected = _write_bad_inputs(tmp_path / "bad")
    ds = folder_dataset(tmp_path / "bad")
    res = load_result(run_codec("passthrough", ds, _opts(tmp_path, metrics=["sisdr", "stoi"])))
    by_id = {r["id"]: r for r in res["utterances"]}
    assert set(by_id) == set(expected)
    for uid, status in expected.items():
        assert by_id[uid]["status"] == status, (uid, by_id[uid])
        if status == "failed":
            assert by_id[uid]["error"], uid
            assert all(v is None for v in by_id[uid].get("metrics", {}).values())
    assert "silent" in by_id["silent"]["error"]
    assert "NaN" in by_id["nan"]["error"]
    assert "too short" in by_id["short"]["error"]
    assert any("downmixed" in n for n in by_id["stereo"]["notes"])
    assert any("resampled 44100" in n for n in by_id["rate44k"]["notes"])
    assert by_id["clipped"]["input_clipped_fraction"] > 0.01
    assert res["counts"]["failed"] == 6
    # Failures never contribute numbers: n counts only scored utterances.
    assert res["summary"]["sisdr"]["n"] == 4


class FailingCodec(Passthrough):
    def _decode(self, codes: torch.Tensor) -> torch.Tensor:
        raise CodecError("decoder exploded")


class NaNCodec(Passthrough):
    def _decode(self, codes: torch.Tensor) -> torch.Tensor:
        return super()._decode(codes) * float("nan")


@pytest.mark.parametrize(
    "codec_cls,reason", [(FailingCodec, "decoder exploded"), (NaNCodec, "NaN")]
)
def test_codec_failures_are_recorded_not_scored(
    codec_cls: type[Codec], reason: str, speech_folder: Path, tmp_path: Path
) -> None:
    codec = _named(codec_cls(), "broken")
    res = load_result(run_built_codec(codec, folder_dataset(speech_folder), _opts(tmp_path)))
    assert res["counts"]["failed"] == 3
    assert all(reason in r["error"] and r["stage"] == "codec" for r in res["utterances"])
    assert res["summary"]["sisdr"]["mean"] is None


class HalfLengthCodec(Passthrough):
    def _decode(self, codes: torch.Tensor) -> torch.Tensor:
        y = super()._decode(codes)
        return y[..., : y.shape[-1] // 2]


class DoubleLengthCodec(Passthrough):
    def _decode(self, codes: torch.Tensor) -> torch.Tensor:
        y = super()._decode(codes)
        return torch.cat([y, y], dim=-1)


class FlatCodec(Passthrough):
    """Returns ``[B, T]`` instead of ``[B, 1, T]``."""

    def _decode(self, codes: torch.Tensor) -> torch.Tensor:
        return super()._decode(codes)[:, 0]


class ShortCodec(Passthrough):
    """5 ms (80 samples) short: within the tolerance (10 ms for a frameless codec)."""

    def _decode(self, codes: torch.Tensor) -> torch.Tensor:
        return super()._decode(codes)[..., :-80]


@pytest.mark.parametrize(
    "codec_cls,pattern",
    [
        (HalfLengthCodec, r"length mismatch 0\.750 s vs 1\.500 s"),
        (DoubleLengthCodec, r"length mismatch 3\.000 s vs 1\.500 s"),
        (FlatCodec, r"wrong shape \[1, 24000\]"),
    ],
)
def test_output_of_the_wrong_length_or_shape_fails_instead_of_being_padded_and_scored(
    codec_cls: type[Codec], pattern: str, speech_folder: Path, tmp_path: Path
) -> None:
    """Issue #32: half / double length output was scored ok (SI-SDR 5.3 dB, no note), and
    ``[B, T]`` output was called "degenerate output: silent"."""
    codec = _named(codec_cls(), "broken")
    res = load_result(run_built_codec(codec, folder_dataset(speech_folder), _opts(tmp_path)))
    assert res["counts"]["failed"] == 3 and res["counts"]["ok"] == 0
    for r in res["utterances"]:
        assert r["stage"] == "codec" and re.search(pattern, r["error"]), r["error"]
    assert res["summary"]["sisdr"]["n"] == 0


def test_output_within_the_length_tolerance_is_aligned_and_the_difference_recorded(
    speech_folder: Path, tmp_path: Path
) -> None:
    codec = _named(ShortCodec(), "short")
    res = load_result(run_built_codec(codec, folder_dataset(speech_folder), _opts(tmp_path)))
    assert res["counts"]["ok"] == 3
    assert [r["length_diff_ms"] for r in res["utterances"]] == [-5.0] * 3
    passthrough = load_result(run_codec("passthrough", folder_dataset(speech_folder),
                                        _opts(tmp_path / "p")))  # fmt: skip
    assert [r["length_diff_ms"] for r in passthrough["utterances"]] == [0.0] * 3


def test_codec2_shards_merge_to_the_single_process_result(
    speech_folder: Path, tmp_path: Path
) -> None:
    """Issue #32: with libcodec2's process-wide random phases, one process and two merged shards
    of codec2@700 differed on 39 of 40 utterances."""
    pytest.importorskip("pycodec2")
    from bench.finalize import merge_shards

    ds = folder_dataset(speech_folder)
    metrics = ["sisdr", "stoi"]
    whole = load_result(run_codec("codec2@700", ds, _opts(tmp_path / "whole", metrics=metrics)))
    opts = _opts(tmp_path / "sharded", metrics=metrics, keep_journal=True)
    for i in (1, 0):  # the other order, too
        run_codec("codec2@700", ds.shard(i, 2), opts)
    merged = load_result(merge_shards("codec2@700", ds, 2, opts))
    assert [u["metrics"] for u in merged["utterances"]] == [
        u["metrics"] for u in whole["utterances"]
    ]


def test_interrupted_run_resumes_without_redoing_work(speech_folder: Path, tmp_path: Path) -> None:
    ds = folder_dataset(speech_folder)
    opts = _opts(tmp_path, metrics=["sisdr"])
    first = _named(CountingPassthrough(stop_at=3), "counting")
    with pytest.raises(KeyboardInterrupt):
        run_built_codec(first, ds, opts)
    journal = opts.out / ".work" / ds.slug / "counting" / "journal.jsonl"
    lines = [json.loads(x) for x in journal.read_text().splitlines()]
    assert sum(x["type"] == "utterance" for x in lines) == 2  # two finished before the interrupt
    with open(journal, "a") as f:
        f.write('{"type": "utterance", "id": "tor')  # a torn write from a crash
    second = _named(CountingPassthrough(), "counting")
    res = load_result(run_built_codec(second, ds, opts))
    assert second.calls == 1, "only the unfinished utterance should be recomputed"
    assert res["counts"]["ok"] == 3
    assert not journal.exists(), "journal is removed once the result file is written"


def test_resume_refuses_a_journal_from_another_configuration(
    speech_folder: Path, tmp_path: Path
) -> None:
    ds = folder_dataset(speech_folder)
    opts = _opts(tmp_path, metrics=["sisdr"])
    with pytest.raises(KeyboardInterrupt):
        run_built_codec(_named(CountingPassthrough(stop_at=2), "counting"), ds, opts)
    other = _opts(tmp_path, metrics=["sisdr", "stoi"])
    with pytest.raises(RunError, match="--fresh"):
        run_built_codec(_named(CountingPassthrough(), "counting"), ds, other)
    other.fresh = True
    res = load_result(run_built_codec(_named(CountingPassthrough(), "counting"), ds, other))
    assert res["counts"]["ok"] == 3


def _named(codec: Codec, name: str) -> Codec:
    codec.name = name
    return codec


def test_worker_pool_gives_identical_numbers(speech_folder: Path, tmp_path: Path) -> None:
    ds = folder_dataset(speech_folder)
    codec = get_codec("opus@6kbps")
    inline = load_result(run_built_codec(codec, ds, _opts(tmp_path / "a", workers=0)))
    pooled = load_result(run_built_codec(codec, ds, _opts(tmp_path / "b", workers=2)))
    for a, b in zip(inline["utterances"], pooled["utterances"], strict=True):
        assert a["id"] == b["id"]
        assert a["metrics"] == b["metrics"]


def test_byte_codec_reports_measured_bitrate(speech_folder: Path, tmp_path: Path) -> None:
    res = load_result(run_codec("opus@6kbps", folder_dataset(speech_folder), _opts(tmp_path)))
    b = res["bitrate"]
    assert b["nominal_bps"] == 6000
    assert 4000 < b["bytes_bps"] < 12000
    assert res["codebook"] is None


def test_sharded_runs_merge_into_the_unsharded_result(speech_folder: Path, tmp_path: Path) -> None:
    from bench.finalize import merge_shards

    ds = folder_dataset(speech_folder)
    whole = load_result(run_codec("opus@6kbps", ds, _opts(tmp_path / "whole", metrics=["sisdr"])))
    opts = _opts(tmp_path / "sharded", metrics=["sisdr"], keep_journal=True)
    for i in range(2):
        run_codec("opus@6kbps", ds.shard(i, 2), opts)
    merged = load_result(merge_shards("opus@6kbps", ds, 2, opts))
    assert [u["id"] for u in merged["utterances"]] == [u["id"] for u in whole["utterances"]]
    assert merged["summary"]["sisdr"] == whole["summary"]["sisdr"]
    assert merged["bitrate"]["total_bytes"] == whole["bitrate"]["total_bytes"]
    assert merged["dataset"]["slug"] == ds.slug


def test_merge_refuses_incomplete_shards(speech_folder: Path, tmp_path: Path) -> None:
    from bench.finalize import merge_shards

    ds = folder_dataset(speech_folder)
    opts = _opts(tmp_path, metrics=["sisdr"], keep_journal=True)
    run_codec("passthrough", ds.shard(0, 2), opts)
    with pytest.raises(RunError, match="shard 1/2"):
        merge_shards("passthrough", ds, 2, opts)


def test_a_run_with_other_metrics_adds_columns_instead_of_erasing(
    tmp_path: Path, speech_folder: Path
) -> None:
    from bench.cli import main

    out = tmp_path / "results"
    base = ["run", "--codecs", "passthrough", "--dataset", str(speech_folder), "--out", str(out),
            "--workers", "0", "--no-progress"]  # fmt: skip
    assert main([*base, "--metrics", "sisdr,stoi"]) == 0
    first = load_result(next(out.glob("*/passthrough.json")))
    assert main([*base, "--metrics", "mel"]) == 0
    merged = load_result(next(out.glob("*/passthrough.json")))
    assert list(merged["metrics"]) == ["sisdr", "stoi", "mel"]
    assert merged["summary"]["sisdr"] == first["summary"]["sisdr"]
    assert merged["provenance"]["metrics_carried_over"]["metrics"] == ["sisdr", "stoi"]
    assert all(set(u["metrics"]) == {"sisdr", "stoi", "mel"} for u in merged["utterances"])


def _rewrite_codec(path: Path, **fields: object) -> None:
    """Edit the codec description of a written result (an earlier version of the codec)."""
    res = json.loads(path.read_text())
    res["codec"].update(fields)
    path.write_text(json.dumps(res))


def test_a_moved_codec_class_still_carries_earlier_metrics_over(
    tmp_path: Path, speech_folder: Path
) -> None:
    """The implementation's import path is not the codec: a class moved between modules (as
    ``audiocodecs.taae`` → ``taae.codec``) must not make a listener-metric run erase six columns."""
    ds = folder_dataset(speech_folder)
    path = run_codec("passthrough", ds, _opts(tmp_path, metrics=["sisdr", "stoi"]))
    _rewrite_codec(path, **{"class": "old.module.Passthrough"})
    merged = load_result(run_codec("passthrough", ds, _opts(tmp_path, metrics=["mel"])))
    assert list(merged["metrics"]) == ["sisdr", "stoi", "mel"]
    assert all(set(u["metrics"]) == {"sisdr", "stoi", "mel"} for u in merged["utterances"])


def test_a_run_that_would_erase_metrics_stops_before_any_work(
    tmp_path: Path, speech_folder: Path
) -> None:
    """Another codec config (here: other weights) cannot inherit the earlier values; the run must
    say so and leave the file alone, unless ``replace`` is set."""
    ds = folder_dataset(speech_folder)
    path = run_codec("passthrough", ds, _opts(tmp_path, metrics=["sisdr", "stoi"]))
    _rewrite_codec(path, sample_rate=8000)
    before = path.read_bytes()
    counting = _named(CountingPassthrough(), "passthrough")
    with pytest.raises(RunError, match=r"sisdr, stoi.*`sample_rate` changed.*--replace"):
        run_built_codec(counting, ds, _opts(tmp_path, metrics=["mel"]))
    assert counting.calls == 0 and path.read_bytes() == before
    res = load_result(run_built_codec(counting, ds, _opts(tmp_path, metrics=["mel"], replace=True)))
    assert list(res["metrics"]) == ["mel"] and counting.calls == 3


def test_an_unreadable_earlier_result_is_not_overwritten_silently(
    tmp_path: Path, speech_folder: Path
) -> None:
    ds = folder_dataset(speech_folder)
    path = run_codec("passthrough", ds, _opts(tmp_path, metrics=["sisdr"]))
    path.write_text("{ not json")
    with pytest.raises(RunError, match="cannot be read"):
        run_codec("passthrough", ds, _opts(tmp_path, metrics=["sisdr"]))
    assert path.read_text() == "{ not json"


def test_torchrun_two_ranks_give_the_single_process_result(
    tmp_path: Path, speech_folder: Path
) -> None:
    """`bench run` under torchrun shards itself by rank; rank 0 merges (gloo barrier)."""
    import subprocess
    import sys

    from bench.cli import main

    common = ["--codecs", "passthrough,opus@6kbps", "--dataset", str(speech_folder),
              "--workers", "0", "--metrics", "sisdr,stoi", "--no-progress"]  # fmt: skip
    assert main(["run", *common, "--out", str(tmp_path / "single")]) == 0
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone",
                "--nproc_per_node", "2", "-m", "bench", "run"]  # fmt: skip
    done = subprocess.run([*torchrun, *common, "--out", str(tmp_path / "ranks")],
                          capture_output=True, text=True, timeout=300,
                          cwd=Path(__file__).resolve().parent.parent)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    for codec in ("passthrough", "opus@6kbps"):
        a = load_result(next((tmp_path / "single").glob(f"*/{codec}.json")))
        b = load_result(next((tmp_path / "ranks").glob(f"*/{codec}.json")))
        timing = ("encode_seconds", "decode_seconds", "metric_seconds")
        strip = [[{k: v for k, v in u.items() if k not in timing} for u in r["utterances"]]
                 for r in (a, b)]  # fmt: skip
        assert strip[0] == strip[1]
        assert a["summary"] == b["summary"] and a["counts"] == b["counts"]
        assert a["bitrate"] == b["bitrate"] and a["dataset"] == b["dataset"]
