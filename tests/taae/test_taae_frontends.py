"""TAAE front ends × heads: shapes and lengths for every combination, an exact STFT/iSTFT pair,
config validation, and exact resume of a run with the STFT front end and iSTFT head."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest
import torch

from taae.config import ModelConfig
from taae.model import TAAE, istft_same, stft_same
from taae.presets import get_preset
from tests.conftest import speech

FRONTENDS = ("patch", "stft")
HEADS = ("linear", "mlp", "istft")


def _model_cfg(frontend: str, head: str) -> ModelConfig:
    base = get_preset("test").model
    hidden = 48 if head == "mlp" else 0
    return dataclasses.replace(base, frontend=frontend, head=head, unpatch_hidden=hidden)


@pytest.mark.parametrize("frontend", FRONTENDS)
@pytest.mark.parametrize("head", HEADS)
@pytest.mark.parametrize("length", [1, 639, 641, 3203])
def test_every_frontend_and_head_keeps_lengths(frontend: str, head: str, length: int) -> None:
    cfg = get_preset("test")
    torch.manual_seed(0)
    model = TAAE(_model_cfg(frontend, head), cfg.bottleneck).eval()
    x = torch.randn(2, 1, length) * 0.1
    y, result = model(x)
    assert y.shape == (2, 1, length) and torch.isfinite(y).all()
    frames = -(-length // 640)
    codes = model.encode(x)
    assert codes.shape == (2, 1, frames) and torch.equal(codes, result.codes)
    torch.testing.assert_close(model.decode(codes, length=length), y, rtol=1e-4, atol=1e-5)


def test_stft_and_istft_are_an_exact_pair_on_speech() -> None:
    x = torch.from_numpy(speech(1.0))[None, None]
    spec = stft_same(x, 640, 160)
    assert spec.shape == (1, 321, 100)
    y = istft_same(spec, 640, 160)
    assert y.shape == x.shape
    torch.testing.assert_close(y, x, rtol=0, atol=1e-5)


@pytest.mark.parametrize("block", [2, 6, 16])
def test_blockwise_stft_front_end_and_istft_head_equal_the_one_pass_result(
    monkeypatch: pytest.MonkeyPatch, block: int
) -> None:
    """Long inputs go through the front end and the head STFT_BLOCK_FRAMES frames at a time (bounded
    memory); a tiny block forces many seams on a short clip, and the result must equal one pass."""
    import taae.model as model_module

    torch.manual_seed(0)
    model = TAAE(_model_cfg("stft", "istft"), get_preset("test").bottleneck).eval()
    x = torch.from_numpy(speech(0.4))[None, None]  # 40 STFT frames, 20 tokens
    with torch.no_grad():
        emb_one = model.encoder.patch(x)
        y_one = model(x)[0]
        spec = stft_same(x, 640, 160)
        inv_one = istft_same(spec, 640, 160)
        monkeypatch.setattr(model_module, "STFT_BLOCK_FRAMES", block)
        emb_blocks = model.encoder.patch(x)
        y_blocks = model(x)[0]
        inv_blocks = istft_same(spec, 640, 160)
    torch.testing.assert_close(emb_blocks, emb_one, rtol=0, atol=1e-5)  # BLAS blocking only
    torch.testing.assert_close(y_blocks, y_one, rtol=0, atol=1e-6)
    torch.testing.assert_close(inv_blocks, inv_one, rtol=0, atol=1e-6)
    torch.testing.assert_close(inv_blocks, x, rtol=0, atol=1e-5)  # still an exact inverse


def test_stft_frames_are_centred_on_their_hop() -> None:
    x = torch.zeros(1, 1, 1600)
    x[..., 800] = 1.0  # an impulse inside hop 5 ([800, 960))
    energy = stft_same(x, 640, 160).abs().pow(2).sum(1)[0]
    assert int(energy.argmax()) == 5


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(frontend="wave"), "frontend"),
        (dict(head="conv"), "head"),
        (dict(head="mlp", unpatch_hidden=0), "unpatch_hidden"),
        (dict(head="istft", stft_hop=150), "stft_hop"),
    ],
)
def test_bad_frontend_or_head_settings_are_refused(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        ModelConfig(**kwargs)


def test_stft_istft_run_resumes_bit_for_bit(tmp_path: Path) -> None:
    from taae.train import Trainer

    cfg = get_preset("test")
    cfg = dataclasses.replace(cfg, model=_model_cfg("stft", "istft"))
    cfg = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, steps=4, ckpt_every=2))
    data = tmp_path / "data"
    data.mkdir()
    import soundfile as sf

    for i in range(2):
        sf.write(data / f"{i}.wav", speech(1.0, index=i), 16000)
    full = Trainer(cfg, [data], tmp_path / "full", progress=False)
    full.run()
    resumed_dir = tmp_path / "resumed"
    resumed_dir.mkdir()
    shutil.copytree(tmp_path / "full" / "step_000002", resumed_dir / "step_000002")
    (resumed_dir / "latest.txt").write_text("step_000002\n")
    resumed = Trainer(cfg, [data], resumed_dir, progress=False)
    assert resumed.step == 2
    resumed.run()
    for a, b in zip(full.model.state_dict().values(), resumed.model.state_dict().values()):
        assert torch.equal(a, b)
    log = [json.loads(line) for line in (resumed_dir / "log.jsonl").read_text().splitlines()]
    lrs = [r["lr"] for r in log if "lr" in r]
    full_lrs = [
        json.loads(line)["lr"]
        for line in (tmp_path / "full" / "log.jsonl").read_text().splitlines()
        if "lr" in json.loads(line)
    ]
    assert lrs == full_lrs[-len(lrs) :], "the schedule re-warmed on resume"
