"""Shared setup of the recipe tests: a dataset folder and configs on the tiny model."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml


@pytest.fixture
def tiny_data(tmp_path, tiny_conll) -> Path:
    """A dataset folder whose train, dev and test splits are ``tiny.conll``."""
    data = tmp_path / "data"
    data.mkdir()
    for split in ("train", "dev", "test"):
        shutil.copyfile(tiny_conll, data / f"{split}.txt")
    return data


@pytest.fixture
def tiny_config(tiny_llama_dir) -> dict:
    """A few LoRA steps on the tiny Llama, unquantized."""
    return dict(
        model_name_or_path=str(tiny_llama_dir), quantization="none", learning_rate=1e-2,
        per_device_train_batch_size=4, lora_r=4, lora_alpha=8,
    )  # fmt: skip


@pytest.fixture
def write_configs(tmp_path):
    """``write_configs(name=config, ...)``: a folder of YAML configs."""

    def write(**configs: dict) -> Path:
        folder = tmp_path / "configs"
        folder.mkdir(exist_ok=True)
        for name, config in configs.items():
            (folder / f"{name}.yaml").write_text(yaml.safe_dump(config))
        return folder

    return write
