"""The benchmark's results as Markdown tables: training cases, then generation."""

from __future__ import annotations

__all__ = ["format_tables"]


def _num(value, digits: int = 0, scale: float = 1.0) -> str:
    if value is None:
        return "-"
    return f"{value * scale:,.{digits}f}"


def format_tables(results: dict) -> str:
    """Two Markdown tables (training, generation) from :func:`run_bench`'s results.

    Example:
        >>> r = {"cases": [{"size": "1b", "quantization": "4bit", "formulation": "tagging",
        ...      "seq_len": 128, "batch": 32, "status": "skipped"}]}
        >>> format_tables(r).splitlines()[2]
        '| 1b | 4bit | tagging | 128 | 32 | - | - | - | - | - | - | skipped |'
    """
    train = [
        "| size | quant | format | seq | batch | tokens/s | s/step | peak GiB | TFLOP/s (4N) "
        "| MFU 4N | MFU +attn | status |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
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
                f"| - | - | - | - | - | - | load: {status} |"
            )
        else:
            train.append(
                f"| {c['size']} | {c['quantization']} | {c['formulation']} | {c['seq_len']} | "
                f"{c.get('batch', '-')} | {_num(c.get('tokens_per_s'))} | "
                f"{_num(c.get('seconds_per_step'), 3)} | {_num(c.get('peak_allocated_gib'), 1)}"
                f" | {_num(c.get('model_tflops'), 0)} | {_num(c.get('mfu_model'), 1, 100)}"
                f"{'%' if c.get('mfu_model') else ''} | "
                f"{_num(c.get('mfu_with_attention'), 1, 100)}"
                f"{'%' if c.get('mfu_with_attention') else ''} | {status} |"
            )
    return "\n".join(train) + "\n\n" + "\n".join(gen) + "\n"
