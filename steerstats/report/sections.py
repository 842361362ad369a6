"""The report's section registry.

A section is a function ``(study, context) -> list[Table | Figure | PosteriorArtifact]``. The report runs every
registered section in order, writes what they return and lists it in ``report.md``. A section
whose data the study lacks raises :class:`~steerstats.errors.DataNotFoundError` (e.g. via
``study.require("llm_sat_ratings")``); the report then skips it and says so in the manifest.

Adding a section (e.g. for another issue) takes one module and one registry line:

1. write ``steerstats/report/my_section.py`` with ``def section(study, context) -> list``
   returning :class:`~steerstats.report.artifacts.Table` / ``Figure`` objects (import heavy
   dependencies inside the function; use ``context.seed`` / ``context.n_boot``, and record any
   smaller setting actually used in ``context.caps``; return ``[]`` when a flag such as
   ``context.bayes`` is off);
2. append ``Section("my_section", "steerstats.report.my_section:section", "Title")`` to
   :data:`SECTIONS` below.

Targets are imported lazily, so a section's dependencies load only when it runs.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from steerstats.config import check_n_boot
from steerstats.data.study import Study

SectionFn = Callable[[Study, "ReportContext"], list]


@dataclass(frozen=True)
class ReportContext:
    """Settings every section sees."""

    seed: int = 0
    n_boot: int = 2000
    bayes: bool = False
    dataset: str = ""
    options: dict[str, Any] = field(default_factory=dict)  # free-form, for sections' own flags
    #: limits a section actually applied (e.g. fewer replicates than n_boot), for the manifest
    caps: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_n_boot(self.n_boot)


@dataclass(frozen=True)
class Section:
    """A registry entry: ``target`` is ``"module:function"``, imported when the section runs."""

    name: str
    target: str
    title: str
    #: rough running time (seconds, the vafa2025 release on 2 cores): with several worker
    #: processes the costliest sections are queued first
    cost: float = 0.1

    def load(self) -> SectionFn:
        module, _, attr = self.target.partition(":")
        return getattr(importlib.import_module(module), attr)


SECTIONS: list[Section] = [
    Section("similarity", "steerstats.report.steerability:similarity_section", "Similarity to the goal", cost=1.2),
    Section("satisfaction", "steerstats.report.steerability:satisfaction_section", "Satisfaction ratings", cost=0.4),
    Section("judgements", "steerstats.report.steerability:judgements_section", "Improvement and prompt-output misalignment", cost=1.5),
    Section("rankings", "steerstats.report.steerability:rankings_section", "Model rankings across metrics", cost=0.3),
    Section("agreement", "steerstats.report.steerability:agreement_section", "Inter-rater agreement", cost=0.7),
    Section("blind_steering", "steerstats.report.steerability:blind_steering_section", "Blind steering by an LLM", cost=0.2),
    Section("seeds", "steerstats.report.steerability:seeds_section", "Seed constraint and seed choice", cost=0.4),
    Section("llm", "steerstats.report.steerability:llm_section", "Steering LLMs", cost=0.1),
    Section("image_steering", "steerstats.report.steerability:image_steering_section", "Image-steering traces"),
    Section("goalspace_llm", "steerstats.report.section_goalspace:section", "LLM steering in goal space", cost=2.3),
    Section("predictors_decomposition", "steerstats.report.section_decomposition:section", "Steerability predictors and the producibility/steering decomposition", cost=2.7),
    Section("bayes", "steerstats.report.section_bayes:section", "SEM, cluster-bootstrap and Bayesian intervals"),
]
#: the sections of a fine-grained feedback study (steerstats.data.tifa160.FeedbackStudy)
FEEDBACK_SECTIONS: list[Section] = [
    Section("feedback", "steerstats.report.section_feedback:section",
            "Human reliability and the agreement of automatic scorers with humans"),
    Section("reward_models", "steerstats.report.section_feedback:reward_model_section",
            "Coarse vs concept-bottleneck reward models for the human judgement"),
]


def default_sections(study) -> list[Section]:
    """The registry that fits ``study``: :data:`FEEDBACK_SECTIONS` for a feedback study, else :data:`SECTIONS`."""
    from steerstats.data.tifa160 import FeedbackStudy

    return FEEDBACK_SECTIONS if isinstance(study, FeedbackStudy) else SECTIONS
