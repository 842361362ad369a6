"""Budget sweep: weighted AUC, attribute sets, costs, resume after a kill, determinism, report, CLI,
attribute selection; user feedback tables and their bad-input errors."""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd
import pytest
from run_layout import assert_run_layout
from sklearn.metrics import roc_auc_score

from steerstats.budget import (
    attribute_set,
    finished_runs,
    greedy_attribute_selection,
    load_config,
    parse_config,
    planned_runs,
    read_results,
    run_budget,
    run_cost,
    run_experiment,
    weighted_auc,
)
from steerstats.budget.runner import RESULTS
from steerstats.cli import main
from steerstats.data import QUALITY_ATTRIBUTES, feedback_from_sample, load_feedback
from steerstats.data.simulate.feedback import simulate_feedback
from steerstats.errors import ConfigError, InputError

TINY = """
[budget]
name = "tiny"
sizes = [40, 80]
seeds = [0, 1]
n_boot = 50

[data]
source = "synthetic"
n = 240
test_fraction = 0.5
seed = 0
world = { dim = 8, mixing_width = 16, group_size = 4, attributes = [
  "blurry", "photorealistic", "chaotic", "visually_compelling", "funny"] }

[model]
hidden = [8]
epochs = 4
learning_rate = 1e-2
batch_size = 32

[[arm]]
name = "coarse"
kind = "coarse"

[[arm]]
name = "cbm_tree"
kind = "cbm"
attributes = "tree"

[[contrast]]
a = "cbm_tree"
b = "coarse"
"""


@pytest.fixture
def tiny(tmp_path):
    path = tmp_path / "tiny.toml"
    path.write_text(TINY)
    return load_config(path)


def test_weighted_auc_matches_sklearn_with_ties_and_weights():
    rng = np.random.default_rng(0)
    s = np.round(rng.normal(size=200), 1)
    y = rng.random(200) < 0.4
    w = rng.integers(0, 3, size=(3, 200)).astype(float)
    assert weighted_auc(s, y)[0] == pytest.approx(roc_auc_score(y, s))
    got = weighted_auc(s, y, w)[:, 0]
    np.testing.assert_allclose(got, [roc_auc_score(y, s, sample_weight=wi) for wi in w])


def test_attribute_sets_and_costs():
    avail = QUALITY_ATTRIBUTES
    assert attribute_set("tree", avail) == ("photorealistic", "visually_compelling", "chaotic")
    assert len(attribute_set("tree+others", avail)) == 9
    assert "photorealistic" not in attribute_set("non_tree", avail)
    assert attribute_set("alignment", avail) == ()
    with pytest.raises(ConfigError):
        attribute_set("objects+", avail)
    assert run_cost(100, ("a", "b")) == 300
    assert run_cost(10, ("photorealistic",), "seconds") == pytest.approx(10 * (52.7 + 19.4))


def test_resume_after_interruption_repeats_nothing(tiny, tmp_path):
    out = tmp_path / "out"
    first = run_budget(tiny, out, max_runs=3, progress=False)
    assert len(first) == 3
    lines_before = (out / RESULTS).read_text().splitlines()
    # a kill in the middle of a write leaves a torn last line
    with open(out / RESULTS, "a") as f:
        f.write('{"key": "cbm_tree|n=40|seed=1", "auc": 0.')
    records = run_budget(tiny, out, progress=False)
    lines_after = (out / RESULTS).read_text().splitlines()
    assert lines_after[:3] == lines_before  # finished runs kept as they were
    keys = [r["key"] for r in records]
    assert len(keys) == len(set(keys)) == len(planned_runs(tiny)) == 8
    assert len(read_results(out / RESULTS)) == 8  # the torn line is gone, nothing duplicated
    assert run_budget(tiny, out, progress=False) == records  # nothing left to do


def test_changed_config_does_not_reuse_runs(tiny, tmp_path):
    out = tmp_path / "out"
    run_budget(tiny, out, max_runs=2, progress=False)
    changed = parse_config({**_table(), "model": {**_table()["model"], "epochs": 5}})
    assert finished_runs(changed, out) == []


def _table():
    import tomllib

    return tomllib.loads(TINY)


