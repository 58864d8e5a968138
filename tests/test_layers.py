"""The package's layers are a checked contract (``[tool.importlinter]`` in pyproject.toml):
data → models → formats → eval → rundir → config → train → adapters/predict →
integrations/serve/report → cli, each importing only from the layers below it.

Imports sit at the top of their module: one inside a function is of an optional package, in
the command line (whose subcommands import the library only when run, so that
``llmner --help`` and argument errors load no torch) or on the short list below, with why."""

import ast
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


# Packages a plain install may lack (extras, or checked for before use).
OPTIONAL = {
    "bitsandbytes",
    "fastapi",
    "huggingface_hub",
    "kernels",
    "matplotlib",
    "optuna",
    "spacy",
    "starlette",
    "tensorboard",
    "uvicorn",
}
_LIGHT_RUNDIR = "llmner.rundir.source stays light: locate() is the command line's --model check"
# (module, what it imports inside a function): why it cannot be at the top.
LAZY = {
    ("llmner", "llmner.predict"): "every llmner.* import runs llmner/__init__.py",
    ("llmner.data.hf", "datasets"): "about 1 s: llmner --help and data check import llmner.data",
    ("llmner.models.registry", "transformers"): "llmner --help imports the registry",
    ("llmner.provenance", "torch"): "a run without torch still writes provenance",
    ("llmner.rundir", "llmner.eval.scoring"): "scikit-learn, 2 s: the --model check reads rundir",
    ("llmner.rundir.source", "llmner.formats"): _LIGHT_RUNDIR,
    ("llmner.rundir.source", "llmner.models.heads"): _LIGHT_RUNDIR,
    ("llmner.rundir.source", "llmner.models.loading"): _LIGHT_RUNDIR,
    ("llmner.rundir.source", "llmner.models.numerics"): _LIGHT_RUNDIR,
    ("llmner.rundir.source", "llmner.models.quantization"): _LIGHT_RUNDIR,
    ("llmner.rundir.source", "peft"): _LIGHT_RUNDIR,
    ("llmner.rundir.source", "torch"): _LIGHT_RUNDIR,
    ("llmner.rundir.source", "transformers"): _LIGHT_RUNDIR,
}


def _function_imports(path: Path, module: str):
    """``(line, imported module)`` of every import inside a function of ``path``."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]

    def visit(node, in_function: bool):
        for child in ast.iter_child_nodes(node):
            if in_function and isinstance(child, ast.Import):
                yield from ((child.lineno, a.name) for a in child.names)
            elif in_function and isinstance(child, ast.ImportFrom):
                base = package.rsplit(".", child.level - 1)[0] if child.level else ""
                name = ".".join(p for p in (base, child.module) if p)
                yield child.lineno, name
            inside = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            yield from visit(child, inside)

    yield from visit(ast.parse(path.read_text(encoding="utf-8")), False)


def test_imports_inside_functions_are_optional_command_line_or_listed():
    stray, used = [], set()
    for path in sorted((ROOT / "llmner").rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        if module.startswith("llmner.cli") or module == "llmner.__main__":
            continue
        for line, name in _function_imports(path, module):
            if name.split(".")[0] in OPTIONAL:
                continue
            key = next((k for k in LAZY if k[0] == module and _within(name, k[1])), None)
            if key is None:
                stray.append(f"{path.relative_to(ROOT)}:{line} imports {name}")
            used.add(key)
    assert not stray, "move these imports to the top of their module:\n" + "\n".join(stray)
    assert not set(LAZY) - used, f"no longer imported inside a function: {set(LAZY) - used}"


def _within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")
