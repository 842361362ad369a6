"""``steerstats data``: fetch a released dataset, validate a study directory, show a dataset card."""

from __future__ import annotations

import argparse
import sys

from steerstats.cli._common import add_dataset_args, add_quiet_arg


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("data", help="fetch, validate and describe datasets")
    sub = parser.add_subparsers(dest="data_command", required=True, metavar="ACTION")

    fetch = sub.add_parser("fetch", help="download a dataset's files, verifying every sha256")
    fetch.add_argument("name", nargs="?", default="vafa2025", help="dataset card (default: vafa2025)")
    fetch.add_argument("--out", "--to", dest="to", metavar="DIR", default=None,
                       help="target directory (default: the user cache dir; --to is the older spelling)")
    fetch.add_argument("--base-url", default=None, help="mirror replacing the card's raw base URL")
    fetch.add_argument("--timeout", type=float, default=10.0, help="seconds per network wait (default 10)")
    fetch.add_argument("--total-timeout", type=float, default=None,
                       help="seconds for the whole download of one file (default: 30 x --timeout)")
    add_quiet_arg(fetch)
    fetch.set_defaults(func=_fetch)

    validate = sub.add_parser("validate", help="load and validate a study; print its warnings")
    add_dataset_args(validate)
    validate.set_defaults(func=_validate)

    card = sub.add_parser("card", help="print a dataset card's summary")
    card.add_argument("name", nargs="?", default="vafa2025")
    card.add_argument("--columns", action="store_true", help="also print every file's schema")
    card.set_defaults(func=_card)


def _fetch(args: argparse.Namespace) -> int:
    from steerstats.data.fetch import fetch_dataset

    results = fetch_dataset(
        args.name, args.to, base_url=args.base_url, timeout=args.timeout, total_timeout=args.total_timeout, progress=not args.quiet
    )
    counts: dict[str, int] = {}
    for r in results:
        counts[r.status] = counts.get(r.status, 0) + 1
    root = args.to if args.to is not None else _common_root([r.path for r in results])
    print(
        f"{args.name}: {len(results)} files verified in {root} ("
        + ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
        + ")"
    )
    return 0


def _common_root(paths: list) -> str:
    from os.path import commonpath

    return commonpath([str(p.parent) for p in paths]) if paths else ""


def _validate(args: argparse.Namespace) -> int:
    from steerstats.data import load_study

    study = load_study(args.dataset, args.data_dir, seed=args.seed, partial=args.partial)
    extra = []
    if study.truth is not None:  # a simulated study: check it against the release's schema too
        from steerstats.data import validate_study

        extra = validate_study(study)
    frames = study.frames()
    print(f"{study.name}: valid ({study.source})")
    for name, frame in frames:
        print(f"  {name:<20} {len(frame):>6} rows")
    warnings = list(dict.fromkeys([*study.warnings, *extra]))  # the same check may run twice
    print(f"{len(warnings)} warning(s)")
    for w in warnings:
        print(f"  warning: {w}")
    sys.stdout.flush()
    return 0


def _card(args: argparse.Namespace) -> int:
    from steerstats.data.card import load_card

    card = load_card(args.name)
    print(card.summary())
    if args.columns:
        for f in card.files:
            print(f"\n{f.path}")
            for c in f.columns:
                rng = ""
                if c.min is not None or c.max is not None:
                    rng = f" [{c.min if c.min is not None else '-inf'}, {c.max if c.max is not None else 'inf'}]"
                if c.models:
                    rng = f" in models[{c.models}]"
                print(f"  {c.name or '(unnamed)':<22} {c.dtype:<7}{rng}  {c.description}")
    return 0
