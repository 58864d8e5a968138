"""The ``llmner`` command: one subcommand per module in this package.

Each module defines ``register(subparsers)``, which adds its parser and sets
``func`` to a function taking the parsed arguments and returning an exit status. A
subcommand that also sets ``accepts_overrides`` gets the arguments its parser does not
know as ``args.overrides`` (``llmner sweep`` passes them on to every trial's config).
"""

from __future__ import annotations

import argparse
import importlib
import sys

from llmner.errors import InputError

__all__ = ["main"]

# Subcommand modules, in the order ``llmner --help`` lists them.
COMMANDS = [
    "data",
    "models",
    "evaluate",
    "predict",
    "serve",
    "merge",
    "combine",
    "export",
    "compare",
    "sweep",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="llmner", description="Fine-tune decoder LLMs for named entity recognition."
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"llmner.cli.{name}")
        except ModuleNotFoundError as e:
            if e.name == f"llmner.cli.{name}":
                continue
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (2 for a mistake in the input)."""
    parser = build_parser()
    args, rest = parser.parse_known_args(argv)
    if rest and not getattr(args, "accepts_overrides", False):
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    args.overrides = rest
    if not getattr(args, "func", None):
        parser.print_help()
        return 1
    try:
        return int(args.func(args) or 0)
    except InputError as e:
        if args.debug:
            raise
        print(f"llmner {args.command}: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
