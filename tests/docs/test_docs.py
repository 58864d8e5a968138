"""The manual cannot drift from the code: the site builds without a warning, every page is
in its navigation, and every ```python and ```bash block of the guides runs.

Blocks run page by page, in order, in a fresh folder per page (``recipes/`` linked in), so
that a later block can use the run an earlier one trained. Commands run in this process:
``llmner ...`` through :func:`llmner.cli.main`, ``python recipes/X.py ...`` and
``accelerate launch [...] recipes/X.py ...`` through the recipe's ``main``; ``pip`` lines
are set-up and skipped; any other command goes to the shell. Training recipes and sweeps
get :data:`TINY` appended (flags override configs), so a guide's real model and data
become a tiny random Llama and a few sentences. A block that needs a GPU, several
processes or real weights is marked ``<!-- no-test: why -->`` on the line before it;
those are counted and listed, never run. A failing block names its page and line.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
import shlex
import subprocess
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

import pytest
from recipe_module import load_recipe

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
# Guides: every page but the results (their commands made the committed run files, on the
# full data, for hours) and the API reference (generated from docstrings, whose examples
# run as doctests).
GUIDES = sorted(
    p for p in DOCS.rglob("*.md") if p.relative_to(DOCS).parts[0] not in ("results", "api")
)
FENCE = re.compile(r"^```(\w+)[^\n]*\n(.*?)^```", re.M | re.S)
NO_TEST = re.compile(r"<!-- no-test: (.+?) -->\s*$")
# Recipes (and the sweep) that train: they get the tiny model and a few sentences.
TRAINING = {"finetune", "quickstart", "learning_curve", "benchmark"}


@dataclass
class Block:
    page: Path
    line: int
    lang: str
    code: str
    no_test: str | None

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def blocks(page: Path) -> list[Block]:
    """The ```python and ```bash blocks of a page, with the reason a block is not run."""
    text = page.read_text(encoding="utf-8")
    found = []
    for m in FENCE.finditer(text):
        if m.group(1) not in ("python", "bash"):
            continue
        line = text.count("\n", 0, m.start()) + 1
        before = text[: m.start()].rstrip("\n").rsplit("\n", 1)[-1]
        reason = NO_TEST.search(before)
        found.append(Block(page, line, m.group(1), m.group(2), reason and reason.group(1)))
    return found


KNOWN = {"llmner", "python", "python3", "accelerate", "pip"}


def commands(code: str) -> list[list[str] | str]:
    """A bash block's commands: lines joined at ``\\``, comments dropped, ``&&`` chains
    split into argument lists; a line that starts with another program stays a string,
    for the shell (redirections, ``printf``)."""
    out: list[list[str] | str] = []
    for line in code.replace("\\\n", " ").splitlines():
        words = shlex.split(line, comments=True)
        if words and words[0] not in KNOWN:
            out.append(line)
            continue
        while words:
            cut = words.index("&&") if "&&" in words else len(words)
            out.append(words[:cut])
            words = words[cut + 1 :]
    return out


def _script(words: list[str]) -> tuple[str, list[str]] | None:
    """``(recipe name, its arguments)`` of ``python recipes/X.py ...`` or ``accelerate
    launch [options] recipes/X.py ...``; ``None`` for any other command."""
    if words[:2] == ["accelerate", "launch"]:
        rest = words[2:]
        while rest and rest[0].startswith("--"):
            rest = rest[2:] if "=" not in rest[0] else rest[1:]
    elif words[0] in ("python", "python3"):
        rest = words[1:]
    else:
        return None
    if rest and rest[0].startswith("recipes/") and rest[0].endswith(".py"):
        return Path(rest[0]).stem, rest[1:]
    return None


def run_command(words: list[str], tiny: list[str]) -> None:
    """Run one command; ``A || B`` runs B when A fails (A may fail: it shows an error)."""
    if "||" in words:
        cut = words.index("||")
        try:
            run_command(words[:cut], tiny)
        except AssertionError:
            run_command(words[cut + 1 :], tiny)
        return
    if words[0] == "pip":
        return
    if words[:3] in (["python", "-m", "llmner"], ["python3", "-m", "llmner"]):
        words = ["llmner", *words[3:]]
    if words[0] == "llmner":
        from llmner.cli import main

        argv = words[1:]
        if argv[:1] == ["sweep"]:  # trials are chosen on validation F1: keep evaluating
            argv = [*argv, "--trials", "1", *tiny, "--eval_strategy", "epoch"]
        status = main(argv)
    elif (script := _script(words)) is not None:
        name, argv = script
        status = load_recipe(name).main([*argv, *(tiny if name in TRAINING else [])])
    else:
        done = subprocess.run(shlex.join(words), shell=True, capture_output=True)
        status = done.returncode
        assert status == 0, done.stderr.decode()[-2000:]
    assert status in (0, None), f"exit status {status}: {shlex.join(words)}"


def run_block(block: Block, namespace: dict, tiny: list[str]) -> None:
    if block.lang == "python":
        exec(compile(block.code, block.where, "exec"), namespace)  # noqa: S102
        return
    for command in commands(block.code):
        if isinstance(command, str):
            done = subprocess.run(["bash", "-c", command], capture_output=True, text=True)
            assert done.returncode == 0, f"{command}: {done.stderr[-2000:]}"
        else:
            run_command(command, tiny)


@pytest.fixture(scope="module")
def tiny_flags(tiny_llama_dir) -> list[str]:
    return [
        "--model_name_or_path", str(tiny_llama_dir), "--quantization", "none",
        "--max_steps", "2", "--max_train_samples", "8", "--max_eval_samples", "4",
        "--max_predict_samples", "4", "--lora_r", "4", "--lora_alpha", "8",
        "--per_device_train_batch_size", "4", "--per_device_eval_batch_size", "4",
        "--eval_strategy", "no",
    ]  # fmt: skip


@contextlib.contextmanager
def _in(folder: Path):
    old = Path.cwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(old)


@pytest.mark.slow  # about three minutes on 2 cores: it trains a few dozen tiny runs
@pytest.mark.parametrize("page", GUIDES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_code_block_of_a_guide_runs(page, tmp_path, tiny_flags):
    (tmp_path / "recipes").symlink_to(ROOT / "recipes")
    namespace: dict = {"__name__": "__docs__"}
    with _in(tmp_path):
        for block in blocks(page):
            if block.no_test:
                continue
            try:
                run_block(block, namespace, tiny_flags)
            except BaseException as e:  # SystemExit from argparse included
                pytest.fail(f"{block.where}: the {block.lang} block fails: {e!r}")


def test_blocks_not_run_say_why_and_are_counted():
    skipped = [b for p in [ROOT / "README.md", *GUIDES] for b in blocks(p) if b.no_test]
    assert all(len(b.no_test) > 10 for b in skipped)
    run = sum(not b.no_test for p in GUIDES for b in blocks(p))
    assert run > 0
    warnings.warn(
        f"{run} guide blocks run; {len(skipped)} marked no-test: "
        + "; ".join(f"{b.where} ({b.no_test})" for b in skipped),
        stacklevel=1,
    )


def test_a_failing_block_names_its_page_and_line(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("# P\n\ntext\n\n```bash\nllmner no-such-command\n```\n")
    [block] = blocks(page)
    assert block.line == 5 and block.lang == "bash"
    with pytest.raises(SystemExit):
        run_block(block, {}, [])


def test_commands_are_split_as_the_shell_would():
    code = 'pip install x && llmner data check bc5cdr  # note\nllmner a \\\n  --b "c d"\n'
    code += "printf 'a\\n' > f.txt\n"
    assert commands(code) == [
        ["pip", "install", "x"], ["llmner", "data", "check", "bc5cdr"],
        ["llmner", "a", "--b", "c d"], "printf 'a\\n' > f.txt",
    ]  # fmt: skip


def test_every_page_is_in_the_navigation():
    yaml = pytest.importorskip("yaml")
    nav = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))["nav"]

    def pages(item):
        if isinstance(item, str):
            yield item
        elif isinstance(item, list):
            for x in item:
                yield from pages(x)
        elif isinstance(item, dict):
            for x in item.values():
                yield from pages(x)

    listed = set(pages(nav))
    on_disk = {str(p.relative_to(DOCS)) for p in DOCS.rglob("*.md")}
    assert on_disk - listed == set() and listed - on_disk == set()


@pytest.mark.skipif(importlib.util.find_spec("mkdocs") is None, reason="pip install -e .[docs]")
def test_the_site_builds_without_a_warning(tmp_path):
    if importlib.util.find_spec("material") is None:
        pytest.skip("needs mkdocs-material")
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert done.returncode == 0, done.stderr[-4000:]
    assert "WARNING" not in done.stderr, done.stderr[-4000:]
    assert (tmp_path / "results" / "conll-full" / "index.html").is_file()
