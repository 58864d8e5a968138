"""``recipes/bench_train_cpu.py`` and ``recipes/profile_train_step.py`` on a tiny model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from lab.bench.table import train_cost_table
from recipe_module import load_recipe


@pytest.fixture()
def tiny_yaml(tiny_llama_dir, tiny_conll, tmp_path) -> Path:
    cfg = {
        "model_name_or_path": str(tiny_llama_dir),
        "train_file": str(tiny_conll),
        "validation_file": str(tiny_conll),
        "test_file": str(tiny_conll),
        "quantization": "none",
        "lora_r": 4,
        "max_steps": 2,
        "per_device_train_batch_size": 4,
        "max_tokens_per_batch": 64,
    }
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_bench_runs_each_seed_resumes_tables_and_collects(tiny_yaml, tmp_path, monkeypatch):
    bench = load_recipe("bench_train_cpu")
    monkeypatch.chdir(tmp_path)
    out = Path("bench")
    argv = ["--config", str(tiny_yaml), "--out", str(out), "--name", "tiny", "--seeds", "1,2"]
    assert bench.main([*argv, "--lora_dropout", "0"]) == 0
    meta = json.loads((out / "tiny" / "bench.json").read_text())
    assert [r["seed"] for r in meta["runs"]] == [1, 2]
    assert meta["extra_args"] == ["--lora_dropout", "0"]
    for r in meta["runs"]:
        assert r["train_tokens_per_second"] > 0 and r["peak_rss_mb"] > 0
        assert r["max_tokens_per_batch"] == 64
    first = (out / "tiny" / "seed1" / "metrics.json").stat().st_mtime
    assert bench.main([*argv, "--lora_dropout", "0"]) == 0  # resumes: nothing is rerun
    assert (out / "tiny" / "seed1" / "metrics.json").stat().st_mtime == first
    same = bench.bootstrap(out, "tiny", "tiny")
    assert same["sentences"] == 2 * 12 and same["delta_f1"] == 0 and same["p_value"] == 1
    table = train_cost_table(out)
    assert "| tiny |" in table and table.count("\n") == 2
    dest = tmp_path / "published"
    assert bench.main(["--out", str(out), "--collect", str(dest)]) == 0
    assert sorted(p.name for p in (dest / "tiny" / "seed1").iterdir()) == [
        "config.yaml",
        "metrics.json",
    ]
    assert train_cost_table(dest) == table
    published = (dest / "tiny" / "seed1" / "config.yaml").read_text()
    assert str(tmp_path) not in published and "output_dir: bench/tiny/seed1" in published


def test_bench_reports_a_failed_run(tiny_yaml, tmp_path, capsys):
    bench = load_recipe("bench_train_cpu")
    argv = ["--config", str(tiny_yaml), "--out", str(tmp_path), "--seeds", "1"]
    assert bench.main([*argv, "--num_layers", "9"]) == 1
    assert "run failed" in capsys.readouterr().err


def test_profile_breaks_a_step_into_parts(tiny_yaml, tmp_path):
    profile = load_recipe("profile_train_step")
    out = tmp_path / "profile.json"
    argv = ["--config", str(tiny_yaml), "--out", str(out), "--steps", "2", "--lora_dropout", "0.1"]
    assert profile.main(argv) == 0
    result = json.loads(out.read_text())
    parts = result["parts_seconds"]
    assert {"LoRA products", "LoRA dropout (random masks)", "optimizer (AdamW)"} <= set(parts)
    assert sum(parts.values()) == pytest.approx(result["wall_seconds"], rel=0.05)
    assert result["tokens"] > 0 and result["max_tokens_per_batch"] == 64
