"""Image-steering simulation: Thompson-sampling posterior, episodes, learned vs random proposals,
the released traces, and the `steerstats steer` command."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from run_layout import assert_run_layout

from steerstats.generate import (
    KEPT,
    START,
    SWITCHED,
    FixedScale,
    RandomScale,
    Steerer,
    SteeringWorld,
    ThompsonScale,
    evaluate_methods,
    run_episodes,
    summarize_methods,
    train_thompson,
)
from steerstats.generate.traces import constant_scale_share, scale_schedules, with_previous


# Thompson sampling ------------------------------------------------------------------------------
def test_posterior_update_is_conjugate_normal():
    """Prior N(0, s2), rewards N(theta, s2): posterior N(sum/(n+1), s2/(n+1)) per (round, state, bucket)."""
    p = ThompsonScale(n_rounds=2, buckets=(0.2, 0.6, 1.0), sigma2=1.0)
    previous = np.array([[START, KEPT], [START, SWITCHED], [START, KEPT]])
    scales = np.array([[0.2, 0.6], [0.2, 1.0], [0.6, 0.6]])
    p.update(previous, scales, np.array([0.5, -0.1, 0.3]))
    assert p.counts[0, START].tolist() == [2, 1, 0]
    assert p.sums[0, START].tolist() == pytest.approx([0.4, 0.3, 0.0])
    assert p.counts[1, KEPT].tolist() == [0, 2, 0] and p.counts[1, SWITCHED].tolist() == [0, 0, 1]
    mean, sd = p.posterior_mean(), p.posterior_sd()
    assert mean[0, START, 0] == pytest.approx(0.4 / 3) and sd[0, START, 0] == pytest.approx(np.sqrt(1 / 3))
    assert mean[1, KEPT, 1] == pytest.approx(0.8 / 3) and sd[0, START, 2] == pytest.approx(1.0)
    p2 = ThompsonScale(n_rounds=1, buckets=(0.5,), sigma2=4.0)
    p2.update(np.array([[START]]), np.array([[0.5]]), np.array([1.0]))
    assert p2.posterior_sd()[0, START, 0] == pytest.approx(np.sqrt(2.0))
    with pytest.raises(ValueError):
        p.update(previous, scales + 0.05, np.zeros(3))


def test_thompson_proposals_follow_the_posterior():
    p = ThompsonScale(n_rounds=1, buckets=(0.1, 0.5, 0.9))
    p.counts[0, START] = [400, 400, 400]
    p.sums[0, START] = [0.0, 400 * 0.5, 400 * 0.1]
    rng = np.random.default_rng(0)
    draws = p.propose(1, np.full(2000, START), rng)
    assert np.mean(draws == 0.5) > 0.99
    fresh = ThompsonScale(n_rounds=1, buckets=(0.1, 0.5, 0.9))
    spread = fresh.propose(1, np.full(3000, START), rng)
    assert all(abs(np.mean(spread == b) - 1 / 3) < 0.05 for b in fresh.buckets)
    assert np.all(p.greedy().propose(1, np.full(5, START), rng) == 0.5)


def test_policy_table_round_trip():
    p = ThompsonScale(n_rounds=3)
    rng = np.random.default_rng(2)
    prev = np.column_stack([np.zeros(50, int), rng.integers(1, 3, (50, 2))])
    scales = rng.choice(p.buckets, size=(50, 3))
    p.update(prev, scales, rng.normal(size=50))
    table = p.table()
    assert len(table) == 10 * (1 + 2 + 2)
    q = ThompsonScale.from_table(table)
    np.testing.assert_allclose(q.counts, p.counts)
    np.testing.assert_allclose(q.sums, p.sums)
    assert q.mode == "greedy"


# episodes ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def world():
    return SteeringWorld()


def test_noiseless_steerer_never_loses_and_keeping_keeps(world):
    rng = np.random.default_rng(0)
    tasks = world.sample_tasks(300, rng)
    ep = run_episodes(world, tasks, FixedScale(0.5), rng)
    sims = np.column_stack([ep.initial, ep.similarity])
    assert np.all(np.diff(sims, axis=1) >= -1e-12)
    kept = ep.selected == 0
    assert np.allclose(np.diff(sims, axis=1)[kept], 0.0)
    assert np.all(ep.previous[:, 0] == START)
    np.testing.assert_array_equal(ep.previous[:, 1:], np.where(ep.selected[:, :-1] == 0, KEPT, SWITCHED))
    np.testing.assert_allclose(ep.scales, 0.5)


def test_noisy_steerer_can_get_worse(world):
    rng = np.random.default_rng(0)
    ep = run_episodes(world, world.sample_tasks(300, rng), FixedScale(0.9), rng, steerer=Steerer(noise_sd=0.3))
    assert np.any(ep.final < ep.initial)


def test_simulation_is_deterministic(world):
    def run():
        policy = train_thompson(world, ThompsonScale(), 200, seed=4, progress=False)
        frame = evaluate_methods(world, {"text": None, "random": RandomScale(), "learned": policy.greedy()}, 100, seed=5)
        return policy, frame

    (p1, f1), (p2, f2) = run(), run()
    np.testing.assert_array_equal(p1.sums, p2.sums)
    pd.testing.assert_frame_equal(f1, f2)


def test_random_scale_is_one_draw_per_episode(world):
    rng = np.random.default_rng(1)
    ep = run_episodes(world, world.sample_tasks(50, rng), RandomScale(), rng)
    assert np.all(ep.scales == ep.scales[:, :1]) and ep.scales.std() > 0.1
    ep = run_episodes(world, world.sample_tasks(50, rng), RandomScale(per="round"), rng)
    assert not np.all(ep.scales == ep.scales[:, :1])


def test_best_fixed_schedule_depends_on_the_round(world):
    """The synthetic map makes the problem non-trivial: shrinking the scale over rounds beats the
    best constant scale on the same tasks (paired)."""

    class Schedule:
        name = "schedule"

        def __init__(self, scales):
            self.scales = scales

        def start(self, n, rng):
            pass

        def propose(self, t, previous, rng):
            return np.full(len(previous), self.scales[t - 1])

    methods = {"shrinking": Schedule((1.0, 0.8, 0.5, 0.3)), **{f"c{s}": FixedScale(s) for s in (0.5, 0.7, 0.8, 1.0)}}
    frame = evaluate_methods(world, methods, 3000, seed=9)
    summary = summarize_methods(frame, baseline="shrinking").set_index("method")
    for name in ("c0.5", "c0.7", "c0.8", "c1.0"):
        d, se = summary.loc[name, "diff_vs_shrinking"], summary.loc[name, "se_diff_vs_shrinking"]
        assert d < -2 * se, name


@pytest.mark.slow
def test_learned_policy_beats_random_proposals(world):
    policy = train_thompson(world, ThompsonScale(), 4000, seed=0, progress=False)
    frame = evaluate_methods(world, {"random": RandomScale(), "learned": policy.greedy()}, 1500, seed=1)
    s = summarize_methods(frame, baseline="random").set_index("method")
    d, se = s.loc["learned", "diff_vs_random"], s.loc["learned", "se_diff_vs_random"]
    assert d > 0.02 and d > 4 * se
    assert s.loc["learned", "mean_change"] > s.loc["random", "mean_change"]


# released traces ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def traces(vafa2025_dir):
    from steerstats.data import load_study

    return load_study("vafa2025", vafa2025_dir).image_steering


def test_trace_states_and_schedules(traces):
    t = with_previous(traces)
    assert (t.loc[t["round"] == 1, "previous"] == "start").all()
    assert set(t.loc[t["round"] > 1, "previous"]) == {"kept", "switched"}
    const = constant_scale_share(traces).set_index("condition")["constant_scale_share"]
    assert const["random"] == 1.0 and const["learned"] < 0.1
    sched = scale_schedules(traces).set_index(["condition", "round", "previous"])
    first = sched.loc[("learned", 1, "start")]
    assert first["modal_scale"] == 0.8 and first["modal_share"] == 1.0
    assert sched.loc[("random", 1, "start"), "n_distinct"] > 50
    assert sched["n"].sum() == len(traces)


# the command --------------------------------------------------------------------------------------
SMALL = """
seed = 3
n_boot = 200
[train]
episodes = 600
[evaluate]
episodes = 300
fixed_scales = [0.5]
"""


def test_steer_command_end_to_end(tmp_path, vafa2025_dir):
    from steerstats.cli import main

    cfg = tmp_path / "steer.toml"
    cfg.write_text(SMALL)
    out = tmp_path / "out"
    args = ["steer", "--config", str(cfg), "--out", str(out), "--quiet"]
    assert main([*args, "--data-dir", str(vafa2025_dir)]) == 0
    ev = pd.read_csv(out / "tables" / "steer_evaluation.csv").set_index("method")
    assert list(ev.index) == ["text (prompt re-draws)", "random proposals", "learned proposals", "fixed scale 0.50"]
    assert ((ev["pct_improved"] >= 0) & (ev["pct_improved"] <= 100)).all()
    sched = pd.read_csv(out / "tables" / "learned_schedule.csv")
    assert len(sched) == 7 and sched["released_learned_scale"].notna().all()
    choices = pd.read_csv(out / "tables" / "trace_choices.csv")
    assert set(choices["condition"]) == {"random", "learned", "learned_tiles"}
    for f in ("learned_policy.png", "learned_policy.pdf", "trace_choices.png"):
        assert (out / "figures" / f).is_file()
    assert assert_run_layout(out, "steer")["details"]["policy"] == "trained"
    # a saved policy evaluates without training and reproduces the learned row exactly
    out2 = tmp_path / "out2"
    assert main([*args[:-3], "--out", str(out2), "--quiet", "--policy", str(out / "learned_policy.csv")]) == 0
    ev2 = pd.read_csv(out2 / "tables" / "steer_evaluation.csv").set_index("method")
    pd.testing.assert_series_equal(ev.loc["learned proposals"], ev2.loc["learned proposals"])
    assert json.loads((out2 / "manifest.json").read_text())["details"]["policy"] == "loaded"


def test_steer_bad_policy_file_exits_2(tmp_path, capsys):
    from steerstats.cli import main

    bad = tmp_path / "p.csv"
    bad.write_text("round,previous\n1,start\n")
    assert main(["steer", "--out", str(tmp_path / "o"), "--quiet", "--policy", str(bad)]) == 2
    assert str(bad) in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_steering_through_the_backend_protocol(world):
    """The protocol-level simulator (used for real backends) on the synthetic world: it starts from
    the prompt's first image, never loses with a noiseless steerer, and is seeded."""
    from steerstats.generate import steer_with_backend

    goal = world.generate(["a lighthouse at dusk"], 1, seed=99).embedding[0]
    for policy in (FixedScale(0.6), None):
        ep, final = steer_with_backend(world, "a lighthouse", goal, policy, seed=4)
        start = world.generate(["a lighthouse"], 1, seed=int(np.random.default_rng(4).integers(0, 2**31 - 1)))
        assert ep.initial[0] == pytest.approx(float(np.dot(start.embedding[0], goal) / np.linalg.norm(start.embedding[0]) / np.linalg.norm(goal)))
        assert np.all(np.diff(np.r_[ep.initial, ep.similarity[0]]) >= -1e-12)
        assert final.prompt[0] == "a lighthouse"
        again, _ = steer_with_backend(world, "a lighthouse", goal, policy, seed=4)
        np.testing.assert_array_equal(ep.similarity, again.similarity)
