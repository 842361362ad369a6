"""Dataset cards: where a dataset's files come from and the schema every file must satisfy.

A card is a TOML file in the repository's ``datasets/`` folder (installed wheels carry the same
files as ``steerstats/_cards/datasets``). Loaders and validation read the schema from the card, so
the card is the single source of truth for columns, dtypes, ranges and allowed model names.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from steerstats.errors import ConfigError, DataNotFoundError

DTYPES = ("string", "int", "float", "bool", "literal")


@dataclass(frozen=True)
class ColumnSpec:
    """One column: name, dtype, inclusive range, allowed values or model list, description."""

    name: str
    dtype: str
    description: str = ""
    min: float | None = None
    max: float | None = None
    values: tuple[Any, ...] | None = None
    models: str | None = None  # key into DatasetCard.models
    nullable: bool = False
    drop: bool = False  # present in the file but removed at load (e.g. an unnamed index)
    text_quirks: bool = False  # warn about surrounding whitespace / quotes
    literal: str | None = None  # for dtype "literal": the parsed value's type ("list[str]"), checked at load


@dataclass(frozen=True)
class SequenceSpec:
    """Rows form attempt sequences keyed by ``by``; each should hold every attempt exactly once."""

    by: tuple[str, ...]
    attempt: str
    attempts: tuple[int, ...]


@dataclass(frozen=True)
class FileSpec:
    """One file of a dataset: local path, download location, hash, size and schema."""

    key: str
    path: str  # relative to the dataset directory
    url: str
    remote_path: str  # relative to the card's base_url
    sha256: str
    rows: int
    description: str
    columns: tuple[ColumnSpec, ...]
    bytes: int | None = None
    sequence: SequenceSpec | None = None
    format: str = "csv"  # "csv", "json-object" (an object keyed by key_column) or "json-records" (FORMATS)
    key_column: str | None = None

    def column(self, name: str) -> ColumnSpec:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)


@dataclass(frozen=True)
class DatasetCard:
    name: str
    title: str
    citation: str
    licence: str
    repository: str
    base_url: str
    files: tuple[FileSpec, ...]
    models: dict[str, tuple[str, ...]] = field(default_factory=dict)
    not_included: tuple[str, ...] = ()
    source: str = ""  # the card file it was read from

    def file(self, key: str) -> FileSpec:
        """The file with card key ``key`` (e.g. ``"steering"``) or path ``key``."""
        for spec in self.files:
            if key in (spec.key, spec.path):
                return spec
        raise KeyError(f"dataset '{self.name}' has no file '{key}'")

    def summary(self) -> str:
        """Human-readable summary: source, licence and one line per file."""
        lines = [
            f"{self.name}: {self.title}",
            f"  source:   {self.repository} (licence {self.licence})",
            f"  raw base: {self.base_url}",
            f"  cite:     {self.citation}",
            f"  files ({len(self.files)}):",
        ]
        width = max(len(f.path) for f in self.files)
        for f in self.files:
            lines.append(
                f"    {f.path:<{width}}  {f.rows:>5} rows  {len(f.columns):>2} cols  "
                f"sha256 {f.sha256[:12]}…  {f.description}"
            )
        for name, models in self.models.items():
            lines.append(f"  models[{name}]: {', '.join(models)}")
        for item in self.not_included:
            lines.append(f"  not included: {item}")
        return "\n".join(lines)


def card_dirs() -> list[Path]:
    """Folders searched for cards: the installed copy, then the repository's ``datasets/``."""
    package = Path(__file__).resolve().parents[1]
    return [package / "_cards" / "datasets", package.parent / "datasets"]


def available_cards() -> list[str]:
    names: set[str] = set()
    for folder in card_dirs():
        if folder.is_dir():
            names.update(p.stem for p in folder.glob("*.toml"))
    return sorted(names)


