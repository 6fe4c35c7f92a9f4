"""Download, verify and safely extract LibriSpeech test-clean.

``python -m bench data download --dest DIR`` calls :func:`download_librispeech_test_clean`. The
archive is checked against the MD5 that OpenSLR publishes for it (see
``bench/data/manifests/README.md`` for where the pinned value comes from) before anything is
extracted, and extraction refuses any member that would land outside ``dest``.

``url`` may also be a ``file://`` URL or a plain local path, so an archive fetched by other means
(or a test fixture) goes through the same checks without a network.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

from bench.data import DatasetError

OFFICIAL_URL = "https://www.openslr.org/resources/12/test-clean.tar.gz"
#: MD5 of the official ``test-clean.tar.gz`` (OpenSLR resource 12).
OFFICIAL_MD5 = "32fa31d27d2e1cad72775fee3f4849a9"
#: Size in bytes of the official archive (used for the progress bar when the server sends none).
OFFICIAL_SIZE = 346_663_984
ARCHIVE_NAME = "test-clean.tar.gz"
#: Where the utterances are inside the archive.
SUBDIR = Path("LibriSpeech") / "test-clean"
CHUNK = 1 << 20
TIMEOUT_S = 60.0


class DownloadError(DatasetError):
    """Downloading, verifying or extracting the archive failed; the message is one line.

    A :class:`bench.data.DatasetError` (so the CLI reports it as ``error: …``, exit 2)."""


def download_librispeech_test_clean(
    dest: Path,
    url: str = OFFICIAL_URL,
    md5: str | None = OFFICIAL_MD5,
    progress: bool = True,
) -> Path:
    """Fetch LibriSpeech test-clean into ``dest`` and return ``dest/LibriSpeech/test-clean``.

    Args:
        dest: folder to extract into (created if needed). A downloaded archive is kept there as
            ``test-clean.tar.gz`` and reused on the next call if its checksum still matches.
        url: ``http(s)://`` or ``file://`` URL, or a local path to the archive.
        md5: expected MD5 (hex) of the archive; ``None`` skips the check (not recommended).
        progress: show a progress bar (``tqdm``, when installed) while downloading.

    Returns:
        The extracted ``LibriSpeech/test-clean`` folder.

    Raises:
        DownloadError: network failure, missing file, checksum mismatch, unsafe or broken archive.
    """
    dest = Path(dest)
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DownloadError(f"cannot create {dest}: {exc.strerror or exc}") from None
    local = _local_path(url)
    if local is not None:
        if not local.is_file():
            raise DownloadError(f"archive not found: {local}")
        archive = local
        if md5 is not None:
            _check_md5(archive, _md5_of_file(archive), md5)
    else:
        archive = dest / ARCHIVE_NAME
        if not (archive.is_file() and md5 is not None and _md5_of_file(archive) == md5.lower()):
            _download(url, archive, md5, progress)
    _safe_extract(archive, dest)
    out = dest / SUBDIR
    if not out.is_dir():
        raise DownloadError(f"{archive.name} has no {SUBDIR.as_posix()}/ folder; not test-clean?")
    return out


def _local_path(url: str) -> Path | None:
    """The local file ``url`` names (plain path or ``file://``), or ``None`` for a remote URL."""
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme == "file":
        return Path(urllib.request.url2pathname(parsed.path))
    if parsed.scheme in ("http", "https", "ftp"):
        return None
    if parsed.scheme and len(parsed.scheme) > 1:  # e.g. "s3://" — one letter is a Windows drive
        raise DownloadError(f"unsupported URL scheme {parsed.scheme!r} in {url}")
    return Path(url)


def _md5_of_file(path: Path) -> str:
    """MD5 (hex) of a file, read in chunks."""
    h = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def _check_md5(path: Path, got: str, expected: str) -> None:
    """Raise :class:`DownloadError` unless ``got`` equals ``expected`` (case-insensitive)."""
    if got != expected.lower():
        raise DownloadError(
            f"checksum mismatch for {path.name}: expected md5 {expected.lower()}, got {got}"
        )


def _progress_bar(total: int | None, enabled: bool, desc: str) -> Any:
    """A ``tqdm`` byte counter, or ``None`` when disabled or ``tqdm`` is not installed."""
    if not enabled:
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=desc)


