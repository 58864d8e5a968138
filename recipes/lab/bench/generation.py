"""Timing a generative format's batched generation against a naive one-sentence-at-a-time
loop, on real sentences (``recipes/bench_generation.py``)."""

from __future__ import annotations

import statistics
import time

from llmner.data.types import Sentence

__all__ = ["profile_generation", "time_generation"]


def _per_answer(stats: dict, answers: int) -> dict:
    """Forward passes, positions run, forced, drafted and accepted tokens of one run, per
    answer, and the share of generation's time in the model, in choosing, in drafting and
    in the rest (``time_split``)."""
    keys = ("forward_passes", "positions", "forced_tokens", "drafted_tokens", "accepted_tokens")
    out: dict = {f"{k}_per_answer": stats.get(k, 0) / max(answers, 1) for k in keys}
    total = stats.get("seconds", 0.0)
    if total > 0:
        parts = {
            k: stats.get(f"seconds_{k}", 0.0) / total for k in ("model", "choosing", "drafting")
        }
        out["time_split"] = {**parts, "other": 1.0 - sum(parts.values())}
    return out


def time_generation(
    fmt,
    model,
    sentences: list[Sentence],
    batch_sizes: list[int],
    repeats: int = 3,
    reference: dict[int, list[str]] | None = None,
    texts_out: dict[int, list[str]] | None = None,
) -> dict:
    """Sentences per second of ``fmt.generate_texts`` (median of ``repeats`` runs) for the
    naive path (one ``generate`` per sentence) and the batched path at each batch size,
    measured in the same process, and how many answers each batched run wrote differently
    from the naive one.

    Returns ``naive_sentences_per_s`` and, per batch size ``b``, ``batched`` entries
    ``{"batch_size": b, "sentences_per_s", "speedup", "answers_differing"}`` plus the
    model work of one run per answer (``forward_passes_per_answer``,
    ``positions_per_answer``, ``forced_tokens_per_answer``; the naive path's are under
    ``naive``); with a single batch size, its figures are also at the top level
    (``batched_sentences_per_s``, ``speedup``, ``answers_differing``). The first call
    (building the vocabulary trie and warming the kernels) is not timed.

    ``reference`` (batch size -> answers, as ``texts_out`` fills it in another call) adds
    ``answers_differing_from_reference`` to each batched entry and to the naive one: how to
    check that a faster decoding writes the answers of plain decoding.
    """
    sizes = list(batch_sizes)
    fmt.generate_texts(model, sentences[: max(sizes)], max(sizes))

    def timed(size: int) -> tuple[float, list[str], dict]:
        runs, texts, stats = [], [], {}
        for _ in range(repeats):
            start = time.perf_counter()
            texts = fmt.generate_texts(model, sentences, size, stats=stats)
            runs.append(len(sentences) / (time.perf_counter() - start))
        return statistics.median(runs), texts, _per_answer(stats, len(sentences))

    def differing(size: int, texts: list[str]) -> dict:
        if reference is None or size not in reference:
            return {}
        return {"answers_differing_from_reference": sum(map(str.__ne__, texts, reference[size]))}

    naive, naive_texts, naive_counts = timed(1)
    naive_counts.update(differing(1, naive_texts))
    result: dict = {"naive_sentences_per_s": naive, "naive": naive_counts, "batched": []}
    if texts_out is not None:
        texts_out[1] = naive_texts
    for size in sizes:
        speed, texts, counts = timed(size)
        if texts_out is not None:
            texts_out[size] = texts
        result["batched"].append(
            {
                "batch_size": size,
                "sentences_per_s": speed,
                "speedup": speed / naive,
                "answers_differing": sum(a != b for a, b in zip(texts, naive_texts)),
                **counts,
                **differing(size, texts),
            }
        )
    if len(sizes) == 1:
        only = result["batched"][0]
        result.update(
            batched_sentences_per_s=only["sentences_per_s"],
            speedup=only["speedup"],
            answers_differing=only["answers_differing"],
        )
    return result


def profile_generation(fmt, model, sentences: list[Sentence], batch_size: int, top: int = 8):
    """One batched ``generate_texts`` under ``torch.profiler``: the ``top`` operators by
    their own host time, each as a share of all operators' (``aten::mm`` is the weight
    products, ``aten::cat`` the KV cache growing, ``aten::_scaled_dot_product...`` the
    attention), with the run's split between model, choosing, drafting and the rest."""
    from torch.profiler import ProfilerActivity, profile

    fmt.generate_texts(model, sentences[:batch_size], batch_size)
    stats: dict = {}
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        fmt.generate_texts(model, sentences, batch_size, stats=stats)
    events = [e for e in prof.key_averages() if e.self_cpu_time_total > 0]
    total = sum(e.self_cpu_time_total for e in events)
    events.sort(key=lambda e: -e.self_cpu_time_total)
    return {
        "batch_size": batch_size,
        "lookahead": fmt.lookahead,
        "operators": [
            {"name": e.key, "share": e.self_cpu_time_total / total, "calls": e.count}
            for e in events[:top]
        ],
        **_per_answer(stats, len(sentences)),
    }
