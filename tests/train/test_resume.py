"""A run killed with SIGKILL mid-epoch resumes from its last complete checkpoint and ends
exactly where an uninterrupted run ends."""

import csv
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from transformers import TrainerCallback

from llmner.config import RunConfig
from llmner.errors import InputError
from llmner.train.run import run_finetune
from llmner.train.trainer import COMPLETE_MARK, latest_checkpoint

REPO = Path(__file__).resolve().parents[2]
KILLER = """
import os, signal, sys
from transformers import TrainerCallback
from llmner.config import parse_args
from llmner.train.run import run_finetune

class KillAt(TrainerCallback):
    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == int(os.environ["KILL_AT_STEP"]):
            os.kill(os.getpid(), signal.SIGKILL)

run_finetune(parse_args(sys.argv[1:]), callbacks=[KillAt()])
"""


def options(model, conll, out):
    # 12 sentences in token-budget batches (the CPU default): 8 steps an epoch, 2 epochs;
    # checkpoints every 4 steps, a log row every step.
    return dict(
        model_name_or_path=str(model),
        train_file=str(conll),
        validation_file=str(conll),
        test_file=str(conll),
        quantization="none",
        output_dir=str(out),
        num_train_epochs=2,
        per_device_train_batch_size=2,
        learning_rate=5e-3,
        lora_r=4,
        lora_dropout=0.1,
        eval_strategy="steps",
        eval_steps=4,
        early_stopping_patience=0,
        seed=3,
        save_total_limit=5,
        logging_steps=1,
    )


def _logged(log: Path) -> list[tuple[str, str]]:
    """The (step, key) of each row of a ``log.csv``."""
    with open(log, newline="", encoding="utf-8") as f:
        return [(row["step"], row["key"]) for row in csv.DictReader(f)]


def as_flags(opts: dict) -> list[str]:
    return [x for k, v in opts.items() for x in (f"--{k}", str(v))]


class StopAt(TrainerCallback):
    """Ends the process's training at a step, as a kill would, past a checkpoint."""

    def __init__(self, step: int):
        self.step = step

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == self.step:
            raise RuntimeError("stopped")


@pytest.mark.slow
def test_a_resumed_run_stops_early_where_an_uninterrupted_one_stops(
    tiny_llama_dir, tiny_conll, tmp_path
):
    """Early stopping's count of evaluations without gain survives a resumption: with a
    rate too small to change a prediction, the score never rises after the first
    evaluation, so patience 2 ends the run at the third (step 12), resumed or not."""

    def config(out, **extra):
        flat = options(tiny_llama_dir, tiny_conll, out)
        flat.update(num_train_epochs=3, early_stopping_patience=2, learning_rate=1e-12)
        return RunConfig.of(**flat, **extra)

    straight = run_finetune(config(tmp_path / "a"))
    assert straight["train_steps"] == 12

    out = tmp_path / "b"
    with pytest.raises(RuntimeError, match="stopped"):  # after checkpoint-8: one without gain
        run_finetune(config(out), callbacks=[StopAt(10)])
    assert latest_checkpoint(out / "checkpoints").name == "checkpoint-8"
    resumed = run_finetune(config(out, resume_from_checkpoint="latest"))
    assert resumed["train_steps"] == straight["train_steps"]
    assert resumed["validation_curve"] == straight["validation_curve"]


@pytest.mark.slow
def test_killed_run_resumes_to_the_same_result(tiny_llama_dir, tiny_conll, tmp_path):
    straight = run_finetune(RunConfig.of(**options(tiny_llama_dir, tiny_conll, tmp_path / "a")))

    out = tmp_path / "b"
    env = {**os.environ, "KILL_AT_STEP": "7", "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-c", KILLER, *as_flags(options(tiny_llama_dir, tiny_conll, out))],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr[-2000:]
    assert latest_checkpoint(out / "checkpoints").name == "checkpoint-4"
    assert not (out / "metrics.json").exists() and not (out / "adapter").exists()
    assert max(int(step) for step, _ in _logged(out / "log.csv")) > 4  # rows past checkpoint-4

    resumed = run_finetune(
        RunConfig.of(**options(tiny_llama_dir, tiny_conll, out), resume_from_checkpoint="latest")
    )
    assert resumed["train_steps"] == straight["train_steps"] >= 12
    assert resumed["f1"] == straight["f1"]
    assert resumed["best_validation_f1"] == straight["best_validation_f1"]
    # every evaluation (one each 4 steps), those before the kill included
    curve = resumed["validation_curve"]
    assert [point["step"] for point in curve] == list(range(4, resumed["train_steps"] + 1, 4))
    assert curve == straight["validation_curve"]
    best = next(p for p in curve if p["step"] == resumed["best_validation_step"])
    assert best["f1"] == max(point["f1"] for point in curve) == resumed["best_validation_f1"]
    assert resumed["best_validation_step"] == straight["best_validation_step"]
    # one attempt's log, as long as the uninterrupted run's
    assert _logged(out / "log.csv") == _logged(tmp_path / "a" / "log.csv")
    a = load_file(tmp_path / "a" / "adapter" / "adapter_model.safetensors")
    b = load_file(out / "adapter" / "adapter_model.safetensors")
    assert a.keys() == b.keys()
    for key in a:
        assert torch.allclose(a[key], b[key], atol=1e-6), key
    assert (tmp_path / "a" / "predictions.conll").read_text() == (
        out / "predictions.conll"
    ).read_text()


def test_a_checkpoint_without_the_completion_mark_is_never_resumed(tmp_path):
    folder = tmp_path / "checkpoints"
    for step in (4, 8):
        (folder / f"checkpoint-{step}").mkdir(parents=True)
    (folder / "checkpoint-4" / COMPLETE_MARK).write_text("complete\n")
    assert latest_checkpoint(folder).name == "checkpoint-4"  # 8 was being written when killed


def test_resume_without_checkpoints_is_a_clear_error(tiny_llama_dir, tiny_conll, tmp_path):
    cfg = RunConfig.of(
        **options(tiny_llama_dir, tiny_conll, tmp_path), resume_from_checkpoint="latest"
    )
    with pytest.raises(InputError, match="no complete checkpoint to resume from"):
        run_finetune(cfg)


def test_resume_from_a_half_written_checkpoint_is_refused(tiny_llama_dir, tiny_conll, tmp_path):
    half = tmp_path / "checkpoints" / "checkpoint-8"
    half.mkdir(parents=True)
    (half / "adapter_model.safetensors").write_bytes(b"\x00" * 10)
    cfg = RunConfig.of(
        **options(tiny_llama_dir, tiny_conll, tmp_path), resume_from_checkpoint=str(half)
    )
    with pytest.raises(InputError, match="not a complete llmner checkpoint"):
        run_finetune(cfg)