def _download(url: str, target: Path, md5: str | None, progress: bool) -> None:
    """Stream ``url`` to ``target`` (via a ``.part`` file), hashing on the way."""
    part = target.with_name(target.name + ".part")
    h = hashlib.md5()
    bar = None
    try:
        req = urllib.request.Request(url, headers={"User-Agent": "taae-codec-bench"})
        with urllib.request.urlopen(req, timeout=TIMEOUT_S) as resp, open(part, "wb") as out:
            length = resp.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            if total is None and url == OFFICIAL_URL:
                total = OFFICIAL_SIZE
            bar = _progress_bar(total, progress, target.name)
            _copy_stream(resp, out, h, bar)
    except urllib.error.HTTPError as exc:
        part.unlink(missing_ok=True)
        raise DownloadError(
            f"network failure downloading {url}: HTTP {exc.code} {exc.reason}"
        ) from None
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        part.unlink(missing_ok=True)
        reason = getattr(exc, "reason", None) or exc
        raise DownloadError(f"network failure downloading {url}: {reason}") from None
    finally:
        if bar is not None:
            bar.close()
    got = h.hexdigest()
    if md5 is not None and got != md5.lower():
        part.unlink(missing_ok=True)
        raise DownloadError(
            f"checksum mismatch for {url}: expected md5 {md5.lower()}, got {got} "
            "(corrupt or different file; download removed)"
        )
    os.replace(part, target)


def _copy_stream(src: BinaryIO, dst: BinaryIO, h: Any, bar: Any) -> None:
    """Copy ``src`` to ``dst`` in chunks, feeding the hash ``h`` and the progress ``bar``."""
    while True:
        block = src.read(CHUNK)
        if not block:
            return
        dst.write(block)
        h.update(block)
        if bar is not None:
            bar.update(len(block))


def _check_member(member: tarfile.TarInfo, root: Path) -> None:
    """Raise :class:`DownloadError` for a member that could write outside ``root``."""
    name = member.name
    pure = PurePosixPath(name.replace("\\", "/"))
    if pure.is_absolute() or name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        raise DownloadError(f"unsafe archive member (absolute path): {name!r}")
    if ".." in pure.parts:
        raise DownloadError(f"unsafe archive member (parent-directory path): {name!r}")
    target = (root / pure).resolve()
    if target != root and root not in target.parents:
        raise DownloadError(f"unsafe archive member (leaves the destination): {name!r}")
    if member.issym() or member.islnk():
        raise DownloadError(f"unsafe archive member (link): {name!r} -> {member.linkname!r}")
    if not (member.isfile() or member.isdir()):
        raise DownloadError(f"unsafe archive member (device, fifo or other special file): {name!r}")


def _safe_extract(archive: Path, dest: Path) -> None:
    """Extract ``archive`` into ``dest`` after checking every member; nothing is written if any
    member is unsafe."""
    root = dest.resolve()
    try:
        with tarfile.open(archive, "r:*") as tar:
            members = tar.getmembers()
            for m in members:
                _check_member(m, root)
            for m in members:
                if m.isdir():
                    (root / m.name).mkdir(parents=True, exist_ok=True)
                    continue
                target = root / m.name
                target.parent.mkdir(parents=True, exist_ok=True)
                src = tar.extractfile(m)
                if src is None:
                    raise DownloadError(f"cannot read archive member {m.name!r}")
                with src, open(target, "wb") as out:
                    shutil.copyfileobj(src, out, CHUNK)
    except (tarfile.TarError, EOFError) as exc:
        raise DownloadError(f"broken archive {archive.name}: {exc}") from None
    except OSError as exc:
        raise DownloadError(f"cannot extract {archive.name} into {dest}: {exc}") from None
