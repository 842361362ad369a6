"""Steerability predictors and the producibility/steering decomposition on the release (Vafa et
al. 2025, Sec. 4, Fig. 4; App. C.1, Fig. 7), plus the estimator's validation on simulated studies.

    .venv/bin/python analyses/predictors_decomposition_vafa2025.py --data-dir ../shared/data/vafa2025 --out out/sec4

Runs, offline (TF-IDF text embeddings; the goal is its reference_prompt):
  OUT/predict_8020      the four predictors, ridge and MLP heads, the paper's 80/20 goal split
  OUT/predict_5fold     the same with grouped 5-fold cross-validation (every row predicted once)
  OUT/decompose         decomposition vs dall-e-2: influence-function intervals over 20 cross-fitting
                        splits and the Bayesian model; seed-constraint trade-off (it warns: 64 text
                        features for 50 goals in the smallest model)
  OUT/decompose_pc5     the same on the 5 leading principal components of the goal features (9+ goals
                        a feature; mu_i then conditions on those components)
  OUT/validate          bias and coverage over R=200 simulated studies (B=100 refits each for the
                        additive estimator)
The paper's best predictor (fine-tuned CLIP on goal images) explains about half the variance; with
frozen TF-IDF text features expect far less.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from steerstats.cli import main


def run(data_dir: str, out: Path, seed: int) -> None:
    common = ["--dataset", "vafa2025", "--data-dir", data_dir, "--seed", str(seed), "--embedder", "tfidf", "--quiet"]
    steps = [
        ["predict", *common, "--head", "both", "--out", str(out / "predict_8020")],
        ["predict", *common, "--head", "ridge", "--split", "5", "--out", str(out / "predict_5fold")],
        ["decompose", *common, "--bayes", "--out", str(out / "decompose")],
        ["decompose", *common, "--components", "5", "--out", str(out / "decompose_pc5")],
        ["decompose", "--validate", "--n-sims", "200", "--n-boot", "100", "--seed", str(seed), "--quiet",
         "--out", str(out / "validate")],
    ]
    for argv in steps:
        print("$ steerstats " + " ".join(argv), flush=True)
        if main(argv) != 0:
            raise SystemExit(f"step failed: steerstats {' '.join(argv)}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--out", default="out/sec4")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    run(args.data_dir, Path(args.out), args.seed)
