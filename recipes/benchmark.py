"""The standard benchmark: peers and llmner's formulations on the same sentences, then a
comparison report.

    python recipes/benchmark.py --data ../shared/data/conll2003 --output_dir runs/benchmark \
        --max_train_samples 2000
    python recipes/benchmark.py --data ../shared/data/conll2003 --output_dir runs/conll-full \
        --max_train_samples all --runs smollm2_echo,minilm_full --seeds 42,13,7
    python recipes/benchmark.py --output_dir runs/conll-full --collect recipes/results/conll-full
    python recipes/benchmark.py --output_dir runs/conll-full --collect recipes/results/conll-full \
        --seeds 13 --bootstrap_file bootstrap-s13.json
    python recipes/benchmark.py --configs recipes/configs/matrix --data ../shared/data/conll2003 \
        ../shared/data/wnut17 ../shared/data/bc5cdr --output_dir runs/matrix \
        --max_train_samples all --max_eval_samples all --seeds 42,13,7 --spacy_seconds 1200

Runs every config in ``recipes/configs/benchmark/`` (or those named by ``--runs``) once per
seed with ``recipes/finetune.py`` on the same training sentences and the full test split
(run ``NAME-sSEED``), spaCy's own NER at each seed (``recipes/spacy_ner.py``, ``spacy-sSEED``,
trained for at most ``--spacy_seconds``), the generative runs again
without constrained decoding, and ``llmner compare`` over all of them.

A finished run (``metrics.json``) is reused only if its ``config.yaml`` holds the
configuration asked for; one that holds another stops the benchmark with a message. An
interrupted run continues from its newest checkpoint. A run that fails is named at the
end and the exit status is 1.

``--collect DEST`` copies each finished run's ``config.yaml`` and ``metrics.json`` (never
predictions, which hold dataset text) to ``DEST/runs/NAME/``, with ``sentence_counts.json``
(per test sentence: true positives, predicted and gold entities; no text), and writes
``DEST/bootstrap.json``: paired bootstraps of strict F1 between configurations over the
pooled seeds, the runs already collected in ``DEST`` included through their counts
(``--seeds`` restricts it to those seeds, ``--bootstrap_file`` names another file).
``recipes/results_tables.py`` builds the page's tables from those files.
"""

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
CONFIGS = HERE / "configs" / "benchmark"
# recorded facts that are not part of what was asked for
NOT_REQUESTED = ("output_dir", "resume_from_checkpoint", "defaults_applied", "max_length")


def _seeds(text: str) -> list[int]:
    """One ``--seeds`` word: a seed, or several joined by commas.

    Example:
        >>> _seeds("42,13"), _seeds("7")
        ([42, 13], [7])
    """
    try:
        return [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        msg = f"expected whole numbers joined by commas, got {text!r}"
        raise argparse.ArgumentTypeError(msg) from None


def seed_list(args) -> list[int] | None:
    """The seeds ``--seeds`` named, in order, once each; ``None`` where it was not given."""
    if args.seeds is None:
        return None
    return list(dict.fromkeys(s for word in args.seeds for s in word))


def make_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--data", nargs="+", help="folders with train.txt, dev.txt, test.txt; with several, "
        "each gets its own folder in --output_dir, named after it (the matrix)",
    )  # fmt: skip
    p.add_argument("--output_dir", default="runs/benchmark")
    p.add_argument("--max_train_samples", default="2000", help="a number, or 'all'")
    p.add_argument(
        "--max_eval_samples", default="200", help="validation sentences: a number, or 'all'"
    )
    p.add_argument("--max_predict_samples", type=int, default=None, help="default: all")
    p.add_argument(
        "--score_on",
        choices=["test", "dev"],
        default="test",
        help="the split runs are scored on; dev for choosing settings, test for reporting",
    )
    p.add_argument("--configs", default=str(CONFIGS), help="the folder of benchmark configs")
    p.add_argument("--runs", default="", help="comma list of config names (default: all)")
    p.add_argument(
        "--seeds", nargs="+", type=_seeds, default=None, metavar="SEED",
        help="each config runs once per seed (default: 42); with --collect, the seeds to "
        "bootstrap over (default: every seed); 42,13,7 or 42 13 7",
    )  # fmt: skip
    p.add_argument(
        "--spacy_seconds", type=int, default=300, help="spaCy's time cap per seed; 0 skips spaCy"
    )
    p.add_argument(
        "--unconstrained",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also score generative runs without constrained decoding",
    )
    p.add_argument("--collect", default=None, metavar="DEST", help="copy run files, then stop")
    p.add_argument("--bootstrap", type=int, default=1000, help="resamples for --collect")
    p.add_argument(
        "--bootstrap_file", default="bootstrap.json",
        help="--collect's bootstrap file in DEST (another name keeps an earlier one, e.g. "
        "for runs whose predictions are gone)",
    )  # fmt: skip
    return p


