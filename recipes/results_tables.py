"""Rebuild the generated tables of results pages from the run files committed beside them.

    python recipes/results_tables.py README.md docs/results/*.md
    python recipes/results_tables.py --check README.md ...   # exit 1 if a page is stale

Each table sits between ``<!-- table: KIND ARG ... -->`` and ``<!-- end -->``; the kinds
and their files are described in ``recipes/lab/pages.py``.
"""

from __future__ import annotations

import argparse
import sys

from lab.pages import refresh_file

from llmner.errors import InputError


def make_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("pages", nargs="+", help="markdown pages with marked tables")
    p.add_argument("--check", action="store_true", help="change nothing; exit 1 if stale")
    return p


def main(argv: list[str] | None = None) -> int:
    args = make_parser().parse_args(argv)
    try:
        stale = [page for page in args.pages if refresh_file(page, write=not args.check)]
    except InputError as e:
        print(f"results_tables: error: {e}", file=sys.stderr)
        return 2
    for page in stale:
        print(f"{page}: {'stale' if args.check else 'rebuilt'}")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