def schema_only(card: DatasetCard) -> DatasetCard:
    """``card`` without the release's identity (sha256, row counts): validates files of the same
    schema that are not the released ones (a simulated study, a new study in the same format)."""
    import dataclasses

    files = tuple(dataclasses.replace(f, sha256="", rows=-1) for f in card.files)
    return dataclasses.replace(card, files=files)


def load_card(name_or_path: str | Path) -> DatasetCard:
    """Read a dataset card by name (``"vafa2025"``) or from a ``.toml`` path."""
    path = Path(name_or_path)
    if path.suffix != ".toml":
        for folder in card_dirs():
            if (folder / f"{name_or_path}.toml").is_file():
                path = folder / f"{name_or_path}.toml"
                break
        else:
            raise DataNotFoundError(
                f"no dataset card '{name_or_path}' (known: {', '.join(available_cards()) or 'none'})"
            )
    if not path.is_file():
        raise DataNotFoundError(f"dataset card not found: {path}")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path}: not a valid TOML dataset card: {err}") from err
    return _parse_card(raw, str(path))


def _parse_card(raw: dict[str, Any], source: str) -> DatasetCard:
    try:
        models = {k: tuple(v) for k, v in raw.get("models", {}).items()}
        files = tuple(_parse_file(f, models, source) for f in raw["files"])
        return DatasetCard(
            name=raw["name"],
            title=raw.get("title", ""),
            citation=raw.get("citation", ""),
            licence=raw.get("licence", ""),
            repository=raw.get("repository", ""),
            base_url=raw.get("base_url", ""),
            files=files,
            models=models,
            not_included=tuple(raw.get("not_included", ())),
            source=source,
        )
    except KeyError as err:
        raise ConfigError(f"{source}: dataset card lacks required key {err}") from err


def _parse_file(raw: dict[str, Any], models: dict[str, tuple[str, ...]], source: str) -> FileSpec:
    columns = []
    for col in raw["columns"]:
        if col["dtype"] not in DTYPES:
            raise ConfigError(f"{source}: column '{col['name']}' has unknown dtype '{col['dtype']}'")
        if col.get("models") is not None and col["models"] not in models:
            raise ConfigError(f"{source}: column '{col['name']}' names unknown model list")
        values = col.get("values")
        columns.append(
            ColumnSpec(
                name=col["name"],
                dtype=col["dtype"],
                description=col.get("description", ""),
                min=col.get("min"),
                max=col.get("max"),
                values=None if values is None else tuple(values),
                models=col.get("models"),
                nullable=bool(col.get("nullable", False)),
                drop=bool(col.get("drop", False)),
                text_quirks=bool(col.get("text_quirks", False)),
                literal=col.get("literal"),
            )
        )
    seq = raw.get("sequence")
    return FileSpec(
        key=raw["key"],
        path=raw["path"],
        url=raw.get("url", ""),
        remote_path=raw.get("remote_path", raw["path"]),
        sha256=raw.get("sha256", ""),
        rows=int(raw.get("rows", -1)),
        bytes=raw.get("bytes"),
        description=raw.get("description", ""),
        columns=tuple(columns),
        sequence=None
        if seq is None
        else SequenceSpec(tuple(seq["by"]), seq["attempt"], tuple(seq["attempts"])),
        format=_format(raw, source),
        key_column=raw.get("key_column"),
    )


#: "json-records": a JSON list of nested records whose fields the dataset's own loader checks (the
#: card's columns then document the fields; e.g. steerstats.data.qa_feedback)
FORMATS = ("csv", "json-object", "json-records")


def _format(raw: dict[str, Any], source: str) -> str:
    fmt = raw.get("format", "csv")
    if fmt not in FORMATS:
        raise ConfigError(f"{source}: file '{raw['key']}' has unknown format {fmt!r} (one of {', '.join(FORMATS)})")
    if fmt == "json-object" and not raw.get("key_column"):
        raise ConfigError(f"{source}: file '{raw['key']}' (json-object) needs key_column")
    return fmt