def run(cmd: list[str], log: Path) -> bool:
    print("$", " ".join(cmd), f">> {log}", flush=True)
    with open(log, "a") as f:
        done = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT)
    if done.returncode != 0:
        print(f"  failed with status {done.returncode}; see {log}", flush=True)
    return done.returncode == 0


def another_configuration(target: Path, diff: list[str]) -> SystemExit:
    """The benchmark's stop when a finished run holds another configuration than asked."""
    return SystemExit(
        f"benchmark: error: {target} holds another configuration (differs in "
        f"{', '.join(diff)}); expected the one asked for, or another --output_dir"
    )


def requested_config(config_file: Path, flags: list[str]) -> dict:
    """The resolved configuration ``finetune.py --config FILE FLAGS`` would record."""
    from llmner.config import parse_args, resolve_defaults
    from llmner.rundir import flat_config

    record = resolve_defaults(parse_args(["--config", str(config_file), *flags])).to_dict()
    options = record.pop("format_options")
    wanted = {**options, **flat_config(record)}
    return {k: v for k, v in wanted.items() if k not in NOT_REQUESTED}


def finetune(
    configs: Path, name: str, seed: int, common: list[str], out: Path
) -> tuple[Path, bool]:
    """Run (or reuse, or continue) one configuration at one seed."""
    from lab.seeds import config_differences

    from llmner import rundir
    from llmner.train.trainer import latest_checkpoint

    target = out / f"{name}-s{seed}"
    flags = [*common, "--seed", str(seed)]
    wanted = requested_config(configs / f"{name}.yaml", flags)
    if (target / rundir.METRICS_FILE).exists() or (target / rundir.CONFIG_FILE).exists():
        diff = config_differences(target, wanted)
        if diff:
            raise another_configuration(target, diff)
        if (target / rundir.METRICS_FILE).exists():
            return target, True
    # A run stopped before its first complete checkpoint starts again from the beginning.
    started = latest_checkpoint(target / "checkpoints") is not None
    resume = ["--resume_from_checkpoint", "latest"] if started else []
    cmd = [sys.executable, str(HERE / "finetune.py"), "--config", str(configs / f"{name}.yaml")]
    ok = run([*cmd, "--output_dir", str(target), *flags, *resume], out / f"{target.name}.log")
    return target, ok


def unconstrained(target: Path, data: Path, max_samples: int | None, out: Path) -> bool:
    dest = out / f"{target.name}-unconstrained"
    if (dest / "metrics.json").exists():
        return True
    cmd = [sys.executable, "-m", "llmner", "evaluate", "--run", str(target), "--data", str(data)]
    cmd += ["--constrained", "false", "--output", str(dest)]
    cmd += ["--max_samples", str(max_samples)] if max_samples else []
    return run(cmd, out / f"{dest.name}.log")


