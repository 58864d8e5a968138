"""Word windows, shared by the tagging and generative formats."""

import pytest

from llmner.formats.windows import windows


@pytest.mark.parametrize("n, budget", [(1, 3), (10, 4), (50, 7), (13, 100)])
def test_windows_cover_every_word(n, budget):
    spans = windows([2] * n, budget)
    covered = set()
    for s, e in spans:
        assert e > s
        covered.update(range(s, e))
    assert covered == set(range(n))


def test_a_stride_of_one_gives_consecutive_pieces():
    # the generative format's training pieces: every word in exactly one window
    spans = windows([1] * 10, 4, stride_fraction=1.0)
    assert spans == [(0, 4), (4, 8), (8, 10)]
