"""Strict, typed TOML configuration: one schema language for every config file.

A schema is a mapping ``key -> Field``. :func:`validate` checks a parsed TOML table against it and
returns a new table with every default filled in:

- an unknown key is an error naming its full path (``budget.seedz``) with the closest known key;
- a value of the wrong type (``n_boot = "abc"``; ``true`` where an integer is wanted) or out of
  range (``sizes = [0]``, ``level = 2``) is an error naming the key and the allowed values;
- nested tables (``Field("table", fields=...)``), arrays of tables (``Field("tables", ...)``) and
  open tables whose keys are free but whose values share one schema (``Field("table",
  values=...)``) are checked recursively.

Every default lives in its schema, so :func:`describe` documents a config completely and
:func:`defaults` is the built-in configuration. Files must be UTF-8 TOML (:func:`read_toml`).

An analysis's config is a typed, frozen object made from its schema (:func:`config_type`: one
attribute per key, sub-tables as nested config objects, lists as tuples), built from a validated
table by :func:`build_config`; :func:`config_table` turns it back into the effective TOML table
(the manifest, ``steerstats config show``). CLI options are merged into the table before it is
validated (:func:`merge_tables`), so an option is checked like the key it sets.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import numbers
import sys
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union

from steerstats.errors import ConfigError

REQUIRED: Any = type("Required", (), {"__repr__": lambda self: "REQUIRED"})()
#: default of a key that stays absent when not given (the consumer's own default applies)
OPTIONAL: Any = type("Optional", (), {"__repr__": lambda self: "OPTIONAL"})()

#: the scalar and list types a Field may name
KINDS = ("int", "float", "str", "bool", "list[int]", "list[float]", "list[str]", "table", "tables", "any")


@dataclass(frozen=True)
class Field:
    """One config key: its type(s), default, documentation and allowed values.

    ``type`` is one of :data:`KINDS` or a tuple of them (e.g. ``("str", "list[str]")``). Bounds
    (``ge``/``gt``/``le``/``lt``) and ``choices`` apply to a scalar or to each item of a list;
    ``min_items``/``max_items`` to lists. ``fields`` is the schema of a table (or of each element of
    ``tables``); ``values`` the schema of every value of an open table.
    """

    type: str | tuple[str, ...]
    default: Any = REQUIRED
    doc: str = ""
    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None
    choices: tuple[Any, ...] | None = None
    min_items: int = 0
    max_items: int | None = None
    fields: Mapping[str, Field] | None = None
    values: Field | None = None

    def __post_init__(self) -> None:
        for kind in self.kinds:
            if kind not in KINDS:
                raise ValueError(f"unknown field type {kind!r}")

    @property
    def kinds(self) -> tuple[str, ...]:
        return (self.type,) if isinstance(self.type, str) else tuple(self.type)


Schema = Mapping[str, Field]


def check_n_boot(n_boot: Any) -> int:
    """``n_boot`` if it is an integer >= 2 (a bootstrap SE needs two replicates), else ConfigError."""
    if isinstance(n_boot, bool) or not isinstance(n_boot, numbers.Integral) or n_boot < 2:
        raise ConfigError(f"n_boot must be an integer of at least 2 (bootstrap replicates), got {n_boot!r}")
    return int(n_boot)


def config_dirs() -> list[Path]:
    """Folders of the shipped example configs: the installed copy, then the repository's ``analyses/``."""
    package = Path(__file__).resolve().parent
    return [package / "_cards" / "analyses", package.parent / "analyses"]


def shipped_configs() -> dict[str, Path]:
    """Name (file stem) -> path of every shipped example config (``analyses/*.toml``)."""
    found: dict[str, Path] = {}
    for folder in config_dirs():
        if folder.is_dir():
            for path in sorted(folder.glob("*.toml")):
                found.setdefault(path.stem, path)
    return found


