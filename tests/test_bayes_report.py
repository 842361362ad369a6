"""The report's Bayesian section: off by default; with --bayes, three intervals side by side."""

from __future__ import annotations

from steerstats.uncertainty.bayes.devices import request_host_devices

request_host_devices(4)

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from steerstats.data import load_study  # noqa: E402
from steerstats.report.section_bayes import section  # noqa: E402
from steerstats.report.sections import SECTIONS, ReportContext  # noqa: E402


def test_section_registered_and_off_without_bayes():
    assert any(s.name == "bayes" and s.target == "steerstats.report.section_bayes:section" for s in SECTIONS)
    assert section(load_study("synthetic", seed=0), ReportContext(bayes=False)) == []


@pytest.mark.slow
def test_section_tables_on_synthetic_study():
    study = load_study("synthetic", seed=1)
    ctx = ReportContext(bayes=True, n_boot=200, seed=0,
                        options={"bayes_warmup": 400, "bayes_samples": 400, "progress": False})
    from steerstats.report.artifacts import PosteriorArtifact, Table

    items = section(study, ctx)
    sim, judge = (t for t in items if isinstance(t, Table))
    posteriors = {p.name: p.inference_data for p in items if isinstance(p, PosteriorArtifact)}
    assert set(posteriors) == {"bayes_similarity", "bayes_improvement", "bayes_pom1", "bayes_pom5"}
    post = posteriors["bayes_similarity"].posterior
    assert post.sizes["chain"] == 4 and post.sizes["draw"] == 400  # kept whole, every chain and draw
    assert "diverging" in posteriors["bayes_similarity"].sample_stats
    f = sim.frame
    assert len(f) == len(study.steering["model"].unique())
    assert {"sem_low", "sem_high", "boot_low", "boot_high", "bayes_mean", "hdi94_low", "hdi94_high",
            "bayes_status"} <= set(f.columns)
    np.testing.assert_allclose(f["mean"], study.steering.groupby("model")["dreamsim"].mean().to_numpy())
    # the user-cluster bootstrap is wider than the row SEM (users contribute 10 correlated rows)
    assert ((f["boot_high"] - f["boot_low"]) > (f["sem_high"] - f["sem_low"])).all()
    ok = f["bayes_status"] == "ok"
    assert f.loc[~ok, "bayes_mean"].isna().all()  # a failed fit is never shown
    assert f.loc[ok, "bayes_mean"].between(f.loc[ok, "hdi94_low"], f.loc[ok, "hdi94_high"]).all()
    assert "as wide as the row-SEM interval" in sim.interpretation
    assert set(judge.frame["judgement"]) == {"improvement", "pom1", "pom5"}
    assert {"cgm_low", "cgm_high", "hdi_to_cluster_width"} <= set(judge.frame.columns)
    assert (judge.frame["cgm_high"] > judge.frame["cgm_low"]).all()
    assert "model by model" in sim.interpretation or not ok.any()
