"""``steerstats config``: the keys every config file may hold, and the effective config of a file.

    steerstats config keys budget|rejection|steer|preferences   every key: type, default, allowed values, meaning
    steerstats config list                                       the example configs shipped with steerstats
    steerstats config show FILE|NAME [--kind KIND]               the checked config with every default filled in
    steerstats config show rejection|steer|preferences           the built-in configuration

Every command's --config takes a file or a shipped config's name (``--config experiment2``).
"""

from __future__ import annotations

import argparse

KINDS = ("budget", "rejection", "steer", "preferences")
#: kinds whose built-in configuration is the schema's defaults
BUILT_IN = ("rejection", "steer", "preferences")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("config", help="document config keys; print a file's effective config",
                                   description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="config_command", required=True, metavar="ACTION")
    keys = sub.add_parser("keys", help="every key of a kind of config, with type, default and meaning")
    keys.add_argument("kind", choices=KINDS, help="which config")
    keys.set_defaults(func=_keys)
    listing = sub.add_parser("list", help="the example configs shipped with steerstats (usable by name)")
    listing.set_defaults(func=_list)
    show = sub.add_parser("show", help="the effective config (checked, defaults filled in) as TOML")
    show.add_argument("source", help="a config file, a shipped config's name (see 'config list'), or 'rejection' / 'steer' / 'preferences' for the built-in one")
    show.add_argument("--kind", choices=KINDS, default=None,
                      help="kind of the file (default: budget if it has a [budget] or [[arm]] table, "
                      "steer or preferences if it has their keys, else rejection)")
    show.set_defaults(func=_show)


def _keys(args: argparse.Namespace) -> int:
    from steerstats.config import describe

    print("\n".join(describe(_schema(args.kind))))
    return 0


def _list(args: argparse.Namespace) -> int:
    from steerstats.config import read_toml, shipped_configs

    for name, path in shipped_configs().items():
        print(f"{name:<24} {_guess(read_toml(path)):<12} {path}")
    return 0


def _schema(kind: str):
    if kind == "budget":
        from steerstats.budget.config import budget_schema

        return budget_schema()
    return _module(kind).SCHEMA


def _module(kind: str):
    """The module whose SCHEMA, check_config and typed config a non-budget kind has."""
    import importlib

    return importlib.import_module({"rejection": "steerstats.generate.rejection_study",
                                    "steer": "steerstats.generate.steering_study",
                                    "preferences": "steerstats.feedback.preferences"}[kind])


def _show(args: argparse.Namespace) -> int:
    import tomli_w

    from steerstats.config import config_table, read_toml, resolve_config
    from steerstats.errors import ConfigError

    if args.source in BUILT_IN and args.kind in (None, args.source):
        table, kind, where = {}, args.source, None
    else:
        path = resolve_config(args.source)
        table = read_toml(path)
        kind, where = args.kind or _guess(table), str(path)
    if kind == "budget":
        from steerstats.budget.config import effective_config

        cfg = effective_config(table, where)
    else:
        cfg = config_table(_module(kind).check_config(table, where=where or ""))
    if not cfg:
        raise ConfigError(f"{args.source}: empty config")
    print(f"# effective {kind} config of {args.source}")
    print(tomli_w.dumps(cfg), end="")
    return 0


def _guess(table: dict) -> str:
    if "budget" in table or "arm" in table:
        return "budget"
    if {"rounds", "suggestions", "steerer", "random", "evaluate"} & set(table) or "episodes" in table.get("train", {}):
        return "steer"
    if {"embedder", "sizes", "seeds", "concepts", "cost", "test_fraction", "validation_fraction"} & set(table):
        return "preferences"
    return "rejection"