def test_same_config_same_numbers(tiny, tmp_path):
    a = run_budget(tiny, tmp_path / "a", max_runs=2, progress=False)
    b = run_budget(tiny, tmp_path / "b", max_runs=2, progress=False)
    for ra, rb in zip(a, b, strict=True):
        assert ra["auc"] == rb["auc"] and ra["replicates"] == rb["replicates"]
        assert ra["aggregator_weights"] if ra["kind"] == "cbm" else True


def test_report_and_cli(tiny, tmp_path):
    out = tmp_path / "cli"
    assert main(["budget", "--config", tiny.source_file, "--out", str(out), "--quiet"]) == 0
    report = out / "tables"
    for name in ("summary", "contrasts", "runs", "aggregator_weights"):
        for ext in ("csv", "md", "tex", "long.csv"):
            assert (report / f"{name}.{ext}").is_file()
    for fig in ("auc_vs_n.png", "auc_vs_cost.png", "aggregator_weights.png", "interventions.png"):
        assert (out / "figures" / fig).stat().st_size > 1000
    summary = pd.read_csv(report / "summary.csv")
    assert set(summary["arm"]) == {"coarse", "cbm_tree"} and (summary["n_seeds"] == 2).all()
    assert (summary["auc_ci_low"] <= summary["auc"]).all() and (summary["auc"] <= summary["auc_ci_high"]).all()
    tidy = pd.read_csv(report / "summary.long.csv")
    auc = tidy[tidy["quantity"] == "auc"]
    np.testing.assert_allclose(auc["ci_low"], summary["auc_ci_low"])
    assert auc["se_note"].str.contains("test-split groups").all()
    cbm = summary[summary["arm"] == "cbm_tree"]
    assert list(cbm["cost"]) == [160.0, 320.0]  # N x (1 aggregate + 3 attributes)
    contrasts = pd.read_csv(report / "contrasts.csv")
    runs = pd.read_csv(report / "runs.csv")
    at40 = runs[runs["n"] == 40].pivot(index="seed", columns="arm", values="auc")
    diff = (at40["cbm_tree"] - at40["coarse"]).mean()
    assert contrasts.loc[contrasts["n"] == 40, "diff"].item() == pytest.approx(diff)
    inter = pd.read_csv(report / "interventions.csv")
    at0 = inter[(inter["n_intervened"] == 0) & (inter["order"] == "uncertain")]
    np.testing.assert_allclose(at0["auc"].to_numpy(), cbm["auc"].to_numpy())
    manifest = assert_run_layout(out, "budget")
    assert manifest["details"]["n_runs"] == manifest["details"]["n_planned"] == 8
    assert manifest["caps"] == {"n_boot": tiny.n_boot} and "results.jsonl" in manifest["files"]
    assert (out / "results.jsonl").is_file()  # the resumable state stays beside the report
    bad = tmp_path / "bad.toml"
    bad.write_text("[budget]\nsizes = [10]\n")
    assert main(["budget", "--config", str(bad), "--out", str(tmp_path / "x")]) == 2


def test_greedy_selection_respects_budget(tiny):
    from steerstats.budget.runner import load_data

    data = load_data(tiny)
    costs = {"photorealistic": 1.0, "chaotic": 2.0, "visually_compelling": 1.0, "funny": 0.5}
    steps = greedy_attribute_selection(
        data, tuple(costs), costs, 2.0, model_params={"hidden": (8,), "epochs": 4}, seed=0
    )
    assert steps["attribute"].iloc[0] == "(coarse reference)"
    picks = steps.iloc[1:]
    assert picks["cumulative_cost"].max() <= 2.0 if len(picks) else True
    assert (picks["gain"] > 0).all()
    np.testing.assert_allclose(picks["gain_per_cost"], picks["gain"] / picks["cost"])


def test_run_experiment_partial_then_complete(tiny, tmp_path):
    out = tmp_path / "exp"
    part = run_experiment(tiny, out, max_runs=4, progress=False)
    assert not part.complete and part.finished == 4 and part.selection is None
    done = run_experiment(tiny, out, progress=False)
    assert done.complete and done.finished == 8
    assert not (out / "tables").exists()  # the library function writes only its state


