"""Rejection sampling: picks, judges, vote shares, best-of-N, tie-aware accuracy, judgement tables,
and the whole `steerstats rejection` run on the synthetic world."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from run_layout import assert_run_layout

from steerstats.errors import ConfigError, InputError
from steerstats.generate import (
    Candidates,
    SyntheticBackend,
    best_of_n,
    best_of_n_weights,
    calibrate_epsilon,
    check_models,
    oracle_judgements,
    orient_votes,
    pair_frame,
    random_scorer,
    read_judgements,
    score_candidates,
    simulated_judgements,
    tie_aware_accuracy,
    top_picks,
    vote_shares,
)


def _cands(prompts, per, values=None):
    n = len(prompts) * per
    return Candidates(
        ids=np.array([str(i) for i in range(n)], dtype=object),
        prompt=np.repeat(np.asarray(prompts, dtype=object), per),
        seed=np.zeros(n, dtype=int),
        embedding=np.zeros((n, 1)),
        aggregate=None if values is None else np.asarray(values, dtype=float),
    )


# picks and best-of-N ------------------------------------------------------------------------------
def test_top_picks_within_first_n():
    c = _cands(["p", "q"], 4)
    scores = pd.DataFrame({"a": [1, 5, 2, 9, 0, 0, 3, 1], "b": [9, 1, 1, 1, 1, 2, 0, 0]})
    picks = top_picks(c, scores, n=3)
    assert picks.to_dict("list") == {"prompt": ["p", "q"], "a": [1, 6], "b": [0, 5]}
    pairs = pair_frame(picks, "a", "b")
    assert list(pairs["same"]) == [False, False]
    with pytest.raises(ValueError):
        top_picks(c, scores, n=5)


@pytest.mark.parametrize("m", [1, 5, 9])
def test_best_of_n_weights_match_enumeration(m):
    for n in range(1, m + 1):
        w = best_of_n_weights(m, n)
        assert w.sum() == pytest.approx(1.0)
        counts = np.zeros(m)
        for subset in itertools.combinations(range(m), n):
            counts[min(subset)] += 1  # rank 0 = best score
        np.testing.assert_allclose(w, counts / counts.sum())


def test_best_of_n_is_exact_with_ties():
    """Brute force over all N-subsets with uniform tie-breaking."""
    truth = np.array([0.1, 0.9, 0.4, 0.7, 0.3, 0.5])
    score = np.array([1.0, 3.0, 3.0, 2.0, 0.0, 2.0])
    c = _cands(["p"], 6, truth)
    got = best_of_n(c, pd.DataFrame({"s": score}), truth, ns=[1, 2, 3, 6]).set_index("n")["expected_truth"]
    for n in (1, 2, 3, 6):
        vals = []
        for subset in itertools.combinations(range(6), n):
            idx = np.array(subset)
            top = idx[score[idx] == score[idx].max()]
            vals.append(truth[top].mean())
        assert got[n] == pytest.approx(np.mean(vals))


@pytest.fixture(scope="module")
def world_candidates():
    return SyntheticBackend(dim=16).generate([f"p{i}" for i in range(150)], 64, seed=5)


def test_best_of_n_rises_for_a_correlated_scorer_and_is_flat_for_random(world_candidates):
    c = world_candidates
    rng = np.random.default_rng(0)
    scorers = {
        "noisy_truth": lambda x: x.aggregate + 0.3 * rng.standard_normal(len(x)),
        "random": random_scorer(1),
    }
    curves = best_of_n(c, score_candidates(c, scorers), c.aggregate, ns=[1, 4, 16, 64])
    mean = curves.groupby(["scorer", "n"])["expected_truth"].mean().unstack()
    rising = mean.loc["noisy_truth"].to_numpy()
    assert np.all(np.diff(rising) > 0) and rising[-1] - rising[0] > 0.2
    flat = curves[curves.scorer == "random"].pivot(index="prompt", columns="n", values="expected_truth")
    diff = flat[64] - flat[1]
    assert abs(diff.mean()) < 3 * diff.std(ddof=1) / np.sqrt(len(diff))
    assert abs(diff.mean()) < 0.05


# judges -----------------------------------------------------------------------------------------
def _pairs():
    return pd.DataFrame({"prompt": ["p", "q", "r"], "pos_a": [0, 2, 4], "pos_b": [1, 3, 5], "same": False})


def test_oracle_judgements_and_band():
    truth = pd.DataFrame({"aggregate": [0.9, 0.2, 0.5, 0.55, 0.1, 0.1], "bright": [1, 0, 1, 1, 0, 1]})
    v = oracle_judgements(_pairs(), truth, "m1", "m2", band={"aggregate": 0.1})
    agg = v[v.dimension == "aggregate"]["judgement"].tolist()
    assert agg == ["A", "unsure", "unsure"]
    assert v[v.dimension == "bright"]["judgement"].tolist() == ["A", "unsure", "B"]
    assert set(v["model_a"]) == {"m1"} and set(v["model_b"]) == {"m2"}


def test_simulated_raters_noise_band_and_determinism():
    truth = pd.DataFrame({"aggregate": [0.9, 0.2, 0.5, 0.55, 0.1, 0.1]})
    quiet = simulated_judgements(_pairs(), truth, "a", "b", n_raters=4, noise_sd=0.0, band=0.1)
    assert len(quiet) == 12
    assert quiet.groupby("prompt")["judgement"].agg(set).to_dict() == {"p": {"A"}, "q": {"unsure"}, "r": {"unsure"}}
    noisy = simulated_judgements(_pairs(), truth, "a", "b", n_raters=50, noise_sd=0.3, band=0.1, seed=3)
    assert set(noisy["judgement"]) == {"A", "B", "unsure"}
    again = simulated_judgements(_pairs(), truth, "a", "b", n_raters=50, noise_sd=0.3, band=0.1, seed=3)
    pd.testing.assert_frame_equal(noisy, again)


def test_vote_shares_weighted_statistic_and_orientation():
    votes = pd.DataFrame(
        {
            "prompt": ["p", "p", "q", "q", "q"],
            "dimension": ["aggregate"] * 4 + ["bright"],
            "model_a": ["x", "y", "x", "x", "y"],
            "model_b": ["y", "x", "y", "y", "x"],
            "judgement": ["A", "A", "unsure", "B", "B"],
        }
    )
    v = orient_votes(votes, "x", "y")
    assert v["judgement"].tolist() == ["A", "B", "unsure", "B", "A"]
    stat = vote_shares(v, ["aggregate", "bright"])
    est = stat(v, None).reshape(2, 4)
    np.testing.assert_allclose(est[0], [25, 50, 25, -25])
    np.testing.assert_allclose(est[1], [100, 0, 0, 100])
    w = np.array([[2.0, 2.0, 0.0, 0.0, 0.0], [1, 1, 1, 1, 1]])  # prompt p twice, q dropped
    reps = stat(v, w).reshape(2, 2, 4)
    np.testing.assert_allclose(reps[0, 0], [50, 50, 0, 0])
    assert np.isnan(reps[0, 1]).all()
    np.testing.assert_allclose(reps[1], est)


# tie-aware accuracy -------------------------------------------------------------------------------
def test_tie_aware_accuracy_counts_ties():
    c = _cands(["p"], 4)
    truth = np.array([1.0, 1.0, 0.0, 0.0])  # pairs: (0,1) tie, (2,3) tie, others 0/1 > 2/3
    scores = np.array([0.9, 0.9, 0.1, 0.3])
    pairs, eps = tie_aware_accuracy(c, scores, truth)
    assert eps == 0.0
    # 6 pairs: (0,1) tie-tie correct; (2,3) truth tie, score not -> wrong; 4 ordered pairs correct
    assert pairs["correct"].sum() == 5 and len(pairs) == 6
    pairs, eps = tie_aware_accuracy(c, scores, truth, score_epsilon="calibrate")
    assert eps == pytest.approx(0.2) and pairs["correct"].mean() == 1.0


def test_calibrate_epsilon_beats_every_other_threshold():
    rng = np.random.default_rng(0)
    d = rng.normal(size=300)
    t = np.where(np.abs(d) < 0.3, 0, np.sign(d + rng.normal(scale=0.5, size=300))).astype(int)
    eps = calibrate_epsilon(d, t)

    def acc(e):
        return np.mean(np.where(np.abs(d) <= e, 0, np.sign(d)) == t)

    assert all(acc(eps) >= acc(e) - 1e-12 for e in np.linspace(0, 3, 301))


# human judgement tables ---------------------------------------------------------------------------
def _write(tmp_path, text):
    path = tmp_path / "sxs.csv"
    path.write_text(text)
    return path


def test_read_judgements_normalises(tmp_path):
    path = _write(tmp_path, "prompt,dimension,model_a,model_b,judgement,rater\n"
                            "p1,aggregate,coarse,cbm,A,r1\np1,bright,cbm,coarse,prefer b,r2\np2,aggregate,coarse,cbm,Unsure,r1\n")
    v = read_judgements(path)
    assert v["judgement"].tolist() == ["A", "B", "unsure"]
    check_models(v, "coarse", "cbm", path)


@pytest.mark.parametrize(
    ("text", "row", "column"),
    [
        ("prompt,dimension,model_a,model_b,judgement\np1,aggregate,x,y,A\np1,aggregate,x,y,maybe\n", 2, "judgement"),
        ("prompt,dimension,model_a,model_b,judgement\np1,aggregate,x,y,A\np2,,x,y,B\n", 2, "dimension"),
        ("prompt,dimension,model_a,model_b,judgement\np1,aggregate,x,x,A\n", 1, "model_b"),
        ("prompt,dimension,model_a,judgement\np1,aggregate,x,A\n", None, "model_b"),
    ],
)
def test_bad_judgement_table_is_an_input_error(tmp_path, text, row, column):
    path = _write(tmp_path, text)
    with pytest.raises(InputError) as info:
        read_judgements(path)
    err = info.value
    assert (err.file, err.row, err.column) == (str(path), row, column)
    assert str(err).startswith(str(path))


def test_judgements_for_other_models_are_rejected(tmp_path):
    path = _write(tmp_path, "prompt,dimension,model_a,model_b,judgement\np1,aggregate,x,y,A\np2,aggregate,x,z,A\n")
    with pytest.raises(InputError) as info:
        check_models(read_judgements(path), "x", "y", path)
    assert (info.value.row, info.value.column) == (2, "model_b")


# the whole command --------------------------------------------------------------------------------
SMALL = """
seed = 0
n_boot = 300
[world]
dim = 32
target = "tree"
[train]
n = 600
seed = 1
[models.tree]
kind = "cbm"
epochs = 60
attributes = ["photorealistic", "visually_compelling", "chaotic"]
[models.other]
kind = "cbm"
epochs = 60
attributes = ["blurry", "distorted", "bright", "captivating", "disturbing", "funny"]
[generate]
n_prompts = 80
n_per_prompt = 16
seed = 2
[compare]
a = "tree"
b = "other"
n = 16
[judges]
human = "{human}"
[best_of_n]
ns = [1, 2, 4, 8, 16]
"""


@pytest.mark.slow
def test_rejection_command_end_to_end(tmp_path):
    """On the synthetic world the model the oracle says picks better (the CBM on the tree's
    attributes) wins the side-by-side with a CI excluding zero; outputs are complete."""
    from steerstats.cli import main

    human = _write(tmp_path, "prompt,dimension,model_a,model_b,judgement\n"
                              "p0000,aggregate,tree,other,A\np0001,aggregate,other,tree,B\np0001,aggregate,tree,other,unsure\n")
    cfg = tmp_path / "rej.toml"
    cfg.write_text(SMALL.format(human=human))
    out = tmp_path / "out"
    assert main(["rejection", "--config", str(cfg), "--out", str(out)]) == 0
    truth = pd.read_csv(out / "tables" / "pick_truth.csv").set_index("quantity")
    assert truth.loc["tree_minus_other", "mean_ci_low"] > 0
    for judge in ("oracle", "simulated"):
        sxs = pd.read_csv(out / "tables" / f"side_by_side_{judge}.csv").set_index("dimension")
        agg = sxs.loc["aggregate"]
        assert agg["tree_minus_other_ci_low"] > 0, judge
        shares = sxs[["pct_prefer_tree", "pct_prefer_other", "pct_unsure"]].sum(axis=1)
        np.testing.assert_allclose(shares, 100.0)
    human_table = pd.read_csv(out / "tables" / "side_by_side_human.csv").set_index("dimension")
    assert human_table.loc["aggregate", "pct_prefer_tree"] == pytest.approx(200 / 3)
    bon = pd.read_csv(out / "tables" / "best_of_n.csv")
    tree = bon[bon.scorer == "tree"].set_index("n")["mean"]
    assert tree[16] > tree[1] + 0.1
    for f in ("best_of_n.png", "best_of_n.pdf", "side_by_side_oracle.png"):
        assert (out / "figures" / f).is_file()
    for ext in ("csv", "md", "tex"):
        assert (out / "tables" / f"pairwise_accuracy.{ext}").is_file()
    manifest = assert_run_layout(out, "rejection")
    assert manifest["command"] == "rejection" and manifest["details"]["n_prompts"] == 80


def test_rejection_bad_config_exits_2(tmp_path, capsys):
    from steerstats.cli import main

    cfg = tmp_path / "bad.toml"
    cfg.write_text("[compare]\nwho = 'x'\n")
    assert main(["rejection", "--config", str(cfg), "--out", str(tmp_path / "o")]) == 2
    assert "compare.who" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def _pool_file(tmp_path, n_prompts=60, per=16, seed=0):
    """A pool of pre-generated items whose embedding's first coordinate is the known aggregate."""
    rng = np.random.default_rng(seed)
    rows = []
    for p in range(n_prompts):
        for i in range(per):
            q = rng.uniform()
            rows.append({"id": f"{p}-{i}", "prompt": f"q{p}", "emb_0": q, "emb_1": rng.normal(),
                         "aggregate": q, "bright": float(rng.uniform() < q)})
    path = tmp_path / "pool.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_run_rejection_with_callable_scorers_on_a_pool(tmp_path):
    """Any callable scorer works (no reward-model training) and the pool backend feeds the run;
    the scorer that tracks the known aggregate wins against a random one, CI excluding zero."""
    from steerstats.generate.rejection_study import check_config, run_rejection

    cfg = check_config({
        "n_boot": 300, "models": {},
        "generate": {"backend": "pool", "path": str(_pool_file(tmp_path)), "n_per_prompt": 16, "attributes": ["bright"]},
        "compare": {"a": "tracks", "b": "noise", "n": 8},
        "best_of_n": {"ns": [1, 4, 16]},
    })
    rng = np.random.default_rng(0)
    scorers = {"tracks": lambda c: c.embedding[:, 0] + 0.1 * rng.standard_normal(len(c)), "noise": random_scorer(3)}
    result = run_rejection(cfg, scorers=scorers)
    sxs = result.side_by_side["oracle"].set_index("dimension")
    assert list(sxs.index) == ["aggregate", "bright"]
    assert sxs.loc["aggregate", "tracks_minus_noise_ci_low"] > 0
    bon = result.best_of_n.pivot(index="n", columns="scorer", values="mean")
    assert bon.loc[16, "tracks"] > bon.loc[1, "tracks"] + 0.2 and abs(bon.loc[16, "noise"] - bon.loc[1, "noise"]) < 0.1
    acc = result.pairwise_accuracy.set_index("scorer")["accuracy"]
    assert acc["tracks"] > 0.8 and abs(acc["noise"] - 0.5) < 0.05
    assert set(result.side_by_side) == {"oracle", "simulated"} and result.n_candidates == 60 * 16


