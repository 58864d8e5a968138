"""``llmner evaluate``: re-score a saved run on any data with the same label set.

    llmner evaluate --model RUN_DIR --data PATH [--split test] [--output DIR | --into_run]
    accelerate launch --multi_gpu --num_processes 2 -m llmner evaluate --model RUN_DIR ...

Without ``--output`` (or ``--into_run``) the scores are printed and nothing is written.
With several processes each scores a contiguous shard; every sentence is scored once.
"""

from __future__ import annotations

import re
from pathlib import Path

from llmner import rundir
from llmner.cli.common import (
    DTYPE_NAMES,
    add_model,
    add_quiet,
    announce,
    check_output_folder,
    locate_model,
    show_progress,
)
from llmner.data.loading import load_sentences
from llmner.errors import InputError
from llmner.rundir.source import build_format_from, load_model

__all__ = ["register"]


def register(sub) -> None:
    p = sub.add_parser(
        "evaluate",
        help="re-score a saved run on any data",
        description="Scores the model on DATA and prints strict F1, P and R. --output DIR "
        "writes config.yaml, predictions.conll and metrics.json there; --into_run writes "
        "them into the run directory (RUN/eval/DATA-SPLIT); with neither, nothing is written.",
    )
    add_model(p, "a run directory (or its adapter/), exported or merged folder")
    p.add_argument("--data", required=True, help="bundled name, folder, CoNLL or JSONL file")
    p.add_argument("--split", default="test", help="split of a named dataset or folder")
    p.add_argument("--output", default=None, help="the folder to write the scores into")
    p.add_argument(
        "--into_run",
        action="store_true",
        help="write into the run directory, RUN/eval/DATA-SPLIT (instead of --output)",
    )
    p.add_argument("--batch_size", type=int, default=32)
    p.add_argument("--max_samples", type=int, default=None)
    p.add_argument(
        "--constrained",
        choices=["true", "false"],
        default=None,
        help="generative runs: constrained decoding on or off (default: as trained)",
    )
    p.add_argument(
        "--dtype",
        choices=DTYPE_NAMES,
        default="float32",
        help="what the model computes in on the CPU (bfloat16: about twice as fast on CPUs "
        "with native bf16, at bf16's rounding; recorded as eval_dtype)",
    )
    add_quiet(p)
    p.set_defaults(func=run)


def _output(args, source, is_named: bool) -> Path | None:
    """Where to write: ``--output``, the run's ``eval/DATA-SPLIT`` with ``--into_run``, or
    nowhere; checked before anything loads."""
    if args.output and args.into_run:
        raise InputError("--output and --into_run both say where to write; give one")
    if args.into_run:
        run_dir = source.path.parent if source.path.name == "adapter" else source.path
        name = re.sub(
            r"[^A-Za-z0-9_.-]+", "_", f"{Path(args.data).name}-{args.split if is_named else 'file'}"
        )
        out = run_dir / "eval" / name
    elif args.output:
        out = Path(args.output)
    else:
        return None
    return check_output_folder(out, empty=False)


def run(args) -> int:
    # keeps llmner --help free of torch
    from llmner.distributed import state as distributed_state
    from llmner.eval.evaluate import evaluate

    source = locate_model(args.model)
    labels = source.labels
    is_named = not Path(args.data).is_file()
    out = _output(args, source, is_named)
    sentences = load_sentences(args.data, split=args.split if is_named else None, labels=labels)
    if args.max_samples is not None:
        sentences = sentences[: args.max_samples]
    if not sentences:
        raise InputError("no sentences to score", path=args.data)
    announce(args, source)
    model, tokenizer = load_model(source, dtype=args.dtype, verbose=show_progress(args))
    constrained = None if args.constrained is None else args.constrained == "true"
    fmt = build_format_from(source, tokenizer, constrained=constrained)
    metrics, pred = evaluate(fmt, model, sentences, args.batch_size)
    eval_data = f"{args.data}:{args.split}" if is_named else str(args.data)
    options = fmt.describe()
    metrics.update(
        rundir.run_facts(source.meta, eval_data, options, distributed_state().num_processes)
    )
    metrics["eval_dtype"] = args.dtype
    if not distributed_state().is_main_process:
        return 0
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        record = {**source.meta, "format_options": options, "evaluated_on": eval_data}
        rundir.write_config(out, {**record, "eval_dtype": args.dtype})
        rundir.write_predictions(
            out, [s.tokens for s in sentences], [s.tags for s in sentences], pred.tags
        )
        rundir.write_metrics(out, metrics)
    where = out if out is not None else "not written (--output DIR keeps it)"
    print(
        f"{where}: strict F1 {metrics['f1']:.4f} (P {metrics['precision']:.4f}, "
        f"R {metrics['recall']:.4f}) on {len(sentences)} sentences, per process "
        f"{metrics['eval_sentences_per_process']}"
    )
    return 0
