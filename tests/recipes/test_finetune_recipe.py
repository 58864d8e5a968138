"""``recipes/finetune.py`` on bad input: one line, exit status 2, no traceback.

Each mistake is checked through the recipe's ``main`` in the test's process (the ``run_recipe``
fixture); one is also run as its own process, whose whole stderr must be the one line."""

import subprocess
import sys
from pathlib import Path

import pytest
from recipe_module import load_recipe

from llmner.errors import InputError

REPO = Path(__file__).resolve().parents[2]
RECIPE = str(REPO / "recipes" / "finetune.py")


def run(*args):
    return subprocess.run(
        [sys.executable, RECIPE, *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1"},
    )


@pytest.mark.parametrize(
    "args, expected",
    [
        (
            ["--model_name_or_path", "/no/such/model"],
            "model folder '/no/such/model' does not exist",
        ),
        (["--train_file", "/no/such/train.txt"], "/no/such/train.txt: no such file"),
        (["--format", "spans"], "format 'spans' is unknown"),
        (["--config", "/no/such.yaml"], "/no/such.yaml: config file not found"),
        (["--no_such_option", "1"], "unknown argument"),
    ],
    ids=["missing-model", "missing-train-file", "bad-format", "missing-config", "unknown-option"],
)
def test_bad_input_gets_one_line_and_status_2(args, expected, tmp_path, run_recipe):
    done = run_recipe("finetune", *args, "--output_dir", str(tmp_path))
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("finetune: error:") and done.stderr.count("\n") == 1
    assert expected in done.stderr, done.stderr
    assert not any(tmp_path.iterdir()), "nothing is written before the input is checked"


def test_debug_raises_the_error_itself(tmp_path):
    with pytest.raises(InputError, match="format 'spans' is unknown"):
        load_recipe("finetune").main(
            ["--format", "spans", "--output_dir", str(tmp_path), "--debug"]
        )


def test_a_hub_id_offline_is_the_only_line(tmp_path):
    """In a process of its own, with the hub offline: the whole stderr is the one line
    (no warning, no traceback) and the exit status is 2."""
    done = run("--model_name_or_path", "no-such-org/no-such-model", "--output_dir", str(tmp_path))
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("finetune: error:"), done.stderr
