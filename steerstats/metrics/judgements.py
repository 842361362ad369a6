"""Pairwise judgements: improvement rate, POM-1 and POM-5 (SPEC section 1).

Raters judge, per steered (model, goal) sequence, whether the last attempt is closer to the goal
than the first (``improvement.csv``, column ``last_chosen``) or whether the user's 1st / 5th prompt
describes the goal better than the image it produced (``pom1/pom5.csv``, ``ref_chosen``).

The release turns the judgements of each (model, goal) group into votes by shuffling the group
*without a seed*, cutting it into chunks of 3 (the last chunk may hold 1 or 2) and taking each
chunk's majority, with pandas ``mode()[0]`` breaking a 1-1 tie as False; the rate is the share of
yes votes over all chunks. Its printed numbers are therefore one draw of a random procedure.
steerstats computes three things:

* :func:`majority_rate_exact` - the exact expectation of that procedure. A chunk at fixed positions
  of a uniformly shuffled group is a uniform draw without replacement, so for a group with k yes
  out of n, a chunk of size s votes yes with probability P(X > s/2), X ~ Hypergeometric(n, k, s)
  (s=3: P(X >= 2); s=2: k(k-1)/(n(n-1)); s=1: k/n). The rate is sum(expected yes votes) /
  sum(chunks), since the number of chunks is fixed.
* :func:`majority_votes_seeded` - the procedure itself, with an explicit seed.
* :func:`judgement_share` - the plain share of yes judgements (no voting).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.stats import hypergeom

from steerstats.metrics.cells import OVERALL, Cells, group_cells
from steerstats.metrics.weighted import group_weight, squeeze_like, weighted_ratio_of_sums

CHUNK = 3


def chunk_sizes(n: int, chunk: int = CHUNK) -> list[int]:
    """Sizes of the consecutive chunks a group of ``n`` judgements is cut into."""
    sizes = [chunk] * (n // chunk)
    if n % chunk:
        sizes.append(n % chunk)
    return sizes


def p_majority_yes(k: int | np.ndarray, n: int | np.ndarray, size: int | np.ndarray) -> np.ndarray:
    """P(a chunk of ``size`` drawn without replacement from n judgements, k of them yes, has a
    strict yes majority) = P(X > size/2), X ~ Hypergeometric(M=n, n=k, N=size)."""
    return hypergeom.sf(np.asarray(size) // 2, n, k, size)


def expected_votes(k: int, n: int, chunk: int = CHUNK) -> tuple[float, int]:
    """(expected yes votes, number of chunks) for a group with ``k`` yes out of ``n``."""
    sizes = np.array(chunk_sizes(n, chunk))
    return float(p_majority_yes(k, n, sizes).sum()), len(sizes)


def judgement_groups(
    frame: pd.DataFrame, column: str, *, goal: str = "goal_image", chunk: int = CHUNK
) -> tuple[np.ndarray, pd.DataFrame]:
    """Row -> group codes, and one row per (model, goal) group: model, goal, n, k (yes), expected
    yes votes and number of chunks of the release's procedure."""
    codes, uniques = pd.MultiIndex.from_frame(frame[["model", goal]]).factorize()
    y = frame[column].to_numpy(dtype=bool)
    n = np.bincount(codes, minlength=len(uniques))
    k = np.bincount(codes, weights=y, minlength=len(uniques)).astype(int)
    exp = np.empty(len(uniques))
    chunks = np.empty(len(uniques), dtype=int)
    # groups are small and few distinct (k, n) pairs occur: memoise
    cache: dict[tuple[int, int], tuple[float, int]] = {}
    for i, (ki, ni) in enumerate(zip(k, n, strict=True)):
        key = (int(ki), int(ni))
        if key not in cache:
            cache[key] = expected_votes(*key, chunk=chunk)
        exp[i], chunks[i] = cache[key]
    groups = pd.DataFrame(
        {
            "model": uniques.get_level_values(0),
            goal: uniques.get_level_values(1),
            "n": n,
            "k": k,
            "expected_yes": exp,
            "n_chunks": chunks,
        }
    )
    return np.asarray(codes), groups


def judgement_cells(frame: pd.DataFrame, models: Sequence[str] | None = None) -> Cells:
    """One cell per model (sorted) and a pooled "Overall" cell."""
    return group_cells(frame, "model", models, pooled=OVERALL)


def majority_rate_exact(
    frame: pd.DataFrame,
    weights: np.ndarray | None = None,
    *,
    column: str = "last_chosen",
    models: Sequence[str] | None = None,
    goal: str = "goal_image",
    chunk: int = CHUNK,
) -> np.ndarray:
    """Exact expected majority-vote rate per model + "Overall":
    sum_g w_g E[yes votes_g] / sum_g w_g chunks_g over (model, goal) groups g.

    A group's weight is its rows' mean weight, exact for clusters that nest groups (goal, steering
    user); resampling raters inside a group is not what this statistic supports.
    """
    codes, groups = judgement_groups(frame, column, goal=goal, chunk=chunk)
    gw = group_weight(codes, len(groups), weights)
    cells = judgement_cells(groups, models)
    out = weighted_ratio_of_sums(
        groups["expected_yes"].to_numpy(), groups["n_chunks"].to_numpy(float), cells.membership, gw
    )
    return squeeze_like(np.atleast_2d(out), weights)


