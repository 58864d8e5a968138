"""``llmner evaluate``: re-score a saved run on any data with the same label set.

    llmner evaluate --run RUN_DIR --data PATH [--split test] [--output DIR]
    accelerate launch --multi_gpu --num_processes 2 -m llmner evaluate --run RUN_DIR --data PATH

With several processes each scores a contiguous shard; every sentence is scored once.
"""

from __future__ import annotations

import re
from pathlib import Path

from llmner.config import EVAL_DTYPE_NAMES

__all__ = ["register"]


def register(sub) -> None:
    p = sub.add_parser("evaluate", help="re-score a saved run on any data")
    p.add_argument("--run", required=True, help="a run directory (or its adapter/)")
    p.add_argument("--data", required=True, help="bundled name, folder, CoNLL or JSONL file")
    p.add_argument("--split", default="test", help="split of a named dataset or folder")
    p.add_argument("--output", default=None, help="where to write (default RUN/eval/NAME)")
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
        choices=EVAL_DTYPE_NAMES,
        default="float32",
        help="what the model computes in on the CPU (bfloat16: about twice as fast on CPUs "
        "with native bf16, at bf16's rounding; recorded as eval_dtype)",
    )
    p.set_defaults(func=run)


def run(args) -> int:
    from llmner import rundir
    from llmner.adapters.source import build_format_from, load_model, locate
    from llmner.data.loading import load_sentences
    from llmner.distributed import state as distributed_state
    from llmner.errors import InputError
    from llmner.eval.evaluate import evaluate

    source = locate(args.run)
    labels = source.labels
    is_named = not Path(args.data).is_file()
    sentences = load_sentences(args.data, split=args.split if is_named else None, labels=labels)
    if args.max_samples is not None:
        sentences = sentences[: args.max_samples]
    if not sentences:
        raise InputError("no sentences to score", path=args.data)
    model, tokenizer = load_model(source, dtype=args.dtype)
    constrained = None if args.constrained is None else args.constrained == "true"
    fmt = build_format_from(source, tokenizer, constrained=constrained)
    metrics, pred = evaluate(fmt, model, sentences, args.batch_size)
    eval_data = f"{args.data}:{args.split}" if is_named else str(args.data)
    options = fmt.describe()
    metrics.update(
        rundir.run_facts(source.meta, eval_data, options, distributed_state().num_processes)
    )
    metrics["eval_dtype"] = args.dtype
    run_dir = source.path.parent if source.path.name == "adapter" else source.path
    name = re.sub(
        r"[^A-Za-z0-9_.-]+", "_", f"{Path(args.data).name}-{args.split if is_named else 'file'}"
    )
    out = Path(args.output) if args.output else run_dir / "eval" / name
    if distributed_state().is_main_process:
        out.mkdir(parents=True, exist_ok=True)
        rundir.write_config(
            out,
            {
                **source.meta,
                "format_options": options,
                "evaluated_on": eval_data,
                "eval_dtype": args.dtype,
            },
        )
        rundir.write_predictions(
            out, [s.tokens for s in sentences], [s.tags for s in sentences], pred.tags
        )
        rundir.write_metrics(out, metrics)
        print(
            f"{out}: strict F1 {metrics['f1']:.4f} (P {metrics['precision']:.4f}, "
            f"R {metrics['recall']:.4f}) on {len(sentences)} sentences, per process "
            f"{metrics['eval_sentences_per_process']}"
        )
    return 0
