"""Inter-rater agreement of pairwise judgements by random rater splits (Cohen's kappa).

Each item (a steered (model, goal) sequence) is judged by several raters, not by two fixed ones,
so the release's authors pair judgements by splitting each item's raters at random (without a
seed). steerstats makes that procedure an estimand: for every item with at least two judgements
draw two distinct judgements uniformly, call them rater A and rater B, and compute Cohen's kappa
over items,

    kappa = (p_o - p_e) / (1 - p_e),  p_o = share of items with A == B,
    p_e = p_A p_B + (1 - p_A)(1 - p_B),

and report its expectation over random splits (the mean of ``n_splits`` seeded splits) with a
percentile interval from a cluster bootstrap that resamples clusters (steering users: items are
nested in them) and averages ``boot_splits`` fresh splits in every replicate, so the interval
carries the sampling variability and what is left of the split noise (a replicate of one split
each would add the full split variance and over-cover). A split enters kappa only through each
item's (A, B) pattern, so each pattern is drawn from its probabilities (:func:`pair_probabilities`),
one uniform per item and split. Vectorised, in bounded blocks, over one seed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from steerstats.config import check_n_boot
from steerstats.errors import InputError
from steerstats.uncertainty.bootstrap import cluster_counts

_CHUNK_CELLS = 4_000_000  # floats per block of (replicates x splits, items)


@dataclass(frozen=True)
class SplitKappa:
    kappa: float  # mean over seeded random splits
    split_sd: float  # SD of kappa across splits (the split procedure's own noise)
    ci_low: float
    ci_high: float
    se: float  # SD of the bootstrap replicates
    n_items: int  # items with >= 2 judgements
    n_judgements: int
    n_clusters: int
    cluster: str  # what the bootstrap resampled
    observed_agreement: float
    yes_share: float


def _items(frame: pd.DataFrame, column: str, item: Sequence[str], cluster: str | None):
    """Judgements sorted by item; (values, starts, sizes, cluster code per item) of items with >= 2
    judgements, and the cluster actually used (the items themselves when they do not nest in ``cluster``)."""
    for c in (*item, *([cluster] if cluster else []), column):
        if c not in frame.columns:
            raise InputError("column missing from the judgements", column=c)
    y = frame[column]
    if y.isna().any():
        raise InputError("missing judgement", row=int(np.flatnonzero(y.isna().to_numpy())[0]) + 1, column=column)
    codes, _ = pd.MultiIndex.from_frame(frame[list(item)]).factorize()
    order = np.argsort(codes, kind="stable")
    values, codes = y.to_numpy(dtype=bool)[order], codes[order]
    n = np.bincount(codes)
    starts = np.r_[0, np.cumsum(n)[:-1]]
    keep = n >= 2
    used = cluster
    if cluster is not None:
        cl = pd.factorize(frame[cluster].to_numpy()[order])[0]
        nested = bool((pd.Series(cl).groupby(codes).nunique() == 1).all())
        if not nested:
            used = None
    if used is None:
        item_clusters = np.arange(int(keep.sum()))
        used = "item (" + ", ".join(item) + ")"
    else:
        item_clusters = pd.factorize(cl[starts[keep]])[0]
    return values, starts[keep], n[keep], item_clusters, used


def pair_probabilities(values: np.ndarray, starts: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """(items, 4) probabilities of (A, B) = (yes, yes), (yes, no), (no, yes), (no, no) for two
    distinct judgements drawn uniformly (an ordered pair) from each item's n judgements, k of them yes:
    k(k-1), k(n-k), (n-k)k, (n-k)(n-k-1), each over n(n-1)."""
    csum = np.r_[0.0, np.cumsum(values, dtype=float)]
    k = csum[starts + sizes] - csum[starts]  # items need not be contiguous (single-judgement items are left out)
    n = sizes.astype(float)
    pairs = n * (n - 1)
    return np.column_stack([k * (k - 1), k * (n - k), (n - k) * k, (n - k) * (n - k - 1)]) / pairs[:, None]


def _draw_splits(cumulative: np.ndarray, rng: np.random.Generator, n: int) -> np.ndarray:
    """(n, items) int8 pair categories (0: yes-yes, 1: yes-no, 2: no-yes, 3: no-no), one uniform each."""
    u = rng.random((n, cumulative.shape[0]))
    return ((u >= cumulative[:, 0]).astype(np.int8) + (u >= cumulative[:, 1]) + (u >= cumulative[:, 2])).astype(np.int8)


def _kappa(cat: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Weighted Cohen's kappa of the split(s) whose pair categories are ``cat`` (R, S, items), with
    item weights ``weight`` (R, items): (R, S)."""
    total = weight.sum(axis=1)[:, None]

    def share(mask: np.ndarray) -> np.ndarray:
        return np.matmul(mask.astype(float), weight[:, :, None])[..., 0] / total

    po = share((cat == 0) | (cat == 3))
    pa = share(cat <= 1)
    pb = share((cat == 0) | (cat == 2))
    pe = pa * pb + (1 - pa) * (1 - pb)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (po - pe) / (1 - pe)


