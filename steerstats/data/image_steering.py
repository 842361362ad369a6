"""Tidy the image-steering traces (paper Sec. 5, App. C.2).

Each row of ``img_steering*.csv`` holds one user's ``all_attempts``: a Python-literal list of tasks
(``goal_url``, ``goal_prompt``, ``model``, ``user_prompt``, ``rounds``), each round recording the
images offered (index 0 = the current image), the mixture scale of the variations and the index
the user selected. The literal is parsed with :func:`ast.literal_eval` (never ``eval``) into one row
per user x task x round.
"""

from __future__ import annotations

import ast
import json
import math
from typing import Any

import pandas as pd

from steerstats.errors import InputError

CONDITIONS = {
    "img_steering.csv": "random",
    "img_steering_rl.csv": "learned",
    "img_steering_rl_tiles.csv": "learned_tiles",
}

#: columns of the tidy frame, in order
TIDY_COLUMNS = (
    "condition",
    "steering_user_id",
    "task",
    "goal_url",
    "goal_prompt",
    "user_prompt",
    "model",
    "round",
    "mixture_scale",
    "selected_index",
    "kept_current",
    "n_offered",
    "images_offered",
    "selected_image_url",
    "filter_variations",
    "num_variations",
    "max_variations",
    "predict_switch",
    "data_file_url",
    "source_row",
)

_TASK_KEYS = ("goal_url", "goal_prompt", "model", "user_prompt", "rounds")
_ROUND_KEYS = ("iteration", "generated_images", "mixture_scale", "selected_index", "selected_image_url")


