"""``llmner evaluate``, and one process against two (gloo on the CPU)."""

import json
import os
import subprocess
from pathlib import Path

import pytest

from llmner.cli import main
from llmner.config import RunConfig
from llmner.report.setting import setting
from llmner.rundir import read_config
from llmner.train.run import run_finetune

REPO = Path(__file__).resolve().parents[2]
TWO_PROCESSES = [
    "accelerate",
    "launch",
    "--config_file",
    str(REPO / "recipes" / "accelerate" / "cpu_2proc.yaml"),
]


@pytest.fixture(scope="module")
def run_dir(tiny_llama_dir, tiny_conll, tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    run_finetune(
        RunConfig.of(
            model_name_or_path=str(tiny_llama_dir),
            train_file=str(tiny_conll),
            validation_file=str(tiny_conll),
            test_file=str(tiny_conll),
            quantization="none",
            output_dir=str(out),
            num_train_epochs=3,
            learning_rate=1e-2,
            per_device_train_batch_size=4,
            lora_r=4,
            seed=0,
        )
    )
    return out


def _env():
    return {**os.environ, "PYTHONPATH": str(REPO), "TOKENIZERS_PARALLELISM": "false"}


def _evaluate(run_dir, data, out, *extra) -> dict:
    args = ["evaluate", "--run", str(run_dir), "--data", str(data), "--output", str(out)]
    assert main([*args, *extra]) == 0
    return json.loads((out / "metrics.json").read_text())


def test_evaluate_rescoring_matches_the_run(run_dir, tiny_conll, tmp_path):
    again = _evaluate(run_dir, tiny_conll, tmp_path)
    original = json.loads((run_dir / "metrics.json").read_text())
    assert original["f1"] > 0, "the tiny run finds some entities"
    assert again["f1"] == pytest.approx(original["f1"])
    assert (tmp_path / "predictions.conll").read_text() == (
        run_dir / "predictions.conll"
    ).read_text()


def test_evaluate_in_bf16_records_it_and_tags_as_the_fp32_run_mostly(run_dir, tiny_conll, tmp_path):
    again = _evaluate(run_dir, tiny_conll, tmp_path, "--dtype", "bfloat16")
    assert again["eval_dtype"] == "bfloat16"
    assert "scored in bf16" in setting(read_config(tmp_path))
    assert again["f1"] > 0

    def tags(path):
        return [ln.split()[-1] for ln in path.read_text().splitlines() if ln.strip()]

    bf16, fp32 = tags(tmp_path / "predictions.conll"), tags(run_dir / "predictions.conll")
    assert len(bf16) == len(fp32)
    assert sum(a == b for a, b in zip(bf16, fp32)) >= 0.9 * len(fp32)


def test_evaluate_refuses_data_with_other_labels(run_dir, tmp_path, capsys):
    bad = tmp_path / "other.conll"
    bad.write_text("Aspirin B-Chemical\nhelps O\n")
    assert main(["evaluate", "--run", str(run_dir), "--data", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "other.conll:1" in err and "Chemical" in err


@pytest.mark.slow
def test_two_processes_score_every_sentence_once(run_dir, tiny_conll, tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    assert (
        main(["evaluate", "--run", str(run_dir), "--data", str(tiny_conll), "--output", str(one)])
        == 0
    )
    cmd = [
        *TWO_PROCESSES,
        "-m",
        "llmner",
        "evaluate",
        "--run",
        str(run_dir),
        "--data",
        str(tiny_conll),
        "--output",
        str(two),
        "--batch_size",
        "2",
    ]
    done = subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    m1 = json.loads((one / "metrics.json").read_text())
    m2 = json.loads((two / "metrics.json").read_text())
    assert m2["num_processes"] == 2
    assert m2["eval_sentences_per_process"] == [6, 6]
    assert m2["num_eval_sentences"] == m1["num_eval_sentences"] == 12
    assert m2["f1"] == m1["f1"] and m2["per_type"] == m1["per_type"]
    assert (one / "predictions.conll").read_text() == (two / "predictions.conll").read_text()


@pytest.mark.slow
def test_training_in_two_processes_writes_one_complete_run(tiny_llama_dir, tiny_conll, tmp_path):
    out = tmp_path / "run2"
    cmd = [
        *TWO_PROCESSES,
        str(REPO / "recipes" / "finetune.py"),
        "--model_name_or_path",
        str(tiny_llama_dir),
        "--train_file",
        str(tiny_conll),
        "--validation_file",
        str(tiny_conll),
        "--test_file",
        str(tiny_conll),
        "--quantization",
        "none",
        "--output_dir",
        str(out),
        "--num_train_epochs",
        "1",
        "--per_device_train_batch_size",
        "2",
        "--lora_r",
        "4",
    ]
    done = subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["num_processes"] == 2
    assert sum(metrics["eval_sentences_per_process"]) == metrics["num_eval_sentences"] == 12
    assert len((out / "predictions.conll").read_text().strip().split("\n\n")) == 12
    assert (out / "adapter" / "adapter_model.safetensors").exists()
    assert not list(out.glob(".adapter.*")), "no half-written adapter left behind"
