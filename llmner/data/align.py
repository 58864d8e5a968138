"""Character spans to token spans, in one of three alignment modes.

The one alignment rule of llmner, used where annotated offsets meet words (the JSONL
reader) and where a generated mention meets the sentence (the generative format), in the
spirit of spaCy's ``Doc.char_span(alignment_mode=...)``. Tokens are given by their
character offsets ``(start, end)``; the span ``start..end`` maps to the tokens
``first..last`` (``last`` exclusive) that

* ``strict``: it touches, provided it cuts none of them (its boundaries fall on token
  boundaries or in the gaps between tokens);
* ``contract``: lie wholly inside it;
* ``expand``: it touches.

Where no token qualifies the result is ``None``; the caller decides whether that is an
input error (a JSONL file) or a mention to count and skip (a model's answer).

Example:
    >>> words = [(0, 5), (6, 10), (11, 14)]  # "Steve Jobs met"
    >>> [snap_span(words, 2, 8, mode) for mode in ALIGNMENT_MODES]
    [None, None, (0, 2)]
    >>> [snap_span(words, 0, 11, mode) for mode in ALIGNMENT_MODES]
    [(0, 2), (0, 2), (0, 2)]
    >>> snap_span(words, 2, 12, "contract")
    (1, 2)
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["ALIGNMENT_MODES", "snap_span", "touched_tokens"]

ALIGNMENT_MODES = ("strict", "contract", "expand")


def touched_tokens(offsets: Sequence[tuple[int, int]], start: int, end: int) -> list[int]:
    """Indices of the tokens that share a character with ``start..end``.

    Example:
        >>> touched_tokens([(0, 5), (6, 10)], 4, 6)
        [0]
    """
    return [i for i, (a, b) in enumerate(offsets) if a < end and b > start]


def snap_span(
    offsets: Sequence[tuple[int, int]], start: int, end: int, mode: str = "strict"
) -> tuple[int, int] | None:
    """The tokens ``(first, last + 1)`` that the characters ``start..end`` align to.

    Args:
        offsets: each token's ``(start, end)`` character offsets, in order.
        start: the span's first character.
        end: one past the span's last character.
        mode: ``strict``, ``contract`` or ``expand`` (see the module docstring).

    Returns:
        The token span, or ``None`` when ``mode`` leaves no token.

    Raises:
        ValueError: an unknown ``mode``.
    """
    if mode not in ALIGNMENT_MODES:
        raise ValueError(f"unknown alignment mode {mode!r}; expected one of {ALIGNMENT_MODES}")
    if mode == "contract":
        inside = [i for i, (a, b) in enumerate(offsets) if a >= start and b <= end]
    else:
        inside = touched_tokens(offsets, start, end)
        cut = inside and (offsets[inside[0]][0] < start or offsets[inside[-1]][1] > end)
        if mode == "strict" and cut:
            return None
    return (inside[0], inside[-1] + 1) if inside else None
