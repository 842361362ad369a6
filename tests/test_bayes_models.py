"""numpyro models: parameter recovery from data simulated by each model, diagnostics gating,
determinism, marginal summaries, input validation."""

from __future__ import annotations

from steerstats.uncertainty.bayes.devices import request_host_devices

request_host_devices(4)  # before anything starts JAX (falls back to sequential chains otherwise)

import jax  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from numpyro.infer import Predictive  # noqa: E402
from scipy.special import expit  # noqa: E402

from steerstats.errors import FitFailedError, InputError  # noqa: E402
from steerstats.uncertainty.bayes import (  # noqa: E402
    NutsSettings,
    binary_model,
    binary_rates,
    diagnose,
    encode_similarity,
    fit_binary,
    fit_ratings,
    fit_similarity,
    ordinal_model,
    similarity_means,
    similarity_model,
)

FAST = NutsSettings(num_warmup=300, num_samples=300, num_chains=4, progress=False)


def simulate(model_fn, kwargs: dict, truth: dict, seed: int) -> np.ndarray:
    """One draw of y from ``model_fn`` with the parameters in ``truth`` fixed."""
    pred = Predictive(model_fn, params={k: np.asarray(v) for k, v in truth.items()}, num_samples=1)
    return np.asarray(pred(jax.random.PRNGKey(seed), **kwargs)["y"][0])


def design(n_models: int, n_users: int, per_user: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    n_goals = n_users * 2
    goal = np.repeat(np.arange(n_goals), per_user)
    user = goal // 2
    return {
        "model": (user % n_models).astype(np.int32),
        "user": user.astype(np.int32),
        "goal": goal.astype(np.int32),
        "rater": rng.integers(0, 30, size=goal.size).astype(np.int32),
        "n_users": n_users,
        "n_goals": n_goals,
    }


def covers(draws: np.ndarray, value: np.ndarray, k: float = 3.5) -> bool:
    flat = draws.reshape(-1, *draws.shape[2:])
    return bool(np.all(np.abs(flat.mean(axis=0) - value) <= k * flat.std(axis=0)))


@pytest.mark.slow
def test_similarity_model_recovers_parameters():
    d = design(4, 80, 5, 0)
    attempt = np.tile(np.arange(1, 6), 160).astype(float)
    kw = dict(model=d["model"], attempt_c=attempt - 3.0, user=d["user"], goal=d["goal"],
              n_models=4, n_users=80, n_goals=160)
    sds = {"user": np.array([0.2, 0.4, 0.7, 0.3]), "goal": np.full(4, 0.45), "e": np.array([0.25, 0.35, 0.5, 0.3])}
    truth = {"alpha": np.array([-0.2, 0.3, 0.6, 0.9]), "beta": 0.08}
    for name, sd in sds.items():  # the non-centred sites that give these per-model SDs
        log = np.log(sd)
        spread = max(float(log.std()), 1e-3)
        truth |= {f"log_sigma_{name}_mean": log.mean(), f"log_sigma_{name}_sd": spread,
                  f"zeta_{name}": (log - log.mean()) / spread}
    y = simulate(similarity_model, kw, truth, 1)
    frame = pd.DataFrame({"dreamsim": y, "model": [f"m{i}" for i in d["model"]], "attempt": attempt,
                          "steering_user_id": d["user"], "goal_image": d["goal"]})
    fit = fit_similarity(frame, settings=FAST, seed=0)
    s = fit.posterior.samples
    assert fit.posterior.diagnostics.rhat_max < 1.05, fit.status  # converged (strict gate: own test)
    assert covers(s["alpha"], truth["alpha"]) and covers(s["beta"], truth["beta"])
    assert covers(s["sigma_e"], sds["e"]) and covers(s["sigma_user"], sds["user"])
    # per-model SDs: the model with the most heterogeneous users gets the largest user SD
    assert int(np.argmax(s["sigma_user"].reshape(-1, 4).mean(axis=0))) == 2
    assert list(fit.summary.columns) == ["model", "mean", "hdi_low", "hdi_high", "status"]
    assert (fit.summary["hdi_low"] < fit.summary["mean"]).all()
    assert (fit.summary["mean"] < fit.summary["hdi_high"]).all()


@pytest.mark.slow
def test_ordinal_model_recovers_parameters():
    d = design(3, 100, 4, 2)
    kw = dict(model=d["model"], rater=d["rater"], goal=d["goal"], n_models=3, n_raters=30,
              n_goals=d["n_goals"], n_levels=4)
    truth = {"alpha": np.array([0.8, -0.6]), "cutpoints": np.array([-1.0, 0.5, 2.0]),
             "sigma_rater": 0.5, "sigma_goal": 0.4}
    y = simulate(ordinal_model, kw, truth, 3)
    frame = pd.DataFrame({"rating": y + 1, "model": [f"m{i}" for i in d["model"]],
                          "user_id": d["rater"], "goal_image": d["goal"]})
    fit = fit_ratings(frame, settings=FAST, seed=1)
    s = fit.posterior.samples
    assert fit.posterior.diagnostics.rhat_max < 1.05, fit.status  # converged (strict gate: own test)
    assert covers(s["alpha"], truth["alpha"]) and covers(s["cutpoints"], truth["cutpoints"])
    # expected rating per model is ordered like the model effects (m1 > m0 > m2)
    m = fit.summary.set_index("model")["mean"]
    assert m["m1"] > m["m0"] > m["m2"]


@pytest.mark.slow
def test_binary_model_recovers_parameters():
    d = design(3, 150, 6, 4)
    kw = dict(model=d["model"], rater=d["rater"], goal=d["goal"], n_models=3, n_raters=30,
              n_goals=d["n_goals"])
    truth = {"alpha": np.array([-0.5, 0.4, 1.2]), "sigma_rater": 0.5, "sigma_goal": 0.5}
    y = simulate(binary_model, kw, truth, 5)
    frame = pd.DataFrame({"last_chosen": y.astype(bool), "model": [f"m{i}" for i in d["model"]],
                          "user_id": d["rater"], "goal_image": d["goal"]})
    settings = NutsSettings(num_warmup=500, num_samples=500, progress=False)  # sigma_goal mixes slowly
    fit = fit_binary(frame, "last_chosen", settings=settings, seed=2)
    assert fit.posterior.diagnostics.rhat_max < 1.05, fit.status  # converged (strict gate: own test)
    assert covers(fit.posterior.samples["alpha"], truth["alpha"])
    # same seed, same settings -> bit-identical draws
    again = fit_binary(frame, "last_chosen", settings=settings, seed=2)
    for k, v in fit.posterior.samples.items():
        assert np.array_equal(v, again.posterior.samples[k]), k


@pytest.mark.slow
def test_too_short_fit_is_flagged_failed_and_strict_raises():
    d = design(2, 20, 5, 6)
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"dreamsim": expit(rng.normal(0.5, 0.6, d["model"].size)),
                          "model": d["model"], "attempt": np.tile(np.arange(1, 6), 40),
                          "steering_user_id": d["user"], "goal_image": d["goal"]})
    bad = NutsSettings(num_warmup=5, num_samples=10, num_chains=4, progress=False)
    fit = fit_similarity(frame, settings=bad, seed=0)
    assert not fit.ok
    assert fit.status.startswith("failed")
    assert (fit.summary["status"] == fit.status).all()
    with pytest.raises(FitFailedError, match="similarity model of 'dreamsim': failed"):
        fit.require_ok()  # what strict=True does


