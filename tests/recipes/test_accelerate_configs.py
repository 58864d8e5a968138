"""Every shipped Accelerate config loads and says what it is for; the FSDP one trains."""

import json
import os
import subprocess
from pathlib import Path

import pytest
from accelerate.commands.config.config_args import load_config_from_file
from accelerate.utils import DistributedType

REPO = Path(__file__).resolve().parents[2]
FOLDER = REPO / "recipes" / "accelerate"
EXPECTED = {
    "one_process.yaml": DistributedType.NO,  # the quick start: GPU if any, else CPU
    "cpu_2proc.yaml": DistributedType.MULTI_GPU,  # gloo on a CPU-only machine
    "single_gpu.yaml": DistributedType.NO,
    "multi_gpu.yaml": DistributedType.MULTI_GPU,
    "fsdp_qlora.yaml": DistributedType.FSDP,
    "deepspeed_zero3.yaml": DistributedType.DEEPSPEED,
}


def test_the_expected_configs_are_shipped():
    assert {p.name for p in FOLDER.glob("*.yaml")} == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_config_loads_with_accelerate(name):
    config = load_config_from_file(str(FOLDER / name))
    assert config.distributed_type == EXPECTED[name]
    assert (FOLDER / name).read_text().startswith("#"), "each config says when to use it"


def test_fsdp_qlora_config_asks_for_float_storage():
    text = (FOLDER / "fsdp_qlora.yaml").read_text()
    assert "--quant_storage bfloat16" in text
    config = load_config_from_file(str(FOLDER / "fsdp_qlora.yaml"))
    assert config.fsdp_config["fsdp_cpu_ram_efficient_loading"] is True


def test_quant_storage_reaches_bitsandbytes():
    import torch

    from llmner.models.loading import get_quantization_config

    qc = get_quantization_config("4bit", quant_storage="bfloat16")
    assert qc.bnb_4bit_quant_storage == torch.bfloat16
    assert get_quantization_config("4bit").bnb_4bit_quant_storage == torch.uint8


# run_finetune with a callback that writes the distributed type the Trainer trains under.
PROBE = """
import os, sys
from pathlib import Path
from accelerate.state import AcceleratorState
from transformers import TrainerCallback
from llmner.config import parse_args
from llmner.train.run import run_finetune

class Probe(TrainerCallback):
    def on_step_end(self, args, state, control, **kwargs):
        if state.is_world_process_zero:
            Path(os.environ["PROBE_FILE"]).write_text(AcceleratorState().distributed_type.value)

run_finetune(parse_args(sys.argv[1:]), callbacks=[Probe()])
"""


def _fsdp_run(model_dir, conll, tmp_path):
    """Three steps of the FSDP-QLoRA config in two processes on the tiny Llama."""
    script = tmp_path / "probe.py"
    script.write_text(PROBE)
    out = tmp_path / "run"
    cmd = [
        *("accelerate", "launch", "--config_file", str(FOLDER / "fsdp_qlora.yaml"), str(script)),
        *("--model_name_or_path", str(model_dir), "--quantization", "4bit"),
        *("--quant_storage", "bfloat16", "--output_dir", str(out), "--max_steps", "3"),
        *("--train_file", str(conll), "--validation_file", str(conll), "--test_file", str(conll)),
        *("--per_device_train_batch_size", "2", "--lora_r", "4", "--logging_steps", "1"),
    ]
    probe = tmp_path / "distributed_type.txt"
    env = {**os.environ, "PYTHONPATH": str(REPO), "PROBE_FILE": str(probe)}
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["num_processes"] == 2
    assert sum(metrics["eval_sentences_per_process"]) == metrics["num_eval_sentences"]
    assert (out / "adapter" / "adapter_model.safetensors").exists()
    return probe.read_text(), done.stderr


@pytest.mark.slow
def test_fsdp_qlora_config_trains_sharded_on_two_gpus(tiny_llama_128_dir, tiny_conll, tmp_path):
    import torch

    if torch.cuda.device_count() < 2:
        pytest.skip(
            "FSDP needs two GPUs: Accelerate applies it only to GPU-type process groups, and "
            "on the CPU (gloo) the config trains as plain data parallelism (next test)"
        )
    kind, _ = _fsdp_run(tiny_llama_128_dir, tiny_conll, tmp_path)
    assert kind == DistributedType.FSDP.value


@pytest.mark.slow
def test_fsdp_qlora_config_on_the_cpu_trains_data_parallel_and_says_so(
    tiny_llama_128_dir, tiny_conll, tmp_path
):
    import torch

    if torch.cuda.is_available():
        pytest.skip("about the CPU; on a GPU machine the test above runs")
    kind, stderr = _fsdp_run(tiny_llama_128_dir, tiny_conll, tmp_path)
    assert kind == DistributedType.MULTI_CPU.value
    assert stderr.count("FSDP needs GPUs") == 1, "said once, by the main process"
