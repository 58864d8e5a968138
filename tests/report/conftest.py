"""Synthetic run directories: random gold entities and predictions with chosen errors."""

from __future__ import annotations

import random

from llmner.data.schemes import spans_to_tags, tags_to_spans

TYPES = ["PER", "LOC", "ORG"]


def synthetic_gold(n: int, seed: int = 0, length: int = 12) -> list[list[str]]:
    """``n`` sentences of ``length`` tokens, each with one to three entities."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        spans, pos = [], 0
        for _ in range(rng.randint(1, 3)):
            start = pos + rng.randint(0, 2)
            end = start + rng.randint(1, 2)
            if end > length:
                break
            spans.append((rng.choice(TYPES), start, end))
            pos = end + 1
        out.append(spans_to_tags(spans, length))
    return out


def corrupt(gold: list[list[str]], error_rate: float, seed: int = 1) -> list[list[str]]:
    """Predictions: each gold entity is dropped or given a wrong type with ``error_rate``."""
    rng = random.Random(seed)
    out = []
    for tags in gold:
        spans = []
        for etype, start, end in tags_to_spans(tags):
            r = rng.random()
            if r < error_rate / 2:
                continue
            if r < error_rate:
                etype = next(t for t in TYPES if t != etype)
            spans.append((etype, start, end))
        out.append(spans_to_tags(spans, len(tags)))
    return out