def resolve_config(spec: str | Path) -> Path:
    """A config file path, or a shipped config by name: its stem (``budget_experiment2``) or the stem
    without its kind prefix (``experiment2``). A name that matches none, or several, is a ConfigError."""
    path = Path(spec)
    if path.exists() or path.suffix or len(path.parts) > 1:
        return path
    shipped = shipped_configs()
    hits = sorted({stem for stem in shipped if spec in (stem, stem.split("_", 1)[-1])})
    if len(hits) == 1:
        return shipped[hits[0]]
    known = ", ".join(sorted(shipped)) or "none"
    if hits:
        raise ConfigError(f"config name '{spec}' is ambiguous: {', '.join(hits)}")
    raise ConfigError(f"{spec}: no such config file, nor a shipped config of that name (shipped: {known})")


def read_toml(path: str | Path, what: str = "config") -> dict[str, Any]:
    """Parse a UTF-8 TOML file; every failure is a one-line :class:`ConfigError` naming the file."""
    path = Path(path)
    if path.is_dir():
        raise ConfigError(f"{path}: {what} is a directory, not a TOML file")
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{path}: {what} file not found") from None
    except OSError as err:
        raise ConfigError(f"{path}: cannot read {what} ({err.strerror})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise ConfigError(f"{path}: line {line}: not UTF-8 (byte 0x{raw[err.start]:02x}); configs must be UTF-8 TOML") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: not valid TOML ({' '.join(str(err).split())})") from None


def validate(table: Mapping[str, Any], schema: Schema, *, where: str = "", path: str = "") -> dict[str, Any]:
    """``table`` checked against ``schema`` with defaults filled in (see the module docstring).

    ``where`` names the source (a file) in messages; ``path`` is the key prefix of a nested table.
    """
    if not isinstance(table, Mapping):
        _fail(where, path or "(top level)", f"must be a table, got {_typename(table)}")
    out: dict[str, Any] = {}
    for key in table:
        if key not in schema:
            hint = difflib.get_close_matches(str(key), list(schema), n=1)
            known = f"did you mean '{hint[0]}'?" if hint else f"known keys: {', '.join(sorted(schema)) or 'none'}"
            _fail(where, _join(path, key), f"unknown key ({known})")
    for key, field in schema.items():
        name = _join(path, key)
        if key in table:
            out[key] = _check(table[key], field, where, name)
        elif field.default is REQUIRED:
            _fail(where, name, f"required key missing{_doc(field)}")
        elif field.default is not OPTIONAL:
            out[key] = _default(field)
    return out


def defaults(schema: Schema) -> dict[str, Any]:
    """The configuration built from defaults alone (required keys are left out)."""
    return {k: _default(f) for k, f in schema.items() if f.default is not REQUIRED and f.default is not OPTIONAL}


def describe(schema: Schema, prefix: str = "") -> list[str]:
    """One line per key: path, type, default, allowed values and doc (nested tables indented)."""
    lines = []
    for key, field in schema.items():
        name = _join(prefix, key)
        if field.default is REQUIRED or field.default is OPTIONAL:
            default = "required" if field.default is REQUIRED else "optional"
        else:
            default = f"default {field.default!r}"
        allowed = _allowed(field)
        lines.append(f"{name} ({' | '.join(field.kinds)}; {default}{'; ' + allowed if allowed else ''}): {field.doc}")
        if field.fields is not None:
            sub = f"{name}[]" if "tables" in field.kinds else name
            lines.extend(describe(field.fields, sub))
        if field.values is not None:
            lines.extend(describe({"<name>": field.values}, name))
    return lines


_PYTHON_TYPES = {"int": int, "float": float, "str": str, "bool": bool, "list[int]": tuple[int, ...],
                 "list[float]": tuple[float, ...], "list[str]": tuple[str, ...], "table": dict[str, Any], "any": Any}


