"""The weighted-statistic helpers: shapes of the contract and hand-computed values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from steerstats.metrics.cells import concat_cells, crossed_cells, group_cells
from steerstats.metrics.weighted import (
    group_weight,
    indicator_matrix,
    row_sem,
    stack_statistics,
    weighted_mean_matrix,
    weighted_ratio_of_sums,
)

X = np.array([1.0, 2.0, 3.0, 10.0])
CODES = np.array([0, 0, 1, 1])


def test_weighted_mean_matrix_by_hand():
    m = indicator_matrix(CODES, 2, pooled=True)
    np.testing.assert_allclose(weighted_mean_matrix(X, m), [1.5, 6.5, 4.0])
    # weights (2, 0, 1, 1): group 0 -> 1, group 1 -> 6.5, pooled -> (2 + 3 + 10) / 4
    np.testing.assert_allclose(weighted_mean_matrix(X, m, np.array([2.0, 0, 1, 1])), [1.0, 6.5, 3.75])


@pytest.mark.parametrize("weights, shape", [(None, (3,)), (np.ones(4), (3,)), (np.ones((5, 4)), (5, 3))])
def test_contract_shapes(weights, shape):
    m = indicator_matrix(CODES, 2, pooled=True)
    assert weighted_mean_matrix(X, m, weights).shape == shape
    assert weighted_ratio_of_sums(X, np.ones(4), m, weights).shape == shape


def test_nan_outside_membership_is_ignored():
    x = np.array([1.0, np.nan, 3.0])
    m = np.array([[1.0], [0.0], [1.0]])
    assert weighted_mean_matrix(x, m)[0] == 2.0


def test_ratio_of_sums_and_empty_group():
    m = np.array([[1.0, 0.0], [1.0, 0.0]])
    out = weighted_ratio_of_sums(np.array([1.0, 2.0]), np.array([2.0, 2.0]), m)
    assert out[0] == pytest.approx(0.75)
    assert np.isnan(out[1])


def test_row_sem_is_sd_ddof1_over_sqrt_n():
    m = indicator_matrix(CODES, 2)
    np.testing.assert_allclose(row_sem(X, m), [np.std([1, 2], ddof=1) / np.sqrt(2), np.std([3, 10], ddof=1) / np.sqrt(2)])
    assert np.isnan(row_sem(np.array([1.0]), np.ones((1, 1)))[0])


def test_group_weight_is_the_groups_mean_row_weight():
    w = np.array([[2.0, 2.0, 0.0, 0.0], [1.0, 3.0, 1.0, 1.0]])
    np.testing.assert_allclose(group_weight(CODES, 2, w), [[2.0, 0.0], [2.0, 1.0]])


def test_stack_statistics_concatenates_in_order():
    def a(frame, w):
        return weighted_mean_matrix(frame["x"].to_numpy(), np.ones((len(frame), 1)), w)

    def b(frame, w):
        return 2 * a(frame, w)

    frame = pd.DataFrame({"x": X})
    np.testing.assert_allclose(stack_statistics(a, b)(frame, None), [4.0, 8.0])
    assert stack_statistics(a, b)(frame, np.ones((3, 4))).shape == (3, 2)


def test_cells_group_crossed_concat():
    frame = pd.DataFrame({"model": ["a", "a", "b", "b"], "attempt": [1, 2, 1, 2], "x": X})
    g = group_cells(frame, "model", pooled="Average")
    assert g.labels["model"].tolist() == ["a", "b", "Average"]
    assert g.n.tolist() == [2, 2, 4]
    c = crossed_cells(frame, "model", "attempt", pooled_outer="Average")
    assert c.labels.values.tolist() == [["a", 1], ["a", 2], ["b", 1], ["b", 2], ["Average", 1], ["Average", 2]]
    np.testing.assert_allclose(c.mean(X), [1, 2, 3, 10, 2, 6])
    both = concat_cells(g, c)
    assert len(both) == 9 and both.membership.shape == (4, 9)
    summary = g.summary(X)
    assert summary.columns.tolist() == ["model", "n", "mean", "mean_sem"]
    # levels given explicitly: a level absent from the data is an empty (NaN) cell
    assert np.isnan(group_cells(frame, "model", ["a", "z"]).mean(X)[1])


def test_metrics_import_pulls_no_jax_or_torch():
    import subprocess
    import sys

    code = "import sys, steerstats.metrics; print(any(m in sys.modules for m in ('jax', 'torch')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
