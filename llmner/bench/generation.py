"""Timing a generative format's batched generation against a naive one-sentence-at-a-time
loop, on real sentences (``recipes/bench_generation.py``)."""

from __future__ import annotations

import statistics
import time

from llmner.data.types import Sentence

__all__ = ["time_generation"]


def time_generation(
    fmt, model, sentences: list[Sentence], batch_sizes: list[int], repeats: int = 3
) -> dict:
    """Sentences per second of ``fmt.generate_texts`` (median of ``repeats`` runs) for the
    naive path (one ``generate`` per sentence) and the batched path at each batch size,
    measured in the same process, and how many answers each batched run wrote differently
    from the naive one.

    Returns ``naive_sentences_per_s`` and, per batch size ``b``, ``batched`` entries
    ``{"batch_size": b, "sentences_per_s", "speedup", "answers_differing"}``; with a single
    batch size, its figures are also at the top level (``batched_sentences_per_s``,
    ``speedup``, ``answers_differing``). The first call (building the vocabulary trie and
    warming the kernels) is not timed.
    """
    sizes = list(batch_sizes)
    fmt.generate_texts(model, sentences[: max(sizes)], max(sizes))

    def timed(size: int) -> tuple[float, list[str]]:
        runs, texts = [], []
        for _ in range(repeats):
            start = time.perf_counter()
            texts = fmt.generate_texts(model, sentences, size)
            runs.append(len(sentences) / (time.perf_counter() - start))
        return statistics.median(runs), texts

    naive, naive_texts = timed(1)
    result: dict = {"naive_sentences_per_s": naive, "batched": []}
    for size in sizes:
        speed, texts = timed(size)
        result["batched"].append(
            {
                "batch_size": size,
                "sentences_per_s": speed,
                "speedup": speed / naive,
                "answers_differing": sum(a != b for a, b in zip(texts, naive_texts)),
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
