"""Reading a table of human side-by-side judgements (the format Collins et al. 2024 collected).

One row per vote, CSV or parquet, columns:

    prompt      the prompt (the cluster the bootstrap resamples)
    dimension   "aggregate" for the overall preference, else the attribute asked ("bright", ...)
    model_a     the reward model whose pick was shown as side A
    model_b     the reward model whose pick was shown as side B
    judgement   A | B | unsure   (case-insensitive; "prefer A" / "prefer B" also accepted)
    rater       optional: who voted

Sides may be shuffled between rows: votes are re-oriented by model name before summarising.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from steerstats.errors import InputError

REQUIRED = ("prompt", "dimension", "model_a", "model_b", "judgement")
_ALIASES = {
    "a": "A",
    "prefer a": "A",
    "prefer_a": "A",
    "b": "B",
    "prefer b": "B",
    "prefer_b": "B",
    "unsure": "unsure",
}


def read_judgements(path: str | Path) -> pd.DataFrame:
    """Validated judgements; raises :class:`InputError` naming file, row and column."""
    path = Path(path)
    if not path.is_file():
        raise InputError("judgement table not found", file=path)
    try:
        if path.suffix == ".parquet":
            raw = pd.read_parquet(path)
        else:
            raw = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    except (ValueError, OSError) as err:
        raise InputError(f"cannot read judgement table: {err}", file=path) from err
    return validate_judgements(raw, path)


def validate_judgements(raw: pd.DataFrame, file: str | Path | None = None) -> pd.DataFrame:
    """Check columns and values of a judgement table already in memory."""
    missing = [c for c in REQUIRED if c not in raw.columns]
    if missing:
        raise InputError(f"missing required column(s) {missing}; need {list(REQUIRED)}", file=file, column=missing[0])
    if raw.empty:
        raise InputError("judgement table has no rows", file=file)
    cols = [*REQUIRED, *(["rater"] if "rater" in raw.columns else [])]
    out = raw[cols].copy()
    for col in cols:
        blank = out[col].isna() | (out[col].astype(str).str.strip() == "")
        if blank.any():
            row = int(blank.to_numpy().argmax()) + 1
            raise InputError("empty value", file=file, row=row, column=col)
        out[col] = out[col].astype(str).str.strip()
    norm = out["judgement"].str.lower().map(_ALIASES)
    bad = norm.isna().to_numpy()
    if bad.any():
        row = int(bad.argmax()) + 1
        raise InputError(
            f"judgement must be A, B or unsure, got {out['judgement'].iloc[row - 1]!r}",
            file=file, row=row, column="judgement",
        )
    out["judgement"] = norm
    same = (out["model_a"] == out["model_b"]).to_numpy()
    if same.any():
        row = int(same.argmax()) + 1
        raise InputError("model_a and model_b are the same model", file=file, row=row, column="model_b")
    if "rater" not in out.columns:
        out["rater"] = "human"
    return out.reset_index(drop=True)


def check_models(votes: pd.DataFrame, a: str, b: str, file: str | Path | None = None) -> None:
    """Every vote must compare exactly models ``a`` and ``b``."""
    ok = ((votes["model_a"] == a) & (votes["model_b"] == b)) | (
        (votes["model_a"] == b) & (votes["model_b"] == a)
    )
    if not ok.all():
        row = int((~ok).to_numpy().argmax()) + 1
        col = "model_a" if votes["model_a"].iloc[row - 1] not in (a, b) else "model_b"
        raise InputError(f"vote does not compare '{a}' with '{b}'", file=file, row=row, column=col)