def test_diagnose_gates_rhat_and_divergences():
    rng = np.random.default_rng(0)
    good = {"a": rng.normal(size=(4, 500)), "b": rng.normal(size=(4, 500, 3))}
    ok = diagnose(good, np.zeros((4, 500), dtype=bool))
    assert ok.ok and ok.status == "ok" and ok.rhat_max < 1.01 and ok.ess_bulk_min > 1000
    shifted = {"a": rng.normal(size=(4, 500)) + np.arange(4)[:, None], "b": good["b"]}
    bad = diagnose(shifted, np.zeros((4, 500), dtype=bool))
    assert not bad.ok and bad.rhat_worst == "a" and "R-hat" in bad.status
    div = np.zeros((4, 500), dtype=bool)
    div[1, 7] = True
    flagged = diagnose(good, div)
    assert not flagged.ok and "1 divergent" in flagged.status


def test_marginal_means_match_monte_carlo():
    rng = np.random.default_rng(1)
    samples = {"alpha": np.array([[[0.2, 1.0]]]), "beta": np.array([[0.1]]),
               "sigma_user": np.array([[0.4]]), "sigma_goal": np.array([[0.3]]),
               "sigma_e": np.array([[0.5]])}
    t = np.array([-2.0, -1.0, 0.0, 1.0, 2.0])
    got = similarity_means(samples, t)[0, 0]
    n = 400_000
    sd = np.sqrt(0.4**2 + 0.3**2 + 0.5**2)
    tt = rng.choice(t, size=n)
    want = [expit(a + 0.1 * tt + sd * rng.standard_normal(n)).mean() for a in (0.2, 1.0)]
    np.testing.assert_allclose(got, want, atol=3e-3)
    per_model = {**samples, "sigma_user": np.array([[[0.4, 1.2]]]), "sigma_goal": np.array([[[0.3, 0.3]]]),
                 "sigma_e": np.array([[[0.5, 0.5]]])}
    got2 = similarity_means(per_model, t)[0, 0]
    assert got2[0] == pytest.approx(got[0], abs=1e-12)  # model 0 keeps its SDs
    sd1 = np.sqrt(1.2**2 + 0.3**2 + 0.5**2)
    assert got2[1] == pytest.approx(expit(1.0 + 0.1 * tt + sd1 * rng.standard_normal(n)).mean(), abs=3e-3)
    rates = binary_rates({"alpha": np.array([[[0.0]]]), "sigma_rater": np.array([[1.0]]),
                          "sigma_goal": np.array([[0.0]])})
    assert rates[0, 0, 0] == pytest.approx(0.5, abs=1e-12)


def test_encoders_reject_bad_rows():
    frame = pd.DataFrame({"dreamsim": [0.5, 1.0], "model": ["a", "b"], "attempt": [1, 2],
                          "steering_user_id": ["u", "v"], "goal_image": ["g", "h"]})
    with pytest.raises(InputError, match="row 2"):
        encode_similarity(frame, file="steering.csv")
    ratings = pd.DataFrame({"rating": [1, 5], "model": ["a", "b"], "user_id": [1, 2], "goal_image": [1, 2]})
    with pytest.raises(InputError, match=r"row 2.*rating"):
        fit_ratings(ratings)


def test_device_request_after_start_is_refused():
    from steerstats.uncertainty.bayes.devices import cpu_device_count

    n = cpu_device_count()  # starts the backend
    assert n >= 1
    assert request_host_devices(4) is False
