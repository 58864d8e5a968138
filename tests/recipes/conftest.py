"""Shared setup of the recipe tests: a dataset folder and configs on the tiny model, and
a recipe's command line run in the test's own process."""

from __future__ import annotations

import io
import shutil
import subprocess
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
import yaml
from recipe_module import load_recipe


@pytest.fixture
def run_recipe():
    """``run_recipe(NAME, *ARGV)``: ``python recipes/NAME.py ARGV`` through the recipe's
    ``main`` in this process, ended as the command line ends it: its exit status and what
    it printed (a stop with a message is status 1, the message on stderr). The training
    stack is imported once for every test, not once per call; the runs a recipe starts
    are still processes of their own, as for users."""

    def run(name: str, *argv: str) -> subprocess.CompletedProcess:
        out, err = io.StringIO(), io.StringIO()
        with redirect_stdout(out), redirect_stderr(err):
            try:
                code = load_recipe(name).main(list(argv))
            except SystemExit as stop:
                code = stop.code if isinstance(stop.code, int) else 1
                if not isinstance(stop.code, int):
                    print(stop.code, file=err)
        return subprocess.CompletedProcess([name, *argv], code, out.getvalue(), err.getvalue())

    return run


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