def config_type(name: str, schema: Schema, *, module: str) -> type:
    """A frozen dataclass for tables validated by ``schema``: one keyword attribute per key, typed
    by its Field (lists as tuples; ``fields`` tables as nested config types, open tables of them as
    dicts, arrays of tables as tuples; an OPTIONAL key absent from the table is None). The nested
    types are registered in ``module`` under ``NAME_key`` so instances pickle."""
    specs = []
    nested: dict[str, tuple[str, type]] = {}
    for key, field in schema.items():
        sub = field.values.fields if field.values is not None else field.fields
        if sub is not None:
            inner = config_type(f"{name}_{key}", sub, module=module)
            how = "tables" if "tables" in field.kinds else "values" if field.values is not None else "table"
            nested[key] = (how, inner)
            annotation: Any = {"tables": tuple[inner, ...], "values": dict[str, inner], "table": inner}[how]
        else:
            kinds = [_PYTHON_TYPES[k] for k in field.kinds]
            annotation = kinds[0] if len(kinds) == 1 else Union[tuple(kinds)]  # noqa: UP007 - a runtime union of types
        optional = field.default is OPTIONAL
        specs.append((key, annotation | None if optional else annotation,
                      dataclasses.field(default=None) if optional else dataclasses.field()))
    cls = dataclasses.make_dataclass(name, specs, frozen=True, kw_only=True)
    cls.__module__ = module  # (make_dataclass's own module= is Python 3.12+)
    cls._config_schema = schema
    cls._config_nested = nested
    setattr(sys.modules[module], name, cls)
    return cls


def build_config(cls: type, table: Mapping[str, Any]) -> Any:
    """The config object of type ``cls`` (:func:`config_type`) for a table :func:`validate` returned."""
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name not in table:
            continue  # an OPTIONAL key: None
        value = table[f.name]
        how, inner = cls._config_nested.get(f.name, (None, None))
        if how == "table":
            value = build_config(inner, value)
        elif how == "values":
            value = {k: build_config(inner, v) for k, v in value.items()}
        elif how == "tables":
            value = tuple(build_config(inner, v) for v in value)
        elif isinstance(value, list):
            value = tuple(value)
        kwargs[f.name] = value
    return cls(**kwargs)


def config_table(config: Any) -> dict[str, Any]:
    """The effective TOML table of a config object (tuples as lists; absent OPTIONAL keys left out)."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        if value is None and config._config_schema[f.name].default is OPTIONAL:
            continue
        out[f.name] = _plain(value)
    return out


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and hasattr(value, "_config_schema"):
        return config_table(value)
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


def config_source(path: str | Path | None, overrides: Mapping[str, Any] | None = None) -> tuple[dict[str, Any], str]:
    """(table, where) of a config file or shipped name (``{}`` and ``""`` for None: the built-in
    config), with ``overrides`` merged in (:func:`merge_tables`) - the input of a ``check_config``."""
    if path is None:
        table, where = {}, ""
    else:
        resolved = resolve_config(path)
        table, where = read_toml(resolved), str(resolved)
    return merge_tables(table, overrides or {}), where


def merge_tables(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``override``'s keys set (sub-tables merged key by key; None values skipped):
    how CLI options enter a config before it is validated."""
    out = dict(base)
    for key, value in override.items():
        if value is None:
            continue
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge_tables(out[key], value)
        elif isinstance(value, Mapping):
            out[key] = merge_tables({}, value)
        else:
            out[key] = value
    return out


# internals ---------------------------------------------------------------------------------------
def _join(path: str, key: Any) -> str:
    return f"{path}.{key}" if path else str(key)


def _fail(where: str, name: str, message: str) -> None:
    prefix = f"{where}: " if where else ""
    raise ConfigError(f"{prefix}{name}: {message}")


def _doc(field: Field) -> str:
    return f" ({field.doc})" if field.doc else ""


def _default(field: Field) -> Any:
    if field.default is REQUIRED:
        return REQUIRED
    if field.fields is not None and "table" in field.kinds and field.default == {}:
        return defaults(field.fields)
    if isinstance(field.default, dict | list):
        import copy

        return copy.deepcopy(field.default)
    return field.default


def _typename(value: Any) -> str:
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, int):
        return f"integer {value}"
    if isinstance(value, float):
        return f"float {value!r}"
    if isinstance(value, str):
        return f"string {value!r}"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, Mapping):
        return "a table"
    return type(value).__name__


def _allowed(field: Field) -> str:
    parts = []
    if field.choices is not None:
        parts.append("one of " + ", ".join(repr(c) for c in field.choices))
    for op, bound in ((">=", field.ge), (">", field.gt), ("<=", field.le), ("<", field.lt)):
        if bound is not None:
            parts.append(f"{op} {bound:g}")
    if field.min_items:
        parts.append(f"at least {field.min_items} item(s)")
    if field.max_items is not None:
        parts.append(f"at most {field.max_items} items")
    return ", ".join(parts)


