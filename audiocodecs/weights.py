"""Pretrained weight files the registry can use, where each must go, and how to verify one.

Nothing is downloaded at run time (a codec whose file is absent is unavailable, with this
module's fix). ``python -m bench weights`` lists every file with its expected place, the URL it
comes from and whether a present copy checks out; ``python -m bench weights fetch NAME``
downloads one from that URL (``bench.data.download.fetch_weights``: progress bar, resume, the
published checksum, atomic placement); ``python -m bench weights install FILE`` does the same
checks for a file fetched by other means (its SHA-256 against the published one where a
publisher states one) and copies it, atomically, to where the adapter looks for it.
"""

from __future__ import annotations

import fnmatch
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from audiocodecs.base import file_sha256


@dataclass(frozen=True)
class WeightSpec:
    """One pretrained weight file.

    Attributes:
        label: short name used on the command line (``encodec_24khz``, ``dac_16khz`` …).
        codecs: registry names (or pattern) that load it.
        path: where the adapter looks for it (honours the adapter's environment variable).
        url: where to fetch it on a machine with internet.
        sha256: published SHA-256, or ``None``.
        sha256_prefix: published leading hex digits (EnCodec names files by them), or ``None``.
    """

    label: str
    codecs: str
    path: Path
    url: str
    sha256: str | None = None
    sha256_prefix: str | None = None

    def check(self, path: Path | None = None) -> tuple[bool, str]:
        """(usable, one-line status) of ``path`` (default: the expected place)."""
        p = path or self.path
        if not p.is_file():
            group = self.label.split("/")[0]
            return False, (
                f"absent — `python -m bench weights fetch {group}` downloads {self.url}; "
                "offline, fetch it elsewhere and `python -m bench weights install FILE`"
            )
        digest = file_sha256(p)
        if self.sha256 and digest != self.sha256:
            return False, f"SHA-256 {digest[:12]}… differs from the published {self.sha256[:12]}…"
        if self.sha256_prefix and not digest.startswith(self.sha256_prefix):
            return False, (
                f"SHA-256 {digest[:12]}… does not start with the published {self.sha256_prefix}"
            )
        if self.sha256 or self.sha256_prefix:
            return True, f"ok (SHA-256 {digest[:12]}… matches the published checksum)"
        return True, f"present (no published checksum; SHA-256 {digest[:12]}… goes into results)"


def specs() -> list[WeightSpec]:
    """Every pretrained weight file of the registered families."""
    from audiocodecs import dac, encodec, lyra

    out = [
        WeightSpec(
            "encodec_24khz",
            "encodec_24khz@*",
            encodec.weights_path(),
            encodec.ROOT_URL + encodec.CHECKPOINT_24KHZ,
            sha256_prefix=encodec.CHECKSUM_PREFIX,
        )
    ]
    for key, model in dac.MODELS.items():
        out.append(WeightSpec(f"dac_{key}", f"dac_{key}@*", dac.weights_path(key), model.url))
    base = "https://github.com/google/lyra/raw/v1.3.2/lyra/model_coeffs/"
    for fname, digest in lyra.MODEL_SHA256.items():
        out.append(
            WeightSpec(
                f"lyra/{fname}", "lyra@*", lyra.models_dir() / fname, base + fname, sha256=digest
            )
        )
    return out


def find_spec(label: str) -> WeightSpec:
    """The spec called ``label``; ``KeyError`` listing the valid labels."""
    found = {s.label: s for s in specs()}
    if label not in found:
        raise KeyError(f"unknown weight file {label!r}; one of: {', '.join(found)}")
    return found[label]


def specs_for(codec: str) -> list[WeightSpec]:
    """The weight files the registry entry ``codec`` (an exact name) loads."""
    return [s for s in specs() if fnmatch.fnmatchcase(codec, s.codecs)]


def select(name: str) -> list[WeightSpec]:
    """The weight files ``name`` means, for ``bench weights fetch``: a label (``dac_16khz``), a
    label's group (``lyra``: its three model files), or any codec name the registry resolves
    (``dac``, ``encodec_24khz@1.5kbps``): the files that codec loads. ``KeyError`` (one line,
    the valid labels) otherwise."""
    from audiocodecs.registry import resolve

    every = specs()
    chosen = [s for s in every if s.label == name or s.label.startswith(f"{name}/")]
    if chosen:
        return chosen
    labels = ", ".join(dict.fromkeys(s.label.split("/")[0] for s in every))
    try:
        codec = resolve(name)
    except KeyError:
        raise KeyError(f"unknown weight file or codec {name!r}; weight files: {labels}") from None
    chosen = specs_for(codec)
    if not chosen:
        raise KeyError(f"{name} ({codec}) loads no published weight file; weight files: {labels}")
    return chosen


def identify(src: Path) -> WeightSpec:
    """The spec a user-supplied file is for: by SHA-256 where published, else by file name."""
    digest = file_sha256(src)
    for s in specs():
        if s.sha256 == digest or (s.sha256_prefix and digest.startswith(s.sha256_prefix)):
            return s
    for s in specs():
        if src.name in (s.path.name, Path(s.url).name) and not (s.sha256 or s.sha256_prefix):
            return s
    raise KeyError(
        f"{src} matches no known weight file by checksum or name; name it with --as "
        f"({', '.join(s.label for s in specs())})"
    )


def install(src: str | Path, label: str | None = None) -> tuple[WeightSpec, str]:
    """Verify ``src`` and copy it to where its adapter looks; returns (spec, status line).

    Raises ``ValueError`` (nothing copied) when the file fails its published checksum.
    """
    src = Path(src)
    if not src.is_file():
        raise ValueError(f"no such file: {src}")
    spec = find_spec(label) if label else identify(src)
    ok, status = spec.check(src)
    if not ok:
        raise ValueError(f"{src} is not {spec.label}: {status}; nothing installed")
    spec.path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=spec.path.parent, prefix=f".{spec.path.name}.")
    os.close(fd)
    try:
        shutil.copyfile(src, tmp)
        os.replace(tmp, spec.path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return spec, status
