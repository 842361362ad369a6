"""Variance components of a similarity outcome, for calibrating the simulator to the release.

Model (logit scale, the simulator's own; see :mod:`steerstats.data.simulate`): goals are nested in
steering users, attempts in goals,

    logit y_uga = mu_m + tau (a - 1) + b_u + g_ug + e_uga,
    b_u ~ N(0, s_user^2), g_ug ~ N(0, s_goal^2), e ~ N(0, s_attempt^2).

Estimated by ANOVA method of moments for the nested design (Searle, Casella & McCulloch 1992,
ch. 3), each step unbiased under the model:
  1. tau: within-goal least squares (goal fixed effects absorb model, user and goal effects);
  2. s_attempt^2: within-goal residual mean square (df = N - G - 1);
  3. s_goal^2: between-goal-within-user mean square of the trend-adjusted goal means, minus
     s_attempt^2 * mean(1 / n_g);
  4. s_user^2: between-user-within-model mean square of the user means, minus the goal and
     attempt contributions to a user mean;
  5. mu_m: the model's mean of user means, moved to attempt 1.
Negative variance estimates are truncated at 0.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import logit

from steerstats.errors import InputError


@dataclass(frozen=True)
class VarianceComponents:
    """Fitted components (logit scale) and the design they came from."""

    model_intercept: dict[str, float]  # mu_m at attempt 1
    attempt_trend: float
    sigma_user: float
    sigma_goal: float
    sigma_attempt: float
    n_rows: int
    n_users: int
    n_goals: int
    goals_per_user: int
    value: str
    method: str = (
        "ANOVA method of moments on logit(similarity), nested user > goal > attempt, "
        "within-goal trend (steerstats.uncertainty.calibrate)"
    )

    def to_params(self, base=None):
        """A :class:`~steerstats.data.simulate.SimulationParams` with these components (goal
        difficulty folded into the model intercepts; other fields from ``base``)."""
        from steerstats.data.simulate import SimulationParams

        base = base or SimulationParams()
        models = tuple(self.model_intercept)
        return dataclasses.replace(
            base,
            models=models,
            model_effect=tuple(self.model_intercept[m] for m in models),
            goal_difficulty=(0.0,) * len(models),
            sigma_user=self.sigma_user,
            sigma_goal=self.sigma_goal,
            sigma_attempt=self.sigma_attempt,
            attempt_trend=self.attempt_trend,
            n_users=self.n_users,
            goals_per_user=self.goals_per_user,
        )

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


def fit_variance_components(
    frame: pd.DataFrame,
    value: str = "dreamsim",
    *,
    model: str = "model",
    user: str = "steering_user_id",
    goal: str = "goal_image",
    attempt: str = "attempt",
) -> VarianceComponents:
    """Method-of-moments variance components of ``logit(value)`` (see the module docstring)."""
    for col in (value, model, user, goal, attempt):
        if col not in frame.columns:
            raise InputError("column missing", column=col)
    y = frame[value].to_numpy(dtype=float)
    bad = ~((y > 0) & (y < 1))
    if bad.any():
        raise InputError("similarity must lie in (0, 1)", row=int(np.flatnonzero(bad)[0]) + 1, column=value)
    d = pd.DataFrame(
        {"x": logit(y), "a": frame[attempt].to_numpy(dtype=float), "m": frame[model].to_numpy(),
         "u": frame[user].to_numpy(), "g": frame[goal].to_numpy()}
    )
    per_goal = d.groupby("g")
    if (per_goal["u"].nunique() > 1).any() or (per_goal["m"].nunique() > 1).any():
        raise InputError("each goal must belong to one user and one model (nested design)", column=goal)
    if (d.groupby("u")["m"].nunique() > 1).any():
        raise InputError("each user must steer one model (nested design)", column=user)
    xc = d["x"] - per_goal["x"].transform("mean")
    ac = d["a"] - per_goal["a"].transform("mean")
    tau = float((xc * ac).sum() / (ac**2).sum())
    n_rows, n_goals = len(d), d["g"].nunique()
    s2_att = float(((xc - tau * ac) ** 2).sum() / (n_rows - n_goals - 1))

    goals = per_goal.agg(x=("x", "mean"), a=("a", "mean"), n=("x", "size"), u=("u", "first"), m=("m", "first"))
    goals["x"] -= tau * (goals["a"] - d["a"].mean())  # goal means at the overall mean attempt
    by_user = goals.groupby("u")
    ss_goal = float(((goals["x"] - by_user["x"].transform("mean")) ** 2).sum())
    df_goal = n_goals - by_user.ngroups
    inv_n = float((1.0 / goals["n"]).mean())
    s2_goal = max(0.0, ss_goal / df_goal - s2_att * inv_n) if df_goal > 0 else 0.0

    users = by_user.agg(x=("x", "mean"), k=("x", "size"), m=("m", "first"))
    by_model = users.groupby("m")
    ss_user = float(((users["x"] - by_model["x"].transform("mean")) ** 2).sum())
    df_user = len(users) - by_model.ngroups
    k_inv = float((1.0 / users["k"]).mean())
    s2_user = max(0.0, ss_user / df_user - s2_goal * k_inv - s2_att * inv_n * k_inv) if df_user > 0 else 0.0

    shift = tau * (d["a"].mean() - 1.0)
    intercept = {str(m): float(v - shift) for m, v in by_model["x"].mean().sort_index().items()}
    return VarianceComponents(
        model_intercept=intercept,
        attempt_trend=tau,
        sigma_user=float(np.sqrt(s2_user)),
        sigma_goal=float(np.sqrt(s2_goal)),
        sigma_attempt=float(np.sqrt(s2_att)),
        n_rows=n_rows,
        n_users=len(users),
        n_goals=n_goals,
        goals_per_user=int(np.round(users["k"].median())),
        value=value,
    )
