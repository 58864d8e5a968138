"""Every split of ../shared/data and of the bundled sets reads with the documented counts."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmner.data.loading import load_sentences, load_splits

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared" / "data" if (REPO.parent / "shared" / "data").is_dir() else None

# From shared/data/README.md: train / dev / test, -DOCSTART- blocks left out.
COUNTS = {
    "conll2003": (14041, 3250, 3453),
    "wnut17": (3394, 1009, 1287),
    "bc5cdr": (4560, 4581, 4797),
}
TYPES = {
    "conll2003": {"PER", "ORG", "LOC", "MISC"},
    "wnut17": {"person", "location", "group", "corporation", "product", "creative-work"},
    "bc5cdr": {"Chemical", "Disease"},
}


@pytest.mark.slow
@pytest.mark.skipif(SHARED is None, reason="../shared/data is not here")
@pytest.mark.parametrize("name", list(COUNTS))
def test_shared_data_counts(name):
    splits = load_splits(SHARED / name)
    assert tuple(len(v) for v in splits.values()) == COUNTS[name]
    types = {t[2:] for sents in splits.values() for s in sents for t in s.tags if t != "O"}
    assert types == TYPES[name]


@pytest.mark.slow
@pytest.mark.parametrize("name", ["wnut17", "bc5cdr"])
def test_bundled_counts(name):
    counts = tuple(len(load_sentences(name, split=s)) for s in ("train", "validation", "test"))
    assert counts == COUNTS[name]
