"""Goal-space metrics: SPEC section 3 test vectors, binned mode, edge cases, best-of-N, probes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from steerstats.errors import InputError
from steerstats.goalspace import (
    Normalizer,
    best_of_n,
    bin_change,
    candidate_errors,
    coverage_weights,
    sample_probes,
    steerability_metrics,
    summarize,
)

Z0 = np.array([0.40, 0.50, 0.30, 0.60])
GOAL = np.array([0.70, 0.50, 0.15, 0.60])


def test_spec_vector_1_general_case():
    m = steerability_metrics(Z0, GOAL, np.array([0.80, 0.45, 0.25, 0.75]))
    assert m.steering_error[0] == pytest.approx(0.21213, abs=5e-6)
    assert m.miscalibration[0] == pytest.approx(0.13333, abs=5e-6)
    assert m.orthogonality[0] == pytest.approx(0.47889, abs=5e-6)


def test_spec_vector_2_no_movement():
    m = steerability_metrics(Z0, GOAL, Z0)
    assert m.steering_error[0] == pytest.approx(0.33541, abs=5e-6)
    assert m.miscalibration[0] == pytest.approx(1.0)
    assert m.orthogonality[0] == 0.0
    assert m.overshoot[0] == pytest.approx(-1.0)  # fell short by the whole request


def test_spec_vector_3_full_overshoot():
    m = steerability_metrics(Z0, GOAL, np.array([1.0, 0.5, 0.0, 0.6]))
    assert m.miscalibration[0] == pytest.approx(1.0)
    assert m.orthogonality[0] == pytest.approx(0.0, abs=1e-12)
    assert m.overshoot[0] == pytest.approx(1.0)


def test_spec_vector_4_best_of_n_holds_unrequested_at_source():
    goal = np.array([0.70, np.nan, 0.15, np.nan])  # diversity and formality unrequested
    cands = np.array([[0.72, 0.50, 0.16, 0.60], [0.72, 0.05, 0.16, 0.05]])
    assert best_of_n(Z0, goal, cands) == 0
    # The reference implementation's placeholder (-1 for unrequested goals) picks c2 instead.
    placeholder = np.where(np.isnan(goal), -1.0, goal)
    assert int(np.argmin(np.linalg.norm(cands - placeholder, axis=1))) == 1
    # Vectorised over probes: (n, N, d).
    idx = best_of_n(np.stack([Z0, Z0]), np.stack([goal, goal]), np.stack([cands, cands[::-1]]))
    assert idx.tolist() == [0, 1]
    assert candidate_errors(Z0, goal, cands).shape == (2,)


def test_vectorised_equals_rowwise_and_fills_nan_goal():
    rng = np.random.default_rng(1)
    z0, goal, out = (rng.uniform(size=(50, 4)) for _ in range(3))
    goal[rng.uniform(size=goal.shape) < 0.3] = np.nan
    batch = steerability_metrics(z0, goal, out).frame()
    for i in (0, 17, 49):
        one = steerability_metrics(z0[i], goal[i], out[i]).frame().iloc[0]
        pd.testing.assert_series_equal(batch.iloc[i], one, check_names=False)


def test_binned_mode_hand_case():
    # changes requested (.3, 0, -.15, 0) -> bins (2, 0, -1, 0); realised (.4, -.05, -.05, .15)
    # -> bins (2, 0, 0, 1); e = (0, 0, 1, 1)/7: error sqrt(2)/7, <e,r>/|r|^2 = -1/5,
    # rejection (.4, 0, .8, 1)/7 over |m| = sqrt(5)/7 -> sqrt(1.8/5) = 0.6.
    m = steerability_metrics(Z0, GOAL, np.array([0.80, 0.45, 0.25, 0.75]), mode="binned")
    assert m.steering_error[0] == pytest.approx(np.sqrt(2) / 7)
    assert m.miscalibration[0] == pytest.approx(0.2)
    assert m.overshoot[0] == pytest.approx(-0.2)
    assert m.orthogonality[0] == pytest.approx(0.6)


def test_bin_edges():
    changes = np.array([-1.0, -0.5, -0.2, -0.1, -0.05, 0.0, 0.1, 0.2, 0.5, 1.0, 0.5 - 0.4])
    assert bin_change(changes).tolist() == [-3, -2, -1, 0, 0, 0, 1, 2, 3, 3, 1]


def test_no_requested_change_is_documented_limit():
    out = np.array([0.5, 0.5, 0.3, 0.6])
    m = steerability_metrics(Z0, Z0, out)
    assert np.isnan(m.miscalibration[0]) and np.isnan(m.overshoot[0])
    assert m.orthogonality[0] == 1.0  # all movement is side effect
    still = steerability_metrics(Z0, Z0, Z0)
    assert still.orthogonality[0] == 0.0 and still.steering_error[0] == 0.0


def test_unmeasurable_output_propagates_nan():
    m = steerability_metrics(Z0, GOAL, np.array([np.nan, 0.5, 0.3, 0.6]))
    assert np.isnan(m.steering_error[0]) and np.isnan(m.orthogonality[0])


def test_summarize_median_iqr_per_group():
    frame = pd.DataFrame({"model": ["a"] * 4 + ["b"], "steering_error": [1, 2, 3, 4, 9.0],
                          "miscalibration": [0, 0, 1, 1, np.nan], "orthogonality": [0.5] * 5})
    out = summarize(frame, by="model").set_index("model")
    assert out.loc["a", "steering_error_median"] == 2.5
    assert out.loc["a", "steering_error_q25"] == 1.75 and out.loc["a", "steering_error_q75"] == 3.25
    assert out.loc["b", "miscalibration_n"] == 0 and np.isnan(out.loc["b", "miscalibration_median"])


def test_normalizer_defaults_and_reference():
    norm = Normalizer.from_defaults()
    z = norm.transform(np.array([[2.8, 128.5441, 1600, (40.37 + 69.121634) / 2]]))
    np.testing.assert_allclose(z, [[0.0, 1.0, 1.0, 0.5]])
    ref = np.arange(1.0, 202.0)[:, None].repeat(2, axis=1)
    norm = Normalizer.from_reference(ref, ["text_length", "formality"])
    np.testing.assert_allclose(norm.lo, [6.0, 6.0])
    np.testing.assert_allclose(norm.hi, [196.0, 196.0])
    with pytest.raises(InputError):
        Normalizer.from_reference(np.ones((5, 1)), ["text_length"])
    with pytest.raises(InputError):
        Normalizer.from_defaults(["sentiment"])


def _clustered(seed=0):
    rng = np.random.default_rng(seed)
    return np.clip(rng.normal(0.3, 0.08, size=(300, 4)), 0, 1)


def test_probe_sampling_deterministic_and_delta_bounds():
    pts = _clustered()
    a = sample_probes(pts, 400, seed=7, active=["reading_difficulty", "formality"], n_active=1)
    b = sample_probes(pts, 400, seed=7, active=["reading_difficulty", "formality"], n_active=1)
    assert np.array_equal(a.goal, b.goal) and np.array_equal(a.source_index, b.source_index)
    assert not np.array_equal(a.goal, sample_probes(pts, 400, seed=8, n_active=1).goal)
    delta = a.delta(pts)
    assert np.all(np.abs(delta[a.active]) >= 0.1 - 1e-12) and np.all(np.abs(delta[a.active]) <= 0.7 + 1e-12)
    assert np.all(delta[~a.active] == 0.0)
    assert np.all(a.active.sum(axis=1) == 1) and not a.active[:, [1, 2]].any()
    assert np.all((a.goal >= 0) & (a.goal <= 1))


def test_coverage_weights_favour_sparse_regions():
    pts = np.vstack([_clustered()[:290], np.full((10, 4), 0.9)])
    w = coverage_weights(pts, seed=0)
    assert w.sum() == pytest.approx(1.0)
    assert w[290:].mean() > 5 * w[:290].mean()
