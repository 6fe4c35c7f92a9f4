"""Trainer: loss goes down, exact resume, DDP on CPU with gloo, CLI."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from taae.presets import get_preset
from taae.train import Trainer

REPO = Path(__file__).resolve().parents[2]
LJSPEECH = REPO.parent / "shared" / "data" / "speech" / "ljspeech"

pytestmark = pytest.mark.skipif(
    not LJSPEECH.is_dir(), reason=f"shipped speech folder {LJSPEECH} is absent"
)


def _files(n: int = 6) -> list[str]:
    return [str(p) for p in sorted(LJSPEECH.glob("*.wav"))[:n]]


def _cfg(steps: int, ckpt_every: int = 10):
    cfg = get_preset("test")
    return dataclasses.replace(
        cfg, train=dataclasses.replace(cfg.train, steps=steps, ckpt_every=ckpt_every)
    )


def test_twenty_steps_lower_the_loss(tmp_path: Path) -> None:
    trainer = Trainer(_cfg(20), _files(), tmp_path / "run", progress=False)
    before = trainer.validate()
    summary = trainer.run()
    after = trainer.validate()
    assert summary["step"] == 20
    assert after["val/mel"] < before["val/mel"]
    assert after["val/stft"] < before["val/stft"]
    assert (tmp_path / "run" / "step_000020" / "model.safetensors").exists()
    meta = json.loads((tmp_path / "run" / "step_000020" / "config.json").read_text())["meta"]
    assert meta["preset"] == "test" and meta["step"] == 20 and len(meta["data"]) == 6
    assert "git_commit" in meta


def test_resume_reproduces_next_steps_bit_for_bit(tmp_path: Path) -> None:
    # test preset: hybrid FSQ (RNG), adversarial terms on from step 1 (discriminator state)
    full = Trainer(_cfg(4, ckpt_every=2), _files(), tmp_path / "full", progress=False)
    full.run()
    resumed_dir = tmp_path / "resumed"
    resumed_dir.mkdir()
    shutil.copytree(tmp_path / "full" / "step_000002", resumed_dir / "step_000002")
    (resumed_dir / "latest.txt").write_text("step_000002\n")
    resumed = Trainer(_cfg(4, ckpt_every=2), _files(), resumed_dir, progress=False)
    assert resumed.step == 2
    resumed.run()
    a, b = full.model.state_dict(), resumed.model.state_dict()
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    assert full.disc is not None and resumed.disc is not None
    for (k, v), (_, w) in zip(full.disc.state_dict().items(), resumed.disc.state_dict().items()):
        assert torch.equal(v, w), k


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_ddp_two_cpu_processes_run_two_steps(tmp_path: Path) -> None:
    out = tmp_path / "ddp"
    cmd = [
        sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
        "--master_addr", "127.0.0.1", "--master_port", str(_free_port()),
        "-m", "taae", "train", "--preset", "test", "--data", *_files(3),
        "--out", str(out), "--steps", "2", "--no-progress", "--threads", "1",
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    meta = json.loads((out / "step_000002" / "config.json").read_text())["meta"]
    assert meta["world_size"] == 2 and meta["step"] == 2


def test_cli_info_and_quantize(tmp_path: Path) -> None:
    run = tmp_path / "run"
    Trainer(_cfg(2, ckpt_every=2), _files(2), run, progress=False).run()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    info = subprocess.run(
        [sys.executable, "-m", "taae", "info", str(run)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert info.returncode == 0, info.stderr
    assert "613.1" in info.stdout and "24137569" in info.stdout
    q = subprocess.run(
        [sys.executable, "-m", "taae", "quantize", str(run), "--posthoc", "2x15625_700bps",
         "--out", str(tmp_path / "q"), "--data", _files(1)[0]],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert q.returncode == 0, q.stderr
    exp = subprocess.run(
        [sys.executable, "-m", "taae", "export", str(run), "--out", str(tmp_path / "ship")],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert exp.returncode == 0, exp.stderr
    assert sorted(p.name for p in (tmp_path / "ship").iterdir()) == [
        "config.json",
        "model.safetensors",
    ]
    from taae.checkpoint import load_model

    model, _, meta = load_model(tmp_path / "q")
    assert meta["posthoc"] == "2x15625_700bps"
    assert model.bottleneck.codebook_sizes == (15625, 15625)
    assert model.encode(torch.randn(1, 1, 1280)).shape == (1, 2, 2)


def test_validation_si_sdr_matches_the_harness_metric() -> None:
    import numpy as np

    from bench.metrics import get_metric
    from taae.train import si_sdr

    rng = np.random.default_rng(0)
    ref = rng.normal(0, 0.1, 16000).astype(np.float32)
    est = (0.7 * ref + rng.normal(0, 0.05, 16000)).astype(np.float32)
    ours = float(si_sdr(torch.from_numpy(est)[None, None], torch.from_numpy(ref)[None, None])[0])
    assert ours == pytest.approx(get_metric("sisdr")(ref, est), abs=1e-3)


def test_init_from_starts_at_step_zero_with_the_source_weights(tmp_path: Path) -> None:
    src = Trainer(_cfg(2, ckpt_every=2), _files(), tmp_path / "src", progress=False)
    src.run()
    cfg = _cfg(2, ckpt_every=2)
    cfg = dataclasses.replace(
        cfg,
        train=dataclasses.replace(cfg.train, init_from=str(tmp_path / "src"), lr=1e-4),
        loss=dataclasses.replace(cfg.loss, disc_crops=2),  # the D sees 2 of the 4 crops
    )
    ft = Trainer(cfg, _files(), tmp_path / "ft", progress=False)
    assert ft.step == 0
    for k, v in src.model.state_dict().items():
        assert torch.equal(v, ft.model.state_dict()[k]), k
    ft.run()
    meta = json.loads((tmp_path / "ft" / "step_000002" / "config.json").read_text())["meta"]
    assert meta["init"]["step"] == 2 and len(meta["init"]["weights_sha256"]) == 64
    # a resumed fine-tuning run keeps the record of where it started
    again = Trainer(cfg, _files(), tmp_path / "ft", progress=False)
    assert again.step == 2 and again.meta()["init"] == meta["init"]


def test_init_from_refuses_another_architecture_and_a_missing_path(tmp_path: Path) -> None:
    src = Trainer(_cfg(1, ckpt_every=1), _files(), tmp_path / "src", progress=False)
    src.run()
    cfg = _cfg(1)
    wider = dataclasses.replace(
        cfg,
        model=dataclasses.replace(cfg.model, dim=48),
        train=dataclasses.replace(cfg.train, init_from=str(tmp_path / "src")),
    )
    with pytest.raises(ValueError, match="model.dim: checkpoint 32 vs run 48"):
        Trainer(wider, _files(), tmp_path / "a", progress=False)
    gone = dataclasses.replace(
        cfg, train=dataclasses.replace(cfg.train, init_from=str(tmp_path / "nowhere"))
    )
    with pytest.raises(FileNotFoundError, match="train.init_from"):
        Trainer(gone, _files(), tmp_path / "b", progress=False)


def _spec(cfg, **model):
    """``cfg`` with the STFT front end and iSTFT head (what ``head_hidden`` needs)."""
    fields = {"frontend": "stft", "head": "istft", "stft_n_fft": 64, "stft_hop": 16} | model
    return dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, **fields))


def test_init_grow_starts_a_larger_decoder_as_the_source_model(tmp_path: Path) -> None:
    src_cfg = _spec(_cfg(1, ckpt_every=1))
    src = Trainer(src_cfg, _files(), tmp_path / "src", progress=False)
    src.run()
    grown = _spec(
        _cfg(1, ckpt_every=1),
        dec_blocks_25hz=src_cfg.model.dec_blocks_25hz + 2,
        dec_blocks_50hz=src_cfg.model.dec_blocks_50hz + 1,
        head_hidden=24,
    )
    grown = dataclasses.replace(
        grown, train=dataclasses.replace(grown.train, init_from=str(tmp_path / "src"))
    )
    with pytest.raises(ValueError, match="train.init_grow=True allows"):
        Trainer(grown, _files(), tmp_path / "refused", progress=False)
    grown = dataclasses.replace(grown, train=dataclasses.replace(grown.train, init_grow=True))
    big = Trainer(grown, _files(), tmp_path / "big", progress=False)
    assert sum(p.numel() for p in big.model.parameters()) > sum(
        p.numel() for p in src.model.parameters()
    )
    torch.manual_seed(0)
    wav = 0.1 * torch.randn(2, 1, 4 * src.model.hop_length)
    src.model.eval()
    big.model.eval()
    with torch.no_grad():
        expected = src.model.decode(src.model.encode(wav))
        got = big.model.decode(big.model.encode(wav))
    assert torch.equal(got, expected)  # the added blocks and the head branch start as identity
    assert big.init_info["grown"] == {
        "model.dec_blocks_25hz": [src_cfg.model.dec_blocks_25hz, grown.model.dec_blocks_25hz],
        "model.dec_blocks_50hz": [src_cfg.model.dec_blocks_50hz, grown.model.dec_blocks_50hz],
        "model.head_hidden": [0, 24],
    }
    big.run()  # and it trains: the added parts move away from the identity
    block = big.model.decoder.stack25.blocks[-1]
    assert block.gamma1.abs().sum() > 0
    # growing is the only change it allows: fewer blocks or another width are refused
    for change in ({"dec_blocks_50hz": 0}, {"dim": 48}):
        other = _spec(grown, **change)
        with pytest.raises(ValueError, match="another architecture"):
            Trainer(other, _files(), tmp_path / "other", progress=False)
