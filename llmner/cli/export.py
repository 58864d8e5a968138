"""``llmner export --model RUN_DIR --output DIR [--push_to_hub REPO_ID]``: a shareable folder."""

from __future__ import annotations

import argparse

from llmner.cli.common import add_model, check_output_folder, locate_model

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "export",
        help="write a shareable adapter folder with a model card and SHA256SUMS",
        description="Copies the adapter, writes llmner.yaml, metrics.json, README.md (a "
        "model card) and SHA256SUMS, with no absolute path of this machine and every file "
        "readable by all; --push_to_hub then uploads the folder.",
    )
    add_model(parser, "run directory (or its adapter/)")
    parser.add_argument("--output", required=True, help="folder to write (new or empty)")
    parser.add_argument("--push_to_hub", metavar="REPO_ID", help="upload to this hub repo")
    parser.add_argument("--private", action="store_true", help="create the repo private")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # keeps llmner --help free of torch
    from llmner.adapters.export import export_run, push_to_hub

    source = locate_model(args.model)
    check_output_folder(args.output)
    out = export_run(source.path, args.output, args.push_to_hub)
    print(f"exported to {out}")
    if args.push_to_hub:
        url = push_to_hub(out, args.push_to_hub, args.private)
        print(f"pushed to {url}")
    return 0
