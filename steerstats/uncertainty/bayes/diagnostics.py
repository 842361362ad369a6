"""MCMC diagnostics and HDIs: the ONE module that calls arviz.

Keeping every arviz call here confines the arviz 0.x / 1.x API differences to one file. Inputs are
plain numpy arrays shaped (chain, draw, *shape).

Gating (Vehtari et al. 2021): a fit is usable only if every parameter's rank-normalised split
R-hat is <= 1.01 and no NUTS transition diverged; bulk and tail ESS are reported alongside.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

RHAT_MAX = 1.01


@dataclass(frozen=True)
class Diagnostics:
    """Convergence summary of one fit (worst values over all sampled parameters)."""

    rhat_max: float
    rhat_worst: str  # parameter with the largest R-hat, e.g. "alpha[3]"
    ess_bulk_min: float
    ess_tail_min: float
    n_divergent: int
    n_chains: int
    n_draws: int  # per chain

    @property
    def ok(self) -> bool:
        return bool(np.isfinite(self.rhat_max) and self.rhat_max <= RHAT_MAX and self.n_divergent == 0)

    def problems(self) -> list[str]:
        out = []
        if not (np.isfinite(self.rhat_max) and self.rhat_max <= RHAT_MAX):
            out.append(f"R-hat {self.rhat_max:.3f} > {RHAT_MAX} ({self.rhat_worst})")
        if self.n_divergent:
            out.append(f"{self.n_divergent} divergent transitions")
        return out

    @property
    def status(self) -> str:
        return "ok" if self.ok else "failed: " + "; ".join(self.problems())


def _dataset(samples: dict[str, np.ndarray]):
    import arviz as az

    return az.convert_to_dataset({k: np.asarray(v) for k, v in samples.items()})


def _extreme(stat, largest: bool) -> tuple[float, str]:
    """Largest (or smallest) value over all parameters of an arviz statistic, and its label.
    A NaN (e.g. R-hat of a constant chain) wins: it must fail the gate, not hide."""
    labels: list[str] = []
    values = []
    for name, da in stat.data_vars.items():
        vals = np.atleast_1d(np.asarray(da, dtype=float)).ravel()
        values.append(vals)
        labels += [str(name)] if vals.size == 1 else [f"{name}[{i}]" for i in range(vals.size)]
    v = np.concatenate(values)
    if np.isnan(v).any():
        i = int(np.flatnonzero(np.isnan(v))[0])
        return float("nan"), labels[i]
    i = int(np.argmax(v) if largest else np.argmin(v))
    return float(v[i]), labels[i]


def diagnose(samples: dict[str, np.ndarray], diverging: np.ndarray) -> Diagnostics:
    """R-hat, bulk/tail ESS over every parameter in ``samples`` ((chain, draw, ...) arrays)."""
    import arviz as az

    ds = _dataset(samples)
    rhat_max, worst = _extreme(az.rhat(ds), largest=True)
    ess_bulk, _ = _extreme(az.ess(ds, method="bulk"), largest=False)
    ess_tail, _ = _extreme(az.ess(ds, method="tail"), largest=False)
    div = np.asarray(diverging)
    return Diagnostics(
        rhat_max=rhat_max,
        rhat_worst=worst,
        ess_bulk_min=ess_bulk,
        ess_tail_min=ess_tail,
        n_divergent=int(div.sum()),
        n_chains=int(div.shape[0]),
        n_draws=int(div.shape[1]),
    )


def hdi(draws: np.ndarray, prob: float = 0.94) -> np.ndarray:
    """Highest-density interval per column of (chain, draw, k) draws -> (k, 2)."""
    import arviz as az

    out = az.hdi(_dataset({"x": draws}), hdi_prob=prob)["x"]
    return np.asarray(out, dtype=float).reshape(-1, 2)


def inference_data(samples: dict[str, np.ndarray], diverging: np.ndarray | None = None, attrs: dict | None = None):
    """An arviz InferenceData of (chain, draw, ...) samples, with NUTS's ``diverging`` flags as
    sample stats. arviz 0.x: ``az.from_dict(posterior=..., sample_stats=...)``; 1.x takes one
    mapping of groups (and returns a DataTree with the same groups)."""
    import arviz as az

    posterior = {k: np.asarray(v) for k, v in samples.items()}
    stats = {} if diverging is None else {"diverging": np.asarray(diverging, dtype=bool)}
    try:
        idata = az.from_dict(posterior=posterior, sample_stats=stats or None)
    except TypeError:  # arviz >= 1.0
        groups = {"posterior": posterior} | ({"sample_stats": stats} if stats else {})
        idata = az.from_dict(groups)
    idata["posterior"].attrs.update({k: v for k, v in (attrs or {}).items() if v is not None})
    return idata


def write_inference_data(idata, path) -> None:
    """Write ``idata`` to netCDF at ``path`` atomically (h5netcdf engine, file mode from the umask)."""
    import os
    from pathlib import Path

    from steerstats._io import file_mode

    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        idata.to_netcdf(str(tmp), engine="h5netcdf")
        os.chmod(tmp, file_mode())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def read_inference_data(path):
    """An InferenceData written by :func:`write_inference_data`."""
    import arviz as az

    return az.from_netcdf(str(path), engine="h5netcdf")
