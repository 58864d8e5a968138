"""Learning curves: strict F1 against the number of training sentences.

    python recipes/learning_curve.py --data wnut17 --sizes 50,100,200,500,1000,all \
        --seeds 1,2,3 --output_dir runs/curve-wnut17
    python recipes/learning_curve.py --data /path/to/conll2003 --configs my_configs/ \
        --sizes 100,1000 --output_dir runs/curve --num_train_epochs 5   # flags pass through
    python recipes/learning_curve.py --output_dir runs/curve-wnut17 --collect recipes/results/curve

Each configuration (``--configs``/``NAME.yaml``, default ``recipes/configs/learning_curve/``:
SmolLM2 with echo, with and without augmentation, and the MiniLM encoder, up to 10 epochs
with early stopping; ``--runs`` picks some)
is trained once per size and seed on the first SIZE training sentences (nested subsets:
each size holds the smaller ones), with ``recipes/finetune.py``, into
``OUTPUT_DIR/nSIZE/NAME-sSEED``; finished runs are reused only for the configuration they
ran, as in the benchmark. Flags this recipe does not know go to ``finetune.py`` unchanged.
It then writes ``learning_curve.md`` (one row per configuration and size: F1 as mean ± sd
over the seeds) and ``learning_curve.png`` beside the runs.

``--collect DEST`` copies each run's ``config.yaml`` and ``metrics.json`` to
``DEST/nSIZE/runs/NAME-sSEED`` with the benchmark's paired bootstraps between
configurations at each size (``DEST/nSIZE/bootstrap.json``), and the table and plot.
"""

import argparse
import sys
from pathlib import Path

from benchmark import HERE, collect, finetune
from lab.pages import curve_table
from lab.seeds import config_names

from llmner.errors import InputError
from llmner.report.curves import curve_points, curve_runs
from llmner.report.plots import plot_learning_curve

CONFIGS = HERE / "configs" / "learning_curve"


def make_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="Other flags are passed to recipes/finetune.py.",
    )
    p.add_argument("--data", help="a bundled dataset name or a folder of train/dev/test.txt")
    p.add_argument("--output_dir", default="runs/learning_curve")
    p.add_argument("--sizes", default="50,100,200,500,1000,all", help="comma list; 'all'")
    p.add_argument("--configs", default=str(CONFIGS), help="the folder of configs")
    p.add_argument("--runs", default="", help="comma list of config names (default: all)")
    p.add_argument("--seeds", default="42", help="comma list; each point runs once per seed")
    p.add_argument("--max_eval_samples", type=int, default=200)
    p.add_argument("--max_predict_samples", type=int, default=None, help="default: all")
    p.add_argument("--collect", default=None, metavar="DEST", help="copy run files, then stop")
    p.add_argument("--bootstrap", type=int, default=1000, help="resamples for --collect")
    return p


def sizes_of(text: str) -> list[str]:
    """``"50,100,all"`` -> ``["50", "100", "all"]``, each checked."""
    sizes = [s.strip() for s in text.split(",") if s.strip()]
    bad = [s for s in sizes if s != "all" and not (s.isdigit() and int(s) > 0)]
    if bad or not sizes:
        raise InputError(f"--sizes {text!r}: expected a comma list of positive numbers or 'all'")
    return sizes


def write_curve(out: Path) -> None:
    """``learning_curve.md`` and ``learning_curve.png`` from the runs under ``out``."""
    (out / "learning_curve.md").write_text(curve_table(out) + "\n", encoding="utf-8")
    plot_learning_curve(curve_points(curve_runs(out)), out / "learning_curve.png")
    print(f"learning curve: {out / 'learning_curve.md'}, {out / 'learning_curve.png'}")


def collect_curve(out: Path, dest: Path, n_resamples: int) -> int:
    """The benchmark's ``--collect`` for each size, then the table and plot in ``dest``."""
    sizes = sorted(p for p in out.glob("n*") if p.is_dir())
    for size_dir in sizes:
        if collect(size_dir, dest / size_dir.name, n_resamples) != 0:
            return 2
    write_curve(dest)
    return 0


def run_points(configs: Path, names, sizes, seeds: str, common, out: Path) -> list[str]:
    """Train (or reuse) every configuration at every size and seed; the failed runs."""
    failed = []
    for size in sizes:
        flags = [*common, *([] if size == "all" else ["--max_train_samples", size])]
        folder = out / f"n{size}"
        folder.mkdir(parents=True, exist_ok=True)
        for seed in [int(s) for s in seeds.split(",") if s]:
            for name in names:
                target, ok = finetune(configs, name, seed, flags, folder)
                if not ok:
                    failed.append(f"{folder.name}/{target.name}")
    return failed


def main(argv=None) -> int:
    args, finetune_flags = make_parser().parse_known_args(argv)
    out = Path(args.output_dir)
    try:
        if args.collect:
            return collect_curve(out, Path(args.collect), args.bootstrap)
        if not args.data:
            raise InputError("--data is required (unless --collect)")
        sizes = sizes_of(args.sizes)
    except InputError as e:
        print(f"learning_curve: error: {e}", file=sys.stderr)
        return 2
    configs = Path(args.configs)
    names, unknown = config_names(configs, args.runs)
    if unknown:
        print(f"learning_curve: error: no config {unknown} in {configs}", file=sys.stderr)
        return 2
    common = ["--dataset", args.data, "--max_eval_samples", str(args.max_eval_samples)]
    if args.max_predict_samples:
        common += ["--max_predict_samples", str(args.max_predict_samples)]
    common += finetune_flags
    try:
        failed = run_points(configs, names, sizes, args.seeds, common, out)
    except InputError as e:  # e.g. a flag finetune.py does not know
        print(f"learning_curve: error: {e}", file=sys.stderr)
        return 2
    if curve_runs(out):
        write_curve(out)
    if failed:
        print(f"learning_curve: {len(failed)} run(s) failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