def spacy(args, data: Path, out: Path, seed: int) -> bool:
    """Run (or reuse) spaCy's own NER at one seed. A finished run is reused only if it
    was made with the time cap, training sentences and seed asked for; spaCy's runs do
    not resume, so an unfinished one starts again."""
    from lab.seeds import config_differences

    from llmner import rundir

    dest = out / f"spacy-s{seed}"
    if (dest / rundir.METRICS_FILE).exists():
        limit = None if args.max_train_samples == "all" else int(args.max_train_samples)
        wanted = {
            "max_seconds": float(args.spacy_seconds),
            "max_train_samples": limit,
            "seed": seed,
        }
        diff = config_differences(dest, wanted)
        if diff:
            raise another_configuration(dest, diff)
        return True
    cmd = [sys.executable, str(HERE / "spacy_ner.py"), "--train_file", str(data / "train.txt")]
    cmd += ["--validation_file", str(data / "dev.txt"), "--test_file", str(data / "test.txt")]
    cmd += ["--output_dir", str(dest), "--max_seconds", str(args.spacy_seconds)]
    cmd += ["--seed", str(seed)]
    if args.max_train_samples != "all":
        cmd += ["--max_train_samples", str(args.max_train_samples)]
    return run(cmd, out / f"{dest.name}.log")


def collect(
    out: Path,
    dest: Path,
    n_resamples: int,
    bootstrap_file: str = "bootstrap.json",
    seeds: list[int] | None = None,
) -> int:
    """Copy the finished runs' config and metrics, with their per-sentence counts;
    bootstrap configurations pairwise, over these runs and the runs already in ``dest``
    that carry counts, at every seed or at ``seeds`` only (a bootstrap of one seed, say,
    beside the pooled one in another ``bootstrap_file``). A pair already in
    ``bootstrap_file`` that can no longer be computed over all its seeds (its runs'
    predictions are gone and they have no counts, or ``seeds`` leaves some out) is kept as
    it was, and said so."""
    from lab.seeds import COUNTS_FILE, pooled_bootstrap, write_sentence_counts

    from llmner import rundir
    from llmner.io import write_json_atomic

    runs = sorted(p for p in out.iterdir() if (p / rundir.METRICS_FILE).is_file())
    if not runs:
        print(f"benchmark: error: no finished run in {out}", file=sys.stderr)
        return 2
    for run_dir in runs:
        target = dest / "runs" / run_dir.name
        target.mkdir(parents=True, exist_ok=True)
        if (run_dir / rundir.CONFIG_FILE).is_file():
            shutil.copyfile(run_dir / rundir.CONFIG_FILE, target / rundir.CONFIG_FILE)
        metrics = json.loads((run_dir / rundir.METRICS_FILE).read_text())
        done = _add_curve_from_log(metrics, run_dir / "log.csv")
        if done:
            print(f"{run_dir.name}: {done}")
        write_json_atomic(target / rundir.METRICS_FILE, metrics)
        if (run_dir / rundir.PREDICTIONS_FILE).is_file():
            write_sentence_counts(run_dir, target)
    # every collected run with counts: those just written and those collected before
    groups: dict[str, list[Path]] = {}
    wanted = None if seeds is None else {str(seed) for seed in seeds}
    for run_dir in sorted((dest / "runs").iterdir()):
        name, seed = rundir.split_run_name(run_dir.name)
        if (run_dir / COUNTS_FILE).is_file() and (wanted is None or seed in wanted):
            groups.setdefault(name, []).append(run_dir)
    pairs = {}
    names = sorted(groups)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            result = pooled_bootstrap(groups[a], groups[b], n_resamples=n_resamples)
            if result is not None:
                pairs[a, b] = {"a": a, "b": b, **result}
    path = dest / bootstrap_file
    for old in json.loads(path.read_text()) if path.is_file() else []:
        new = pairs.get((old["a"], old["b"]))
        if new is None or not set(old["seeds"]) <= set(new["seeds"]):
            pairs[old["a"], old["b"]] = old
            among = "is among --seeds and " if seeds is not None else ""
            print(f"kept {old['a']} against {old['b']} over seeds {old['seeds']} as it was: "
                  f"not every one of their runs {among}has counts in "
                  f"{dest / 'runs'}")  # fmt: skip
    path.write_text(json.dumps([pairs[k] for k in sorted(pairs)], indent=2) + "\n")
    print(f"{len(runs)} runs and {len(pairs)} bootstrap pairs in {dest}")
    return 0


