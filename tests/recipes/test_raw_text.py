"""recipes/raw_text.py on the tiny CoNLL file and a tiny run: every record, its table, and
no dataset text in any of them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from adapters.tiny_runs import tiny_run
from lab.pages import refresh


@pytest.fixture
def raw_text(run_recipe):
    """``raw_text(*ARGV)``: ``python recipes/raw_text.py ARGV``, which must succeed."""

    def run(*args: str) -> None:
        done = run_recipe("raw_text", *args)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]

    return run


def no_dataset_text(path: Path, conll: Path) -> None:
    vocab = {ln.split()[0] for ln in conll.read_text().splitlines() if ln.strip()}
    text = path.read_text()
    assert not [w for w in vocab if len(w) > 4 and f'"{w}"' in text], "no dataset text"


def test_splitters_and_sentences_records_render(tmp_path, tiny_data, tiny_conll, raw_text):
    raw_text("splitters", "--data", str(tiny_data), "--out", str(tmp_path / "splitters.json"))
    raw_text("sentences", "--data", str(tiny_data), "--out", str(tmp_path / "sentences.json"))
    splitters = json.loads((tmp_path / "splitters.json").read_text())
    data = splitters["datasets"]["data"]
    assert set(data["scores"]) >= {"llmner", "edges", "ptb"} and data["split"] == "train"
    assert data["scores"][data["chosen"]]["spaces"]["sentence_accuracy"] == 1.0
    assert splitters["command"].startswith("python recipes/raw_text.py splitters")
    sentences = json.loads((tmp_path / "sentences.json").read_text())["datasets"]["data"]
    assert sentences["sentences"] == 12 and sentences["cut"] == 0 and sentences["pieces"] == 12
    page = (
        "<!-- table: raw-text-splitters splitters.json -->\n<!-- end -->\n"
        "<!-- table: raw-text-sentences sentences.json sentences.json -->\n<!-- end -->"
    )
    built = refresh(page, tmp_path)
    assert f"| data | **{data['chosen']}** (chosen) | 100.00 | 100.00 |" in built
    assert "| data | 12 | 0 (0.0%) | 0 (0.0%) |" in built
    for name in ("splitters.json", "sentences.json"):
        no_dataset_text(tmp_path / name, tiny_conll)


def test_f1_and_spacy_records_render(
    tmp_path, tmp_path_factory, tiny_llama_dir, tiny_data, raw_text
):
    pytest.importorskip("spacy")
    run = tiny_run(tmp_path_factory, tiny_llama_dir, "fp32")
    common = ["--run", str(run), "--data", str(tiny_data), "--sentences", "6"]
    raw_text("f1", *common, "--splitters", "llmner,ptb", "--out", str(tmp_path / "f1.json"))
    raw_text("spacy", *common, "--splitters", "ptb", "--out", str(tmp_path / "spacy.json"))
    f1 = json.loads((tmp_path / "f1.json").read_text())
    assert set(f1["splitters"]) == {"llmner", "ptb"} and f1["dataset"] == "data"
    ptb = f1["splitters"]["ptb"]
    assert ptb["sentences"] == 6 and ptb["word"]["predicted"] > 0, "the tiny run finds entities"
    assert ptb["sentences_with_other_words"] == 0 and ptb["f1_gap"] == 0.0
    modes = json.loads((tmp_path / "spacy.json").read_text())["modes"]
    assert set(modes) == {"words/ptb", "doc/ptb"} and modes["doc/ptb"]["component"]["docs"] == 6
    assert modes["words/ptb"]["llmner_entities"] > 0
    assert modes["doc/ptb"]["component"]["misaligned"] == 0
    page = (
        "<!-- table: raw-text-f1 f1.json -->\n<!-- end -->\n"
        "<!-- table: raw-text-spacy spacy.json -->\n<!-- end -->"
    )
    built = refresh(page, tmp_path)
    assert "| ptb | " in built and "| doc | ptb | " in built and "| words | ptb | " in built
    for name in ("f1.json", "spacy.json"):
        no_dataset_text(tmp_path / name, tiny_data / "test.txt")
