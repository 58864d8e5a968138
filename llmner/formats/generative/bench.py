"""Timing batched generation against a naive one-sentence-at-a-time loop."""

from __future__ import annotations

import statistics
import time

from llmner.data.types import Sentence

__all__ = ["time_generation"]


def time_generation(fmt, model, sentences: list[Sentence], batch_size: int, repeats: int = 3):
    """Sentences per second of ``fmt.generate_texts`` (median of ``repeats`` runs) for the
    batched path (``batch_size``) and the naive path (one ``generate`` per sentence), and
    how many answers the two paths wrote differently.

    The first call (building the vocabulary trie) is not timed.
    """
    fmt.generate_texts(model, sentences[:1], 1)
    result = {}
    texts = {}
    for label, size in (("batched", batch_size), ("naive", 1)):
        runs = []
        for _ in range(repeats):
            start = time.perf_counter()
            texts[label] = fmt.generate_texts(model, sentences, size)
            runs.append(len(sentences) / (time.perf_counter() - start))
        result[f"{label}_sentences_per_s"] = statistics.median(runs)
    result["speedup"] = result["batched_sentences_per_s"] / result["naive_sentences_per_s"]
    result["answers_differing"] = sum(a != b for a, b in zip(texts["batched"], texts["naive"]))
    return result