# --- user feedback tables ---------------------------------------------------------------------


def _write_table(tmp_path, frame, name="fb.parquet"):
    path = tmp_path / name
    if name.endswith(".parquet"):
        frame.to_parquet(path)
    else:
        frame.to_csv(path, index=False)
    return path


def test_feedback_table_roundtrip(tmp_path):
    s = simulate_feedback(20, 0, dim=4, attributes=QUALITY_ATTRIBUTES)
    data = load_feedback(_write_table(tmp_path, s.to_frame()))
    ref = feedback_from_sample(s)
    np.testing.assert_array_equal(data.embeddings, ref.embeddings)
    np.testing.assert_array_equal(data.attributes, ref.attributes)
    assert data.attribute_names == QUALITY_ATTRIBUTES
    # CSV + side .npy
    frame = s.to_frame().drop(columns="embedding")
    np.save(tmp_path / "x.npy", s.embeddings)
    data = load_feedback(_write_table(tmp_path, frame, "fb.csv"), embeddings=tmp_path / "x.npy")
    np.testing.assert_array_equal(data.embeddings, s.embeddings)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda f: f.drop(columns="group_id"), "column 'group_id'"),
        (lambda f: f.assign(aggregate=[0, 1, 3] + [0] * 17), "row 3, column 'aggregate'"),
        (lambda f: f.assign(funny=[0.5] * 4 + [1.2] + [0] * 15), "row 5, column 'funny'"),
        (lambda f: f.assign(funny=["yes"] + ["0"] * 19), "row 1, column 'funny'"),
        (lambda f: f.assign(example_id=["a", "a"] + [f"b{i}" for i in range(18)]), "row 2"),
        (lambda f: f.assign(embedding=[[1.0, 2.0], *f["embedding"][1:]]), "row 2, column 'embedding'"),
        (lambda f: f.assign(embedding=[[np.nan] * 4, *f["embedding"][1:]]), "row 1, column 'embedding'"),
        (lambda f: f.drop(columns="embedding"), "no embeddings"),
    ],
)
def test_bad_feedback_tables(tmp_path, mutate, message):
    s = simulate_feedback(20, 0, dim=4, attributes=QUALITY_ATTRIBUTES)
    path = _write_table(tmp_path, mutate(s.to_frame()))
    with pytest.raises(InputError) as err:
        load_feedback(path)
    assert str(path) in str(err.value) and message in str(err.value)


def test_bad_side_embeddings(tmp_path):
    s = simulate_feedback(20, 0, dim=4, attributes=QUALITY_ATTRIBUTES)
    path = _write_table(tmp_path, s.to_frame().drop(columns="embedding"), "fb.csv")
    np.save(tmp_path / "x.npy", s.embeddings[:19])
    with pytest.raises(InputError, match=r"x\.npy.*\(19, 4\)"):
        load_feedback(path, embeddings=tmp_path / "x.npy")


def test_budget_on_a_user_table(tmp_path):
    s = simulate_feedback(240, 0, dim=8, mixing_width=16, attributes=QUALITY_ATTRIBUTES)
    table = _write_table(tmp_path, s.to_frame())
    cfg = tmp_path / "user.toml"
    cfg.write_text(
        textwrap.dedent(
            f"""
            [budget]
            sizes = [60]
            seeds = [0]
            n_boot = 20
            [data]
            source = "{table}"
            test_fraction = 0.5
            [model]
            hidden = [8]
            epochs = 3
            [[arm]]
            name = "cbm_quality"
            kind = "cbm"
            attributes = "quality"
            """
        )
    )
    records = run_budget(load_config(cfg), tmp_path / "o", progress=False)
    assert len(records) == 1 and records[0]["n_attributes"] == 9


