"""Rejection sampling (best-of-N) as a proxy for adapting a generator (Collins et al. 2024).

For each prompt a generator gives N candidates; each reward model picks its top-scored one; judges
compare model A's pick with model B's pick side by side and may answer "unsure", overall
("aggregate") and per attribute ("which image is more X?"). This module holds the point-estimate
pieces: scoring, picks, oracle and simulated judges, the vote summary as a weighted statistic (the
cluster bootstrap over prompts and the whole analysis live in :mod:`steerstats.generate.rejection_study`), the exact expected
true reward of a scorer's best-of-N pick, and tie-aware pairwise accuracy.

Judgement format (one row per vote): ``prompt``, ``dimension`` ("aggregate" or an attribute),
``model_a``, ``model_b`` (the models behind the two sides), ``judgement`` in {A, B, unsure} and an
optional ``rater``. :func:`steerstats.generate.judgements.read_judgements` reads human tables in it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import gammaln

from steerstats.generate.candidates import Candidates
from steerstats.metrics.weighted import as_weights, squeeze_like

Scorer = Callable[[Candidates], np.ndarray]
AGGREGATE = "aggregate"
JUDGEMENTS = ("A", "B", "unsure")


# scoring and picks ------------------------------------------------------------------------------
def as_scorer(model: Any) -> Scorer:
    """A scorer from a reward model (anything with ``decision_function`` on embeddings) or a
    callable ``Candidates -> (n,) scores``."""
    if hasattr(model, "decision_function"):
        return lambda c: np.asarray(model.decision_function(c.embedding), dtype=float)
    if callable(model):
        return lambda c: np.asarray(model(c), dtype=float)
    raise TypeError(f"not a scorer: {type(model).__name__}")


def score_candidates(candidates: Candidates, scorers: Mapping[str, Any]) -> pd.DataFrame:
    """(n, n_scorers) scores, one column per scorer."""
    out = {}
    for name, model in scorers.items():
        s = as_scorer(model)(candidates)
        if s.shape != (len(candidates),) or not np.all(np.isfinite(s)):
            raise ValueError(f"scorer '{name}' must return {len(candidates)} finite scores")
        out[name] = s
    return pd.DataFrame(out)


def random_scorer(seed: int) -> Scorer:
    """A scorer unrelated to quality: i.i.d. uniform scores (seeded), the best-of-N null."""
    return lambda c: np.random.default_rng(seed).uniform(size=len(c))


def prompt_positions(candidates: Candidates) -> dict[Any, np.ndarray]:
    """Row positions of each prompt's candidates, in generation order."""
    codes, uniques = pd.factorize(pd.Series(candidates.prompt), sort=False)
    return {p: np.flatnonzero(codes == i) for i, p in enumerate(uniques)}


def top_picks(candidates: Candidates, scores: pd.DataFrame, n: int | None = None) -> pd.DataFrame:
    """Each scorer's best candidate among the first ``n`` of every prompt (ties: first).

    Returns one row per prompt: ``prompt`` and, per scorer, the row position of its pick.
    """
    rows = []
    for prompt, pos in prompt_positions(candidates).items():
        use = pos if n is None else pos[:n]
        if n is not None and len(use) < n:
            raise ValueError(f"prompt {prompt!r} has {len(pos)} candidates, fewer than N = {n}")
        row = {"prompt": prompt}
        for name in scores.columns:
            row[name] = int(use[np.argmax(scores[name].to_numpy()[use])])
        rows.append(row)
    return pd.DataFrame(rows)


# judges -------------------------------------------------------------------------------------------
def _compare(diff: np.ndarray, band: float) -> np.ndarray:
    return np.where(diff > band, "A", np.where(diff < -band, "B", "unsure"))


def pair_frame(picks: pd.DataFrame, a: str, b: str) -> pd.DataFrame:
    """prompt, row positions of A's and B's picks, and whether they are the same candidate."""
    return pd.DataFrame(
        {
            "prompt": picks["prompt"],
            "pos_a": picks[a].to_numpy(),
            "pos_b": picks[b].to_numpy(),
            "same": picks[a].to_numpy() == picks[b].to_numpy(),
        }
    )


def oracle_judgements(
    pairs: pd.DataFrame,
    truth: pd.DataFrame,
    a: str,
    b: str,
    *,
    band: float | Mapping[str, float] = 0.0,
) -> pd.DataFrame:
    """One vote per (pair, dimension) from the known truth.

    ``truth``: one row per candidate (positions as in ``pairs``), a column per dimension
    (``aggregate`` and attributes). A wins a dimension if truth_A - truth_B > band, B if it is
    < -band, otherwise "unsure" (so equal binary attributes give "unsure").
    """
    frames = []
    for dim in truth.columns:
        v = truth[dim].to_numpy(dtype=float)
        diff = v[pairs["pos_a"].to_numpy()] - v[pairs["pos_b"].to_numpy()]
        eps = band.get(dim, 0.0) if isinstance(band, Mapping) else band
        frames.append(_votes(pairs, dim, a, b, _compare(diff, eps), rater="oracle"))
    return pd.concat(frames, ignore_index=True)


