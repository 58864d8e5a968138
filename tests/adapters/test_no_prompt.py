"""A guarded merged folder (echo) loads in llmner without transformers asking whether to
run its code, even with a terminal attached and nobody to answer."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from adapters.tiny_runs import tiny_run
from llmner.adapters.merge import GUARD_FILE, merge_adapter

REPO = Path(__file__).resolve().parents[2]
PROMPT = "Do you wish to run the custom code"


@pytest.fixture(scope="module")
def guarded(tmp_path_factory, tiny_llama_dir) -> Path:
    run = tiny_run(tmp_path_factory, tiny_llama_dir, "echo", echo=True)
    out = merge_adapter(run, tmp_path_factory.mktemp("guarded") / "merged")
    assert (out / GUARD_FILE).exists(), "the echo merge is guarded"
    return out


def run_in_terminal(argv: list[str], timeout: float = 180) -> tuple[int, str]:
    """Run ``argv`` with stdout and stderr on a pseudo-terminal and stdin closed (at its
    end: any question gets no answer); its exit status and everything it printed."""
    master, slave = pty.openpty()
    env = {**os.environ, "PYTHONPATH": str(REPO), "TOKENIZERS_PARALLELISM": "false"}
    proc = subprocess.Popen(
        argv, stdin=subprocess.DEVNULL, stdout=slave, stderr=slave, env=env, close_fds=True
    )
    os.close(slave)
    out = b""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], deadline - time.monotonic())
            if not ready:
                break
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            out += chunk
        status = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    return status, out.decode("utf-8", "replace")


def test_llmner_load_asks_nothing(guarded):
    code = (
        "import sys, llmner\n"
        "ner = llmner.load(sys.argv[1])\n"
        "print('loaded', ner.source.kind, len(ner.predict(['Ada met Bo in Oslo.'])))\n"
    )
    status, out = run_in_terminal([sys.executable, "-c", code, str(guarded)])
    assert status == 0, out
    assert PROMPT not in out and "trust_remote_code" not in out, out
    assert "to instantiate a model of type" not in out, out
    assert "loaded merged 1" in out


def test_the_command_line_asks_nothing(guarded, tmp_path):
    text = tmp_path / "t.txt"
    text.write_text("Ada met Bo in Oslo.\n")
    argv = [sys.executable, "-m", "llmner", "predict", "--model", str(guarded)]
    status, out = run_in_terminal([*argv, "--input", str(text), "--output", str(tmp_path / "p")])
    assert status == 0, out
    assert PROMPT not in out and "to instantiate a model of type" not in out, out
    assert "1 records written" in out