def test_user_table_with_text_scales_and_thresholds(tmp_path):
    """A user's own fine-grained feedback: a text column embedded by a named embedder, the aggregate
    binarised from a 1-7 quality score, an attribute on a 1-6 scale mapped to soft labels, another
    binarised, empty cells = not elicited."""
    rng = np.random.default_rng(0)
    n = 240
    topic = rng.integers(0, 4, n)
    words = np.array(["cats", "dogs", "boats", "trees"])
    quality = np.clip(np.rint(3 + 1.5 * (topic % 2) + rng.normal(0, 1, n)), 1, 7)
    info = np.clip(np.rint(2 + 2 * (topic % 2) + rng.normal(0, 1, n)), 1, 6).astype(object)
    info[::9] = ""
    frame = pd.DataFrame({"example_id": np.arange(n), "group_id": np.arange(n) // 3,
                          "prompt": [f"a picture of {words[t]} number {i % 5}" for i, t in enumerate(topic)],
                          "quality": quality, "informativeness": info, "correct": rng.integers(0, 3, n)})
    frame.to_csv(tmp_path / "fb.csv", index=False)
    config = tmp_path / "c.toml"
    config.write_text(f"""
[budget]
name = "usertable"
sizes = [60]
seeds = [0]
n_boot = 20
[data]
source = "{tmp_path / 'fb.csv'}"
text = "prompt"
embedder = "tfidf"
aggregate = {{ column = "quality", threshold = 5 }}
attributes = {{ informativeness = {{ scale = [1, 6] }}, correct = {{ threshold = 2 }} }}
test_fraction = 0.3
[model]
hidden = [8]
epochs = 3
[[arm]]
name = "coarse"
kind = "coarse"
[[arm]]
name = "cbm"
kind = "cbm"
attributes = "all"
""")
    from steerstats.budget import load_config
    from steerstats.budget.runner import load_data

    data = load_data(load_config(config))
    assert data.attribute_names == ("informativeness", "correct")
    np.testing.assert_array_equal(data.aggregate, (quality >= 5).astype(int))
    info_num = pd.to_numeric(pd.Series(info), errors="coerce").to_numpy(float)
    np.testing.assert_allclose(data.attributes[:, 0], (info_num - 1) / 5)  # NaN where empty
    assert np.isnan(data.attributes[::9, 0]).all()
    np.testing.assert_array_equal(data.attributes[:, 1], (frame["correct"] >= 2).astype(float))
    assert main(["budget", "--config", str(config), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    assert (tmp_path / "out" / "tables" / "summary.csv").is_file()
    # a value outside its stated scale: one line naming file, row and column, exit 2
    frame.loc[4, "informativeness"] = 9
    frame.to_csv(tmp_path / "fb.csv", index=False)
    assert main(["budget", "--config", str(config), "--out", str(tmp_path / "out2"), "--quiet"]) == 2
    bad = tmp_path / "bad.toml"
    bad.write_text(config.read_text().replace("scale = [1, 6]", "scale = [1, 6], threshold = 3"))
    assert main(["budget", "--config", str(bad), "--out", str(tmp_path / "out3"), "--quiet"]) == 2
    assert not (tmp_path / "out2").exists() and not (tmp_path / "out3").exists()


def test_rater_level_long_ratings_aggregated_into_the_user_table(tmp_path):
    """example_id, rater_id, attribute, value: aggregated by mean, soft label or majority; a rule maps
    each rating first; a majority tie is missing for an attribute and an error for the aggregate."""
    from steerstats.data.feedback_io import aggregate_ratings, load_feedback

    long = pd.DataFrame(
        [("e1", "r1", "aggregate", 1), ("e1", "r2", "aggregate", 1), ("e1", "r3", "aggregate", 0),
         ("e1", "r1", "helpful", 5), ("e1", "r2", "helpful", 2),
         ("e2", "r1", "aggregate", 0), ("e2", "r2", "aggregate", 0),
         ("e2", "r1", "helpful", 4), ("e2", "r2", "helpful", 4), ("e2", "r3", "helpful", 1)],
        columns=["example_id", "rater_id", "attribute", "value"])
    long.to_csv(tmp_path / "ratings.csv", index=False)
    rules = {"helpful": {"scale": [1, 5]}}
    mean = aggregate_ratings(tmp_path / "ratings.csv", how="mean", rules=rules).set_index("example_id")
    assert mean.loc["e1", "helpful"] == pytest.approx((1.0 + 0.25) / 2)  # (5-1)/4 and (2-1)/4
    assert mean.loc["e1", "aggregate"] == 1.0 and mean.loc["e2", "aggregate"] == 0.0  # 2/3 -> 1 at 0.5
    soft = aggregate_ratings(tmp_path / "ratings.csv", how="soft", rules=rules).set_index("example_id")
    assert soft.loc["e2", "helpful"] == pytest.approx(2 / 3)  # two of three at or above 0.5
    major = aggregate_ratings(tmp_path / "ratings.csv", how="majority", rules=rules).set_index("example_id")
    assert np.isnan(major.loc["e1", "helpful"]) and major.loc["e2", "helpful"] == 1.0  # 1-1 tie: missing
    pd.DataFrame({"example_id": ["e1", "e2"], "group_id": [1, 2]}).to_csv(tmp_path / "ex.csv", index=False)
    np.save(tmp_path / "x.npy", np.eye(2, dtype=np.float32))
    data = load_feedback(tmp_path / "ex.csv", embeddings=tmp_path / "x.npy", ratings=tmp_path / "ratings.csv",
                         aggregation="soft", rules=rules)
    assert data.attribute_names == ("helpful",) and data.aggregate.tolist() == [1, 0]
    # a tie on the aggregate under majority is an error, not a coin flip
    long.loc[len(long)] = ("e2", "r3", "aggregate", 1)
    long.loc[len(long)] = ("e2", "r4", "aggregate", 1)
    long.to_csv(tmp_path / "ratings.csv", index=False)
    with pytest.raises(InputError, match="split evenly"):
        aggregate_ratings(tmp_path / "ratings.csv", how="majority", rules=rules)
    long.loc[0, "value"] = 7
    long.to_csv(tmp_path / "ratings.csv", index=False)
    with pytest.raises(InputError, match="row 1, column 'value'"):
        aggregate_ratings(tmp_path / "ratings.csv", how="mean")


def test_cem_arm_and_every_intervention_policy(tmp_path):
    """A concept-embedding arm runs in the sweep; its runs record the four intervention policies,
    and the oracle's curve bounds the others'."""
    from steerstats.budget import parse_config, run_experiment
    from steerstats.budget.outputs import interventions_table

    cfg = parse_config({
        "budget": {"name": "cem", "sizes": [300], "seeds": [0, 1], "n_boot": 50},
        "data": {"source": "synthetic", "n": 1000, "test_fraction": 0.3, "seed": 0, "world": {"dim": 32, "target": "tree"}},
        "model": {"hidden": [16], "epochs": 10, "learning_rate": 3e-3},
        "arm": [{"name": "cem_tree", "kind": "cem", "attributes": "tree", "params": {"embedding_size": 4}}],
    })
    result = run_experiment(cfg, tmp_path / "out", progress=False)
    table = interventions_table(result.records)
    assert set(table["order"]) == {"random", "uncertain", "cooperative", "oracle"}
    wide = table.pivot(index="n_intervened", columns="order", values="auc")
    assert (wide["oracle"] >= wide.drop(columns="oracle").max(axis=1) - 1e-9).all()
    assert table["auc_ci_low"].between(0, 1).all() and table["auc_ci_high"].between(0, 1).all()
    with pytest.raises(ConfigError, match="a cem arm does not take this key"):
        parse_config({"budget": {"name": "x", "sizes": [10], "seeds": [0]}, "data": {"source": "synthetic"},
                      "arm": [{"name": "c", "kind": "cem", "attributes": "tree", "params": {"mode": "joint"}}]})


def test_weight_bootstrap_replicate_is_the_fit_on_the_resampled_groups():
    from sklearn.linear_model import LogisticRegression

    from steerstats.models.concept_bottleneck import logistic_weight_bootstrap
    from steerstats.uncertainty.bootstrap import cluster_counts

    rng = np.random.default_rng(4)
    groups = np.repeat(np.arange(30), rng.integers(1, 6, 30))
    x = rng.standard_normal((len(groups), 3))
    y = (x @ [1.0, -0.5, 0.0] + rng.standard_normal(len(groups)) > 0).astype(int)
    est = LogisticRegression(class_weight="balanced", C=1.0)
    reps = logistic_weight_bootstrap(est, x, y, groups, n_boot=5, seed=9)
    counts = cluster_counts(30, 5, np.random.default_rng(9))
    for b in range(5):
        rows = np.concatenate([np.flatnonzero(groups == g) for g in np.repeat(np.arange(30), counts[b])])
        np.testing.assert_allclose(reps[b], LogisticRegression(class_weight="balanced", C=1.0).fit(x[rows], y[rows]).coef_[0],
                                   rtol=1e-6, atol=1e-8)


def test_weight_bootstrap_sd_matches_the_cluster_robust_se_of_statsmodels():
    """Clustered, heteroscedastic logistic data (a random group effect, group sizes 1-12): the
    bootstrap SD of the (nearly unpenalised) weights agrees with statsmodels' cluster-robust SE."""
    import statsmodels.api as sm
    from sklearn.linear_model import LogisticRegression

    from steerstats.models.concept_bottleneck import logistic_weight_bootstrap

    rng = np.random.default_rng(21)
    sizes = rng.integers(1, 13, 300)
    groups = np.repeat(np.arange(300), sizes)
    x = rng.standard_normal((len(groups), 2)) + rng.standard_normal((300, 2))[groups]  # clustered features
    eta = x @ [0.8, -0.4] + 0.9 * rng.standard_normal(300)[groups] + 0.5 * x[:, 0] ** 2 - 0.5
    y = (rng.random(len(groups)) < 1 / (1 + np.exp(-eta))).astype(int)
    reps = logistic_weight_bootstrap(LogisticRegression(C=1e6, max_iter=1000), x, y, groups, n_boot=400, seed=0)
    fit = sm.Logit(y, sm.add_constant(x)).fit(disp=0, cov_type="cluster", cov_kwds={"groups": groups})
    np.testing.assert_allclose(reps.std(axis=0, ddof=1), fit.bse[1:], rtol=0.15)


def test_sweep_records_weight_replicates_and_the_table_has_intervals(tiny, tmp_path):
    from steerstats.budget import weights_table

    records = run_budget(tiny, tmp_path / "w", progress=False)
    cbm = [r for r in records if r["kind"] == "cbm"]
    assert cbm and all(len(r["aggregator_weight_replicates"]) == tiny.weight_boot for r in cbm)
    table = weights_table(records, tiny.level)
    assert table["weight_ci_low"].notna().all() and (table["n_boot"] == tiny.weight_boot).all()
    # the records come back from results.jsonl (keys sorted): each interval is its own attribute's
    one = tiny.seeds[0]
    for r in (r for r in cbm if r["seed"] == one):
        reps = np.array(r["aggregator_weight_replicates"], dtype=float)
        single = weights_table([r], tiny.level).set_index("attribute")
        for j, a in enumerate(r["attributes"]):
            assert single.loc[a, "weight_mean"] == r["aggregator_weights"][a]
            np.testing.assert_allclose(single.loc[a, "weight_ci_low"], np.nanquantile(reps[:, j], 0.025))
    assert (table["weight_ci_low"] <= table["weight_ci_high"]).all()
    off = parse_config({**_table(), "budget": {**_table()["budget"], "weight_boot": 0}})
    assert off.fingerprint(off.arms[1]) != tiny.fingerprint(tiny.arms[1])  # cbm arm: the replicates are part of a run
    assert off.fingerprint(off.arms[0]) == tiny.fingerprint(tiny.arms[0])  # coarse: unchanged


def test_weight_bootstrap_draws_are_shared_across_training_seeds():
    """On the full training split every seed fits the same rows: the attributes-only arm's
    replicates are then identical across seeds, so their seed mean keeps one run's spread (averaging
    independent draws would shrink it by sqrt(seeds))."""
    from steerstats.budget.runner import fit_one, load_data, make_split

    table = _table()
    table["arm"] = [{"name": "att", "kind": "attributes", "attributes": "tree"}]
    table["contrast"] = []
    config = parse_config(table)
    split = make_split(load_data(config), config)
    n = len(split.train)
    a, b = (fit_one(config, split, config.arms[0], n, s) for s in (0, 1))
    assert a["aggregator_weight_replicates"] == b["aggregator_weight_replicates"]
