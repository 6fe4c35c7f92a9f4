"""Verify a dataset's local files against its pinned manifest (ids; content hashes if pinned)."""

from __future__ import annotations

from bench.audio import pcm_sha256
from bench.data import Dataset


def verify_dataset(ds: Dataset) -> tuple[bool, str]:
    """Decode every file; compare its PCM SHA-256 with the manifest where one is pinned.

    Returns (no mismatch and no unreadable file, a short report).
    """
    import soundfile as sf
    from tqdm import tqdm

    checked = mismatched = unreadable = 0
    problems: list[str] = []
    for u in tqdm(ds.utterances, desc=f"verify {ds.slug}", unit="file"):
        try:
            data, _ = sf.read(str(u.path), dtype="float32")
        except Exception as exc:
            unreadable += 1
            problems.append(f"{u.id}: unreadable ({exc})")
            continue
        if u.num_samples is not None and len(data) != u.num_samples:
            mismatched += 1
            problems.append(f"{u.id}: {len(data)} samples, manifest pins {u.num_samples}")
        if u.sha256_pcm:
            checked += 1
            if pcm_sha256(data) != u.sha256_pcm:
                mismatched += 1
                problems.append(f"{u.id}: content differs from the pinned hash")
    lines = [
        f"{ds.name}: {len(ds.utterances)} files of {ds.manifest_size} in the manifest",
        f"content hashes pinned and checked: {checked}; mismatched: {mismatched}; "
        f"unreadable: {unreadable}",
        *ds.notes,
        *problems[:20],
    ]
    return mismatched == 0 and unreadable == 0, "\n".join(lines)
