"""Fixtures of the model-parts tests: an import path for fake part packages, and
llmner's cache in a temporary folder."""

from __future__ import annotations

import pytest


@pytest.fixture
def site(tmp_path, monkeypatch):
    """A folder on ``sys.path`` where fake part packages are installed."""
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    return site


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """llmner's model cache (``$LLMNER_CACHE/models``) in a temporary folder."""
    monkeypatch.setenv("LLMNER_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache" / "models"
