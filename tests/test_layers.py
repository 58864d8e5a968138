"""The package's layers are a checked contract (``[tool.importlinter]`` in pyproject.toml):
data → models → formats → eval → rundir → config → train → adapters/predict →
integrations/serve/report → cli, each importing only from the layers below it."""

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(shutil.which("lint-imports") is None, reason="import-linter not installed")
def test_the_layers_contract_is_kept():
    done = subprocess.run(["lint-imports"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "1 kept, 0 broken" in done.stdout


def test_the_wheel_holds_no_benchmark_or_results_page_module():
    package = ROOT / "llmner"
    assert not (package / "bench").exists() and not (package / "report" / "pages.py").exists()
    lab = [p.name for p in package.rglob("*.py") if p.stem in {"pages", "bench", "profile"}]
    assert lab == []