def safe_literal(text: str) -> Any:
    """``ast.literal_eval`` whose every failure is a ValueError (unhashable keys such as
    ``{[]: 1}`` raise TypeError inside it; deep nesting RecursionError; huge input MemoryError)."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError) as err:
        raise ValueError(type(err).__name__) from None


def tidy_image_steering(frame: pd.DataFrame, condition: str, file: str, models: tuple[str, ...] | None = None) -> pd.DataFrame:
    """One row per user x task x round from a validated ``img_steering*.csv`` frame.

    ``task`` is the 0-based index in ``all_attempts``; ``round`` is the release's ``iteration``
    (1..4); ``kept_current`` is ``selected_index == 0``; ``images_offered`` is a JSON list. Every
    field is type-checked (text fields are strings without NUL bytes; ``model`` in ``models``
    when given); a problem is an InputError naming the row and the task/round.
    """
    rows: list[dict[str, Any]] = []
    for i, (literal, user) in enumerate(
        zip(frame["all_attempts"], frame["steering_user_id"], strict=True), start=1
    ):
        rows.extend(_parse_user(literal, user, condition, file, i, models))
    out = pd.DataFrame(rows, columns=list(TIDY_COLUMNS))
    dtypes = {
        "condition": "str",
        "steering_user_id": "str",
        "task": "int64",
        "goal_url": "str",
        "goal_prompt": "str",
        "user_prompt": "str",
        "model": "str",
        "round": "int64",
        "mixture_scale": "float64",
        "selected_index": "int64",
        "kept_current": "bool",
        "n_offered": "int64",
        "images_offered": "str",
        "selected_image_url": "str",
        "filter_variations": "bool",
        "num_variations": "Int64",
        "max_variations": "Int64",
        "predict_switch": "bool",
        "data_file_url": "str",
        "source_row": "int64",
    }
    return out.astype(dtypes)


def _parse_user(
    literal: str, user: str, condition: str, file: str, row: int, models: tuple[str, ...] | None
) -> list[dict[str, Any]]:
    def fail(msg: str) -> InputError:
        return InputError(f"all_attempts {msg}", file=file, row=row, column="all_attempts")

    def text(value: Any, where: str, *, optional: bool = False) -> Any:
        if optional and value is None:
            return value
        if not isinstance(value, str):
            raise fail(f"{where} must be a string, got {type(value).__name__}")
        if "\x00" in value:
            raise fail(f"{where} contains a NUL byte")
        return value

    def flag(value: Any, where: str) -> bool:
        if not isinstance(value, bool):
            raise fail(f"{where} must be True or False, got {value!r}")
        return value

    try:
        tasks = safe_literal(literal)
    except ValueError as err:
        raise fail(f"is not a valid Python literal ({err})") from None
    if not isinstance(tasks, list) or not tasks:
        raise fail("must be a non-empty list of tasks")
    out = []
    for t, task in enumerate(tasks):
        if not isinstance(task, dict):
            raise fail(f"task {t} is not a dict")
        for key in _TASK_KEYS:
            if key not in task:
                raise fail(f"task {t} lacks key '{key}'")
        for key in ("goal_url", "goal_prompt", "model", "user_prompt"):
            text(task[key], f"task {t} '{key}'")
        if models is not None and task["model"] not in models:
            raise fail(f"task {t}: unknown model {task['model']!r} (allowed: {', '.join(models)})")
        rounds = task["rounds"]
        if not isinstance(rounds, list) or not rounds:
            raise fail(f"task {t}: 'rounds' must be a non-empty list")
        iterations = []
        for r, rnd in enumerate(rounds):
            where = f"task {t} round {r}"
            if not isinstance(rnd, dict):
                raise fail(f"{where} is not a dict")
            for key in _ROUND_KEYS:
                if key not in rnd:
                    raise fail(f"{where} lacks key '{key}'")
            images = rnd["generated_images"]
            if not isinstance(images, list) or not images:
                raise fail(f"{where}: 'generated_images' must be a non-empty list of URLs")
            for j, image in enumerate(images):
                text(image, f"{where} generated_images[{j}]")
            text(rnd["selected_image_url"], f"{where} 'selected_image_url'")
            text(rnd.get("data_file_url"), f"{where} 'data_file_url'", optional=True)
            for key in ("filter_variations", "predict_switch"):
                if key in rnd:
                    flag(rnd[key], f"{where} '{key}'")
            for key in ("num_variations", "max_variations"):
                if rnd.get(key) is not None and _int(rnd[key]) is None:
                    raise fail(f"{where}: '{key}' must be an integer or None, got {rnd[key]!r}")
            it = _int(rnd["iteration"])
            if it is None or it < 1:
                raise fail(f"{where}: 'iteration' must be a positive integer, got {rnd['iteration']!r}")
            scale = rnd["mixture_scale"]
            if isinstance(scale, bool) or not isinstance(scale, int | float) or not 0 <= scale <= 1:
                raise fail(f"{where}: 'mixture_scale' must be a number in [0, 1], got {scale!r}")
            sel = _int(rnd["selected_index"])
            if sel is None or not 0 <= sel < len(images):
                raise fail(
                    f"{where}: 'selected_index' must be an integer in [0, {len(images) - 1}], "
                    f"got {rnd['selected_index']!r}"
                )
            if rnd["selected_image_url"] != images[sel]:
                raise fail(f"{where}: 'selected_image_url' is not generated_images[selected_index]")
            iterations.append(it)
            out.append(
                {
                    "condition": condition,
                    "steering_user_id": user,
                    "task": t,
                    "goal_url": task["goal_url"],
                    "goal_prompt": task["goal_prompt"],
                    "user_prompt": task["user_prompt"],
                    "model": task["model"],
                    "round": it,
                    "mixture_scale": float(scale),
                    "selected_index": sel,
                    "kept_current": sel == 0,
                    "n_offered": len(images),
                    "images_offered": json.dumps(images),
                    "selected_image_url": rnd["selected_image_url"],
                    "filter_variations": bool(rnd.get("filter_variations", False)),
                    "num_variations": _int(rnd.get("num_variations")),
                    "max_variations": _int(rnd.get("max_variations")),
                    "predict_switch": bool(rnd.get("predict_switch", False)),
                    "data_file_url": rnd.get("data_file_url"),
                    "source_row": row,
                }
            )
        if sorted(iterations) != list(range(1, len(iterations) + 1)):
            raise fail(f"task {t}: rounds' iterations {iterations} are not 1..{len(iterations)}")
    return out


def _int(value: Any) -> int | None:
    """An integer from an int, an integral float or a digit string (the release stores '2')."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None
