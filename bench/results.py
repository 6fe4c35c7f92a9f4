"""Result files: the per-utterance journal (resumable) and the final result JSON (atomic).

Layout under ``--out`` (default ``results/``)::

    <out>/<dataset slug>/<codec>.json          final result, one per (codec, dataset)
    <out>/.work/<dataset slug>/<codec>/        journal.jsonl + codes/<utt>.npy while running

The journal is appended and fsync'ed record by record, so a crash or Ctrl-C loses at most the
utterance in flight; a rerun reads it back and skips finished utterances.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
SCHEMA_VERSION = 1

#: Packages whose versions go into every result file.
TRACKED_PACKAGES = (
    "torch",
    "torchaudio",
    "numpy",
    "scipy",
    "soundfile",
    "pesq",
    "pystoi",
    "speechmos",
    "onnxruntime",
    "librosa",
    "vector-quantize-pytorch",
    "encodec",
    "descript-audio-codec",
    "pycodec2",
    "ai-edge-litert",
    "av",
    "pocketsphinx",
    "jiwer",
    "resemblyzer",
    "distillmos",
)


def safe_name(name: str) -> str:
    """A codec/dataset name usable as a file name (``/`` and spaces replaced)."""
    return name.replace("/", "_").replace(" ", "_")


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temporary file + ``os.replace`` (never half-written)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write_json(path: Path, obj: Any) -> None:
    atomic_write_text(
        path, json.dumps(obj, indent=1, sort_keys=False, default=_json_default) + "\n"
    )


def _json_default(o: Any) -> Any:
    import numpy as np

    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


class Journal:
    """Append-only JSONL of per-utterance records; its header pins the run's configuration."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.path = folder / "journal.jsonl"
        self.codes_dir = folder / "codes"

    def read(self) -> tuple[dict[str, Any] | None, dict[str, dict[str, Any]]]:
        """Header and records by utterance id; a torn last line (crash mid-write) is ignored."""
        if not self.path.is_file():
            return None, {}
        header = None
        records: dict[str, dict[str, Any]] = {}
        with open(self.path, encoding="utf-8") as f:
            for line in f:
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if obj.get("type") == "header":
                    header = obj
                elif obj.get("type") == "utterance":
                    records[obj["id"]] = obj
        return header, records

    def start(self, header: dict[str, Any]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.codes_dir.mkdir(exist_ok=True)
        if not self.path.is_file():
            self._append({"type": "header", **header})
        else:
            self._drop_torn_tail()

    def _drop_torn_tail(self) -> None:
        """Cut a last line left without its newline by a crash, so appends start on a fresh line."""
        with open(self.path, "rb+") as f:
            data = f.read()
            if data and not data.endswith(b"\n"):
                f.truncate(data.rfind(b"\n") + 1)

    def write_peak(self, peak: dict[str, Any]) -> None:
        """Record a finished shard's peak memory (read back by ``bench merge``)."""
        self._append({"type": "peak", **peak})

    def read_peak(self) -> dict[str, Any] | None:
        if not self.path.is_file():
            return None
        peak = None
        with open(self.path, encoding="utf-8") as f:
            for line in f:
                if '"type": "peak"' in line:
                    try:
                        peak = json.loads(line)
                    except json.JSONDecodeError:
                        pass
        return peak

    def append(self, record: dict[str, Any]) -> None:
        self._append({"type": "utterance", **record})

    def _append(self, obj: dict[str, Any]) -> None:
        line = json.dumps(obj, default=_json_default) + "\n"
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(line)
            f.flush()
            os.fsync(f.fileno())

    def codes_path(self, utt_id: str) -> Path:
        return self.codes_dir / (safe_name(utt_id) + ".npy")

    def save_codes(self, utt_id: str, codes: Any) -> None:
        import numpy as np

        path = self.codes_path(utt_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp.npy")
        np.save(tmp, np.asarray(codes))
        os.replace(tmp, path)

    def clear(self) -> None:
        import shutil

        if self.folder.exists():
            shutil.rmtree(self.folder)


def git_info() -> dict[str, Any]:
    """Commit hash and whether the working tree had uncommitted changes to tracked files outside
    ``results/`` — the harness's own outputs (result files a long run rewrites one codec at a
    time, the leaderboard) do not make the code that produced them dirty."""

    def run(*args: str) -> str | None:
        try:
            out = subprocess.run(
                ["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=10
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return out.stdout.strip() if out.returncode == 0 else None

    commit = run("rev-parse", "HEAD")
    status = run("status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)results")
    return {"commit": commit, "dirty": bool(status) if status is not None else None}


def package_versions() -> dict[str, str | None]:
    from importlib.metadata import PackageNotFoundError, version

    out: dict[str, str | None] = {}
    for name in TRACKED_PACKAGES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    return out


def device_description(device: str) -> str:
    """E.g. ``"cpu (2 threads, x86_64)"`` or ``"cuda:0 (NVIDIA H100 80GB HBM3)"``."""
    import torch

    dev = torch.device(device)
    if dev.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(dev)})"
    return f"cpu ({torch.get_num_threads()} threads, {platform.machine()})"


def provenance(device: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Everything needed to reproduce a result: code version, packages, machine, command, date."""
    from audiocodecs.plugins import loaded_plugins
    from audiocodecs.resample import RESAMPLER

    return {
        "git": git_info(),
        "packages": package_versions(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "device": device_description(device),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join(_relative_arg(a) for a in sys.argv),
        "resampler": RESAMPLER,
        "plugins": loaded_plugins(),  # every codec / metric plugin this process loaded
        **(extra or {}),
    }


def _relative_arg(arg: str) -> str:
    """A command-line word with the repository's absolute prefix dropped (no machine paths)."""
    root = str(REPO_ROOT)
    if arg.startswith(root):
        return os.path.relpath(arg, root)
    return arg


def load_result(path: Path) -> dict[str, Any]:
    """A result file, checked for its schema version and required fields (``ValueError``)."""
    with open(path, encoding="utf-8") as f:
        obj = json.load(f)
    if not isinstance(obj, dict) or obj.get("schema") != SCHEMA_VERSION:
        schema = obj.get("schema") if isinstance(obj, dict) else type(obj).__name__
        raise ValueError(f"{path}: not a result file of schema {SCHEMA_VERSION} ({schema!r})")
    missing = [f"{a}.{b}" if b else a for a, b in REQUIRED_FIELDS
               if not isinstance(obj.get(a), dict if b else (dict, list))
               or (b and b not in obj[a])]  # fmt: skip
    if missing:
        raise ValueError(f"{path}: result file lacks {', '.join(missing)}")
    return obj


#: (field, sub-field) every result file must hold; checked once here for every reader.
REQUIRED_FIELDS = (
    ("codec", "name"),
    ("dataset", "name"),
    ("dataset", "slug"),
    ("metrics", None),
    ("summary", None),
    ("counts", None),
    ("utterances", None),
)


def find_results(root: Path) -> list[Path]:
    """Final result files under ``root`` (skipping the ``.work`` journals)."""
    return sorted(
        p for p in root.glob("*/*.json") if not any(part.startswith(".") for part in p.parts[-2:])
    )
