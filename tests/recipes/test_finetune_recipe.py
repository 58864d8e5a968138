"""``recipes/finetune.py`` on bad input: one line, exit status 2, no traceback."""

import subprocess
import sys
from pathlib import Path

import pytest

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
        (
            ["--model_name_or_path", "no-such-org/no-such-model"],
            "'no-such-org/no-such-model' is not in the local Hugging Face cache and "
            "HF_HUB_OFFLINE is set",
        ),
    ],
    ids=[
        "missing-model",
        "missing-train-file",
        "bad-format",
        "missing-config",
        "unknown-option",
        "hub-id-offline",
    ],
)
def test_bad_input_gets_one_line_and_status_2(args, expected, tmp_path):
    done = run(*args, "--output_dir", str(tmp_path))
    assert done.returncode == 2, done.stderr[-2000:]
    lines = [line for line in done.stderr.splitlines() if line.startswith("finetune: error:")]
    assert len(lines) == 1 and expected in lines[0], done.stderr[-2000:]
    assert "Traceback" not in done.stderr


def test_debug_shows_the_traceback(tmp_path):
    done = run("--format", "spans", "--output_dir", str(tmp_path), "--debug")
    assert done.returncode != 0 and "Traceback" in done.stderr


def test_a_hub_id_offline_is_the_only_line(tmp_path):
    done = run("--model_name_or_path", "no-such-org/no-such-model", "--output_dir", str(tmp_path))
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("finetune: error:"), done.stderr
