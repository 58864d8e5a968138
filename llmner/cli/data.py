"""``llmner data check PATH...``: what is in a dataset and what is wrong with it."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from llmner.data.check import CheckReport, check_paths
from llmner.data.registry import BUNDLED
from llmner.errors import InputError, suggest

__all__ = ["format_report", "register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("data", help="inspect and check datasets")
    data_sub = parser.add_subparsers(dest="data_command", metavar="ACTION", required=True)
    check = data_sub.add_parser(
        "check",
        help="count sentences, entities and problems in CoNLL/JSONL files or a bundled dataset",
        description="Each PATH is a bundled dataset name (its three splits are checked), a "
        "folder of train.txt/dev.txt/test.txt, a CoNLL file or a JSONL file.",
    )
    check.add_argument("paths", nargs="+", metavar="PATH")
    check.add_argument(
        "--max_tokens", type=int, default=128, help="token budget per sentence (default 128)"
    )
    check.add_argument(
        "--strict", action="store_true", help="refuse invalid IOB2 transitions (I- after O)"
    )
    check.add_argument("--labels", help="comma-separated allowed entity types")
    check.add_argument("--json", action="store_true", help="print the report as JSON")
    check.set_defaults(func=run_check, command_parser=check)


def _check_exists(path: str) -> None:
    """Refuse a path that is neither a file, a folder nor a bundled dataset, naming the
    bundled datasets and the nearest one."""
    if Path(path).exists() or path in BUNDLED or path.startswith("hf:"):
        return
    names = ", ".join(sorted(BUNDLED))
    raise InputError(
        "no such file or folder, and no bundled dataset of that name; expected a CoNLL or "
        f"JSONL file, a folder of train/dev/test.txt or a bundled dataset ({names})"
        + suggest(path, sorted(BUNDLED)),
        path,
    )


def run_check(args: argparse.Namespace) -> int:
    for path in args.paths:
        _check_exists(path)
    labels = args.labels.split(",") if args.labels else None
    report = check_paths(args.paths, args.max_tokens, args.strict, labels)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
    else:
        print(format_report(report))
    return 0


def _table(header: list[str], rows: list[list]) -> list[str]:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = "  ".join(f"{{:{'<' if i == 0 else '>'}{w}}}" for i, w in enumerate(widths))
    return [line.format(*header), *(line.format(*map(str, r)) for r in rows)]


def format_report(report: CheckReport) -> str:
    """The report as aligned tables and lists of examples."""
    splits = report.splits
    out = _table(
        [
            "split",
            "sentences",
            "tokens",
            "entities",
            "repaired",
            f">{report.max_tokens} tok",
            "longest",
            "duplicates",
        ],
        [
            [
                s.name,
                s.sentences,
                s.tokens,
                sum(s.entities.values()),
                s.repaired_transitions,
                s.too_long,
                s.longest,
                s.duplicates,
            ]
            for s in splits
        ],
    )
    types = sorted({t for s in splits for t in s.entities})
    out += ["", "entities per type:"]
    out += _table(
        ["type", *(s.name for s in splits)],
        [[t, *(s.entities.get(t, 0) for s in splits)] for t in types],
    )
    for s in splits:
        if s.repairs:
            out += [
                "",
                f"{s.name}: {s.repaired_transitions} invalid transitions repaired "
                "(an I- tag that does not continue an entity is read as B-), e.g.:",
            ]
            out += [f"  {where}: {found} -> {read}" for where, found, read in s.repairs]
        if s.too_long_examples:
            out += ["", f"{s.name}: {s.too_long} sentences over {report.max_tokens} tokens, e.g.:"]
            out += [f"  {e}" for e in s.too_long_examples]
        if s.duplicate_examples:
            out += ["", f"{s.name}: {s.duplicates} duplicate sentences, e.g.:"]
            out += [f"  {e}" for e in s.duplicate_examples]
    for pair, n in report.shared.items():
        if n:
            out += ["", f"{n} sentences shared by {pair}, e.g.:"]
            out += [f"  {e}" for e in report.shared_examples[pair]]
    if report.inconsistent:
        out += [
            "",
            f"{report.inconsistent_total} strings labelled differently in different "
            "places (O = left unlabelled), e.g.:",
        ]
        for d in report.inconsistent[:10]:
            labels = ", ".join(f"{k} x{v} ({d['examples'][k]})" for k, v in d["labels"].items())
            out.append(f"  {d['text']!r}: {labels}")
    return "\n".join(out)
