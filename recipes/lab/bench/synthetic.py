"""Synthetic training features of an exact length, for throughput measurements.

Token ids are drawn uniformly from the model's vocabulary (never all zeros or one
repeated id). Tagging features carry a label on every token, as a sentence whose words
are single tokens would; generative features go through the generative format's own
:func:`~llmner.formats.generative.encode.encode_example` (prompt labelled ``-100``, the
answer kept).
"""

from __future__ import annotations

import torch

from llmner.formats.generative.encode import encode_example

__all__ = ["generative_features", "tagging_features"]


def tagging_features(
    n: int, seq_len: int, vocab_size: int, num_labels: int, seed: int = 0
) -> list[dict]:
    """``n`` token-classification features of exactly ``seq_len`` tokens.

    Example:
        >>> f = tagging_features(2, 8, 100, 5)
        >>> len(f), len(f[0]["input_ids"]), f[0]["length"]
        (2, 8, 8)
    """
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(3, vocab_size, (n, seq_len), generator=g).tolist()
    labels = torch.randint(0, num_labels, (n, seq_len), generator=g).tolist()
    return [
        {"input_ids": i, "attention_mask": [1] * seq_len, "labels": lab, "length": seq_len}
        for i, lab in zip(ids, labels)
    ]


def generative_features(
    n: int, seq_len: int, vocab_size: int, answer_len: int = 32, end_id: int = 1, seed: int = 0
) -> list[dict]:
    """``n`` causal-LM features of exactly ``seq_len`` tokens whose last ``answer_len``
    tokens (the answer and its end marker) carry labels; the prompt is ``-100``.

    Example:
        >>> f = generative_features(1, 8, 100, answer_len=3)[0]
        >>> f["labels"][:5], len(f["input_ids"])
        ([-100, -100, -100, -100, -100], 8)
    """
    answer_len = min(answer_len, seq_len - 1)
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(3, vocab_size, (n, seq_len), generator=g).tolist()
    out = []
    for row in ids:
        prompt, answer = row[: seq_len - answer_len], row[seq_len - answer_len : -1] + [end_id]
        out.append(encode_example(prompt, answer))
    return out
