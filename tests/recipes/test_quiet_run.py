"""A first run, launched as the README launches it, shows progress bars, losses and the
result, and none of the warnings a user can do nothing about."""

import os
import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# Each was printed by a first run before it was handled at its source.
NOISE = [
    "were not passed to `accelerate launch`",  # recipes/accelerate/one_process.yaml
    "gemm_4bit_forward from kernels-community",  # llmner/__init__.py
    "LOAD REPORT",  # llmner/models/loading.py
    "were not sharded",  # llmner/models/loading.py
    "is_gradient_checkpointing",  # llmner/models/loading.py
]


def test_a_4bit_run_prints_no_warning(tiny_llama_128_dir, tiny_conll, tmp_path):
    conll = str(tiny_conll)
    cmd = [
        "accelerate",
        "launch",
        "--config_file",
        str(REPO / "recipes" / "accelerate" / "one_process.yaml"),
        str(REPO / "recipes" / "finetune.py"),
        *("--model_name_or_path", str(tiny_llama_128_dir), "--quantization", "4bit"),
        *("--train_file", conll, "--validation_file", conll, "--test_file", conll),
        *("--output_dir", str(tmp_path / "run"), "--max_steps", "2", "--logging_steps", "1"),
        *("--per_device_train_batch_size", "4", "--lora_r", "4"),
    ]
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    out = (done.stdout + done.stderr).replace(str(tmp_path), "TMP")  # the name says "warn"
    assert done.returncode == 0, out[-3000:]
    assert [n for n in NOISE if n in out] == [], out[-3000:]
    lines = [x.strip() for x in re.split(r"[\r\n]", out) if x.strip()]
    warnings = [x for x in lines if re.search(r"warn", x, re.IGNORECASE)]
    assert warnings == [], warnings
    assert any(x.startswith("{'loss'") for x in lines), "the losses are shown"
    assert "strict F1" in done.stdout, "the result is shown"
