"""Codebook utilisation and entropy bitrate, computed from the codes a codec emitted.

For codebook ``k`` with ``N_k`` entries and empirical code distribution ``p`` over the test set:
- used fraction = (#distinct codes seen) / N_k;
- entropy H_k = −Σ p log2 p bits per frame; normalised entropy = H_k / log2 N_k;
- entropy bitrate = frame_rate × Σ_k H_k — what an ideal entropy coder of i.i.d. frames would need,
  shown beside the nominal bitrate frame_rate × Σ_k log2 N_k.
For FSQ codebooks (mixed-radix ``levels``) the per-dimension level usage is reported as well,
with Σ_d H_d (the entropy of each dimension on its own; an upper bound on the joint entropy).

**Like with like.** Codecs split a frame into codebooks differently (FSQ: one joint codebook whose
dimensions are independent digits; RVQ: stages), so two whole-frame figures are reported for every
token codec: the plug-in *joint* entropy of the whole frame (``frame_entropy_bps``; biased low by
the same amount for the same number of frames) and the sum of the *marginal* entropies of its
finest units (``marginal_entropy_bps``: FSQ dimensions, RVQ stages, codebooks; an upper bound on the
joint). ``distinct_frames`` counts distinct whole-frame codes; a codec whose frames take fewer than
:data:`COLLAPSE_RATIO` × min(frames seen, codes possible) distinct values (with at least
:data:`COLLAPSE_MIN_FRAMES` frames seen) is flagged ``collapsed``: it repeats a few codes, which
no amount of data would fix, unlike ``undersampled``.

The plug-in entropy of a codebook is biased low when the number of frames is not much larger than
the codebook (it can never exceed log2(frames)); such codebooks are flagged ``undersampled`` (fewer
than 10 frames per entry) and tables mark their entropy bitrate.
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np

COLLAPSE_RATIO = 0.1
COLLAPSE_MIN_FRAMES = 100


def _entropy(counts: Counter[object]) -> float:
    n = sum(counts.values())
    if n == 0:
        return 0.0
    p = np.array(list(counts.values()), dtype=np.float64) / n
    return float(-(p * np.log2(p)).sum())


class CodebookStats:
    """Accumulates code counts per codebook across utterances.

    Args:
        codebook_sizes: entries per codebook (``K`` values).
        codebook_levels: optional mixed-radix levels per codebook (FSQ), first dimension fastest.
    """

    def __init__(
        self,
        codebook_sizes: tuple[int, ...] | list[int],
        codebook_levels: tuple[tuple[int, ...], ...] | list[list[int]] | None = None,
    ) -> None:
        self.sizes = [int(s) for s in codebook_sizes]
        self.levels = [list(x) for x in codebook_levels] if codebook_levels else None
        self.counts: list[Counter[int]] = [Counter() for _ in self.sizes]
        self.frame_counts: Counter[tuple[int, ...]] = Counter()
        self.frames = 0

    def update(self, codes: np.ndarray) -> None:
        """Add codes ``[K, F]`` (or ``[B, K, F]``) of one utterance."""
        c = np.asarray(codes)
        if c.ndim == 3:
            c = c.transpose(1, 0, 2).reshape(c.shape[1], -1)
        if c.shape[0] != len(self.sizes):
            raise ValueError(f"codes have {c.shape[0]} codebooks, expected {len(self.sizes)}")
        for k in range(c.shape[0]):
            row = c[k].astype(np.int64)
            if row.size and (row.min() < 0 or row.max() >= self.sizes[k]):
                raise ValueError(
                    f"codebook {k}: code out of range [0, {self.sizes[k]}) "
                    f"(min {row.min()}, max {row.max()})"
                )
            vals, cnt = np.unique(row, return_counts=True)
            self.counts[k].update(dict(zip(vals.tolist(), cnt.tolist(), strict=True)))
        self.frame_counts.update(map(tuple, c.T.astype(np.int64).tolist()))
        self.frames += c.shape[1]

    def summary(self, frame_rate: float) -> dict[str, object]:
        """Per-codebook used fraction, entropy, normalised entropy; totals and entropy bitrate."""
        books = []
        total_h = 0.0
        for k, (size, counter) in enumerate(zip(self.sizes, self.counts, strict=True)):
            n = sum(counter.values())
            if n == 0:
                books.append({"index": k, "size": size, "used": 0, "used_fraction": 0.0})
                continue
            p = np.array(list(counter.values()), dtype=np.float64) / n
            h = float(-(p * np.log2(p)).sum())
            total_h += h
            entry: dict[str, object] = {
                "index": k,
                "size": size,
                "used": len(counter),
                "used_fraction": len(counter) / size,
                "entropy_bits": h,
                "normalized_entropy": h / math.log2(size) if size > 1 else 0.0,
            }
            entry["undersampled"] = n < 10 * size
            if self.levels:
                usage = self._level_usage(counter, self.levels[k])
                entry["level_usage"] = usage
                entry["dim_entropy_bits_sum"] = sum(
                    u["normalized_entropy"] * math.log2(u["levels"]) for u in usage
                )
            books.append(entry)
        max_h = sum(math.log2(s) for s in self.sizes if s > 1)
        marginal = sum(
            b.get("dim_entropy_bits_sum", b.get("entropy_bits", 0.0))  # type: ignore[arg-type]
            for b in books
        )
        joint = _entropy(self.frame_counts)  # type: ignore[arg-type]
        distinct = len(self.frame_counts)
        return {
            "frame_entropy_bits": joint,
            "frame_entropy_bps": frame_rate * joint,
            "marginal_entropy_bits": marginal,
            "marginal_entropy_bps": frame_rate * float(marginal),
            "marginal_units": "FSQ dimensions" if self.levels else "codebooks (stages)",
            "distinct_frames": distinct,
            "collapsed": self.frames >= COLLAPSE_MIN_FRAMES
            and distinct < COLLAPSE_RATIO * min(self.frames, math.prod(self.sizes)),
            "frames": self.frames,
            "codebooks": books,
            "entropy_bits_per_frame": total_h,
            "entropy_bps": frame_rate * total_h,
            "nominal_bps": frame_rate * max_h,
            "mean_used_fraction": float(np.mean([b["used_fraction"] for b in books]))
            if books
            else None,
            "normalized_entropy": total_h / max_h if max_h else None,
            "undersampled": any(b.get("undersampled", False) for b in books),
        }

    @staticmethod
    def _level_usage(counter: Counter[int], levels: list[int]) -> list[dict[str, float]]:
        """Per FSQ dimension: fraction of its levels used and its normalised entropy."""
        codes = np.array(list(counter.keys()), dtype=np.int64)
        weights = np.array(list(counter.values()), dtype=np.float64)
        out = []
        base = 1
        for L in levels:
            digit = (codes // base) % L
            hist = np.bincount(digit, weights=weights, minlength=L)
            p = hist[hist > 0] / hist.sum()
            h = float(-(p * np.log2(p)).sum())
            out.append(
                {
                    "levels": L,
                    "used_fraction": float((hist > 0).sum() / L),
                    "normalized_entropy": h / math.log2(L) if L > 1 else 0.0,
                }
            )
            base *= L
        return out