def _scalar_ok(value: Any, kind: str) -> bool:
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "float":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "str":
        return isinstance(value, str)
    if kind == "bool":
        return isinstance(value, bool)
    return False


def _check_scalar(value: Any, field: Field, where: str, name: str) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        _fail(where, name, f"must be finite, got {value!r}")
    if field.choices is not None and value not in field.choices:
        hint = difflib.get_close_matches(str(value), [str(c) for c in field.choices], n=1)
        extra = f"; did you mean {hint[0]!r}?" if hint else ""
        _fail(where, name, f"must be one of {', '.join(repr(c) for c in field.choices)}, got {value!r}{extra}")
    if isinstance(value, int | float) and not isinstance(value, bool):
        for ok, op, bound in (
            (field.ge is None or value >= field.ge, ">=", field.ge),
            (field.gt is None or value > field.gt, ">", field.gt),
            (field.le is None or value <= field.le, "<=", field.le),
            (field.lt is None or value < field.lt, "<", field.lt),
        ):
            if not ok:
                _fail(where, name, f"must be {op} {bound:g}, got {value!r}")
    if isinstance(value, str) and "\x00" in value:
        _fail(where, name, "contains a NUL character")
    return float(value) if field.kinds == ("float",) else value


def _check(value: Any, field: Field, where: str, name: str) -> Any:
    kinds = field.kinds
    if "any" in kinds:
        return value
    if isinstance(value, Mapping):
        if "table" in kinds:
            if field.fields is not None:
                return validate(value, field.fields, where=where, path=name)
            if field.values is not None:
                return {str(k): _check(v, field.values, where, _join(name, k)) for k, v in value.items()}
            return dict(value)
        _fail(where, name, f"must be {_expected(kinds)}, got a table")
    if isinstance(value, list):
        if "tables" in kinds:
            if not all(isinstance(v, Mapping) for v in value):
                _fail(where, name, "must be an array of tables ([[...]] entries)")
            if len(value) < field.min_items:
                _fail(where, name, f"needs at least {field.min_items} entr{'y' if field.min_items == 1 else 'ies'}")
            assert field.fields is not None
            return [validate(v, field.fields, where=where, path=f"{name}[{i}]") for i, v in enumerate(value)]
        list_kinds = [k for k in kinds if k.startswith("list[")]
        if not list_kinds:
            _fail(where, name, f"must be {_expected(kinds)}, got an array")
        for kind in list_kinds:
            item = kind[5:-1]
            if all(_scalar_ok(v, item) for v in value):
                if len(value) < field.min_items:
                    _fail(where, name, f"needs at least {field.min_items} item(s), got {len(value)}")
                if field.max_items is not None and len(value) > field.max_items:
                    _fail(where, name, f"allows at most {field.max_items} items, got {len(value)}")
                return [_check_scalar(v, _item_field(field, item), where, f"{name}[{i}]") for i, v in enumerate(value)]
        bad = next(v for v in value if not any(_scalar_ok(v, k[5:-1]) for k in list_kinds))
        _fail(where, name, f"must be {_expected(kinds)}; item {_typename(bad)} is not")
    for kind in kinds:
        if kind in ("int", "float", "str", "bool") and _scalar_ok(value, kind):
            return _check_scalar(value, field, where, name)
    _fail(where, name, f"must be {_expected(kinds)}, got {_typename(value)}")
    raise AssertionError  # unreachable


def _item_field(field: Field, kind: str) -> Field:
    return Field(kind, ge=field.ge, gt=field.gt, le=field.le, lt=field.lt, choices=field.choices)


def _expected(kinds: tuple[str, ...]) -> str:
    words = {
        "int": "an integer", "float": "a number", "str": "a string", "bool": "true or false",
        "list[int]": "an array of integers", "list[float]": "an array of numbers",
        "list[str]": "an array of strings", "table": "a table", "tables": "an array of tables",
    }
    return " or ".join(words.get(k, k) for k in kinds)
