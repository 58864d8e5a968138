"""``llmner combine --adapters A B --method linear --output DIR``: one adapter from several."""

from __future__ import annotations

import argparse

from llmner.adapters.combine import METHODS

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "combine",
        help="combine adapters trained on the same base with different data",
        description="LoRA layers are combined by peft's add_weighted_adapter. The tagging "
        "head covers the union of the label sets; each label's row is the weighted mean "
        "of that row over the adapters that have it (see llmner.adapters.combine).",
    )
    parser.add_argument("--adapters", nargs="+", required=True, metavar="ADAPTER")
    parser.add_argument("--weights", nargs="+", type=float, help="one per adapter (default 1)")
    parser.add_argument("--method", default="linear", choices=METHODS)
    parser.add_argument(
        "--density", type=float, default=0.5, help="fraction kept by ties/dare (default 0.5)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of dare's random drop")
    parser.add_argument("--output", required=True, help="folder to write (new or empty)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from llmner.adapters.combine import combine_adapters

    out = combine_adapters(
        args.adapters, args.output, args.weights, args.method, args.density, args.seed
    )
    print(f"combined adapter ({args.method}) written to {out}")
    return 0
