"""Benchmark results as Markdown tables: training cases, generation cases, and batched
against naive generation (``recipes/bench_generation.py``)."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

__all__ = [
    "DATA_FLAGS",
    "KEYS",
    "format_tables",
    "generation_table",
    "integrations_table",
    "serve_table",
    "shown_args",
    "summarise",
    "train_cost_table",
]


def _num(value, digits: int = 0, scale: float = 1.0) -> str:
    if value is None:
        return "-"
    return f"{value * scale:,.{digits}f}"


def format_tables(results: dict) -> str:
    """Markdown tables (training, generation) from :func:`run_bench`'s results; a table
    with no case is left out.

    Example:
        >>> r = {"cases": [{"size": "1b", "quantization": "4bit", "formulation": "tagging",
        ...      "seq_len": 128, "batch": 32, "status": "skipped"}]}
        >>> format_tables(r).splitlines()[2]
        '| 1b | 4bit | tagging | 128 | 32 | - | - | - | - | - | - | - | skipped |'
    """
    train = [
        "| size | quant | format | seq | batch | tokens/s | s/step | peak GiB | weights GiB "
        "| TFLOP/s (4N) | MFU 4N | MFU +attn | status |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    gen = [
        "| size | quant | prompts x len | new tokens | sentences/s | new tokens/s | peak GiB "
        "| status |",
        "|---|---|---|---:|---:|---:|---:|---|",
    ]
    for c in results["cases"]:
        status = c["status"] + (
            f" ({c['reason']})" if c.get("reason") and c["status"] != "skipped" else ""
        )
        if c.get("kind") == "generation":
            gen.append(
                f"| {c['size']} | {c['quantization']} | {c.get('prompts', '-')} x "
                f"{c.get('prompt_len', '-')} | {c.get('new_tokens_written', '-')} | "
                f"{_num(c.get('sentences_per_s'), 1)} | {_num(c.get('new_tokens_per_s'))} | "
                f"{_num(c.get('generation_peak_allocated_gib'), 1)} | {status} |"
            )
        elif c.get("kind") == "load":
            train.append(
                f"| {c['size']} | {c['quantization']} | {c['formulation']} | - | - "
                f"| - | - | - | - | - | - | - | load: {status} |"
            )
        else:
            train.append(
                f"| {c['size']} | {c['quantization']} | {c['formulation']} | {c['seq_len']} | "
                f"{c.get('batch', '-')} | {_num(c.get('tokens_per_s'))} | "
                f"{_num(c.get('seconds_per_step'), 3)} | {_num(c.get('peak_allocated_gib'), 1)}"
                f" | {_num(c.get('model_memory_gib'), 1)}"
                f" | {_num(c.get('model_tflops'), 0)} | {_num(c.get('mfu_model'), 1, 100)}"
                f"{'%' if c.get('mfu_model') else ''} | "
                f"{_num(c.get('mfu_with_attention'), 1, 100)}"
                f"{'%' if c.get('mfu_with_attention') else ''} | {status} |"
            )
    tables = [t for t in (train, gen) if len(t) > 2]
    return "\n\n".join("\n".join(t) for t in tables) + "\n"


def _prefix(result: dict, default: bool | None) -> str | None:
    reuse = result.get("reuse_prefix", default)
    if reuse is None:
        return None
    return "computed once" if reuse else "recomputed for every row"


def generation_table(result: dict) -> str:
    """Batched against naive generation, from ``recipes/bench_generation.py``'s JSON: one
    row for the naive loop and one per batch size, then the same without the shared-prefix
    cache when it was timed too. The prefix column appears only where the file says
    whether the cache was on.

    Example:
        >>> r = {"sentences": 4, "naive_sentences_per_s": 0.5, "reuse_prefix": True,
        ...      "batched": [{"batch_size": 4, "sentences_per_s": 2.0, "speedup": 4.0,
        ...                   "answers_differing": 0}]}
        >>> print(generation_table(r))
        | path | shared prompt prefix | sentences/s | speed-up over naive | answers differing from naive |
        |---|---|---:|---:|---:|
        | naive, one sentence per `generate` | computed once | 0.50 | 1.0x | - |
        | batched, 4 per batch | computed once | 2.00 | 4.0x | 0 of 4 |
    """  # noqa: E501
    blocks = [(result, _prefix(result, True if "without_prefix_reuse" in result else None))]
    if "without_prefix_reuse" in result:
        blocks.append((result["without_prefix_reuse"], _prefix({}, False)))
    known = all(prefix is not None for _, prefix in blocks)
    head = ["path", *(["shared prompt prefix"] if known else []), "sentences/s"]
    head += ["speed-up over naive", "answers differing from naive"]
    lines = [f"| {' | '.join(head)} |", "|---|" + ("---|" if known else "") + "---:|---:|---:|"]
    n = result.get("sentences")
    for block, prefix in blocks:
        cells = [["naive, one sentence per `generate`", block["naive_sentences_per_s"], 1.0, None]]
        for b in block["batched"]:
            cells.append(
                [f"batched, {b['batch_size']} per batch", b["sentences_per_s"], b["speedup"],
                 f"{b['answers_differing']} of {n}" if n else str(b["answers_differing"])]
            )  # fmt: skip
        for path, speed, speedup, differing in cells:
            row = [path, *([prefix] if known else []), f"{speed:.2f}", f"{speedup:.1f}x"]
            lines.append(f"| {' | '.join([*row, differing or '-'])} |")
    return "\n".join(lines)


def decoding_table(result: dict) -> str:
    """Plain against speculative decoding (``--lookahead``), from
    ``recipes/bench_generation.py``'s JSON: per lookahead and path, the speed, the model
    work per answer and the answers that differ from the same path at lookahead 0.

    Example:
        >>> plain = {"naive_sentences_per_s": 0.5, "batched": [{"batch_size": 4,
        ...     "sentences_per_s": 2.0, "forward_passes_per_answer": 9.0,
        ...     "positions_per_answer": 30.0}],
        ...     "naive": {"forward_passes_per_answer": 28.0, "positions_per_answer": 28.0}}
        >>> fast = {"lookahead": 4, "naive_sentences_per_s": 1.0,
        ...     "naive": {"forward_passes_per_answer": 7.0, "positions_per_answer": 35.0,
        ...               "drafted_tokens_per_answer": 26.0, "accepted_tokens_per_answer": 21.0,
        ...               "answers_differing_from_reference": 0},
        ...     "batched": [{"batch_size": 4, "sentences_per_s": 2.5,
        ...                  "forward_passes_per_answer": 2.0, "positions_per_answer": 40.0,
        ...                  "drafted_tokens_per_answer": 26.0,
        ...                  "accepted_tokens_per_answer": 21.0,
        ...                  "answers_differing_from_reference": 0}]}
        >>> print(decoding_table({**plain, "sentences": 4, "with_lookahead": [fast]}))
        | lookahead | path | sentences/s | forward passes per answer | positions per answer | drafted tokens kept | answers differing from lookahead 0 |
        |---:|---|---:|---:|---:|---:|---:|
        | 0 | one sentence per pass | 0.50 | 28.0 | 28.0 | - | - |
        | 0 | 4 per batch | 2.00 | 9.0 | 30.0 | - | - |
        | 4 | one sentence per pass | 1.00 | 7.0 | 35.0 | 21.0 of 26.0 | 0 of 4 |
        | 4 | 4 per batch | 2.50 | 2.0 | 40.0 | 21.0 of 26.0 | 0 of 4 |
    """  # noqa: E501
    head = ["lookahead", "path", "sentences/s", "forward passes per answer"]
    head += ["positions per answer", "drafted tokens kept", "answers differing from lookahead 0"]
    lines = [f"| {' | '.join(head)} |", "|---:|---|---:|---:|---:|---:|---:|"]
    n = result.get("sentences")
    for block in [result, *result.get("with_lookahead", [])]:
        k = block.get("lookahead", 0)
        paths = [("one sentence per pass", block["naive_sentences_per_s"], block["naive"])]
        paths += [
            (f"{b['batch_size']} per batch", b["sentences_per_s"], b) for b in block["batched"]
        ]
        for path, speed, work in paths:
            drafted = work.get("drafted_tokens_per_answer", 0.0)
            kept = (
                f"{work.get('accepted_tokens_per_answer', 0.0):.1f} of {drafted:.1f}"
                if drafted
                else "-"
            )
            differing = work.get("answers_differing_from_reference")
            differing = "-" if differing is None else f"{differing} of {n}" if n else str(differing)
            row = [str(k), path, f"{speed:.2f}", f"{work['forward_passes_per_answer']:.1f}"]
            row += [f"{work['positions_per_answer']:.1f}", kept, differing]
            lines.append(f"| {' | '.join(row)} |")
    return "\n".join(lines)


def generation_profile_table(result: dict) -> str:
    """Where one batched generation's host time went, per lookahead, from
    ``recipes/bench_generation.py --profile``'s JSON: the split between the model's
    forward passes, choosing under the automata, drafting and the rest, then the largest
    operators' shares of all operator time.

    Example:
        >>> p = {"batch_size": 4, "lookahead": 0, "time_split": {"model": 0.9,
        ...      "choosing": 0.05, "drafting": 0.0, "other": 0.05},
        ...      "operators": [{"name": "aten::mm", "share": 0.7, "calls": 10}]}
        >>> print(generation_profile_table({"profiles": [p]}))
        | lookahead | batch | model | choosing | drafting | other | largest operators |
        |---:|---:|---:|---:|---:|---:|---|
        | 0 | 4 | 90% | 5% | 0% | 5% | `aten::mm` 70% |
    """
    lines = [
        "| lookahead | batch | model | choosing | drafting | other | largest operators |",
        "|---:|---:|---:|---:|---:|---:|---|",
    ]
    for p in result["profiles"]:
        split = p["time_split"]
        shares = [f"{split[k]:.0%}" for k in ("model", "choosing", "drafting", "other")]
        ops = ", ".join(f"`{o['name']}` {o['share']:.0%}" for o in p["operators"][:4])
        row = [str(p["lookahead"]), str(p["batch_size"]), *shares, ops]
        lines.append(f"| {' | '.join(row)} |")
    return "\n".join(lines)


#: The figures of a run that a bench entry summarises.
KEYS = (
    "train_tokens_per_second",
    "train_seconds",
    "train_wall_seconds",
    "eval_sentences_per_second",
    "peak_rss_mb",
    "train_peak_rss_mb",
    "peak_gpu_memory_mb",
    "f1",
)


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


DATA_FLAGS = ("--dataset", "--data", "--train_file", "--validation_file", "--test_file")


def shown_args(args: list[str]) -> str:
    """The flags of a bench entry as its table shows them: a data path (the value of one of
    ``DATA_FLAGS`` that names a folder or file by path) as ``/path/to/NAME``, the way the
    pages write their commands, since the path is the measuring machine's, not the
    reader's; a bundled data set's name stays as it is.

    Example:
        >>> shown_args(["--dataset", "../data/conll2003", "--max_steps", "30"])
        '--dataset /path/to/conll2003 --max_steps 30'
        >>> shown_args(["--dataset=/srv/wnut17/", "--dataset", "bc5cdr"])
        '--dataset=/path/to/wnut17 --dataset bc5cdr'
        >>> shown_args([])
        '–'
    """
    shown, after_flag = [], False
    for arg in args:
        flag, eq, value = arg.partition("=")
        if after_flag and "/" in arg:
            arg = f"/path/to/{Path(arg).name}"
        elif eq and flag in DATA_FLAGS and "/" in value:
            arg = f"{flag}=/path/to/{Path(value).name}"
        shown.append(arg)
        after_flag = arg in DATA_FLAGS
    return " ".join(shown) or "–"


def train_cost_table(folder: str | Path) -> str:
    """One row per bench entry in ``folder`` (``NAME/bench.json`` with ``NAME/seed*/``
    run directories), computed from the runs' own ``metrics.json``: medians over the
    seeds of the training time (optimizer steps only), tokens/s, evaluation sentences/s and
    peak memory; F1 as mean ± sd."""
    entries = sorted(Path(folder).glob("*/bench.json"))
    metas = [json.loads(p.read_text(encoding="utf-8")) for p in entries]
    gpu = any(m["runs"][0].get("peak_gpu_memory_mb") for m in metas)
    memory = "peak GPU memory" if gpu else "peak RSS"
    rows = [
        "| run | code | flags beyond the config | train time | train tok/s | eval sent/s | "
        f"{memory} | test F1 (mean ± sd) | seeds |",
        "|---|---|---|---:|---:|---:|---:|---|---:|",
    ]
    for meta_path, meta in zip(entries, metas):
        runs = [
            json.loads(p.read_text(encoding="utf-8"))
            for p in sorted(meta_path.parent.glob("seed*/metrics.json"))
        ]
        r = summarise(runs)
        rows.append(
            f"| {meta['name']} | {meta['repo_commit']} | {shown_args(meta['extra_args'])} "
            f"| {r['median_train_seconds']:.0f} s "
            f"| {r['median_train_tokens_per_second']:.0f} "
            f"| {r.get('median_eval_sentences_per_second', 0):.1f} "
            f"| {r['median_peak_gpu_memory_mb' if gpu else 'median_peak_rss_mb'] / 1024:.2f} GiB "
            f"| {r['mean_f1']:.3f} ± {r['sd_f1']:.3f} | {len(runs)} |"
        )
    return "\n".join(rows)


def _agree(d: dict) -> str:
    return "–" if d.get("entity_agreement") is None else f"{d['entity_agreement']:.3f}"


def integrations_table(result: dict) -> str:
    """``recipes/integrations.py``'s record: each way of running the adapter against
    ``llmner.load(...).predict`` (or, for merges, against the adapter itself)."""
    from llmner.markdown import markdown_table

    rows = []
    for base, check in result.get("merge", {}).items():
        label = "dequantized NF4" if base == "quantized" else "original"
        rows.append((
            f"merged, {label} base", f"{check['sentences']:,}",
            f"{check['identical_sentences']:,} / {check['sentences']:,}",
            check["adapter_entities"], check["merged_entities"], check["shared_entities"],
            _agree(check), f"{check['adapter_f1']:.4f} / {check['merged_f1']:.4f}",
        ))  # fmt: skip
    pipe = result.get("pipeline")
    if pipe:
        for key, label in (("against_default_decoding", "viterbi, raw text"),
                           ("against_argmax_decoding", "argmax, raw text"),
                           ("words_against_default_decoding", "viterbi, file's words"),
                           ("words_against_argmax_decoding", "argmax, file's words")):  # fmt: skip
            if key not in pipe:
                continue
            c = pipe[key]
            rows.append((
                f"transformers pipeline (llmner {label})", pipe["sentences"], "–",
                c["llmner_entities"], c["other_entities"], c["shared_entities"], _agree(c), "–",
            ))  # fmt: skip
    sp = result.get("spacy")
    if sp:
        miss = (sp.get("component") or {}).get("misaligned")
        rows.append((
            "spaCy component" + (f" ({miss} misaligned)" if miss is not None else ""),
            sp["sentences"], "–", sp["llmner_entities"], sp["other_entities"],
            sp["shared_entities"], _agree(sp), "–",
        ))  # fmt: skip
    headers = ("against llmner", "sentences", "identical sentences", "llmner entities",
               "its entities", "shared", "entity agreement", "F1 llmner / it")  # fmt: skip
    return "\n".join(markdown_table((headers, rows)))


def serve_table(results: list[dict]) -> str:
    """``recipes/serve_load.py``'s records, one row each: served against offline
    sentences/s."""
    from llmner.markdown import markdown_table

    rows = []
    for result in results:
        s, off = result["served"], result.get("offline") or {}
        rows.append((
            result["clients"], result.get("texts_per_request", 1), f"{s['seconds']:.0f} s",
            f"{s['requests']:,}", s["failed_requests"], f"{s['requests_per_s']:.1f}",
            f"{s['sentences_per_s']:.1f}", f"{s['latency_ms']['p50']:.0f} ms",
            f"{s['latency_ms']['p99']:.0f} ms",
            f"{s['texts_per_batch']:.1f}" if s.get("texts_per_batch") else "–",
            f"{off['sentences_per_s']:.1f}" if off else "–",
            f"{result['served_vs_offline']:.2f}" if result.get("served_vs_offline") else "–",
        ))  # fmt: skip
    headers = ("clients", "texts/request", "time", "requests", "failed", "requests/s",
               "sentences/s", "p50", "p99", "texts/batch", "offline sentences/s",
               "served / offline")  # fmt: skip
    return "\n".join(markdown_table((headers, rows)))