def _add_curve_from_log(metrics: dict, log: Path) -> str | None:
    """Give a run made before ``metrics.json`` recorded ``validation_curve`` the curve its
    own ``log.csv`` holds, marked ``validation_curve_from: log.csv``, when the log is the
    run's: its best score is the ``best_validation_f1`` the run recorded and no score is
    logged past the run's last step. What was done, for the collect's output; ``None``
    when the run needs nothing."""
    from llmner.errors import InputError
    from llmner.train.trainer import validation_curve_from_log

    if "validation_curve" in metrics or not log.is_file():
        return None
    try:
        curve = validation_curve_from_log(log)
    except InputError as err:
        return f"no validation_curve: {err}"
    best, steps = metrics.get("best_validation_f1"), metrics.get("train_steps")
    if not curve or best is None:
        return None
    if abs(max(p["f1"] for p in curve) - best) > 1e-12 or (
        isinstance(steps, int) and curve[-1]["step"] > steps
    ):
        return f"no validation_curve: {log} does not match the run's best score or steps"
    metrics.update(validation_curve=curve, validation_curve_from="log.csv")
    return "validation_curve read from its log.csv"


def bench_data(args, data: Path, out: Path, configs: Path, names: list[str]) -> list[str]:
    """Every configuration at every seed (and spaCy) on one data folder; the runs that
    failed."""
    from llmner import rundir

    out.mkdir(parents=True, exist_ok=True)
    seeds = seed_list(args) or [42]
    common = ["--dataset", str(data)]
    if args.max_eval_samples != "all":
        common += ["--max_eval_samples", str(int(args.max_eval_samples))]
    if args.max_train_samples != "all":
        common += ["--max_train_samples", str(int(args.max_train_samples))]
    if args.max_predict_samples:
        common += ["--max_predict_samples", str(args.max_predict_samples)]
    if args.score_on == "dev":
        common += ["--test_file", str(data / "dev.txt")]
    failed = []
    for seed in seeds:
        for name in names:
            target, ok = finetune(configs, name, seed, common, out)
            if not ok:
                failed.append(target.name)
                continue
            generative = rundir.read_config(target).get("format") == "generative"
            if (
                args.unconstrained
                and generative
                and not unconstrained(target, data, args.max_predict_samples, out)
            ):
                failed.append(f"{target.name}-unconstrained")
        if args.spacy_seconds and not spacy(args, data, out, seed):
            failed.append(f"spacy-s{seed}")
    done = [str(p) for p in sorted(out.iterdir()) if (p / "metrics.json").exists()]
    if done:
        run(
            [sys.executable, "-m", "llmner", "compare", *done, "--output", str(out / "report")],
            out / "compare.log",
        )
        print(f"report: {out / 'report' / 'report.md'}")
    return failed


def main(argv=None) -> int:
    from lab.seeds import config_names

    args = make_parser().parse_args(argv)
    out = Path(args.output_dir)
    if args.collect:
        return collect(
            out, Path(args.collect), args.bootstrap, args.bootstrap_file, seed_list(args)
        )
    if not args.data:
        print("benchmark: error: --data is required (unless --collect)", file=sys.stderr)
        return 2
    folders = [Path(d) for d in args.data]
    missing = [str(d) for d in folders if not d.is_dir()]
    if missing:
        print(f"benchmark: error: no data folder {missing}", file=sys.stderr)
        return 2
    configs = Path(args.configs)
    names, unknown = config_names(configs, args.runs)
    if unknown:
        print(f"benchmark: error: no config {unknown} in {configs}", file=sys.stderr)
        return 2
    failed = []
    for data in folders:  # several data folders: one output folder each, named after it
        if len(folders) == 1:
            failed += bench_data(args, data, out, configs, names)
        else:
            failed += [
                f"{data.name}/{n}" for n in bench_data(args, data, out / data.name, configs, names)
            ]
    if failed:
        print(f"benchmark: {len(failed)} run(s) failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
