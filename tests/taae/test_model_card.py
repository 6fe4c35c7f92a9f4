"""Model cards list only the result files that scored the card's own weights."""

from __future__ import annotations

from pathlib import Path

from audiocodecs.base import file_sha256
from taae.model_card import _results_for, render

REPO = Path(__file__).resolve().parents[2]
CKPT = REPO / "checkpoints" / "tinyspec_fsq_ste_348bps"


def test_ablation_results_are_matched_by_weights_digest_not_by_name() -> None:
    digest = file_sha256(CKPT / "model.safetensors")
    found = _results_for({"taae_fsq_ste_348"}, REPO / "results", digest)
    assert found and {where for _, where in found} == {"ablation_tinyspec/seed0"}
    assert all(r["codec"]["weights_sha256"] == digest for r, _ in found)
    # seeds 1 and 2 (other weights, same registry name) never reach the card
    assert _results_for({"taae_fsq_ste_348"}, REPO / "results", "0" * 64) == []
    card = render(CKPT, ["taae_fsq_ste_348"], REPO / "results")
    assert "`results/ablation_tinyspec/seed0/` (same weights)" in card
    assert "librispeech-test-clean-122" in card
