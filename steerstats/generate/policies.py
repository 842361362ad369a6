"""Proposal policies: which mixture scale to use for the next round of variations.

Vafa et al. (2025, Sec. 5, App. C.2) compare a random scale per steering session with a learned
policy: Thompson sampling over 10 buckets s in {0.1, ..., 1.0}, one bandit per state
(round t, whether the user kept the current image last round). Each (state, bucket) has a Gaussian
posterior for the episode reward r = final minus initial similarity to the goal: with prior
N(0, sigma^2) and rewards ~ N(theta, sigma^2),

    theta | r_1..r_n ~ N(sum(r) / (n + 1), sigma^2 / (n + 1)),   sigma^2 = 1.

State codes: ``START`` for round 1 (no previous choice), ``KEPT`` if the user kept the current image
in the previous round (selected index 0), ``SWITCHED`` otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

START, KEPT, SWITCHED = 0, 1, 2
PREVIOUS_NAMES = ("start", "kept", "switched")
DEFAULT_BUCKETS = tuple(round(0.1 * i, 1) for i in range(1, 11))


def _check_scale(scale: float) -> float:
    if not 0.0 <= scale <= 1.0:
        raise ValueError(f"mixture scale must lie in [0, 1], got {scale}")
    return float(scale)


@dataclass
class FixedScale:
    """The same mixture scale every round."""

    scale: float = 0.5
    name: str = "fixed"

    def __post_init__(self) -> None:
        _check_scale(self.scale)

    def start(self, n_episodes: int, rng: np.random.Generator) -> None:
        self._n = n_episodes

    def propose(self, round_: int, previous: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return np.full(len(previous), self.scale)


@dataclass
class RandomScale:
    """One scale per steering session drawn uniformly from [low, high] (the released traces of the
    random condition keep one scale for all four rounds); ``per="round"`` redraws every round."""

    low: float = 0.0
    high: float = 1.0
    per: str = "episode"
    name: str = "random"
    _scales: np.ndarray = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        _check_scale(self.low), _check_scale(self.high)
        if self.low > self.high or self.per not in ("episode", "round"):
            raise ValueError("RandomScale needs low <= high and per in {'episode', 'round'}")

    def start(self, n_episodes: int, rng: np.random.Generator) -> None:
        self._scales = rng.uniform(self.low, self.high, size=n_episodes)

    def propose(self, round_: int, previous: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        if self.per == "round":
            return rng.uniform(self.low, self.high, size=len(previous))
        return self._scales


@dataclass
class ThompsonScale:
    """Thompson sampling over scale buckets per (round, previous choice) state.

    ``counts`` and ``sums`` have shape (n_rounds, 3, n_buckets) indexed by
    [round - 1, previous code, bucket]; round 1 only uses the START row, later rounds KEPT/SWITCHED.
    ``mode="greedy"`` proposes the bucket with the highest posterior mean (the deployed table).
    """

    n_rounds: int = 4
    buckets: tuple[float, ...] = DEFAULT_BUCKETS
    sigma2: float = 1.0
    mode: str = "thompson"
    name: str = "learned"
    counts: np.ndarray = field(default=None, repr=False)
    sums: np.ndarray = field(default=None, repr=False)

    def __post_init__(self) -> None:
        for b in self.buckets:
            _check_scale(b)
        if self.mode not in ("thompson", "greedy"):
            raise ValueError("mode must be 'thompson' or 'greedy'")
        shape = (self.n_rounds, 3, len(self.buckets))
        if self.counts is None:
            self.counts = np.zeros(shape)
        if self.sums is None:
            self.sums = np.zeros(shape)
        if self.counts.shape != shape or self.sums.shape != shape:
            raise ValueError(f"counts and sums must have shape {shape}")

    # posterior -------------------------------------------------------------------------------
    def posterior_mean(self) -> np.ndarray:
        """sum(r) / (n + 1) per [round, previous, bucket]."""
        return self.sums / (self.counts + 1.0)

    def posterior_sd(self) -> np.ndarray:
        """sqrt(sigma^2 / (n + 1)) per [round, previous, bucket]."""
        return np.sqrt(self.sigma2 / (self.counts + 1.0))

    # policy ------------------------------------------------------------------------------------
    def start(self, n_episodes: int, rng: np.random.Generator) -> None:
        self._n = n_episodes

    def propose_buckets(
        self, round_: int, previous: np.ndarray, rng: np.random.Generator
    ) -> np.ndarray:
        """Bucket index per episode for this round given each episode's previous-choice code."""
        mean = self.posterior_mean()[round_ - 1, previous]  # (E, n_buckets)
        if self.mode == "greedy":
            return np.argmax(mean, axis=1)
        sd = self.posterior_sd()[round_ - 1, previous]
        draw = mean + sd * rng.standard_normal(mean.shape)
        return np.argmax(draw, axis=1)

    def propose(self, round_: int, previous: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return np.asarray(self.buckets)[self.propose_buckets(round_, previous, rng)]

    def update(self, previous: np.ndarray, scales: np.ndarray, reward: np.ndarray) -> None:
        """Credit each episode's reward to every (round, state, bucket) it used.

        ``previous`` and ``scales``: (E, n_rounds); ``reward``: (E,).
        """
        bucket = self.bucket_index(scales)
        rounds = np.broadcast_to(np.arange(self.n_rounds), bucket.shape)
        r = np.broadcast_to(np.asarray(reward, dtype=float)[:, None], bucket.shape)
        np.add.at(self.counts, (rounds, previous, bucket), 1.0)
        np.add.at(self.sums, (rounds, previous, bucket), r)

    def bucket_index(self, scales: np.ndarray) -> np.ndarray:
        b = np.asarray(self.buckets)
        idx = np.argmin(np.abs(np.asarray(scales)[..., None] - b), axis=-1)
        if not np.allclose(b[idx], scales):
            raise ValueError("scales not on the policy's buckets")
        return idx

    def greedy(self) -> ThompsonScale:
        """The same posterior, proposing its best bucket (evaluation / deployment)."""
        return ThompsonScale(
            self.n_rounds, self.buckets, self.sigma2, "greedy", self.name, self.counts.copy(),
            self.sums.copy(),
        )

    # table -------------------------------------------------------------------------------------
    def table(self) -> pd.DataFrame:
        """Tidy table: round, previous, scale, n, posterior mean and sd (used states only)."""
        rows = []
        mean, sd = self.posterior_mean(), self.posterior_sd()
        for t in range(self.n_rounds):
            for prev in ((START,) if t == 0 else (KEPT, SWITCHED)):
                for j, s in enumerate(self.buckets):
                    rows.append(
                        {
                            "round": t + 1,
                            "previous": PREVIOUS_NAMES[prev],
                            "scale": s,
                            "n": int(self.counts[t, prev, j]),
                            "sum_reward": float(self.sums[t, prev, j]),
                            "posterior_mean": float(mean[t, prev, j]),
                            "posterior_sd": float(sd[t, prev, j]),
                        }
                    )
        return pd.DataFrame(rows)

    @classmethod
    def from_table(cls, table: pd.DataFrame, sigma2: float = 1.0, mode: str = "greedy") -> ThompsonScale:
        """Rebuild a policy from :meth:`table` output (e.g. a saved ``learned_policy.csv``)."""
        buckets = tuple(sorted(float(s) for s in table["scale"].unique()))
        n_rounds = int(table["round"].max())
        policy = cls(n_rounds=n_rounds, buckets=buckets, sigma2=sigma2, mode=mode)
        prev = table["previous"].map({n: i for i, n in enumerate(PREVIOUS_NAMES)}).to_numpy()
        t = table["round"].to_numpy(dtype=int) - 1
        j = policy.bucket_index(table["scale"].to_numpy(dtype=float))
        policy.counts[t, prev, j] = table["n"].to_numpy(dtype=float)
        policy.sums[t, prev, j] = table["sum_reward"].to_numpy(dtype=float)
        return policy
