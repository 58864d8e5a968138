"""Long phases show a progress bar on a terminal, and nothing in a log or when asked."""

from __future__ import annotations

import sys

import pytest
from adapters.tiny_runs import tiny_run
from transformers.utils import logging as hf_logging

import llmner
from llmner import progress

TEXTS = ["Ada Lovelace met Charles Babbage in London ."] * 5


@pytest.fixture(scope="module")
def ner(tmp_path_factory, tiny_llama_dir):
    return llmner.load(tiny_run(tmp_path_factory, tiny_llama_dir, "tagging"))


def _terminal(monkeypatch):
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)


def test_prediction_shows_a_bar_on_a_terminal(ner, capsys, monkeypatch):
    _terminal(monkeypatch)
    ner.predict(TEXTS)
    assert "tagging" in capsys.readouterr().err


def test_no_bar_in_a_log(ner, capsys):
    ner.predict(TEXTS)
    assert "tagging" not in capsys.readouterr().err


def test_no_bar_when_turned_off(ner, capsys, monkeypatch):
    """``--quiet`` turns transformers' switch; a run's ``--disable_tqdm`` uses quiet()."""
    _terminal(monkeypatch)
    with progress.quiet():
        ner.predict(TEXTS)
    hf_logging.disable_progress_bar()
    try:
        ner.predict(TEXTS)
    finally:
        hf_logging.enable_progress_bar()
    assert "tagging" not in capsys.readouterr().err
