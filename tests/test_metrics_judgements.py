"""Judgement rates: the exact expectation of the release's chunk-of-3 majority procedure against
brute-force enumeration of every permutation, the seeded procedure, and toy rates by hand."""

from __future__ import annotations

import itertools
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest

from steerstats.metrics import (
    chunk_sizes,
    expected_votes,
    judgement_share,
    majority_rate_exact,
    majority_rate_exact_summary,
    majority_rate_seeded,
    majority_votes_seeded,
    p_majority_yes,
)


def brute_force(k: int, n: int) -> Fraction:
    """E[yes votes] over all n! orderings of k yes / n-k no, cut into chunks of 3, strict majority."""
    items = [True] * k + [False] * (n - k)
    total, count = Fraction(0), 0
    for perm in itertools.permutations(items):
        votes, start = 0, 0
        for size in chunk_sizes(n):
            votes += 2 * sum(perm[start : start + size]) > size
            start += size
        total += votes
        count += 1
    return total / count


@pytest.mark.parametrize("n", range(1, 8))
def test_exact_expectation_matches_enumeration(n):
    for k in range(n + 1):
        exp, chunks = expected_votes(k, n)
        assert chunks == len(chunk_sizes(n))
        assert exp == pytest.approx(float(brute_force(k, n)), abs=1e-12)


def test_chunk_probabilities_closed_forms():
    k, n = 3, 7
    assert p_majority_yes(k, n, 1) == pytest.approx(k / n)
    assert p_majority_yes(k, n, 2) == pytest.approx(k * (k - 1) / (n * (n - 1)))  # 1-1 tie is False
    p3 = (3 * k * (k - 1) * (n - k) + k * (k - 1) * (k - 2)) / (n * (n - 1) * (n - 2))
    assert p_majority_yes(k, n, 3) == pytest.approx(p3)
    assert chunk_sizes(7) == [3, 3, 1] and chunk_sizes(8) == [3, 3, 2] and chunk_sizes(3) == [3]


def toy() -> pd.DataFrame:
    # model a: goal g1 3/3 yes (one chunk, yes for sure); goal g2 0/2 yes (one chunk, no)
    # model b: goal g3 1/2 yes (one chunk of 2: always a 1-1 tie -> no); goal g4 1/1 yes
    rows = [("a", "g1", True)] * 3 + [("a", "g2", False)] * 2
    rows += [("b", "g3", True), ("b", "g3", False), ("b", "g4", True)]
    f = pd.DataFrame(rows, columns=["model", "goal_image", "last_chosen"])
    f["steering_user_id"] = f["goal_image"].str.replace("g", "u")
    return f


def test_exact_rate_by_hand():
    np.testing.assert_allclose(majority_rate_exact(toy()), [0.5, 0.5, 0.5])
    s = majority_rate_exact_summary(toy())
    assert s["n_votes"].tolist() == [2, 2, 4] and s["n"].tolist() == [5, 3, 8]
    assert s.loc[2, "rate_sem"] == pytest.approx(np.sqrt(0.25 / 3))


def test_exact_rate_goal_weights_count_groups_separately():
    # draw g1 twice, g2 once, g3 and g4 never: a -> (1 + 1 + 0) / 3 chunks
    w = np.array([[2, 2, 2, 1, 1, 0, 0, 0]], dtype=float)
    out = majority_rate_exact(toy(), w)
    assert out.shape == (1, 3)
    assert out[0, 0] == pytest.approx(2 / 3) and np.isnan(out[0, 1])


def test_share_is_plain_mean():
    np.testing.assert_allclose(judgement_share(toy()), [3 / 5, 2 / 3, 5 / 8])


def test_seeded_procedure_is_deterministic_and_matches_toy():
    a = majority_votes_seeded(toy(), "last_chosen", seed=3)
    b = majority_votes_seeded(toy(), "last_chosen", seed=3)
    pd.testing.assert_frame_equal(a, b)
    # every toy group has a deterministic vote, so any seed gives the exact rate
    np.testing.assert_allclose(majority_rate_seeded(toy(), "last_chosen", seed=11)["rate"], [0.5, 0.5, 0.5])


def test_seeded_procedure_averages_to_the_exact_expectation():
    rng = np.random.default_rng(0)
    rows = [("m", f"g{g}", bool(v)) for g in range(40) for v in rng.random(rng.integers(2, 9)) < 0.6]
    f = pd.DataFrame(rows, columns=["model", "goal_image", "ref_chosen"])
    exact = majority_rate_exact(f, column="ref_chosen")[0]
    runs = [majority_rate_seeded(f, "ref_chosen", seed=s)["rate"].iloc[0] for s in range(300)]
    sd = np.std(runs, ddof=1) / np.sqrt(len(runs))
    assert abs(np.mean(runs) - exact) < 4 * sd
    assert len({round(r, 9) for r in runs}) > 1  # different seeds do differ


def judgement_frame(seed: int) -> pd.DataFrame:
    """Goals nested in users, 1-7 judgements a goal by raters crossing users (some raters judge once)."""
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(30):
        for g in range(2):
            for r in rng.choice(25, size=rng.integers(1, 8), replace=False):
                rows.append({"model": f"m{u % 3}", "steering_user_id": f"u{u}", "goal_image": f"u{u}g{g}",
                             "user_id": f"r{r}", "last_chosen": bool(rng.random() < 0.3 + 0.2 * (u % 3))})
    rows.append({"model": "m0", "steering_user_id": "u99", "goal_image": "lonely", "user_id": "r99", "last_chosen": True})
    return pd.DataFrame(rows)


@pytest.mark.parametrize("cluster", ["user_id", "steering_user_id", "goal_image", "cell"])
def test_majority_rate_leave_out_equals_recomputing_without_each_cluster(cluster):
    from steerstats.metrics import majority_rate_leave_out

    frame = judgement_frame(0)
    models = sorted(frame["model"].unique())
    key = frame["steering_user_id"] + "|" + frame["user_id"] if cluster == "cell" else frame[cluster]
    codes, _ = pd.factorize(key, sort=True)
    values, touched = majority_rate_leave_out(frame, codes, models=models)
    assert values.shape == (codes.max() + 1, len(models) + 1)
    for c in range(codes.max() + 1):
        rest = frame[codes != c]
        expected = majority_rate_exact(rest, None, models=models)
        np.testing.assert_allclose(values[c], expected, rtol=1e-12, atol=1e-15)
        in_cell = [frame.loc[codes == c, "model"].eq(m).any() for m in models] + [True]
        np.testing.assert_array_equal(touched[c], in_cell)
