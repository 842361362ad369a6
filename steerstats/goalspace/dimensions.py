"""Goal dimensions and their normalisation to [0, 1] (SPEC section 3; Chang et al. 2025, Sec. 3).

A raw measure x is normalised as clip((x - lo) / (hi - lo), 0, 1), with lo/hi the 2.5th/97.5th
percentiles of a reference corpus. The published defaults come from the long-text corpus of the
paper's steerability probe; texts far shorter than that corpus (headlines) should be normalised with
percentiles of a corpus like themselves (:meth:`Normalizer.from_reference`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from steerstats.errors import InputError

#: Goal dimensions in the SPEC's order.
DIMENSIONS: tuple[str, ...] = ("reading_difficulty", "textual_diversity", "text_length", "formality")

#: Published 2.5th/97.5th percentile ranges of the raw measures (SPEC section 3).
DEFAULT_RANGES: dict[str, tuple[float, float]] = {
    "reading_difficulty": (2.8, 12.9),
    "textual_diversity": (44.8439, 128.5441),
    "text_length": (78.0, 1509.0),
    "formality": (40.37, 69.121634),
}


def check_dims(dims: Sequence[str] | None) -> tuple[str, ...]:
    """Validate a list of dimension names (None -> all four, SPEC order)."""
    if dims is None:
        return DIMENSIONS
    dims = tuple(dims)
    unknown = [d for d in dims if d not in DIMENSIONS]
    if unknown or not dims:
        raise InputError(f"unknown goal dimension(s) {unknown or '[]'}; choose from {list(DIMENSIONS)}")
    if len(set(dims)) != len(dims):
        raise InputError(f"goal dimensions repeated: {list(dims)}")
    return dims


@dataclass(frozen=True)
class Normalizer:
    """Affine map raw -> [0, 1] per dimension: clip((x - lo) / (hi - lo), 0, 1)."""

    dims: tuple[str, ...]
    lo: np.ndarray  # (d,)
    hi: np.ndarray  # (d,)
    source: str = "defaults"  # "defaults" or a description of the reference corpus

    def __post_init__(self) -> None:
        lo, hi = np.asarray(self.lo, float), np.asarray(self.hi, float)
        if lo.shape != (len(self.dims),) or hi.shape != lo.shape:
            raise ValueError("lo/hi must have one entry per dimension")
        if not np.all(hi > lo):
            bad = [d for d, a, b in zip(self.dims, lo, hi, strict=True) if not b > a]
            raise InputError(f"normalisation range is empty (hi <= lo) for {bad}: the reference corpus does not vary there")
        object.__setattr__(self, "lo", lo)
        object.__setattr__(self, "hi", hi)

    @classmethod
    def from_defaults(cls, dims: Sequence[str] | None = None) -> Normalizer:
        """The published ranges (SPEC section 3)."""
        dims = check_dims(dims)
        lo = np.array([DEFAULT_RANGES[d][0] for d in dims])
        hi = np.array([DEFAULT_RANGES[d][1] for d in dims])
        return cls(dims, lo, hi, "defaults")

    @classmethod
    def from_reference(
        cls,
        raw: np.ndarray,
        dims: Sequence[str] | None = None,
        *,
        percentiles: tuple[float, float] = (2.5, 97.5),
        source: str = "reference corpus",
    ) -> Normalizer:
        """lo/hi = the given percentiles of a reference corpus's raw values (n, d); NaNs ignored."""
        dims = check_dims(dims)
        raw = np.asarray(raw, dtype=float).reshape(-1, len(dims))
        lo, hi = np.nanpercentile(raw, percentiles, axis=0)
        return cls(dims, lo, hi, f"{source} (n={raw.shape[0]}, percentiles {percentiles[0]}/{percentiles[1]})")

    def transform(self, raw: np.ndarray) -> np.ndarray:
        """Normalised values in [0, 1]; NaN stays NaN (unmeasurable text)."""
        raw = np.asarray(raw, dtype=float)
        return np.clip((raw - self.lo) / (self.hi - self.lo), 0.0, 1.0)

    def as_dict(self) -> dict[str, list[float]]:
        return {d: [float(a), float(b)] for d, a, b in zip(self.dims, self.lo, self.hi, strict=True)}
