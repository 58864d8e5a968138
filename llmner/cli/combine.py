"""``llmner combine --models A B --method linear --output DIR``: one adapter from several."""

from __future__ import annotations

import argparse

from llmner.cli.common import add_quiet, check_output_folder, locate_model

__all__ = ["METHODS", "register"]

# ``llmner.adapters.combine.METHODS``, repeated so that building the parser imports no
# torch (tests/cli/test_common.py checks that the two agree).
METHODS = ("linear", "cat", "ties", "dare_ties", "dare_linear", "svd", "magnitude_prune")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "combine",
        help="combine adapters trained on the same base with different data",
        description="LoRA layers are combined by peft's add_weighted_adapter. The tagging "
        "head covers the union of the label sets; each label's row is the weighted mean "
        "of that row over the adapters that have it (see llmner.adapters.combine).",
    )
    parser.add_argument(
        "--models",
        nargs="+",
        required=True,
        aliases=("--adapters",),
        metavar="FOLDER",
        help="run directories, adapters or exported folders",
    )
    parser.add_argument("--weights", nargs="+", type=float, help="one per adapter (default 1)")
    parser.add_argument("--method", default="linear", choices=METHODS)
    parser.add_argument(
        "--density",
        type=float,
        default=0.5,
        help="fraction kept by ties, dare_* and magnitude_prune (default 0.5)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of dare's random drop")
    parser.add_argument("--output", required=True, help="folder to write (new or empty)")
    add_quiet(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # keeps llmner --help free of torch
    from llmner.adapters.combine import combine_adapters

    sources = [locate_model(m) for m in args.models]
    check_output_folder(args.output)
    out = combine_adapters(
        [s.path for s in sources], args.output, args.weights, args.method, args.density, args.seed
    )
    print(f"combined adapter ({args.method}) written to {out}")
    return 0