def test_run_rejection_is_deterministic(tmp_path):
    from steerstats.generate.rejection_study import check_config, run_rejection

    cfg = check_config({
        "n_boot": 100, "models": {},
        "generate": {"backend": "pool", "path": str(_pool_file(tmp_path, n_prompts=20)), "n_per_prompt": 16},
        "compare": {"a": "first", "b": "noise", "n": 8},
        "best_of_n": {"ns": [1, 8]},
    })
    scorers = {"first": lambda c: c.embedding[:, 0], "noise": random_scorer(0)}
    from steerstats.report.rejection import rejection_run
    from steerstats.report.run import write_run

    write_run(tmp_path / "a", rejection_run(run_rejection(cfg, scorers=scorers)))
    write_run(tmp_path / "b", rejection_run(run_rejection(cfg, scorers=scorers)))
    names = sorted(p.name for p in (tmp_path / "a" / "tables").glob("*.csv"))
    assert len([n for n in names if not n.endswith(".long.csv")]) == 5 and len(names) == 10
    for name in names:
        assert (tmp_path / "a" / "tables" / name).read_bytes() == (tmp_path / "b" / "tables" / name).read_bytes()


def test_oracle_judges_without_truth_is_a_config_error(tmp_path):
    from steerstats.errors import ConfigError
    from steerstats.generate.rejection_study import check_config, run_rejection

    pool = pd.read_csv(_pool_file(tmp_path, n_prompts=4)).drop(columns=["aggregate"])
    pool.to_csv(tmp_path / "noagg.csv", index=False)
    cfg = check_config({"models": {}, "generate": {"backend": "pool", "path": str(tmp_path / "noagg.csv"), "n_per_prompt": 16},
                                  "compare": {"a": "x", "b": "y", "n": 8}})
    with pytest.raises(ConfigError, match="known aggregate"):
        run_rejection(cfg, scorers={"x": random_scorer(0), "y": random_scorer(1)})


