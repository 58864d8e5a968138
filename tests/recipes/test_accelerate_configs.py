"""Every shipped Accelerate config loads and says what it is for."""

from pathlib import Path

import pytest
from accelerate.commands.config.config_args import load_config_from_file
from accelerate.utils import DistributedType

FOLDER = Path(__file__).resolve().parents[2] / "recipes" / "accelerate"
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
