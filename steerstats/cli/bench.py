"""``steerstats bench NAME``: speed benchmarks, each against a baseline run in the same process.

Add a benchmark by adding one entry to :data:`BENCHMARKS`: name -> (module defining
``run(args) -> int``, summary, function adding its options). Options are declared here so that
building the parser imports nothing heavy; ``steerstats bench all`` runs every benchmark with its
defaults (what ``make bench`` calls).
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable


def _bootstrap_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", default=None, help="vafa2025 data directory (default: ../shared/data/vafa2025 if there, else the dataset lookup)")
    parser.add_argument("--n-boot", type=int, default=10_000, help="vectorised replicates (default: 10000)")
    parser.add_argument("--n-loop", type=int, default=200, help="pandas-loop replicates (default: 200)")
    parser.add_argument("--cluster", default="goal_image", help="cluster column (default: goal_image)")
    parser.add_argument("--seed", type=int, default=0, help="random seed of the replicates (default: 0)")
    parser.add_argument("--memory-sizes", default="100000x554,10000x50000", metavar="BxG,...",
                        help="replicates x clusters whose peak memory is measured ('none': skip; default: "
                        "100000x554,10000x50000)")


def _reward_model_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--n", type=int, default=5000, help="training examples (default: 5000)")
    parser.add_argument("--dim", type=int, default=768, help="embedding dimension (default: 768)")
    parser.add_argument("--heads", type=int, default=12, help="attribute heads (default: 12)")
    parser.add_argument("--epochs", type=int, default=100, help="training epochs (default: 100)")
    parser.add_argument("--seeds", type=int, default=3, help="runs for the vmap comparison (default: 3)")
    parser.add_argument("--no-torch", action="store_true", help="skip the PyTorch baseline")
    parser.add_argument("--torch-threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    parser.add_argument("--no-roofline", action="store_true", help="skip the per-component profile and the matmul roof")


def _embed_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default="ViT-B-32", help="open_clip architecture (default: ViT-B-32)")
    parser.add_argument("--weights", default=None, help="checkpoint or tag (default: random init)")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda", "mps"),
                        help="torch device (default: auto = cuda > mps > cpu)")
    parser.add_argument("--precision", default="auto", help="fp32, fp16, bf16 or auto (fp16 autocast on GPU)")
    parser.add_argument("--n-images", type=int, default=96, help="synthetic images to embed (default: 96)")
    parser.add_argument("--naive-n", type=int, default=None, help="images for the naive loop (default: all)")
    parser.add_argument("--image-size", type=int, default=256, help="side of the generated images in pixels (default: 256)")
    parser.add_argument("--batch-size", type=int, default=32, help="images per forward pass (default: 32)")
    parser.add_argument("--workers", type=int, default=None, help="image-decoding threads (default: CPU count)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the generated images (default: 0)")
    parser.add_argument("--json", default=None, help="also write the numbers to this JSON file")


def _sweep_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--workers", type=int, default=2, help="LocalCluster worker processes (default: 2)")
    parser.add_argument("--runs", type=int, default=16, help="budget runs in the sweep (default: 16)")
    parser.add_argument("--epochs", type=int, default=50, help="training epochs per run (default: 50)")
    parser.add_argument("--reps", type=int, default=20, help="coverage replications (default: 20)")
    parser.add_argument("--json", default=None, help="also write the numbers to this JSON file")


def _compile_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", default="experiment2", help="budget config (default: experiment2)")
    parser.add_argument("--seeds", type=int, default=1, help="seeds of the sweep (default: 1)")
    parser.add_argument("--epochs", type=int, default=None, help="training epochs (default: the config's)")
    parser.add_argument("--json", default=None, help="also write the numbers to this JSON file")


def _report_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dataset", default="vafa2025", help="study to report on (default: vafa2025)")
    parser.add_argument("--data-dir", default=None, help="its data directory (default: ../shared/data/vafa2025 if there, else the dataset lookup)")
    parser.add_argument("--n-boot", type=int, default=2000, help="bootstrap replicates (default: 2000, the report's)")
    parser.add_argument("--jobs", type=int, default=2, help="processes of the second run (default: 2)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")


#: name -> (module with run(args), summary, options)
BENCHMARKS: dict[str, tuple[str, str, Callable[[argparse.ArgumentParser], None]]] = {
    "bootstrap": (
        "steerstats.uncertainty.benchmark",
        "vectorised cluster bootstrap vs a pandas resample loop",
        _bootstrap_options,
    ),
    "reward-models": (
        "steerstats.models.benchmark",
        "whole-run lax.scan training vs a jitted-step loop and PyTorch eager",
        _reward_model_options,
    ),
    "embed": (
        "steerstats.embed.benchmark",
        "embedding extractor vs a naive per-image open_clip loop (images/s; GPU ceiling on CUDA)",
        _embed_options,
    ),
    "compile": (
        "steerstats.budget.compile_benchmark",
        "a budget sweep's compile share: one program per size vs one per sweep vs a rerun from the persistent cache",
        _compile_options,
    ),
    "report": (
        "steerstats.report.benchmark",
        "the steerability report in one process vs --jobs processes (load, sections, write)",
        _report_options,
    ),
    "sweep": (
        "steerstats.budget.benchmark",
        "a budget sweep and a coverage study locally vs on a Dask LocalCluster (runs/min, driver overhead per task)",
        _sweep_options,
    ),
}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("bench", help="speed benchmarks (ratios against baselines)",
                                   description="Speed benchmarks, each a ratio against a baseline run in the same process.")
    names = parser.add_subparsers(dest="benchmark", required=True, metavar="NAME")
    for name, (module, summary, options) in BENCHMARKS.items():
        aliases = [name.replace("-", "_")] if "-" in name else []
        sub = names.add_parser(name, aliases=aliases, help=summary, description=summary)
        options(sub)
        sub.set_defaults(func=_runner(module))
    every = names.add_parser("all", help="every benchmark with its defaults (make bench)",
                             description="Run every benchmark in turn with its default options.")
    every.set_defaults(func=_run_all)


def _runner(module: str) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        return int(importlib.import_module(module).run(args) or 0)

    return run


def _run_all(args: argparse.Namespace) -> int:
    for name, (module, _, options) in BENCHMARKS.items():
        parser = argparse.ArgumentParser(prog=f"steerstats bench {name}")
        options(parser)
        print(f"== steerstats bench {name}", flush=True)
        code = _runner(module)(parser.parse_args([]))
        if code:
            return code
    return 0