def split_kappa(
    frame: pd.DataFrame,
    column: str,
    *,
    item: Sequence[str] = ("model", "goal_image"),
    cluster: str | None = "steering_user_id",
    n_splits: int = 200,
    boot_splits: int = 20,
    n_boot: int = 2000,
    seed: int = 0,
    level: float = 0.95,
) -> SplitKappa:
    """Expected Cohen's kappa of two random judgements per item, with a cluster-bootstrap interval
    (module docstring). Items with one judgement carry no agreement and are left out. When the
    items do not nest in ``cluster`` (several users steered one LLM headline) the items are the
    clusters, and ``cluster`` in the result says so."""
    check_n_boot(n_boot)
    values, starts, sizes, clusters, used = _items(frame, column, item, cluster)
    if len(sizes) < 2:
        raise InputError(f"fewer than two items with two or more judgements in '{column}'", column=column)
    rng = np.random.default_rng(seed)
    # a split only matters through each item's (A, B) pattern, drawn directly from its probabilities
    cumulative = np.cumsum(pair_probabilities(values, starts, sizes), axis=1)[:, :3]
    split_cats = _draw_splits(cumulative, rng, n_splits)
    splits = _kappa(split_cats[None], np.ones((1, len(sizes))))[0]
    g = int(clusters.max()) + 1
    counts = cluster_counts(g, n_boot, rng).astype(float)  # (B, G)
    # each replicate averages boot_splits fresh splits, as the estimate averages n_splits: the
    # interval then carries the split noise of the estimate (var/boot_splits), not of one split
    m = min(n_splits, boot_splits)
    chunk = max(1, _CHUNK_CELLS // (m * len(sizes)))
    reps = np.empty(n_boot)
    for lo in range(0, n_boot, chunk):
        hi = min(lo + chunk, n_boot)
        cats = _draw_splits(cumulative, rng, (hi - lo) * m).reshape(hi - lo, m, len(sizes))
        reps[lo:hi] = _kappa(cats, counts[lo:hi, clusters]).mean(axis=1)
    alpha = (1 - level) / 2
    lo, hi = np.nanquantile(reps, [alpha, 1 - alpha])
    return SplitKappa(
        kappa=float(splits.mean()), split_sd=float(splits.std(ddof=1)), ci_low=float(lo), ci_high=float(hi),
        se=float(np.nanstd(reps, ddof=1)), n_items=len(sizes), n_judgements=int(sizes.sum()), n_clusters=g, cluster=used,
        observed_agreement=float(((split_cats == 0) | (split_cats == 3)).mean()), yes_share=float(values.mean()),
    )


#: (study attribute, judgement column, item columns) of each judgement file with several raters per item
AGREEMENT_FILES = {
    "improvement (image)": ("improvement", "last_chosen", ("model", "goal_image")),
    "pom1 (image)": ("pom1", "ref_chosen", ("model", "goal_image")),
    "pom5 (image)": ("pom5", "ref_chosen", ("model", "goal_image")),
    "improvement (LLM)": ("llm_improvement", "last_chosen", ("model", "target_headline")),
}


def agreement_table(study, *, n_boot: int, seed: int, n_splits: int = 200, level: float = 0.95) -> pd.DataFrame:
    """Split-kappa per judgement file the study has (image and LLM studies), one row each."""
    rows = []
    for name, (attr, column, item) in AGREEMENT_FILES.items():
        frame = getattr(study, attr, None)
        if frame is None:
            continue
        k = split_kappa(frame, column, item=item, n_splits=n_splits, n_boot=n_boot, seed=seed, level=level)
        rows.append({"judgement": name, "n_items": k.n_items, "n_judgements": k.n_judgements,
                     "n_clusters": k.n_clusters, "yes_share": k.yes_share, "observed_agreement": k.observed_agreement,
                     "kappa": k.kappa, "kappa_se": k.se, "kappa_ci_low": k.ci_low, "kappa_ci_high": k.ci_high,
                     "kappa_split_sd": k.split_sd, "n_splits": n_splits, "cluster": k.cluster})
    return pd.DataFrame(rows)
