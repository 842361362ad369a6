"""Annotation cost of a training set (Collins et al. 2024, Fig. 3 right and Table 2)."""

from __future__ import annotations

from steerstats.data.simulate.feedback import annotation_costs


def per_example_cost(
    attributes: tuple[str, ...], mode: str = "count", overrides: dict[str, float] | None = None
) -> float:
    """Cost of labelling one example: ``count`` = 1 + M labels; ``seconds`` = c_agg + sum_j c_j."""
    if mode == "count":
        return 1.0 + len(attributes)
    return float(sum(annotation_costs(attributes, overrides).values()))


def run_cost(
    n: int, attributes: tuple[str, ...], mode: str = "count", overrides: dict[str, float] | None = None
) -> float:
    """Cost of N examples: N x (1 + M) labels, or N x (c_agg + sum_j c_j) seconds."""
    return n * per_example_cost(attributes, mode, overrides)
