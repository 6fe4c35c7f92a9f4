"""Checkpoint files.

A checkpoint is a folder::

    model.safetensors   generator weights and persistent buffers (what inference needs)
    config.json         {"config": <TAAEConfig>, "meta": {preset, step, git_commit, data, ...}}
    train_state.pt      optimizer, scheduler, discriminator, RNG and sampler states (training only;
                        torch.save of tensors and plain containers, loaded with weights_only=True)

Shipped checkpoints (``checkpoints/<preset>/``) hold only the first two files.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import torch

from taae.config import TAAEConfig, config_diff, config_from_dict, config_to_dict

MODEL_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
STATE_FILE = "train_state.pt"


def git_commit(repo: Path | None = None) -> str:
    """``HEAD`` commit of the repository holding this package (``"unknown"`` if none)."""
    repo = repo or Path(__file__).resolve().parents[1]
    try:
        out = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        )
        return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def resolve(path: str | Path) -> Path:
    """The checkpoint folder for a folder, a file in it, or a run folder (its latest step)."""
    p = Path(path)
    if p.is_file():
        p = p.parent
    if (p / MODEL_FILE).exists():
        return p
    latest = p / "latest.txt"
    if latest.exists():
        return p / latest.read_text().strip()
    raise FileNotFoundError(f"no checkpoint ({MODEL_FILE}) at {path}")


def save_model(
    folder: str | Path, model: torch.nn.Module, cfg: TAAEConfig, meta: dict[str, Any]
) -> Path:
    """Write ``model.safetensors`` and ``config.json`` into ``folder`` (atomically per file)."""
    from safetensors.torch import save_file

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    tmp = folder / (MODEL_FILE + ".tmp")
    save_file(state, str(tmp))
    os.replace(tmp, folder / MODEL_FILE)
    payload = {"config": config_to_dict(cfg), "meta": meta}
    tmp = folder / (CONFIG_FILE + ".tmp")
    tmp.write_text(json.dumps(payload, indent=2) + "\n")
    os.replace(tmp, folder / CONFIG_FILE)
    return folder


def save_train_state(folder: str | Path, state: dict[str, Any]) -> None:
    """Write ``train_state.pt`` (tensors and plain containers only)."""
    folder = Path(folder)
    tmp = folder / (STATE_FILE + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, folder / STATE_FILE)


def load_train_state(folder: str | Path) -> dict[str, Any]:
    """Read ``train_state.pt`` with ``weights_only=True``."""
    return torch.load(Path(folder) / STATE_FILE, map_location="cpu", weights_only=True)


def export_checkpoint(
    src: str | Path, out: str | Path, as_preset: str | None = None
) -> dict[str, Any]:
    """Copy the weights + config of ``src`` (a checkpoint or run folder) to ``out``; its meta.

    ``as_preset`` names the preset the weights are shipped as when the run was started from
    another preset plus ``--set`` overrides (a fine-tuning stage): every field of the run's config
    must equal that preset's (``ValueError`` lists the ones that do not), and the exported meta
    records ``preset = as_preset`` beside ``trained_as`` (the run's own preset name). The weights
    are copied unchanged.
    """
    import shutil

    folder = resolve(src)
    out = Path(out)
    payload = json.loads((folder / CONFIG_FILE).read_text())
    if as_preset is not None:
        from taae.presets import get_preset

        cfg = config_from_dict(payload["config"])
        diff = config_diff(cfg, get_preset(as_preset))
        if diff:
            fields = ", ".join(f"{k}: run {a!r} vs preset {b!r}" for k, (a, b) in diff.items())
            raise ValueError(f"{folder} was not trained as preset {as_preset!r}: {fields}")
        meta = payload.setdefault("meta", {})
        if meta.get("preset", cfg.name) != as_preset:
            meta["trained_as"] = meta.get("preset", cfg.name)
        meta["preset"] = as_preset
        payload["config"]["name"] = as_preset
    out.mkdir(parents=True, exist_ok=True)
    shutil.copy2(folder / MODEL_FILE, out / MODEL_FILE)
    tmp = out / (CONFIG_FILE + ".tmp")
    tmp.write_text(json.dumps(payload, indent=2) + "\n")
    os.replace(tmp, out / CONFIG_FILE)
    return read_config(out)[1]


def checkpoint_step(path: str | Path) -> int:
    """Training step of the checkpoint at ``path`` (checkpoint or run folder); 0 when none."""
    try:
        return int(read_config(path)[1].get("step", 0))
    except FileNotFoundError:
        return 0


def read_config(path: str | Path) -> tuple[TAAEConfig, dict[str, Any]]:
    """(config, meta) of a checkpoint."""
    folder = resolve(path)
    payload = json.loads((folder / CONFIG_FILE).read_text())
    return config_from_dict(payload["config"]), payload.get("meta", {})


def load_model(
    path: str | Path, device: str | torch.device = "cpu"
) -> tuple[torch.nn.Module, TAAEConfig, dict[str, Any]]:
    """Build a :class:`taae.model.TAAE` from a checkpoint, in eval mode on ``device``.

    If the checkpoint's meta names a post-hoc residual FSQ preset (``posthoc``), that bottleneck is
    installed after the weights are loaded.
    """
    from safetensors.torch import load_file

    from taae.bottlenecks import ResidualFSQ
    from taae.model import TAAE

    folder = resolve(path)
    cfg, meta = read_config(folder)
    model = TAAE(cfg.model, cfg.bottleneck, device="cpu")
    state = load_file(str(folder / MODEL_FILE))
    model.load_state_dict(state)
    if meta.get("posthoc"):
        model.set_bottleneck(ResidualFSQ.from_preset(meta["posthoc"]))
    return model.to(device).eval(), cfg, meta
