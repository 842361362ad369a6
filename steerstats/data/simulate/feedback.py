"""Synthetic fine-grained feedback with known truth (SPEC section 2; Collins et al. 2024).

A :class:`FeedbackWorld` is a fixed latent world: its structure (attribute correlations, the
non-linear map from latent attributes to embeddings, the AI labeller's misalignment, the human
score's weights) is drawn once from ``world_seed``; items are then drawn from it with
:meth:`FeedbackWorld.sample` and an explicit ``seed``. Every call with the same seed returns the
same items, and every call with another seed returns *fresh items from the same world* — this is
how a generation backend makes new candidates whose true attributes and aggregate are known::

    world = FeedbackWorld(FeedbackWorldConfig(dim=768, target="tree"))
    train = world.sample(5000, seed=0)             # embeddings, attributes, aggregate, groups
    cands = world.sample(8 * 50, seed=1, group_size=8)  # 50 prompts x 8 candidates each
    cands.embeddings, cands.true_attributes, cands.ai_attributes, cands.aggregate

Generative model, per item i in prompt group g (K = labelled attributes + ``n_unlabelled``):

- latent attributes  z_i = L (sqrt(rho) u_g + sqrt(1 - rho) e_i),  u_g, e_i ~ N(0, I_K),
  L the Cholesky factor of a random correlation matrix (strength ``attribute_correlation``);
  the true binary attribute is a_ik = 1[z_ik > t_k] with t_k set by ``prevalence``;
- embeddings  x_i = tanh(v_i W1 / sqrt(K')) W2 / sqrt(H) + noise * eps_i  (non-linear mixing,
  ``embedding_noise`` sets eps's sd), scaled to unit mean squared coordinate; v_i = z_i, or
  [z_i, sigma_ai nu_i] with ``ai_noise_visible`` (default): the AI labeller's error is then a
  property of the image, as PaLI's is, so AI labels are (noisily) recoverable from x;
- AI-feedback labels (the paper's PaLI / VQ^2 labels): the labeller reads
  z~_ik = sqrt(1 - m_k^2) z_ik + m_k z_i,pi(k) + sigma_ai * nu_ik  (``misalignment`` m_k mixes in
  another attribute's latent, ``ai_label_noise`` sigma_ai adds nu_ik ~ N(0, 1)); the label is
  1[z~_ik > t_k] (``soft_labels=False``) or the probability Phi((z~_ik - t_k) / s) (soft labels,
  e.g. a share of annotators saying yes);
- aggregate target, ``target="tree"`` (experiment 2): a decision tree over the AI labels (the paper
  builds it on the simulated AI attributes): not photorealistic -> bad; photorealistic and
  visually compelling -> good; photorealistic, not visually compelling -> good iff not chaotic.
  The paper gives the node order but not the leaves; these leaves are our choice.
  ``target="human"`` (experiment 1-like): score_i = sum_k beta_k z_ik + sum_h gamma_h zh_ih +
  sigma_h eta_i over labelled and *unlabelled* latents zh; aggregate = 1[score_i > 0].

Annotation costs: :data:`ANNOTATION_SECONDS` holds the paper's Table 2 (seconds per judgement).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy.stats import norm

from steerstats.config import OPTIONAL, Field
from steerstats.errors import ConfigError

QUALITY_ATTRIBUTES: tuple[str, ...] = (
    "blurry",
    "distorted",
    "photorealistic",
    "bright",
    "captivating",
    "chaotic",
    "visually_compelling",
    "disturbing",
    "funny",
)
ALIGNMENT_ATTRIBUTES: tuple[str, ...] = ("objects", "attributes", "actions", "relations")
ALL_ATTRIBUTES: tuple[str, ...] = QUALITY_ATTRIBUTES + ALIGNMENT_ATTRIBUTES
TREE_ATTRIBUTES: tuple[str, ...] = ("photorealistic", "visually_compelling", "chaotic")

#: Collins et al. 2024, Table 2: mean annotator seconds per judgement. Attributes missing here
#: (blurry and the four alignment ones) have no published time.
ANNOTATION_SECONDS: dict[str, float] = {
    "aggregate": 52.7,
    "distorted": 56.1,
    "bright": 18.4,
    "captivating": 20.2,
    "photorealistic": 19.4,
    "chaotic": 24.1,
    "visually_compelling": 16.2,
    "disturbing": 19.2,
    "funny": 12.8,
}


@dataclass(frozen=True)
class FeedbackWorldConfig:
    """Structure of a synthetic feedback world (see the module docstring for the model)."""

    attributes: tuple[str, ...] = ALL_ATTRIBUTES
    dim: int = 768
    n_unlabelled: int = 4
    mixing_width: int = 256
    embedding_noise: float = 0.3
    attribute_correlation: float = 0.3
    group_correlation: float = 0.3
    prevalence: float | tuple[float, ...] = 0.5
    ai_label_noise: float = 0.3
    misalignment: float | tuple[float, ...] = 0.0
    ai_noise_visible: bool = True
    soft_labels: bool = False
    soft_label_scale: float = 0.5
    target: str = "tree"  # "tree" | "human"
    human_noise: float = 0.5
    group_size: int = 4
    world_seed: int = 0

    def __post_init__(self) -> None:
        if self.target not in ("tree", "human"):
            raise ConfigError(f"target must be 'tree' or 'human', got {self.target!r}")
        if self.target == "tree":
            missing = [a for a in TREE_ATTRIBUTES if a not in self.attributes]
            if missing:
                raise ConfigError(f"target 'tree' needs attributes {missing}")
        if len(set(self.attributes)) != len(self.attributes) or not self.attributes:
            raise ConfigError("attributes must be a non-empty list of distinct names")
        if self.dim < 1 or self.mixing_width < 1 or self.group_size < 1 or self.n_unlabelled < 0:
            raise ConfigError("dim, mixing_width, group_size must be >= 1; n_unlabelled >= 0")
        for name in ("embedding_noise", "ai_label_noise", "human_noise", "soft_label_scale"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must be >= 0")
        if not 0 <= self.attribute_correlation < 1 or not 0 <= self.group_correlation < 1:
            raise ConfigError("attribute_correlation and group_correlation must be in [0, 1)")
        m = len(self.attributes)
        for name in ("prevalence", "misalignment"):
            value = getattr(self, name)
            if isinstance(value, tuple) and len(value) != m:
                raise ConfigError(f"{name} has {len(value)} values for {m} attributes (give one, or one per attribute)")


#: config schema of a ``world = {...}`` table: the :class:`FeedbackWorldConfig` fields (its own
#: defaults apply to keys left out)
FEEDBACK_WORLD_FIELDS: dict[str, Field] = {
    "attributes": Field("list[str]", OPTIONAL, "attribute names (default: all 13 of paper Table 2)", min_items=1),
    "dim": Field("int", OPTIONAL, "embedding dimension", ge=1, le=65_536),
    "n_unlabelled": Field("int", OPTIONAL, "latent attributes nobody labels", ge=0, le=1_000),
    "mixing_width": Field("int", OPTIONAL, "hidden width of the latent -> embedding map", ge=1, le=65_536),
    "embedding_noise": Field("float", OPTIONAL, "embedding noise SD", ge=0),
    "attribute_correlation": Field("float", OPTIONAL, "correlation between latent attributes", ge=0, lt=1),
    "group_correlation": Field("float", OPTIONAL, "within-group correlation of the latents", ge=0, lt=1),
    "prevalence": Field(("float", "list[float]"), OPTIONAL, "P(attribute present), one or per attribute", gt=0, lt=1),
    "ai_label_noise": Field("float", OPTIONAL, "AI labeller noise SD", ge=0),
    "misalignment": Field(("float", "list[float]"), OPTIONAL, "AI labeller misalignment, one or per attribute", ge=0, le=1),
    "ai_noise_visible": Field("bool", OPTIONAL, "whether the AI noise is visible in the embedding"),
    "soft_labels": Field("bool", OPTIONAL, "soft AI labels in [0, 1] instead of 0/1"),
    "soft_label_scale": Field("float", OPTIONAL, "temperature of the soft labels", ge=0),
    "target": Field("str", OPTIONAL, "aggregate: the decision tree or a human-like score", choices=("tree", "human")),
    "human_noise": Field("float", OPTIONAL, "noise SD of the human-like aggregate", ge=0),
    "group_size": Field("int", OPTIONAL, "items per group (prompt)", ge=1, le=100_000),
    "world_seed": Field("int", OPTIONAL, "seed of the world's fixed maps", ge=0),
}


def feedback_world_config(table: dict) -> FeedbackWorldConfig:
    """A :class:`FeedbackWorldConfig` from a validated ``world`` table (lists become tuples)."""
    args = {k: tuple(v) if isinstance(v, list) else v for k, v in table.items()}
    return FeedbackWorldConfig(**args)


@dataclass(frozen=True)
class FeedbackSample:
    """Items drawn from a :class:`FeedbackWorld`; all arrays share the first axis (n items)."""

    embeddings: np.ndarray  # (n, dim) float32
    latent: np.ndarray  # (n, K) latent attribute values z (labelled then unlabelled)
    true_attributes: np.ndarray  # (n, M) 0/1 truth a = 1[z > t]
    ai_attributes: np.ndarray  # (n, M) AI-feedback labels (0/1, or probabilities if soft)
    aggregate: np.ndarray  # (n,) int 0/1 target
    aggregate_score: np.ndarray  # (n,) tree output (0/1) or continuous human score
    group: np.ndarray  # (n,) int prompt/group id
    example_id: np.ndarray  # (n,) str
    attribute_names: tuple[str, ...]
    ai_noise: np.ndarray | None = None  # (n, M) the labeller's per-item error nu

    def __len__(self) -> int:
        return int(self.aggregate.shape[0])

    def attributes(self, names: tuple[str, ...] | list[str], *, source: str = "ai") -> np.ndarray:
        """(n, len(names)) columns of the AI labels (``source="ai"``) or the truth (``"true"``)."""
        table = self.ai_attributes if source == "ai" else self.true_attributes
        idx = [self.attribute_names.index(a) for a in names]
        return table[:, idx]

    def to_frame(self) -> pd.DataFrame:
        """The user-data table format of :mod:`steerstats.data.feedback_io` (AI labels)."""
        frame = pd.DataFrame(
            {"example_id": self.example_id, "group_id": self.group, "aggregate": self.aggregate}
        )
        for j, name in enumerate(self.attribute_names):
            frame[name] = self.ai_attributes[:, j]
        frame["embedding"] = list(self.embeddings)
        return frame


class FeedbackWorld:
    """A fixed latent world; :meth:`sample` draws items with known true attributes/aggregate."""

    def __init__(self, config: FeedbackWorldConfig | None = None, **overrides: object) -> None:
        base = config or FeedbackWorldConfig()
        self.config = FeedbackWorldConfig(**{**asdict(base), **overrides}) if overrides else base
        c = self.config
        m, k = len(c.attributes), len(c.attributes) + c.n_unlabelled
        rng = np.random.default_rng(np.random.SeedSequence([c.world_seed, 20240711]))
        # Random correlation matrix: identity blended with a normalised random Gram matrix.
        g = rng.standard_normal((k, k))
        gram = g @ g.T
        d = np.sqrt(np.diag(gram))
        corr = (1 - c.attribute_correlation) * np.eye(k) + c.attribute_correlation * gram / np.outer(
            d, d
        )
        self._chol = np.linalg.cholesky(corr)
        self._w1 = rng.standard_normal((k + (m if c.ai_noise_visible else 0), c.mixing_width))
        self._w2 = rng.standard_normal((c.mixing_width, c.dim))
        prev = np.broadcast_to(np.asarray(c.prevalence, dtype=float), (m,))
        if np.any((prev <= 0) | (prev >= 1)):
            raise ConfigError("prevalence must be in (0, 1)")
        self.thresholds = norm.ppf(1.0 - prev)
        self.misalignment = np.broadcast_to(np.asarray(c.misalignment, dtype=float), (m,)).copy()
        if np.any((self.misalignment < 0) | (self.misalignment > 1)):
            raise ConfigError("misalignment must be in [0, 1]")
        # The AI labeller confuses attribute k with a random other labelled attribute pi(k).
        self.confused_with = (np.arange(m) + rng.integers(1, max(m, 2), size=m)) % max(m, 1)
        self.human_weights = rng.normal(0.0, 1.0, size=m)
        self.unlabelled_weights = rng.normal(0.0, 1.0, size=c.n_unlabelled)
        # Scale so that the mean squared embedding coordinate is ~1 (as standardised features).
        probe_z = self._latent(rng, 2048, 1)
        probe_nu = rng.standard_normal((2048, m))
        probe = self._embed(self._embed_input(probe_z, probe_nu), rng, noise=False)
        self._scale = float(np.sqrt(np.mean(probe**2) + c.embedding_noise**2))

    @property
    def attribute_names(self) -> tuple[str, ...]:
        return self.config.attributes

    def _latent(self, rng: np.random.Generator, n: int, group_size: int) -> np.ndarray:
        c = self.config
        k = self._chol.shape[0]
        n_groups = -(-n // group_size)
        u = rng.standard_normal((n_groups, k))[np.arange(n) // group_size]
        e = rng.standard_normal((n, k))
        rho = c.group_correlation
        return (np.sqrt(rho) * u + np.sqrt(1 - rho) * e) @ self._chol.T

    def _embed_input(self, z: np.ndarray, nu: np.ndarray) -> np.ndarray:
        if self.config.ai_noise_visible:
            return np.concatenate([z, self.config.ai_label_noise * nu], axis=1)
        return z

    def _embed(self, z: np.ndarray, rng: np.random.Generator, *, noise: bool = True) -> np.ndarray:
        c = self.config
        h = np.tanh(z @ self._w1 / np.sqrt(z.shape[1]))
        x = h @ self._w2 / np.sqrt(c.mixing_width)
        if noise:
            x = (x + c.embedding_noise * rng.standard_normal(x.shape)) / self._scale
        return x

    def ai_labels(self, z: np.ndarray, nu: np.ndarray) -> np.ndarray:
        """AI-feedback labels for latents ``z`` (n, K) and labeller noise ``nu`` (n, M)."""
        c = self.config
        m = len(c.attributes)
        zl = z[:, :m]
        mis = self.misalignment
        read = np.sqrt(1 - mis**2) * zl + mis * zl[:, self.confused_with]
        read = read + c.ai_label_noise * nu
        if c.soft_labels:
            return norm.cdf((read - self.thresholds) / max(c.soft_label_scale, 1e-12))
        return (read > self.thresholds).astype(float)

    def aggregate_of(self, attributes: np.ndarray) -> np.ndarray:
        """Decision-tree target on 0/1 (or soft, thresholded at 0.5) attribute columns (n, M)."""
        names = self.config.attributes
        on = np.asarray(attributes) >= 0.5
        photo = on[:, names.index("photorealistic")]
        compelling = on[:, names.index("visually_compelling")]
        chaotic = on[:, names.index("chaotic")]
        return (photo & (compelling | ~chaotic)).astype(int)

    def human_score(self, z: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Experiment-1-like noisy score over labelled and unlabelled latents."""
        c = self.config
        m = len(c.attributes)
        lin = z[:, :m] @ self.human_weights + z[:, m:] @ self.unlabelled_weights
        sd = np.sqrt(np.sum(self.human_weights**2) + np.sum(self.unlabelled_weights**2))
        return lin / sd + c.human_noise * rng.standard_normal(z.shape[0])

    def sample(self, n: int, seed: int, *, group_size: int | None = None) -> FeedbackSample:
        """Draw ``n`` fresh items (groups of ``group_size`` consecutive items share a prompt)."""
        if n < 1:
            raise ConfigError(f"n must be >= 1, got {n}")
        c = self.config
        gs = c.group_size if group_size is None else int(group_size)
        rng = np.random.default_rng(np.random.SeedSequence([c.world_seed, int(seed)]))
        m = len(c.attributes)
        z = self._latent(rng, n, gs)
        nu = rng.standard_normal((n, m))
        x = self._embed(self._embed_input(z, nu), rng).astype(np.float32)
        truth = (z[:, :m] > self.thresholds).astype(float)
        ai = self.ai_labels(z, nu)
        if c.target == "tree":
            score = self.aggregate_of(ai).astype(float)
            agg = score.astype(int)
        else:
            score = self.human_score(z, rng)
            agg = (score > 0).astype(int)
        group = np.arange(n) // gs
        ids = np.array([f"s{seed}-{i}" for i in range(n)], dtype=object)
        return FeedbackSample(x, z, truth, ai, agg, score, group, ids, tuple(c.attributes), ai_noise=nu)


def simulate_feedback(
    n: int, seed: int = 0, config: FeedbackWorldConfig | None = None, **overrides: object
) -> FeedbackSample:
    """``FeedbackWorld(config, **overrides).sample(n, seed)`` in one call."""
    return FeedbackWorld(config, **overrides).sample(n, seed)


def annotation_costs(
    attributes: tuple[str, ...] | list[str], overrides: dict[str, float] | None = None
) -> dict[str, float]:
    """Seconds per judgement for ``aggregate`` and each attribute (paper Table 2 + overrides).

    Raises :class:`ConfigError` for an attribute with no published time and no override.
    """
    table = {**ANNOTATION_SECONDS, **(overrides or {})}
    missing = [a for a in ("aggregate", *attributes) if a not in table]
    if missing:
        raise ConfigError(
            f"no annotation cost for {missing}: the paper (Table 2) gives none; pass them in costs"
        )
    return {a: float(table[a]) for a in ("aggregate", *attributes)}