def simulated_judgements(
    pairs: pd.DataFrame,
    truth: pd.DataFrame,
    a: str,
    b: str,
    *,
    n_raters: int = 3,
    noise_sd: float | Mapping[str, float] = 0.1,
    band: float | Mapping[str, float] = 0.1,
    seed: int = 0,
) -> pd.DataFrame:
    """Votes of ``n_raters`` noisy raters per (pair, dimension).

    Rater r perceives d_r = (truth_A - truth_B) + noise_sd * N(0, 1) and answers A if d_r > band,
    B if d_r < -band, else "unsure" (the indifference band). ``truth`` should hold graded values
    (e.g. expected aggregate, latent attribute strengths) so that closeness means indifference.
    """
    rng = np.random.default_rng(seed)
    frames = []
    for dim in truth.columns:
        v = truth[dim].to_numpy(dtype=float)
        diff = v[pairs["pos_a"].to_numpy()] - v[pairs["pos_b"].to_numpy()]
        sd = noise_sd.get(dim, 0.0) if isinstance(noise_sd, Mapping) else noise_sd
        eps = band.get(dim, 0.0) if isinstance(band, Mapping) else band
        for r in range(n_raters):
            seen = diff + sd * rng.standard_normal(len(diff))
            frames.append(_votes(pairs, dim, a, b, _compare(seen, eps), rater=f"sim{r}"))
    return pd.concat(frames, ignore_index=True)


def _votes(pairs: pd.DataFrame, dim: str, a: str, b: str, judgement: np.ndarray, rater: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "prompt": pairs["prompt"].to_numpy(),
            "rater": rater,
            "dimension": dim,
            "model_a": a,
            "model_b": b,
            "judgement": judgement,
        }
    )


def orient_votes(votes: pd.DataFrame, a: str, b: str) -> pd.DataFrame:
    """Votes re-expressed as prefer ``a`` / prefer ``b`` / unsure (sides may have been shuffled)."""
    flip = (votes["model_a"] == b).to_numpy()
    j = votes["judgement"].to_numpy().astype(object)
    j = np.where(flip & (j == "A"), "B", np.where(flip & (j == "B"), "A", j))
    return votes.assign(model_a=a, model_b=b, judgement=j)


# vote summary (a weighted statistic, see steerstats.metrics.weighted) -----------------------------
def vote_shares(votes: pd.DataFrame, dimensions: Sequence[str]) -> Callable[[pd.DataFrame, np.ndarray | None], np.ndarray]:
    """Statistic(frame, weights) -> per dimension [%A, %B, %unsure, %A - %B] (votes over all votes
    on that dimension, as Collins et al. Table 1), flattened dimension-major."""
    dims = list(dimensions)
    code = pd.Categorical(votes["dimension"], categories=dims).codes
    onehot = np.zeros((len(votes), len(dims)))
    onehot[np.flatnonzero(code >= 0), code[code >= 0]] = 1.0
    j = votes["judgement"].to_numpy()
    ind = np.stack([j == "A", j == "B", j == "unsure"], axis=1).astype(float)  # (n, 3)

    def statistic(frame: pd.DataFrame, weights: np.ndarray | None) -> np.ndarray:
        w = as_weights(weights, len(frame))
        den = w @ onehot  # (B, D)
        num = np.einsum("bn,nd,nk->bdk", w, onehot, ind)  # (B, D, 3)
        with np.errstate(invalid="ignore", divide="ignore"):
            share = 100.0 * num / den[..., None]
        out = np.concatenate([share, share[..., :1] - share[..., 1:2]], axis=-1)
        return squeeze_like(out.reshape(len(w), -1), weights)

    return statistic


VOTE_COLUMNS = ("pct_a", "pct_b", "pct_unsure", "pct_a_minus_b")


# best-of-N --------------------------------------------------------------------------------------
def best_of_n_weights(m: int, n: int) -> np.ndarray:
    """P(the candidate ranked i-th of m by score is the best of a uniform n-subset), i = 1..m:
    C(m - i, n - 1) / C(m, n)."""
    if not 1 <= n <= m:
        raise ValueError(f"N must be in 1..{m}, got {n}")
    i = np.arange(1, m + 1)
    ok = m - i >= n - 1
    logw = np.full(m, -np.inf)
    k = m - i[ok]
    logw[ok] = (
        gammaln(k + 1) - gammaln(n) - gammaln(k - n + 2)
        - (gammaln(m + 1) - gammaln(n + 1) - gammaln(m - n + 1))
    )
    return np.exp(logw)


