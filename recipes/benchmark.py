"""The standard benchmark: peers and llmner's formulations on the same sentences, then a
comparison report.

    python recipes/benchmark.py --data ../shared/data/conll2003 --output_dir runs/benchmark \
        --max_train_samples 2000

Runs every config in ``recipes/configs/benchmark/`` (or those named by ``--runs``) with
``recipes/finetune.py`` on the same training sentences and the full test split, spaCy's own
NER (``recipes/spacy_ner.py``), the generative runs again without constrained decoding
(``llmner evaluate --constrained false``), and ``llmner compare`` over all of them. A run
whose ``metrics.json`` exists is not run again, so an interrupted benchmark continues.
"""

import argparse
import subprocess
import sys
from pathlib import Path

import yaml

HERE = Path(__file__).parent
CONFIGS = HERE / "configs" / "benchmark"


def make_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", required=True, help="folder with train.txt, dev.txt, test.txt")
    p.add_argument("--output_dir", default="runs/benchmark")
    p.add_argument("--max_train_samples", type=int, default=2000)
    p.add_argument("--max_eval_samples", type=int, default=200)
    p.add_argument("--max_predict_samples", type=int, default=None, help="default: all")
    p.add_argument("--runs", default="", help="comma list of config names (default: all)")
    p.add_argument("--spacy_seconds", type=int, default=300, help="0 skips spaCy")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument(
        "--unconstrained",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also score generative runs without constrained decoding",
    )
    return p


def run(cmd: list[str], log: Path) -> None:
    print("$", " ".join(cmd), f"> {log}", flush=True)
    with open(log, "w") as f:
        done = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT)
    if done.returncode != 0:
        print(f"  failed with status {done.returncode}; see {log}", flush=True)


def main(argv=None) -> int:
    args = make_parser().parse_args(argv)
    data, out = Path(args.data), Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    names = [n for n in args.runs.split(",") if n] or sorted(p.stem for p in CONFIGS.glob("*.yaml"))
    common = [
        "--dataset",
        str(data),
        "--max_train_samples",
        str(args.max_train_samples),
        "--max_eval_samples",
        str(args.max_eval_samples),
        "--seed",
        str(args.seed),
    ]
    if args.max_predict_samples:
        common += ["--max_predict_samples", str(args.max_predict_samples)]
    for name in names:
        target = out / name
        if not (target / "metrics.json").exists():
            run(
                [
                    sys.executable,
                    str(HERE / "finetune.py"),
                    "--config",
                    str(CONFIGS / f"{name}.yaml"),
                    "--output_dir",
                    str(target),
                    *common,
                ],
                out / f"{name}.log",
            )
        config = yaml.safe_load((CONFIGS / f"{name}.yaml").read_text())
        unconstrained = out / f"{name}-unconstrained"
        if (
            args.unconstrained
            and config.get("format") == "generative"
            and (target / "metrics.json").exists()
            and not (unconstrained / "metrics.json").exists()
        ):
            run(
                [
                    sys.executable,
                    "-m",
                    "llmner",
                    "evaluate",
                    "--run",
                    str(target),
                    "--data",
                    str(data),
                    "--constrained",
                    "false",
                    "--output",
                    str(unconstrained),
                ]
                + (
                    ["--max_samples", str(args.max_predict_samples)]
                    if args.max_predict_samples
                    else []
                ),
                out / f"{name}-unconstrained.log",
            )
    spacy_dir = out / "spacy"
    if args.spacy_seconds and not (spacy_dir / "metrics.json").exists():
        run(
            [
                sys.executable,
                str(HERE / "spacy_ner.py"),
                "--train_file",
                str(data / "train.txt"),
                "--validation_file",
                str(data / "dev.txt"),
                "--test_file",
                str(data / "test.txt"),
                "--output_dir",
                str(spacy_dir),
                "--max_train_samples",
                str(args.max_train_samples),
                "--max_seconds",
                str(args.spacy_seconds),
                "--seed",
                str(args.seed),
            ],
            out / "spacy.log",
        )
    done = [p for p in sorted(out.iterdir()) if (p / "metrics.json").exists()]
    run(
        [
            sys.executable,
            "-m",
            "llmner",
            "compare",
            *map(str, done),
            "--output",
            str(out / "report"),
        ],
        out / "compare.log",
    )
    print(f"report: {out / 'report' / 'report.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
