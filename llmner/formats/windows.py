"""Overlapping windows of words: how both formats cut a sentence too long for one pass.

The tagging format cuts by sub-token budget, the generative format by word count (every
word of length 1). At prediction time each word takes its label from the window in
which it has the most context, so no word is ever left untagged.
"""

from __future__ import annotations

__all__ = ["context_margin", "windows"]


def windows(lengths: list[int], budget: int, stride_fraction: float = 0.5) -> list[tuple[int, int]]:
    """Overlapping word windows whose summed lengths fit ``budget``.

    Args:
        lengths: each word's length (sub-tokens for tagging, 1 for generative).
        budget: the most a window may hold; a single longer word still gets a window.
        stride_fraction: how far the next window starts, as a fraction of this one's
            words (0.5: half overlaps; 1.0: consecutive pieces, no overlap).

    Returns:
        ``(start, end)`` word indices, in order, covering every word.

    Example:
        >>> windows([1, 1, 1], budget=10)
        [(0, 3)]
        >>> windows([2, 2, 2, 2, 2], budget=5)
        [(0, 2), (1, 3), (2, 4), (3, 5)]
    """
    n = len(lengths)
    if sum(lengths) <= budget:
        return [(0, n)]
    out, start = [], 0
    while True:
        end, used = start, 0
        while end < n and used + lengths[end] <= budget:
            used += lengths[end]
            end += 1
        end = max(end, start + 1)  # one word longer than the budget still gets a window
        out.append((start, end))
        if end >= n:
            return out
        start = max(start + 1, start + int((end - start) * stride_fraction))


def context_margin(position: int, size: int) -> int:
    """How many words word ``position`` of a window of ``size`` words has on its poorer
    side: at prediction time each word takes its label from the window where this is
    largest (the first such window on a tie).

    Example:
        >>> [context_margin(w, 5) for w in range(5)]
        [0, 1, 2, 1, 0]
    """
    return min(position, size - 1 - position)
