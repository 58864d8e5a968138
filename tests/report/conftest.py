"""Synthetic run directories: random gold entities and predictions with chosen errors."""

from __future__ import annotations

import random

import pytest

from llmner.data.schemes import spans_to_tags, tags_to_spans
from llmner.report.runs import write_run

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


@pytest.fixture
def make_run(tmp_path):
    """Factory: ``make_run(name, gold, pred, **metrics)`` writes a run directory."""

    def make(name, gold, pred, config=None, **metrics):
        base = {
            "model": "tiny-llama",
            "format": "tagging",
            "quantization": "nf4",
            "num_train_sentences": 100,
            "train_seconds": 12.5,
            "train_tokens_per_second": 300.0,
            "eval_sentences_per_second": 40.0,
            "peak_rss_mb": 900.0,
            "trainable_parameters": 1_234_567,
            "seed": 0,
        }
        base.update(metrics)
        return write_run(tmp_path / name, gold, pred, metrics=base, config=config)

    return make
