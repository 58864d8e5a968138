"""``recipes/bench_gpu.py --tiny`` runs every case on the CPU, so the GPU benchmark
cannot rot between the rare runs on a GPU machine."""

from __future__ import annotations

import json

import pytest
from recipe_module import load_recipe


@pytest.fixture(scope="module")
def recipe():
    return load_recipe("bench_gpu")


def test_tiny_bench_measures_every_case(recipe, tmp_path, capsys):
    out = tmp_path / "bench.json"
    args = recipe.make_parser().parse_args(
        ["--tiny", "--out", str(out), "--workdir", str(tmp_path / "work")]
    )
    recipe.main(args)
    results = json.loads(out.read_text())
    cases = results["cases"]
    train = [c for c in cases if c.get("kind") is None]
    gen = [c for c in cases if c.get("kind") == "generation"]
    assert [(c["quantization"], c["formulation"]) for c in train] == [
        ("4bit", "tagging"),
        ("4bit", "generative"),
        ("none", "tagging"),
        ("none", "generative"),
    ]
    assert all(c["status"] == "ok" for c in cases), [c.get("reason") for c in cases]
    assert all(c["tokens_per_s"] > 0 and c["timed_steps"] == 2 for c in train)
    assert all(c["seq_len"] == 32 for c in train)
    assert [c["quantization"] for c in gen] == ["4bit", "none"]
    assert all(c["sentences_per_s"] > 0 for c in gen)
    assert results["environment"]["flops_per_token"].startswith("4 x matmul")
    assert results["environment"]["workdir"] == str(tmp_path / "work")
    assert "| tiny | none | generative | 32 |" in capsys.readouterr().out


def test_a_spent_budget_skips_and_records_cases(recipe, tmp_path, monkeypatch):
    from lab.bench import runner

    monkeypatch.setattr(runner, "_workdir", lambda plan: tmp_path / "work")
    out = tmp_path / "bench.json"
    args = recipe.make_parser().parse_args(
        ["--tiny", "--out", str(out), "--budget-s", "0", "--quantizations", "none"]
    )
    recipe.main(args)
    results = json.loads(out.read_text())
    cases = results["cases"]
    assert len(cases) == 2 and all(c["status"] == "skipped" for c in cases)
    # a temporary folder is not named: its path belongs to the machine, not to the run
    assert results["environment"]["workdir"] == "(a temporary folder)"