def test_within_group_pairs_and_ties():
    from steerstats.generate.rejection_study import within_group_pairs

    pairs, outcome, groups = within_group_pairs(np.array([1.0, 0.0, 1.0, 2.0, 2.0]), np.array([0, 0, 0, 1, 1]))
    assert pairs.tolist() == [[0, 1], [0, 2], [1, 2], [3, 4]]
    assert outcome.tolist() == [1.0, 0.5, 0.0, 0.5] and groups.tolist() == [0, 0, 0, 1]


@pytest.mark.slow
def test_best_of_n_with_a_pairwise_reward_model(tmp_path):
    """A Bradley-Terry model trained on within-prompt preferences is a best-of-N scorer like any other."""
    from steerstats.cli import main

    cfg = tmp_path / "rej.toml"
    text = SMALL.format(human="").replace('[judges]\nhuman = ""\n', "")
    text = text.replace('[models.other]\nkind = "cbm"\nepochs = 60\nattributes = ["blurry", "distorted", "bright", '
                        '"captivating", "disturbing", "funny"]', '[models.bt]\nkind = "bradley_terry"\nepochs = 60\n'
                        'learning_rate = 1e-3\nties = "davidson"')
    cfg.write_text(text.replace('b = "other"', 'b = "bt"'))
    out = tmp_path / "out"
    assert main(["rejection", "--config", str(cfg), "--out", str(out)]) == 0
    bon = pd.read_csv(out / "tables" / "best_of_n.csv")
    bt = bon[bon.scorer == "bt"].set_index("n")["mean"]
    assert bt[16] > bt[1]  # picking by the learned preference reward beats a random candidate
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace('ties = "davidson"', 'ties = "davidson"\nattributes = ["blurry"]'))
    assert main(["rejection", "--config", str(bad), "--out", str(tmp_path / "x")]) == 2


