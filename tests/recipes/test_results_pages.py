"""Every generated table on a results page equals what ``recipes/results_tables.py``
builds from the run files committed beside it, so no figure can drift from its file."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from lab.pages import RENDERERS, refresh, table_blocks
from recipe_module import load_recipe

ROOT = Path(__file__).resolve().parents[2]
# Every page with generated tables, so that a new one is checked without being listed:
# the README, the results pages of the documentation and any page left beside run files.
PAGES = [
    ROOT / "README.md",
    *sorted((ROOT / "docs" / "results").glob("*.md")),
    *sorted((ROOT / "recipes" / "results").glob("*/README.md")),
]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_committed_tables_are_rebuilt_from_the_committed_files(page):
    text = page.read_text(encoding="utf-8")
    blocks = table_blocks(text)
    kinds = {source.split()[0] for source, _ in blocks}
    assert kinds <= set(RENDERERS), kinds
    assert kinds or page.name == "index.md", f"{page} holds no generated table"
    assert refresh(text, page.parent) == text


def test_every_results_folder_has_its_page():
    """Run files under recipes/results/NAME are shown by docs/results/NAME.md (or by a
    README.md of their own)."""
    folders = [d for d in (ROOT / "recipes" / "results").iterdir() if d.is_dir()]
    unshown = [
        d.name
        for d in folders
        if not (ROOT / "docs" / "results" / f"{d.name}.md").is_file()
        and not (d / "README.md").is_file()
    ]
    assert folders and unshown == []


def test_the_tables_name_only_files_that_are_committed_beside_them():
    """Run files, not dataset text: each table's sources are JSON, YAML or run folders
    (a GPU run's ``environment.txt`` too: the driver and package versions); a coverage
    table also reads the configs it lists, and a data set without runs has no folder."""
    for page in PAGES:
        for source, _ in table_blocks(page.read_text(encoding="utf-8")):
            kind, *args = source.split()
            if kind == "coverage":
                configs, *sets = args
                configs = (page.parent / configs).resolve()
                assert configs.is_relative_to(ROOT / "recipes" / "configs"), source
                args = [d for _, d in (s.split("=", 1) for s in sets) if (page.parent / d).exists()]
            for arg in args:
                if kind == "profile":
                    arg = arg.split("=", 1)[1]
                elif "=" in arg or (kind == "bootstrap" and ":" in arg):  # filters, not files
                    continue
                path = (page.parent / arg).resolve()
                assert path.is_relative_to(ROOT / "recipes" / "results"), source
                files = [path] if path.is_file() else [f for f in path.rglob("*") if f.is_file()]
                assert files and all(
                    f.name in ("metrics.json", "config.yaml", "environment.txt")
                    or f.suffix == ".json"
                    for f in files
                ), source


@pytest.mark.skipif(
    shutil.which("git") is None or not (ROOT / ".git").exists(), reason="needs a git checkout"
)
def test_no_results_file_is_ignored_by_git():
    """A run file that .gitignore hides passes here and is missing from every clean clone."""
    files = [
        str(f.relative_to(ROOT)) for f in (ROOT / "recipes" / "results").rglob("*") if f.is_file()
    ]
    ignored = subprocess.run(
        ["git", "check-ignore", "--no-index", "--stdin"],
        input="\n".join(files),
        capture_output=True,
        text=True,
        cwd=ROOT,
    ).stdout.split()
    assert not [f for f in ignored if "__pycache__" not in f], ignored


def test_the_script_reports_a_stale_page_and_rebuilds_it(tmp_path, capsys):
    script = load_recipe("results_tables")
    source = ROOT / "recipes" / "results" / "generation-speed" / "cpu_2026-11-26.json"
    (tmp_path / "cpu.json").write_bytes(source.read_bytes())
    page = tmp_path / "page.md"
    page.write_text("# Speed\n\n<!-- table: generation cpu.json -->\n| 9.9x |\n<!-- end -->\n")
    assert script.main(["--check", str(page)]) == 1
    assert "page.md: stale" in capsys.readouterr().out
    assert "9.9x" in page.read_text()  # --check changes nothing
    assert script.main([str(page)]) == 0
    rebuilt = page.read_text()
    assert "| batched, 24 per batch | computed once | 2.42 | 5.0x | 0 of 24 |" in rebuilt
    assert "9.9x" not in rebuilt and rebuilt.endswith("<!-- end -->\n")
    assert script.main(["--check", str(page)]) == 0
