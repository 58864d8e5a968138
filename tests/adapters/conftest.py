"""Session fixtures: tiny runs (fp32 and 4-bit) and a run on relabelled data."""

from __future__ import annotations

import pytest

from adapters.tiny_runs import relabelled_conll, tiny_run


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory, tiny_llama_dir):
    return tiny_run(tmp_path_factory, tiny_llama_dir, "fp32")


@pytest.fixture(scope="session")
def run_misc_dir(tmp_path_factory, tiny_llama_dir):
    """Same base, different data: ORG renamed MISC and LOC renamed PLACE (PER shared)."""
    folder = tmp_path_factory.mktemp("relabelled")
    conll = relabelled_conll(folder, {"ORG": "MISC", "LOC": "PLACE"})
    return tiny_run(tmp_path_factory, tiny_llama_dir, "misc", conll, seed=1)