def test_the_rejection_config_is_a_typed_frozen_object():
    import dataclasses
    import pickle

    from steerstats.config import config_table
    from steerstats.generate.rejection_study import (
        SCHEMA,
        RejectionConfig,
        check_config,
        load_config,
    )

    cfg = check_config({"n_boot": 50, "compare": {"n": 4}, "models": {"c": {"kind": "coarse", "epochs": 3}}})
    assert isinstance(cfg, RejectionConfig) and cfg.n_boot == 50 and cfg.compare.n == 4
    assert cfg.models["c"].epochs == 3 and cfg.models["c"].hidden is None  # an absent optional key
    assert isinstance(cfg.best_of_n.ns, tuple) and cfg.judges.kinds == ("oracle", "simulated")
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.n_boot = 3
    table = config_table(cfg)
    assert "hidden" not in table["models"]["c"] and table["best_of_n"]["ns"] == [1, 2, 4, 8, 16, 32, 64]
    assert check_config(table) == cfg  # the effective table gives the same config back
    assert pickle.loads(pickle.dumps(cfg)) == cfg
    assert [f.name for f in dataclasses.fields(RejectionConfig)] == list(SCHEMA)
    # options enter as keys, checked by the schema like the file's own
    assert load_config(None, {"seed": 7, "judges": {"human": None}}).seed == 7
    with pytest.raises(ConfigError, match="n_boot"):
        load_config(None, {"n_boot": 1})
