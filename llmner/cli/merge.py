"""``llmner merge --model RUN_DIR --output DIR``: a standalone merged model folder."""

from __future__ import annotations

import argparse
from pathlib import Path

from llmner.cli.common import (
    add_model,
    add_quiet,
    announce,
    check_output_folder,
    locate_model,
)
from llmner.data.loading import is_dataset_name, load_sentences
from llmner.errors import InputError
from llmner.rundir.source import locate

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "merge",
        help="merge a LoRA adapter into its base model (a folder transformers loads alone)",
        description="The adapter is merged with peft's merge_and_unload. A 4-bit run is "
        "merged into its base's dequantized NF4 values (--base quantized, the default), "
        "the weights it was trained and scored against, so the merged model predicts what "
        "the adapter predicts; --base original merges into the original weights instead. "
        "The merged model is checked against the adapter on --check data and the result "
        "written into its model card.",
    )
    add_model(parser, "run directory, adapter or exported folder")
    parser.add_argument("--output", required=True, help="folder to write (new or empty)")
    parser.add_argument(
        "--dtype", default="float32", choices=["float32", "bfloat16", "float16"],
        help="dtype of the merged weights (default float32)",
    )  # fmt: skip
    parser.add_argument(
        "--base", default="quantized", choices=["quantized", "original"],
        help="what a quantized run is merged into (default: the dequantized quantized base)",
    )  # fmt: skip
    parser.add_argument(
        "--check", default="auto",
        help="data to compare merged and adapter predictions on: a bundled name, folder, "
        "CoNLL or JSONL file; 'auto' (default): the run's own test data when it can be "
        "read; 'none' skips the check",
    )  # fmt: skip
    parser.add_argument("--check_split", default="test", help="split of a named --check")
    parser.add_argument(
        "--check_sentences", type=int, default=200, help="sentences to check (default 200)"
    )
    add_quiet(parser)
    parser.set_defaults(func=run)


def _check_data(args, source):
    """The sentences to check on, or ``None`` with the reason printed."""
    if args.check == "none" or args.check_sentences <= 0:
        return None
    data, split = args.check, args.check_split
    if data == "auto":
        meta = source.meta
        data = meta.get("test_file") or meta.get("dataset")
        split = "test"
        if not data or not (is_dataset_name(data) or Path(data).is_file()):
            print(f"merge check skipped: the run's test data ({data}) is not readable here")
            return None
    named = is_dataset_name(data)
    try:
        sentences = load_sentences(data, split=split if named else None, labels=source.labels)
    except InputError:
        if args.check != "auto":
            raise
        print(f"merge check skipped: the run's test data ({data}) could not be read")
        return None
    return sentences[: args.check_sentences]


def run(args: argparse.Namespace) -> int:
    # keeps llmner --help free of torch
    from llmner.adapters.merge import merge_adapter

    source = locate_model(args.model)
    if source.kind != "adapter":
        raise InputError("already a merged model; expected an adapter", args.model)
    check_output_folder(args.output)
    check = _check_data(args, source)
    announce(args, source)
    out = merge_adapter(source.path, args.output, args.dtype, args.base, check)
    print(f"merged model written to {out}")
    result = locate(out).meta.get("merge_check")
    if result:
        print(
            f"checked on {result['sentences']} sentences: {result['identical_sentences']} "
            f"identical, entity agreement {result['entity_agreement']} "
            f"({result['adapter_entities']} adapter / {result['merged_entities']} merged "
            f"entities), F1 {result['adapter_f1']} adapter / {result['merged_f1']} merged"
        )
    return 0
