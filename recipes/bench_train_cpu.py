"""Training cost of a config on this machine: train tokens/s, evaluation sentences/s,
peak RSS and F1, over several seeds, each run in a fresh process.

    python recipes/bench_train_cpu.py --config recipes/configs/quickstart/decoder.yaml \\
        --name after --out runs/bench-train --seeds 13,14,15
    python recipes/bench_train_cpu.py --repo ../llmner-before --config ... --name before ...
    python recipes/bench_train_cpu.py --table runs/bench-train

Each seed is one ``recipes/finetune.py`` run of ``--repo`` (this checkout by default; an
older commit checked out elsewhere gives the "before" of a change), so peak memory is the
run's own. Runs whose ``metrics.json`` exists are kept (the bench resumes).
``OUT/NAME/bench.json`` holds every run's figures and their medians; ``--table`` turns
the runs' own ``metrics.json`` files into one markdown table, and ``--collect DEST``
copies the files a figure rests on (no predictions, no adapters). Further
``--flag value`` pairs go to every run.
"""

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from lab.bench.table import KEYS, summarise, train_cost_table


def run_seed(repo: Path, config: str, out: Path, seed: int, extra: list[str]) -> dict:
    """One fine-tuning run in a fresh process; its ``metrics.json``."""
    metrics = out / "metrics.json"
    if not metrics.exists():
        cmd = [sys.executable, "recipes/finetune.py", "--config", str(Path(config).resolve())]
        cmd += ["--output_dir", str(out.resolve()), "--seed", str(seed), *extra]
        path = [str(repo.resolve()), os.environ.get("PYTHONPATH", "")]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in path if p)}
        log = (out.parent / f"{out.name}.log").resolve()
        out.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "w", encoding="utf-8") as f:
            done = subprocess.run(cmd, cwd=repo, env=env, stdout=f, stderr=subprocess.STDOUT)
        if done.returncode != 0 or not metrics.exists():
            raise RuntimeError(f"run failed (exit {done.returncode}); see {log}")
    return json.loads(metrics.read_text(encoding="utf-8"))


def bench(args, extra: list[str]) -> dict:
    out = Path(args.out)
    seeds = [int(s) for s in args.seeds.split(",")]
    runs = []
    for seed in seeds:
        m = run_seed(Path(args.repo), args.config, out / args.name / f"seed{seed}", seed, extra)
        runs.append(
            {
                k: m.get(k)
                for k in (
                    *KEYS,
                    "seed",
                    "bf16",
                    "max_tokens_per_batch",
                    "num_layers",
                    "quantization",
                    "train_tokens",
                )
            }
        )
        print(
            f"{args.name} seed {seed}: {runs[-1]['train_tokens_per_second']:.0f} tokens/s, "
            f"F1 {m['f1']:.4f}, peak {m['peak_rss_mb']:.0f} MB",
            flush=True,
        )
    result = {
        "name": args.name,
        "config": args.config,
        "extra_args": extra,
        "repo_commit": _commit(Path(args.repo)),
        "runs": runs,
        **summarise(runs),
    }
    text = json.dumps(result, indent=2) + "\n"
    (out / args.name / "bench.json").write_text(text, encoding="utf-8")
    return result


def _commit(repo: Path) -> str:
    """The checkout's commit (``-dirty`` with uncommitted changes); ``unknown`` for a
    folder that is not the top of a git checkout."""
    if not (repo / ".git").exists():
        return "unknown"
    done = subprocess.run(
        ["git", "describe", "--always", "--dirty"], cwd=repo, capture_output=True, text=True
    )
    return done.stdout.strip() or "unknown"


def pooled_tags(entry: Path) -> tuple[list, list]:
    """Gold and predicted tags of every seed of a bench entry, pooled in seed order."""
    gold, pred = [], []
    for path in sorted(entry.glob("seed*/predictions.conll")):
        for block in path.read_text(encoding="utf-8").split("\n\n"):
            rows = [line.split() for line in block.splitlines() if line.strip()]
            if rows:
                gold.append([r[-2] for r in rows])
                pred.append([r[-1] for r in rows])
    return gold, pred


def bootstrap(out: Path, a: str, b: str) -> dict:
    """Paired bootstrap of B's strict F1 against A's over the pooled (seed, sentence)
    pairs of two bench entries run with the same seeds on the same sentences."""
    from llmner.report.bootstrap import paired_bootstrap

    gold_a, pred_a = pooled_tags(out / a)
    gold_b, pred_b = pooled_tags(out / b)
    if gold_a != gold_b or not gold_a:
        raise RuntimeError(f"{a} and {b} were not scored on the same sentences and seeds")
    r = paired_bootstrap(gold_a, pred_a, pred_b, n_resamples=1000, seed=0)
    return {
        "a": a,
        "b": b,
        "sentences": len(gold_a),
        "delta_f1": r.delta,
        "ci95": [r.low, r.high],
        "p_value": r.p_value,
    }


def collect(out: Path, dest: Path) -> None:
    """Copy what a published figure rests on (``bench.json``, each run's ``config.yaml``
    and ``metrics.json``; no predictions, no adapters) from ``out`` to ``dest``, with the
    machine's own paths made relative."""
    root = str(out.resolve())
    for meta in out.glob("*/bench.json"):
        for src in [
            meta,
            *meta.parent.glob("seed*/config.yaml"),
            *meta.parent.glob("seed*/metrics.json"),
        ]:
            target = dest / src.relative_to(out)
            target.parent.mkdir(parents=True, exist_ok=True)
            text = src.read_text(encoding="utf-8").replace(root, str(out))
            target.write_text(text, encoding="utf-8")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", help="a finetune YAML config")
    parser.add_argument("--name", default="run", help="the bench entry's name")
    parser.add_argument("--out", default="runs/bench-train")
    parser.add_argument("--seeds", default="13,14,15")
    parser.add_argument("--repo", default=str(Path(__file__).resolve().parent.parent))
    parser.add_argument("--table", metavar="DIR", help="print the table of a bench folder")
    parser.add_argument(
        "--collect", metavar="DEST", help="copy the run files of --out to DEST, then stop"
    )
    parser.add_argument(
        "--bootstrap", nargs=2, metavar=("A", "B"), help="paired bootstrap of two entries"
    )
    args, extra = parser.parse_known_args(argv)
    if args.bootstrap:
        print(json.dumps(bootstrap(Path(args.out), *args.bootstrap), indent=2))
        return 0
    if args.table:
        print(train_cost_table(args.table))
        return 0
    if args.collect:
        collect(Path(args.out), Path(args.collect))
        return 0
    if not args.config:
        parser.error("--config is required (or --table DIR)")
    try:
        bench(args, extra)
    except RuntimeError as e:
        print(f"bench_train_cpu: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
