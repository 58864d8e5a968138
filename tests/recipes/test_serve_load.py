"""``recipes/serve_load.py`` starts a server, loads it for a few seconds and writes figures."""

from __future__ import annotations

import json

import pytest
from recipe_module import load_recipe

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")
from adapters.tiny_runs import TINY_CONLL, tiny_run  # noqa: E402


@pytest.fixture(scope="module")
def recipe():
    return load_recipe("serve_load")


def test_percentile_is_nearest_rank(recipe):
    assert recipe.percentile([4, 1, 3, 2], 50) == 2
    assert recipe.percentile([4, 1, 3, 2], 99) == 4
    assert recipe.percentile([7], 1) == 7 and recipe.percentile([], 50) is None


def test_a_short_load_test_reports_served_and_offline_figures(
    recipe, tmp_path_factory, tiny_llama_dir, tmp_path
):
    run = tiny_run(tmp_path_factory, tiny_llama_dir, "fp32")
    out = tmp_path / "load.json"
    argv = ["--adapter", str(run), "--input", str(TINY_CONLL), "--clients", "3"]
    result = recipe.main(argv + ["--seconds", "3", "--batch-size", "4", "--out", str(out)])
    assert json.loads(out.read_text()) == result
    served = result["served"]
    assert served["requests"] > 0 and served["failed_requests"] == 0
    assert served["sentences_per_s"] > 0 and served["requests_per_s"] > 0
    assert 0 < served["latency_ms"]["p50"] <= served["latency_ms"]["p99"]
    assert served["server_batches"] > 0 and served["texts_per_batch"] <= 4
    assert result["offline"]["sentences_per_s"] > 0 and result["served_vs_offline"] > 0
    assert result["model"]["format"] == "tagging" and result["input"]["sentences"] == 12
    assert result["command"].startswith("python recipes/serve_load.py --adapter ")
    assert result["machine"]["cpus"] and result["date"]
    # no dataset text in the record
    text = out.read_text()
    assert "Marta" not in text and "Olsen" not in text
