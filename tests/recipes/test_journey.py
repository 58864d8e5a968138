"""recipes/journey.py end to end on the tiny shape, on the CPU: the family's tagging config
(4-bit, repeat 4, LoRA on attention) trains 30 steps, is scored, saved with its head,
reloaded in a fresh process, merged into its dequantized base with the same tags on every
check sentence, predicted by ``llmner predict`` and served for one request. The steps are
made small (batch 2, no accumulation, 128 tokens) so that the whole run stays near a
minute here; the config's own sizes are what the GPU runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

import journey  # noqa: E402  (recipes/ is on the path: tests/conftest.py)

REPO = Path(__file__).resolve().parents[2]
SMALL_STEPS = [
    "--per_device_train_batch_size", "2", "--gradient_accumulation_steps", "1",
    "--max_seq_length", "128", "--activation_checkpointing", "false",
    "--learning_rate", "3e-2", "--head_learning_rate", "3e-2",
]  # fmt: skip


def test_the_journey_runs_end_to_end_and_the_merged_model_equals_the_adapter(tmp_path, tiny_conll):
    out = tmp_path / "journey.json"
    data = ["--train_file", str(tiny_conll), "--validation_file", str(tiny_conll)]
    data += ["--test_file", str(tiny_conll)]
    config = REPO / "recipes/configs/llama-3.2-1b/tagging_repeat4_qlora.yaml"
    argv = ["--config", str(config), "--out", str(out), "--workdir", str(tmp_path / "work")]
    assert journey.main([*argv, *SMALL_STEPS, *data]) == 0
    record = json.loads(out.read_text())
    assert record["ok"] and all(record["checks"].values())
    steps = record["steps"]
    assert steps["train"]["optimizer_steps"] == journey.STEPS
    assert steps["save"]["head_saved"] and steps["save"]["lora_tensors"] > 0
    assert any("score" in k for k in steps["save"]["head_tensors"])
    equal = steps["merged_equals_adapter"]
    assert equal["identical_sentences"] == equal["sentences"] > 0
    assert steps["reload"]["entities"] > 0  # the equality compares predictions, not all O
    assert steps["predict"]["texts"] == equal["sentences"]
    assert steps["serve"]["answered"]
    for name in ("build", "train", "evaluate", "reload", "merge", "predict", "serve"):
        assert steps[name]["seconds"] > 0 and steps[name]["peak_rss_mb"] > 0, name
    assert record["versions"]["torch"] and record["device"]["cpu_count"]
    assert record["plan_for_full_batches"]["estimate_mib"] > 0
    assert "tagging_repeat4_qlora.yaml" in record["command"]
