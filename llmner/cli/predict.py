"""``llmner predict --model DIR --input FILE --output FILE``: entities with offsets."""

from __future__ import annotations

import argparse
from pathlib import Path

from llmner.cli.common import (
    DTYPE_NAMES,
    add_model,
    add_quiet,
    announce,
    check_output_file,
    locate_model,
    show_progress,
)
from llmner.errors import InputError
from llmner.predict import INPUT_FORMATS, load, predict_file

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "predict",
        help="find entities in text, JSONL or CoNLL files",
        description="Text input: one document a line (or --whole_file); JSONL: records with "
        '"text"; both give JSONL {"text", "entities": [{"start", "end", "label", "text"}]}. '
        "CoNLL input gives CoNLL (token, file tag, predicted tag) unless --output ends in "
        ".jsonl. An --output ending in .spacy is a spaCy DocBin (one Doc per text, record or "
        "CoNLL sentence, ents set; needs spaCy). On the CPU a 4-bit adapter predicts with its "
        "weights dequantized once. The output's folder is made if missing.",
    )
    add_model(parser, "run directory, adapter, exported or merged folder")
    parser.add_argument("--input", required=True, help="the file to read")
    parser.add_argument("--output", required=True, help="the file to write")
    parser.add_argument("--input_format", default="auto", choices=INPUT_FORMATS)
    parser.add_argument(
        "--whole_file", action="store_true", help="text input: the file is one document"
    )
    parser.add_argument("--batch_size", type=int, default=16)
    parser.add_argument(
        "--quantization", choices=["4bit", "8bit", "none"], help="default: as trained"
    )
    parser.add_argument(
        "--dtype",
        choices=DTYPE_NAMES,
        default="float32",
        help="what the model computes in on the CPU (bfloat16: about twice as fast on CPUs "
        "with native bf16, at bf16's rounding)",
    )
    add_quiet(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    source = locate_model(args.model)
    if not Path(args.input).is_file():
        raise InputError("no such file; expected a text, JSONL or CoNLL file", args.input)
    check_output_file(args.output)
    out_format = "jsonl" if args.output.endswith((".jsonl", ".json")) else None
    if args.output.endswith(".spacy"):
        # optional: spaCy output (pip install 'llmner[spacy]')
        from llmner.integrations import require_spacy

        require_spacy("--output *.spacy")
        out_format = "spacy"
    announce(args, source)
    ner = load(
        source.path,
        quantization=args.quantization,
        batch_size=args.batch_size,
        dtype=args.dtype,
        verbose=show_progress(args),
    )
    if out_format == "spacy":
        # optional: spaCy output (pip install 'llmner[spacy]')
        from llmner.integrations.spacy import predict_docbin

        n = predict_docbin(ner, args.input, args.output, args.input_format, args.whole_file)
    else:
        n = predict_file(
            ner, args.input, args.output, args.input_format, args.whole_file, out_format
        )
    print(f"{n} records written to {args.output}")
    return 0