def best_of_n(
    candidates: Candidates,
    scores: pd.DataFrame,
    truth: np.ndarray,
    ns: Sequence[int] = (1, 2, 4, 8, 16, 32, 64),
) -> pd.DataFrame:
    """Expected true reward of each scorer's pick among N candidates drawn without replacement from
    each prompt's pool (exact, no resampling noise). Ties in score are broken uniformly at random,
    which equals giving every tied candidate the mean truth of its tie group.

    One row per (prompt, scorer, N): ``expected_truth``.
    """
    truth = np.asarray(truth, dtype=float)
    rows = []
    for prompt, pos in prompt_positions(candidates).items():
        m = len(pos)
        t = truth[pos]
        for name in scores.columns:
            s = scores[name].to_numpy()[pos]
            order = np.argsort(-s, kind="stable")
            ts = pd.Series(t[order]).groupby(s[order], sort=False).transform("mean").to_numpy()
            for n in ns:
                if n > m:
                    raise ValueError(f"prompt {prompt!r} has {m} candidates, fewer than N = {n}")
                rows.append(
                    {"prompt": prompt, "scorer": name, "n": int(n), "expected_truth": float(best_of_n_weights(m, n) @ ts)}
                )
    return pd.DataFrame(rows)


# tie-aware pairwise accuracy ---------------------------------------------------------------------
def pair_signs(candidates: Candidates, values: np.ndarray, band: float = 0.0) -> pd.DataFrame:
    """All within-prompt pairs i < j: prompt and sign(v_i - v_j), 0 when |v_i - v_j| <= band."""
    values = np.asarray(values, dtype=float)
    prompts, signs, absdiff = [], [], []
    for prompt, pos in prompt_positions(candidates).items():
        i, j = np.triu_indices(len(pos), k=1)
        d = values[pos[i]] - values[pos[j]]
        prompts.append(np.full(len(d), prompt, dtype=object))
        signs.append(np.where(np.abs(d) <= band, 0, np.sign(d)).astype(int))
        absdiff.append(d)
    return pd.DataFrame(
        {"prompt": np.concatenate(prompts), "sign": np.concatenate(signs), "diff": np.concatenate(absdiff)}
    )


def tie_aware_accuracy(
    candidates: Candidates,
    scores: np.ndarray,
    truth: np.ndarray,
    *,
    truth_band: float = 0.0,
    score_epsilon: float | str = 0.0,
) -> tuple[pd.DataFrame, float]:
    """Pairwise accuracy with ties (Deutsch et al. 2023, acc_eq): a within-prompt pair counts as
    correct if the scorer orders it as the truth does, or if both call it a tie
    (|truth diff| <= truth_band, |score diff| <= epsilon). ``score_epsilon="calibrate"`` picks the
    epsilon that maximises accuracy (their tie calibration). Returns per-pair correctness (columns
    prompt, correct) for cluster resampling, and the epsilon used.
    """
    t = pair_signs(candidates, truth, truth_band)
    s = pair_signs(candidates, scores, 0.0)["diff"].to_numpy()
    eps = calibrate_epsilon(s, t["sign"].to_numpy()) if score_epsilon == "calibrate" else float(score_epsilon)
    pred = np.where(np.abs(s) <= eps, 0, np.sign(s))
    return pd.DataFrame({"prompt": t["prompt"], "correct": (pred == t["sign"]).astype(float)}), eps


def calibrate_epsilon(score_diff: np.ndarray, truth_sign: np.ndarray) -> float:
    """The tie threshold on |score diff| that maximises acc_eq (ties first, then the sweep)."""
    a = np.abs(score_diff)
    order = np.argsort(a, kind="stable")
    a, sd, ts = a[order], np.sign(score_diff[order]), truth_sign[order]
    # threshold below every pair: nothing is a predicted tie
    base = np.sum(sd == ts)
    # moving pair k into "tie" changes correctness from [sign matches] to [truth is a tie]
    gain = np.cumsum((ts == 0).astype(int) - (sd == ts).astype(int))
    last = np.r_[a[1:] != a[:-1], True]  # only thresholds between distinct values
    cand = np.r_[base, base + gain[last]]
    thresholds = np.r_[-np.inf, a[last]]
    best = int(np.argmax(cand))
    return float(max(thresholds[best], 0.0)) if best > 0 else 0.0
