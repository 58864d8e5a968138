"""``llmner serve ADAPTER_OR_DIR --port 8000``: entities over HTTP (see :mod:`llmner.serve`)."""

from __future__ import annotations

import argparse
import importlib.util

from llmner.errors import InputError

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
    parser.add_argument("model", metavar="ADAPTER_OR_DIR", help="run, adapter or merged folder")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument(
        "--batch-size",
        type=_at_least_one(int),
        default=32,
        help="texts per prediction call, over all waiting requests; also sentences per "
        "forward pass (default 32)",
    )
    parser.add_argument(
        "--max-texts", type=_at_least_one(int), default=64, help="texts per request (default 64)"
    )
    parser.add_argument(
        "--max-chars",
        type=_at_least_one(int),
        default=100_000,
        help="characters per request (default 100000)",
    )
    parser.add_argument(
        "--max-wait-ms",
        type=_at_least_one(float),
        default=5.0,
        help="how long to wait for more requests before predicting (default 5)",
    )
    parser.add_argument(
        "--quantization", choices=["4bit", "8bit", "none"], help="default: as trained"
    )
    parser.add_argument(
        "--log-level",
        default="info",
        choices=["critical", "error", "warning", "info", "debug"],
        help="uvicorn's; warning hides the line logged per request",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    missing = [m for m in ("fastapi", "uvicorn") if importlib.util.find_spec(m) is None]
    if missing:
        raise InputError(f"needs {' and '.join(missing)}: pip install 'llmner[serve]'")
    import uvicorn

    from llmner.predict import load
    from llmner.serve import Limits, create_app

    limits = Limits(args.batch_size, args.max_texts, args.max_chars, args.max_wait_ms)
    ner = load(args.model, quantization=args.quantization, batch_size=args.batch_size)
    app = create_app(ner, limits)
    print(
        f"serving {args.model} ({ner.source.format}, {', '.join(ner.labels.types)}) "
        f"on http://{args.host}:{args.port}",
        flush=True,
    )
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level)
    return 0
