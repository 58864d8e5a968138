"""``llmner merge --adapter RUN/adapter --output DIR``: a standalone merged model folder."""

from __future__ import annotations

import argparse

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "merge",
        help="merge a LoRA adapter into its base model (a folder transformers loads alone)",
        description="The base is loaded in --dtype (a 4-bit run's base too: LoRA updates "
        "cannot be merged into 4-bit weights) and the adapter merged with peft's "
        "merge_and_unload.",
    )
    parser.add_argument("--adapter", required=True, help="run directory or adapter folder")
    parser.add_argument("--output", required=True, help="folder to write (new or empty)")
    parser.add_argument(
        "--dtype", default="float32", choices=["float32", "bfloat16", "float16"],
        help="dtype of the merged weights (default float32)",
    )  # fmt: skip
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from llmner.adapters.merge import merge_adapter

    out = merge_adapter(args.adapter, args.output, args.dtype)
    print(f"merged model written to {out}")
    return 0
