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
    ],
    ids=["missing-model", "missing-train-file", "bad-format", "missing-config", "unknown-option"],
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
