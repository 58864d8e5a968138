"""Where one training step's time and memory go, from ``torch.profiler``.

:func:`profile_steps` runs a model's training steps on real batches under the profiler
and :func:`breakdown` sorts the operators' own CPU time into the parts a LoRA step is
made of. Matrix products are told apart by their shapes: a product with the LoRA rank
as a dimension is LoRA's, one with the MLP width is the MLP's, one with the label count
is the head's, the rest are the attention projections. Python overhead is the step's
wall time that no operator accounts for.
"""

from __future__ import annotations

import time

import torch

from llmner.io import peak_rss_mb, reset_peak_rss

__all__ = ["breakdown", "profile_steps", "profile_table", "rss_mb"]

_MATMUL = ("aten::mm", "aten::addmm", "aten::bmm")
_GROUPS = (
    ("4-bit dequantization", ("dequantize",)),
    ("attention (scores, softmax, values)", ("scaled_dot_product", "flash_attention")),
    ("LoRA dropout (random masks)", ("bernoulli",)),
    ("dtype conversions", ("aten::copy_", "aten::_to_copy", "aten::to")),
    ("optimizer (AdamW)", ("adam", "foreach", "_fused")),
)


def rss_mb() -> float:
    """This process's resident memory now, in MB (Linux)."""
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _matmul_part(shapes: list, rank: int, mlp: int, labels: int) -> str:
    dims = {d for shape in shapes if shape for d in shape}
    if rank in dims:
        return "LoRA products"
    if labels in dims:
        return "head"
    if mlp in dims:
        return "MLP products (base, 4-bit or fp32)"
    return "attention projections (base)"


def breakdown(events, rank: int, mlp: int, labels: int) -> dict[str, float]:
    """Self CPU seconds per part, from ``profile.key_averages(group_by_input_shape=True)``."""
    parts: dict[str, float] = {}
    for e in events:
        name, seconds = e.key, e.self_cpu_time_total / 1e6
        if name in _MATMUL:
            part = _matmul_part(e.input_shapes, rank, mlp, labels)
        else:
            low = name.lower()
            part = next(
                (g for g, keys in _GROUPS if any(k in low for k in keys)),
                "other operators (norms, activations, adds, loss)",
            )
        parts[part] = parts.get(part, 0.0) + seconds
    return parts


def profile_steps(model, optimizer, batches: list[dict], collate, bf16: bool) -> dict:
    """Profile one training step per batch in ``batches`` (features, collated here).

    Returns the seconds of each phase (collation, forward, backward, optimizer), the
    operator breakdown, the tokens, and memory: resident before the steps and the
    steps' own peak.
    """
    from torch.profiler import ProfilerActivity, profile, record_function

    lora = next(m for n, m in model.named_modules() if n.endswith("lora_A.default"))
    rank = lora.out_features
    mlp = getattr(model.config, "intermediate_size", -1)
    labels = getattr(model.config, "num_labels", -1)
    phases = {"collation": 0.0, "forward": 0.0, "backward": 0.0, "optimizer": 0.0}
    tokens = padded = 0
    before = rss_mb()
    reset_peak_rss()
    model.train()
    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
        for features in batches:
            t0 = time.perf_counter()
            with record_function("collation"):
                batch = collate(features)
            t1 = time.perf_counter()
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                loss = model(**batch).loss
            t2 = time.perf_counter()
            loss.backward()
            t3 = time.perf_counter()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            t4 = time.perf_counter()
            for key, a, b in (
                ("collation", t0, t1),
                ("forward", t1, t2),
                ("backward", t2, t3),
                ("optimizer", t3, t4),
            ):
                phases[key] += b - a
            tokens += int(batch["attention_mask"].sum())
            padded += batch["attention_mask"].numel()
    events = prof.key_averages(group_by_input_shape=True)
    parts = breakdown(events, rank, mlp, labels)
    ops: dict[str, float] = {}
    for e in events:
        ops[e.key] = ops.get(e.key, 0.0) + e.self_cpu_time_total / 1e6
    top = dict(sorted(ops.items(), key=lambda kv: -kv[1])[:15])
    wall = sum(phases.values())
    parts["Python and framework overhead"] = max(wall - sum(parts.values()), 0.0)
    return {
        "steps": len(batches),
        "tokens": tokens,
        "padded_tokens": padded,
        "wall_seconds": wall,
        "phases_seconds": phases,
        "parts_seconds": dict(sorted(parts.items(), key=lambda kv: -kv[1])),
        "top_operators_seconds": top,
        "rss_before_steps_mb": before,
        "peak_rss_steps_mb": peak_rss_mb(),
    }


def profile_table(named: dict[str, dict]) -> str:
    """Markdown: each profile's operator time per 1,000 tokens and share, then memory.

    Example:
        >>> p = {"tokens": 1000, "wall_seconds": 2.0, "parts_seconds": {"head": 0.5},
        ...      "memory_mb": {"optimizer state": 8.0}}
        >>> profile_table({"a": p}).splitlines()[2]
        '| head | 0.50 s (25%) |'
    """
    names = list(named)
    parts: list[str] = []
    for p in named.values():
        parts += [k for k in p["parts_seconds"] if k not in parts]
    head = "| part | " + " | ".join(names) + " |"
    rows = [head, "|---|" + "---:|" * len(names)]
    for part in parts:
        cells = []
        for p in named.values():
            sec = p["parts_seconds"].get(part, 0.0) * 1000 / p["tokens"]
            cells.append(
                f"{sec:.2f} s ({100 * p['parts_seconds'].get(part, 0.0) / p['wall_seconds']:.0f}%)"
            )
        rows.append(f"| {part} | " + " | ".join(cells) + " |")
    rows.append(
        "| **step, per 1,000 tokens** | "
        + " | ".join(f"**{p['wall_seconds'] * 1000 / p['tokens']:.2f} s**" for p in named.values())
        + " |"
    )
    memory: list[str] = []
    for p in named.values():
        memory += [k for k in p["memory_mb"] if k not in memory]
    rows += ["", "| memory | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
    for what in memory:
        cells = [f"{p['memory_mb'].get(what, 0.0):,.0f} MB" for p in named.values()]
        rows.append(f"| {what} | " + " | ".join(cells) + " |")
    return "\n".join(rows)
