"""Image-steering traces (mixture scales, keep / switch choices) in the release's tidy schema."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from steerstats.data.image_steering import TIDY_COLUMNS
from steerstats.data.simulate.params import (
    URL,
    SimulationParams,
)


def _image_steering(p: SimulationParams, rng: np.random.Generator) -> pd.DataFrame:
    rows = []
    n_rounds = len(p.keep_current_prob)
    for condition, n_users in zip(("random", "learned", "learned_tiles"), p.image_steering_users, strict=True):
        for u in range(n_users):
            user = f"img-{condition}-u{u:04d}"
            for task in range(2):
                goal = f"{URL}img-{condition}/goal/{u:04d}-{task}.png"
                scale_random = float(rng.uniform())
                current = f"{URL}img-{condition}/start/{u:04d}-{task}.png"
                for r in range(n_rounds):
                    offered = [current] + [f"{URL}img-{condition}/{u:04d}-{task}-{r + 1}-{j}.png" for j in (1, 2)]
                    keep = rng.uniform() < p.keep_current_prob[r]
                    sel = 0 if keep else int(rng.integers(1, 3))
                    scale = scale_random if condition == "random" else p.learned_mixture_scales[r]
                    rows.append(
                        {
                            "condition": condition, "steering_user_id": user, "task": task,
                            "goal_url": goal, "goal_prompt": f"goal prompt {u}-{task}",
                            "user_prompt": f"user prompt {u}-{task}", "model": "foundry",
                            "round": r + 1, "mixture_scale": scale, "selected_index": sel,
                            "kept_current": sel == 0, "n_offered": len(offered),
                            "images_offered": json.dumps(offered), "selected_image_url": offered[sel],
                            "filter_variations": False, "num_variations": 2, "max_variations": None,
                            "predict_switch": False, "data_file_url": f"{URL}img-{condition}/{u:04d}-{task}-{r + 1}.json",
                            "source_row": u + 1,
                        }
                    )
                    current = offered[sel]
    frame = pd.DataFrame(rows, columns=list(TIDY_COLUMNS))
    return frame.astype(
        {"condition": "str", "steering_user_id": "str", "goal_url": "str", "goal_prompt": "str",
         "user_prompt": "str", "model": "str", "images_offered": "str", "selected_image_url": "str",
         "data_file_url": "str", "task": "int64", "round": "int64", "selected_index": "int64",
         "n_offered": "int64", "source_row": "int64", "num_variations": "Int64", "max_variations": "Int64"}
    )


# --------------------------------------------------------------------------- LLM study
