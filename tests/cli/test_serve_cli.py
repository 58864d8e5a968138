"""``llmner serve``: a real server in its own process, and a wrong folder refused at start."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")
from adapters.tiny_runs import tiny_run  # noqa: E402

from llmner.predict import load  # noqa: E402


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, tiny_llama_dir):
    return tiny_run(tmp_path_factory, tiny_llama_dir, "fp32")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _call(url: str, body: dict | None = None) -> tuple[int, dict]:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data, {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_the_command_serves_until_stopped(run_dir):
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "llmner", "serve", str(run_dir), "--port", str(port)]
    server = subprocess.Popen(
        cmd + ["--max-texts", "3"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, server.stdout.read()
            try:
                status, health = _call(f"{url}/health")
                break
            except OSError:
                assert time.monotonic() < deadline, "the server did not start in 120 s"
                time.sleep(0.2)
        assert status == 200 and health["status"] == "ok" and health["format"] == "tagging"
        texts = ["Marta Olsen opened a bakery in Oslo .", "Ada met Bo ."]
        status, answer = _call(f"{url}/predict", {"texts": texts})
        assert status == 200
        assert answer["entities"] == load(run_dir).predict(texts)
        assert answer["entities"][0], "the tiny run finds entities"
        status, error = _call(f"{url}/predict", {"texts": ["a"] * 4})
        assert status == 413 and "at most 3" in error["error"]
    finally:
        server.terminate()
        out, _ = server.communicate(timeout=30)
    # uvicorn shuts down on SIGTERM, then re-raises it: the status says what stopped it
    assert server.returncode in (0, -signal.SIGTERM), out
    assert f"serving {run_dir} (tagging, " in out
    assert "Application shutdown complete" in out, out


def test_a_folder_that_is_no_model_is_refused_in_one_line(tmp_path):
    r = subprocess.run(
        [sys.executable, "-m", "llmner", "serve", str(tmp_path), "--port", str(_free_port())],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == [
        f"llmner serve: error: {tmp_path}: not an llmner model: expected a run directory "
        "(config.yaml + adapter/), an adapter folder (adapter_config.json) or a merged "
        "folder (config.json + llmner.yaml)"
    ]
