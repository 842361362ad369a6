"""The whole synthetic study: every frame of the release, and its truth."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from steerstats.data.simulate.blind import _blind_steering
from steerstats.data.simulate.judgements import _improvement, _pom, _sat_ratings
from steerstats.data.simulate.llm import _llm
from steerstats.data.simulate.params import (
    SimulationParams,
)
from steerstats.data.simulate.seeds import _choosing_seed, _seed_constraint
from steerstats.data.simulate.steering import _main_steering
from steerstats.data.simulate.traces import _image_steering
from steerstats.data.study import DataWarning, Study

#: the independent random streams of :func:`simulate_study`, children of SeedSequence(seed) in this
#: order (pom5 was added last: it shared pom1's stream before, contradicting the docstring)
STREAMS = ("sat_ratings", "improvement", "pom1", "blind_steering", "choosing_seed", "seed_constraint", "llm",
           "image_steering", "pom5")


def simulate_study(
    params: SimulationParams | None = None,
    seed: int = 0,
) -> Study:
    """A synthetic :class:`Study` named "synthetic" with every frame of the release and ``truth``.

    Deterministic for ``seed`` (bit-identical frames). ``steering`` is drawn from
    ``default_rng(seed)`` (so it equals :func:`simulate_steering`); the other parts from
    independent children of ``SeedSequence(seed)``.
    """
    from steerstats.data.card import load_card
    from steerstats.data.crosscheck import cross_check
    from steerstats.data.simulate.truth import simulation_truth
    from steerstats.data.table import check_sequences

    p = params or SimulationParams()
    steering, lat = _main_steering(p, np.random.default_rng(seed))
    # one independent stream per sub-model, by name (appending a name keeps the others' draws)
    streams = dict(zip(STREAMS, map(np.random.default_rng, np.random.SeedSequence(seed).spawn(len(STREAMS))), strict=True))
    llm_steering, llm_sat, llm_imp = _llm(p, streams["llm"])
    warnings: list[DataWarning] = []
    card = load_card("vafa2025")
    for key, frame, label in (
        ("steering", steering, "synthetic/steering"),
        ("llm_steering", llm_steering, "synthetic/llm_steering"),
    ):
        seq = card.file(key).sequence
        if seq is not None:
            warnings.extend(check_sequences(frame, seq, label))
    judged = {
        "steering": steering,
        "sat_ratings": _sat_ratings(p, streams["sat_ratings"], steering, lat),
        "improvement": _improvement(p, streams["improvement"], steering, lat, per_goal=p.improvement_per_goal,
                                    n_judges=p.n_judges),
        "pom1": _pom(p, streams["pom1"], steering, lat, 1),
        "pom5": _pom(p, streams["pom5"], steering, lat, 5),
        "blind_steering": _blind_steering(p, streams["blind_steering"], steering, lat),
    }
    warnings.extend(cross_check(judged))
    first = steering["attempt"].to_numpy() == 1
    truth = dataclasses.replace(
        simulation_truth(p),
        goal_difficulty_by_goal=pd.Series(
            lat.goal_difficulty, index=pd.Index(steering["goal_image"].to_numpy()[first], name="goal_image")),
        user_effect_by_user=pd.Series(
            lat.user_effect,
            index=pd.Index(steering["steering_user_id"].to_numpy()[first][:: p.goals_per_user], name="steering_user_id")),
    )
    return Study(
        name="synthetic",
        **judged,
        choosing_seed=_choosing_seed(p, streams["choosing_seed"]),
        seed_constraint=_seed_constraint(p, streams["seed_constraint"]),
        image_steering=_image_steering(p, streams["image_steering"]),
        llm_steering=llm_steering,
        llm_sat_ratings=llm_sat,
        llm_improvement=llm_imp,
        warnings=tuple(warnings),
        truth=truth,
        source=f"simulate_study(seed={seed})",
    )
