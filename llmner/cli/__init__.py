"""The ``llmner`` command: one subcommand per module in this package.

Each module defines ``register(subparsers)``, which adds its parser (a
:class:`~llmner.cli.common.Parser`: options shown with underscores, hyphens and older
names accepted) and sets ``func`` to a function taking the parsed arguments and returning
an exit status. A subcommand that also sets ``accepts_overrides`` gets the arguments its
parser does not know as ``args.overrides`` (``llmner sweep`` passes them on to every
trial's config); any other subcommand refuses them with its own usage.

Every input mistake (a missing model folder, an output that cannot be written, a bad data
file) is found before any model loads and printed as one line,
``llmner CMD: error: ...``, with exit status 2.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import sys

from llmner.cli.common import Parser, show_progress
from llmner.errors import InputError

__all__ = ["main"]

# Subcommand modules, in the order ``llmner --help`` lists them.
COMMANDS = [
    "data",
    "models",
    "plan",
    "evaluate",
    "predict",
    "serve",
    "merge",
    "combine",
    "export",
    "compare",
    "sweep",
]


def build_parser() -> Parser:
    parser = Parser(
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
        # the parser whose usage an error shows (``data check`` sets its own)
        sub.choices[name].set_defaults(command_parser=sub.choices[name])
    return parser


def _progress(args: argparse.Namespace):
    """transformers' progress bars, for a command that loads a model: shown in a terminal
    unless ``--quiet``, never in a log."""
    if not hasattr(args, "quiet"):
        return contextlib.nullcontext()
    # keeps llmner --help free of torch
    from llmner.models.loading import progress_bars

    return progress_bars(show_progress(args))


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (2 for a mistake in the input)."""
    parser = build_parser()
    args, rest = parser.parse_known_args(argv)
    command = getattr(args, "command_parser", parser)
    if rest and not getattr(args, "accepts_overrides", False):
        command.error(f"unrecognized arguments: {' '.join(rest)}")
    args.overrides = rest
    if not getattr(args, "func", None):
        parser.print_help()
        return 1
    command.check_required(args)
    try:
        with _progress(args):
            return int(args.func(args) or 0)
    except InputError as e:
        if args.debug:
            raise
        print(f"{command.prog}: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
