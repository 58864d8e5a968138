"""``llmner serve --model DIR --port 8000``: entities over HTTP (see :mod:`llmner.serve`)."""

from __future__ import annotations

import argparse
import importlib.util

from llmner.cli.common import add_model, add_quiet, announce, locate_model, show_progress
from llmner.errors import InputError
from llmner.predict import load

__all__ = ["register"]


def _at_least_one(kind):  # or 0 or more, for floats
    def parse(value: str):
        number = kind(value)
        if number < 0 or (number == 0 and kind is int):
            least = "1" if kind is int else "0"
            raise argparse.ArgumentTypeError(f"expected {least} or more, got {value}")
        return number

    return parse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="serve a model over HTTP (POST /predict, GET /health)",
        description='POST /predict with {"texts": ["...", ...]} answers {"entities": [[{"start", '
        '"end", "label", "text"}, ...], ...]}; GET /health describes the model. Concurrent '
        "requests are predicted together, one batch at a time. Needs "
        "pip install 'llmner[serve]'.",
    )
    add_model(parser, "run, adapter, exported or merged folder", required=False)
    # the folder as a positional argument, as earlier versions took it
    parser.add_argument("model_path", nargs="?", help=argparse.SUPPRESS)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument(
        "--batch_size",
        type=_at_least_one(int),
        default=32,
        help="texts per prediction call, over all waiting requests; also sentences per "
        "forward pass (default 32)",
    )
    parser.add_argument(
        "--max_texts", type=_at_least_one(int), default=64, help="texts per request (default 64)"
    )
    parser.add_argument(
        "--max_chars",
        type=_at_least_one(int),
        default=100_000,
        help="characters per request (default 100000)",
    )
    parser.add_argument(
        "--max_wait_ms",
        type=_at_least_one(float),
        default=5.0,
        help="how long to wait for more requests before predicting (default 5)",
    )
    parser.add_argument(
        "--quantization", choices=["4bit", "8bit", "none"], help="default: as trained"
    )
    parser.add_argument(
        "--log_level",
        default="info",
        choices=["critical", "error", "warning", "info", "debug"],
        help="uvicorn's; warning hides the line logged per request",
    )
    add_quiet(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if not (args.model or args.model_path):
        args.command_parser.error("the following arguments are required: --model")
    if args.model and args.model_path:
        args.command_parser.error(f"two models: --model {args.model} and {args.model_path}")
    missing = [m for m in ("fastapi", "uvicorn") if importlib.util.find_spec(m) is None]
    if missing:
        raise InputError(f"needs {' and '.join(missing)}: pip install 'llmner[serve]'")
    source = locate_model(args.model or args.model_path)
    # optional: pip install 'llmner[serve]'
    import uvicorn

    from llmner.serve import Limits, create_app

    limits = Limits(args.batch_size, args.max_texts, args.max_chars, args.max_wait_ms)
    announce(args, source)
    ner = load(
        source.path,
        quantization=args.quantization,
        batch_size=args.batch_size,
        verbose=show_progress(args),
    )
    app = create_app(ner, limits)
    print(
        f"serving {args.model or args.model_path} ({ner.source.format}, "
        f"{', '.join(ner.labels.types)}) on http://{args.host}:{args.port}",
        flush=True,
    )
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level)
    return 0
