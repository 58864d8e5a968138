"""Batches bounded by tokens, not sentences.

A batch of ``n`` examples padded to the longest costs ``n * longest`` tokens of memory
and compute. :func:`pack_by_tokens` fills batches of length-sorted examples up to a
token budget, so peak memory is set by the budget, not by the longest sentence times the
batch size. :class:`TokenBudgetSampler` does the same for training, with as many
micro-batches per optimizer step as keep the effective batch in tokens.

Example:
    >>> pack_by_tokens([5, 3, 3, 2, 1], max_tokens=8)
    [[0], [1, 2], [3, 4]]
"""

from __future__ import annotations

import math

import torch
from torch.utils.data import Sampler

__all__ = ["TokenBudgetSampler", "accumulation_steps_for", "pack_by_tokens", "padded_tokens"]


def padded_tokens(lengths: list[int]) -> int:
    """Tokens a batch of these lengths costs once padded to its longest.

    Example:
        >>> padded_tokens([3, 5, 1])
        15
    """
    return len(lengths) * max(lengths, default=0)


def pack_by_tokens(
    lengths: list[int], max_tokens: int, max_examples: int | None = None
) -> list[list[int]]:
    """Consecutive batches of indices, in the given order, each costing at most
    ``max_tokens`` once padded (and holding at most ``max_examples``).

    Sort ``lengths`` first for little padding. An example longer than the budget is an
    error: nothing is cut or dropped here.

    Example:
        >>> pack_by_tokens([4, 4, 4, 4], max_tokens=8, max_examples=None)
        [[0, 1], [2, 3]]
        >>> pack_by_tokens([1, 1, 1], max_tokens=100, max_examples=2)
        [[0, 1], [2]]
    """
    batches: list[list[int]] = []
    current: list[int] = []
    longest = 0
    for i, n in enumerate(lengths):
        if n > max_tokens:
            raise ValueError(f"an example of {n} tokens exceeds the budget of {max_tokens}")
        wider = max(longest, n)
        full = max_examples is not None and len(current) >= max_examples
        if current and (wider * (len(current) + 1) > max_tokens or full):
            batches.append(current)
            current, wider = [], n
        current.append(i)
        longest = wider
    if current:
        batches.append(current)
    return batches


def accumulation_steps_for(lengths: list[int], sentences_per_step: int, max_tokens: int) -> int:
    """Micro-batches per optimizer step that keep the effective batch in tokens: a step
    of ``sentences_per_step`` examples of average length holds about this many budgets.

    Example:
        >>> accumulation_steps_for([60, 80], sentences_per_step=16, max_tokens=512)
        2
    """
    mean = sum(lengths) / max(len(lengths), 1)
    return max(1, round(sentences_per_step * mean / max_tokens))


class TokenBudgetSampler(Sampler[list[int]]):
    """Yields micro-batches of indices that each cost at most ``max_tokens``, padding
    included, for ``Trainer``'s ``batch_sampler``.

    Each epoch shuffles the examples (seeded), sorts them by length (ties stay shuffled),
    packs them into batches up to the budget and shuffles the batches. The number of
    batches depends only on the lengths, so it is the same every epoch, and every
    example is yielded exactly once per epoch.

    ``accumulation_steps`` micro-batches make one optimizer step: as many as hold
    ``sentences_per_step`` sentences of average length, so the effective batch is kept
    in tokens (the loss is a mean over the step's labelled tokens), while the number of
    sentences per step varies with their lengths.

    Args:
        lengths: tokens of each example.
        sentences_per_step: examples per optimizer step asked for (the effective batch).
        max_tokens: budget of one micro-batch, padding included.
        seed: shuffle seed; epoch ``e`` uses ``seed + e``.
    """

    def __init__(
        self, lengths: list[int], sentences_per_step: int, max_tokens: int, seed: int = 42
    ) -> None:
        self.lengths = [int(n) for n in lengths]
        self.sentences_per_step = sentences_per_step
        self.max_tokens = max_tokens
        self.seed = seed
        self.epoch = 0
        self.accumulation_steps = accumulation_steps_for(
            self.lengths, sentences_per_step, max_tokens
        )
        # A budget larger than a whole step's tokens would merge steps: cap the batches at
        # a step's share, so the effective batch holds whatever the budget.
        mean = sum(self.lengths) / max(len(self.lengths), 1)
        share = math.ceil(sentences_per_step * mean / self.accumulation_steps)
        self.batch_tokens = min(max_tokens, max(share, max(self.lengths, default=1)))
        self._len = len(pack_by_tokens(sorted(self.lengths), self.batch_tokens))

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self._len

    def __iter__(self):
        g = torch.Generator().manual_seed(self.seed + self.epoch)
        order = torch.randperm(len(self.lengths), generator=g).tolist()
        order.sort(key=self.lengths.__getitem__)  # stable: equal lengths stay shuffled
        batches = pack_by_tokens([self.lengths[i] for i in order], self.batch_tokens)
        for b in torch.randperm(len(batches), generator=g).tolist():
            yield [order[j] for j in batches[b]]
