"""recipes/gpu_session.sh on the CPU: the script parses, and each step's command line (as its
dry run prints it) is accepted by the program it runs: fit_check's and journey's parsers,
accelerate's launcher, and the run config each training launch gets."""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

import fit_check  # noqa: E402  (recipes/ is on the path: tests/conftest.py)
import journey
import pytest

from llmner.config import parse_args

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "recipes" / "gpu_session.sh"


def _dry_run(tmp_path) -> list[list[str]]:
    env = {"PATH": "/usr/bin:/bin", "OUT": str(tmp_path / "out"), "GPU_SESSION_DRY": "1"}
    done = subprocess.run(
        ["bash", str(SCRIPT)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert not (tmp_path / "out").exists(), "a dry run writes nothing"
    return [shlex.split(line) for line in done.stdout.splitlines()]


def test_the_script_is_valid_bash():
    done = subprocess.run(["bash", "-n", str(SCRIPT)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_steps_come_in_priority_order_and_write_under_out(tmp_path):
    steps = _dry_run(tmp_path)
    names = list(dict.fromkeys(s[0] for s in steps))
    assert names == ["fit-check", "journey", "fsdp", "deepspeed"]
    out = str(tmp_path / "out")
    assert any(a.startswith(out) for a in steps[0]) and any(a.startswith(out) for a in steps[1])


def test_the_fit_check_step_parses_and_names_existing_configs_biggest_first(tmp_path):
    (step,) = [s for s in _dry_run(tmp_path) if s[0] == "fit-check"]
    assert step[1:3] == ["python3", "recipes/fit_check.py"]
    args = fit_check.make_parser().parse_args(step[3:])
    assert len(args.config) == 4 and all((REPO / c).is_file() for c in args.config)
    assert args.budget_seconds < 280 and args.max_seconds * 2 < args.budget_seconds
    assert fit_check._order([str(REPO / c) for c in args.config]) == [
        str(REPO / c) for c in args.config
    ]


def test_the_journey_step_parses_with_its_run_options(tmp_path):
    (step,) = [s for s in _dry_run(tmp_path) if s[0] == "journey"]
    assert step[1:3] == ["python3", "recipes/journey.py"]
    args, rest = journey.make_parser().parse_known_args(step[3:])
    assert args.shape == "llama-3.2-1b" and args.workdir
    cfg = parse_args(["--config", str(REPO / args.config), *rest])
    assert cfg.data.max_predict_samples == 100


@pytest.mark.parametrize("name", ["fsdp", "deepspeed"])
def test_each_launch_parses_and_the_second_resumes(name, tmp_path):
    from accelerate.commands.launch import launch_command_parser

    steps = [s for s in _dry_run(tmp_path) if s[0] == name]
    launches, check = steps[:2], steps[2]
    configs = []
    for step in launches:
        assert step[1:3] == ["accelerate", "launch"]
        launch = launch_command_parser().parse_args(step[3:])
        assert (REPO / launch.config_file).is_file() and launch.num_processes == 1
        assert launch.training_script == "recipes/finetune.py"
        configs.append(parse_args([*launch.training_script_args]))
    first, second = configs
    assert (first.training.max_steps, second.training.max_steps) == (5, 10)
    assert first.training.save_steps == 5 and first.output_dir == second.output_dir
    assert first.training.resume_from_checkpoint is None
    assert second.training.resume_from_checkpoint == "latest"
    if name == "fsdp":
        assert first.model.quant_storage == "bfloat16"
    assert check[1:3] == ["python3", "-c"]
    compile(check[3], "check", "exec")
