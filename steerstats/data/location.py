"""Where a dataset's files live: explicit directory > ``$STEERSTATS_DATA`` > the user cache dir."""

from __future__ import annotations

import os
from pathlib import Path

from steerstats.data.card import DatasetCard, load_card
from steerstats.errors import DataNotFoundError

ENV_VAR = "STEERSTATS_DATA"


def default_cache_dir(name: str) -> Path:
    """``platformdirs.user_cache_dir("steerstats") / name``: where ``steerstats data fetch`` writes."""
    import platformdirs

    return Path(platformdirs.user_cache_dir("steerstats")) / name


def _holds(folder: Path, card: DatasetCard) -> bool:
    return (folder / card.files[0].path).is_file()


def resolve_data_dir(name: str = "vafa2025", data_dir: str | Path | None = None) -> Path:
    """The directory holding dataset ``name``'s files.

    Looks, in order, at ``data_dir`` (or ``data_dir/name``), ``$STEERSTATS_DATA`` (or
    ``$STEERSTATS_DATA/name``) and the user cache dir; a directory counts if it holds the card's
    first file. Raises :class:`DataNotFoundError` naming all three places otherwise.
    """
    card = load_card(name)
    tried: list[str] = []
    if data_dir is not None:
        base = Path(data_dir).expanduser()
        for cand in (base, base / card.name):
            if _holds(cand, card):
                return cand
        raise DataNotFoundError(
            f"dataset '{card.name}' not found in --data-dir {base} (expected {base / card.files[0].path}); "
            f"download it with: steerstats data fetch {card.name} --out {base}"
        )
    tried.append("--data-dir (not given)")
    env = os.environ.get(ENV_VAR)
    if env:
        base = Path(env).expanduser()
        for cand in (base / card.name, base):
            if _holds(cand, card):
                return cand
        tried.append(f"${ENV_VAR}={base} (no {card.files[0].path} there or under {card.name}/)")
    else:
        tried.append(f"${ENV_VAR} (not set)")
    cache = default_cache_dir(card.name)
    if _holds(cache, card):
        return cache
    tried.append(f"user cache dir {cache} (empty)")
    raise DataNotFoundError(
        f"dataset '{card.name}' not found; looked at {'; '.join(tried)}. "
        f"Download it with: steerstats data fetch {card.name} (writes to {cache}) "
        f"or pass --data-dir DIR"
    )


#: where a checkout's CI finds the releases (the project's ``../shared/data``), relative to the working directory
CHECKOUT_DATA = Path("../shared/data")


def benchmark_data_dir(name: str, data_dir: str | Path | None = None) -> str | Path | None:
    """``data_dir``, else ``../shared/data/NAME`` when it is there (the benchmarks' default), else
    None (then :func:`resolve_data_dir`'s lookup applies)."""
    if data_dir is not None:
        return data_dir
    beside = CHECKOUT_DATA / name
    return str(beside) if beside.is_dir() else None
