"""``llmner export --run RUN_DIR --output DIR [--push-to-hub REPO_ID]``: a shareable folder."""

from __future__ import annotations

import argparse

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "export",
        help="write a shareable adapter folder with a model card and SHA256SUMS",
        description="Copies the adapter, writes llmner.yaml, metrics.json, README.md (a "
        "model card) and SHA256SUMS; --push-to-hub then uploads the folder.",
    )
    parser.add_argument("--run", required=True, help="run directory (or its adapter/)")
    parser.add_argument("--output", required=True, help="folder to write (new or empty)")
    parser.add_argument("--push-to-hub", metavar="REPO_ID", help="upload to this hub repo")
    parser.add_argument("--private", action="store_true", help="create the repo private")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from llmner.adapters.export import export_run, push_to_hub

    out = export_run(args.run, args.output, args.push_to_hub)
    print(f"exported to {out}")
    if args.push_to_hub:
        url = push_to_hub(out, args.push_to_hub, args.private)
        print(f"pushed to {url}")
    return 0
