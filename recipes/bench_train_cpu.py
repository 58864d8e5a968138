"""Training cost of a config on this machine: train tokens/s, evaluation sentences/s,
peak RSS and F1, over several seeds, each run in a fresh process.

    python recipes/bench_train_cpu.py --config recipes/configs/quickstart/decoder.yaml \\
        --name after --out runs/bench-train --seeds 13,14,15
    python recipes/bench_train_cpu.py --repo ../llmner-before --config ... --name before ...
    python recipes/bench_train_cpu.py --table runs/bench-train

Each seed is one ``recipes/finetune.py`` run of ``--repo`` (this checkout by default; an
older commit checked out elsewhere gives the "before" of a change), so peak memory is the
run's own. Runs whose ``metrics.json`` exists are kept (the bench resumes). ``NAME.json``
holds every run's figures and their medians; ``--table`` turns all of them into one
markdown table. Further ``--flag value`` pairs go to every run.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

KEYS = (
    "train_tokens_per_second",
    "train_seconds",
    "train_wall_seconds",
    "eval_sentences_per_second",
    "peak_rss_mb",
    "train_peak_rss_mb",
    "f1",
)


def run_seed(repo: Path, config: str, out: Path, seed: int, extra: list[str]) -> dict:
    """One fine-tuning run in a fresh process; its ``metrics.json``."""
    metrics = out / "metrics.json"
    if not metrics.exists():
        cmd = [sys.executable, "recipes/finetune.py", "--config", str(Path(config).resolve())]
        cmd += ["--output_dir", str(out.resolve()), "--seed", str(seed), *extra]
        env = {**os.environ, "PYTHONPATH": str(repo.resolve())}
        log = (out.parent / f"{out.name}.log").resolve()
        out.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "w", encoding="utf-8") as f:
            done = subprocess.run(cmd, cwd=repo, env=env, stdout=f, stderr=subprocess.STDOUT)
        if done.returncode != 0 or not metrics.exists():
            raise RuntimeError(f"run failed (exit {done.returncode}); see {log}")
    return json.loads(metrics.read_text(encoding="utf-8"))


def summarise(runs: list[dict]) -> dict:
    """Medians of the cost figures; mean and sd of F1."""
    out: dict = {}
    for key in KEYS:
        values = [r[key] for r in runs if r.get(key) is not None]
        if values:
            out[f"median_{key}"] = statistics.median(values)
    f1 = [r["f1"] for r in runs]
    out["mean_f1"] = statistics.fmean(f1)
    out["sd_f1"] = statistics.stdev(f1) if len(f1) > 1 else 0.0
    return out


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
    (out / f"{args.name}.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return result


def _commit(repo: Path) -> str:
    done = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=repo, capture_output=True, text=True
    )
    return done.stdout.strip()


def table(folder: Path) -> str:
    """One row per ``NAME.json`` in ``folder``."""
    rows = [
        "| run | commit | extra flags | train tok/s | eval sent/s | peak RSS "
        "| F1 (mean ± sd) | seeds |",
        "|---|---|---|---:|---:|---:|---|---:|",
    ]
    for path in sorted(folder.glob("*.json")):
        r = json.loads(path.read_text(encoding="utf-8"))
        rows.append(
            f"| {r['name']} | {r['repo_commit']} | {' '.join(r['extra_args']) or '–'} "
            f"| {r['median_train_tokens_per_second']:.0f} "
            f"| {r.get('median_eval_sentences_per_second', 0):.1f} "
            f"| {r['median_peak_rss_mb'] / 1024:.2f} GB "
            f"| {r['mean_f1']:.3f} ± {r['sd_f1']:.3f} | {len(r['runs'])} |"
        )
    return "\n".join(rows)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", help="a finetune YAML config")
    parser.add_argument("--name", default="run", help="the bench entry's name")
    parser.add_argument("--out", default="runs/bench-train")
    parser.add_argument("--seeds", default="13,14,15")
    parser.add_argument("--repo", default=str(Path(__file__).resolve().parent.parent))
    parser.add_argument("--table", metavar="DIR", help="print the table of a bench folder")
    args, extra = parser.parse_known_args(argv)
    if args.table:
        print(table(Path(args.table)))
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
