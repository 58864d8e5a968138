"""A model load says one line in the command line and nothing from ``llmner.load``;
outputs go where they are asked to, their folders made before the load."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from adapters.tiny_runs import TINY_CONLL, tiny_run

from llmner.cli import main

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, tiny_llama_dir):
    return tiny_run(tmp_path_factory, tiny_llama_dir, "fp32")


def _python(*argv: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO), "TOKENIZERS_PARALLELISM": "false"}
    return subprocess.run(
        [sys.executable, *argv], capture_output=True, text=True, env=env, timeout=300
    )


def test_llmner_load_prints_nothing_unless_asked(run_dir):
    code = "import sys, llmner\nllmner.load(sys.argv[1], verbose=sys.argv[2] == 'yes')\n"
    quiet = _python("-c", code, str(run_dir), "no")
    assert quiet.returncode == 0, quiet.stderr
    assert (quiet.stdout, quiet.stderr) == ("", "")
    verbose = _python("-c", code, str(run_dir), "yes")
    assert "Loading weights" in verbose.stderr


@pytest.mark.parametrize("quiet", [False, True], ids=["default", "quiet"])
def test_a_load_in_the_command_line_is_one_line(run_dir, tmp_path, quiet):
    text = tmp_path / "t.txt"
    text.write_text("Marta Olsen opened a bakery in Oslo.\n")
    out = tmp_path / "new" / "folder" / "p.jsonl"
    argv = ["-m", "llmner", "predict", "--model", str(run_dir), "--input", str(text)]
    done = _python(*argv, "--output", str(out), *(["--quiet"] if quiet else []))
    assert done.returncode == 0, done.stderr
    expected = [] if quiet else [f"loading {run_dir / 'adapter'}: tagging adapter on "]
    assert [line[: len(e)] for line, e in zip(done.stderr.splitlines(), expected)] == expected
    assert len(done.stderr.splitlines()) == len(expected), done.stderr
    assert done.stdout == f"1 records written to {out}\n"
    assert json.loads(out.read_text())["text"] == text.read_text().strip()


def test_evaluate_writes_only_where_asked(run_dir, tmp_path, capsys):
    run = shutil.copytree(run_dir, tmp_path / "run")
    base = ["evaluate", "--model", str(run), "--data", str(TINY_CONLL), "--quiet"]
    assert main(base) == 0
    assert capsys.readouterr().out.startswith("not written (--output DIR keeps it): strict F1")
    assert not (run / "eval").exists()
    assert main([*base, "--output", str(tmp_path / "scores")]) == 0
    assert (tmp_path / "scores" / "metrics.json").is_file()
    assert not (run / "eval").exists()
    assert main([*base, "--into_run"]) == 0
    assert (run / "eval" / "tiny.conll-file" / "metrics.json").is_file()