def majority_rate_leave_out(
    frame: pd.DataFrame,
    clusters: np.ndarray,
    *,
    column: str = "last_chosen",
    models: Sequence[str] | None = None,
    goal: str = "goal_image",
    chunk: int = CHUNK,
) -> tuple[np.ndarray, np.ndarray]:
    """(C, K + 1) exact majority-vote rates (:func:`majority_rate_exact`) with the rows of cluster
    c = 0..C-1 (``clusters``: one code per row) left out in turn, and (C, K + 1) True where cluster c
    has rows in the cell: the delete-one-cluster jackknife
    values for any clustering, raters included (leaving a rater out changes the (k, n) of every
    group they judged; a group left with no rows drops out). Computed from the per-(cluster, group)
    counts in O(rows): removing cluster c changes a cell's totals by
    sum_g [E(k_g, n_g) - E(k_g - k_cg, n_g - n_cg)] and likewise for the chunks."""
    codes, groups = judgement_groups(frame, column, goal=goal, chunk=chunk)
    clusters = np.asarray(clusters, dtype=np.int64)
    if clusters.shape != codes.shape:
        raise ValueError(f"clusters has {clusters.size} codes for {codes.size} rows")
    membership = judgement_cells(groups, models).membership  # (groups, cells)
    k, n = groups["k"].to_numpy(), groups["n"].to_numpy()
    expected = np.zeros((int(n.max()) + 1, int(n.max()) + 1))  # E[yes votes | k, n]
    chunks = np.zeros(int(n.max()) + 1)
    for ni in range(1, int(n.max()) + 1):
        chunks[ni] = len(chunk_sizes(ni, chunk))
        expected[: ni + 1, ni] = [expected_votes(ki, ni, chunk)[0] for ki in range(ni + 1)]
    n_groups = len(groups)
    pair, inverse = np.unique(clusters * n_groups + codes, return_inverse=True)
    n_cg = np.bincount(inverse)
    k_cg = np.bincount(inverse, weights=frame[column].to_numpy(dtype=bool)).astype(np.int64)
    c, g = pair // n_groups, pair % n_groups
    d_yes = expected[k[g], n[g]] - expected[k[g] - k_cg, n[g] - n_cg]
    d_chunks = chunks[n[g]] - chunks[n[g] - n_cg]
    n_clusters = int(clusters.max()) + 1 if clusters.size else 0
    yes = np.broadcast_to(expected[k, n] @ membership, (n_clusters, membership.shape[1])).copy()
    votes = np.broadcast_to(chunks[n] @ membership, yes.shape).copy()
    np.add.at(yes, c, -d_yes[:, None] * membership[g])
    np.add.at(votes, c, -d_chunks[:, None] * membership[g])
    touched = np.zeros(yes.shape)
    np.add.at(touched, c, membership[g])
    with np.errstate(invalid="ignore", divide="ignore"):
        return yes / votes, touched > 0


def majority_rate_exact_summary(
    frame: pd.DataFrame,
    *,
    column: str = "last_chosen",
    models: Sequence[str] | None = None,
    goal: str = "goal_image",
    chunk: int = CHUNK,
) -> pd.DataFrame:
    """Per model + "Overall": n (judgements), n_goals, n_votes (chunks), rate (exact expectation)
    and rate_sem = sqrt(r(1-r)/(n_votes-1)), the release's SEM over 0/1 votes at the expected rate."""
    _, groups = judgement_groups(frame, column, goal=goal, chunk=chunk)
    cells = judgement_cells(groups, models)
    m = cells.membership
    votes = groups["n_chunks"].to_numpy(float) @ m
    rate = (groups["expected_yes"].to_numpy() @ m) / votes
    out = cells.labels.copy()
    out["n"] = (groups["n"].to_numpy(float) @ m).astype(int)
    out["n_goals"] = cells.n
    out["n_votes"] = votes.astype(int)
    out["rate"] = rate
    with np.errstate(invalid="ignore", divide="ignore"):
        out["rate_sem"] = np.sqrt(rate * (1 - rate) / (votes - 1))
    return out


def majority_votes_seeded(
    frame: pd.DataFrame,
    column: str = "last_chosen",
    *,
    seed: int,
    goal: str = "goal_image",
    chunk: int = CHUNK,
) -> pd.DataFrame:
    """The release's procedure with an explicit seed: one row per chunk (model, goal, size, vote).

    Each (model, goal) group, in sorted order, is permuted with ``default_rng(seed)``, cut into
    chunks of ``chunk`` and each chunk votes yes iff yes is a strict majority (1-1 tie: False).
    """
    rng = np.random.default_rng(seed)
    rows = []
    for (model, g), y in frame.groupby(["model", goal], sort=True)[column]:
        values = rng.permutation(y.to_numpy(dtype=bool))
        start = 0
        for size in chunk_sizes(len(values), chunk):
            yes = int(values[start : start + size].sum())
            rows.append((model, g, size, 2 * yes > size))
            start += size
    return pd.DataFrame(rows, columns=["model", goal, "size", "vote"])


def majority_rate_seeded(
    frame: pd.DataFrame,
    column: str = "last_chosen",
    *,
    seed: int,
    models: Sequence[str] | None = None,
    goal: str = "goal_image",
    chunk: int = CHUNK,
) -> pd.DataFrame:
    """Per model + "Overall": n_votes, rate (share of yes votes) and rate_sem (SEM over votes),
    from one seeded run of the release's procedure."""
    votes = majority_votes_seeded(frame, column, seed=seed, goal=goal, chunk=chunk)
    return judgement_cells(votes, models).summary(votes["vote"].to_numpy(float), "rate").rename(
        columns={"n": "n_votes"}
    )


def judgement_share(
    frame: pd.DataFrame,
    weights: np.ndarray | None = None,
    *,
    column: str = "last_chosen",
    models: Sequence[str] | None = None,
) -> np.ndarray:
    """Plain share of yes judgements per model + "Overall" (a row-level weighted mean)."""
    return judgement_cells(frame, models).mean(frame[column].to_numpy(float), weights)
