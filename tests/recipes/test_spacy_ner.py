"""The spaCy peer: a few training steps on the tiny CoNLL file give a complete run
directory that ``llmner compare`` loads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from recipe_module import load_recipe

spacy = pytest.importorskip("spacy")

from llmner.cli import main as llmner_main  # noqa: E402
from llmner.data.conll import read_conll  # noqa: E402
from llmner.rundir import load_run  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "tests" / "assets" / "tiny.conll"


@pytest.fixture(scope="module")
def recipe():
    return load_recipe("spacy_ner")


def test_docs_keep_the_given_tokens_and_entities(recipe):
    sents = read_conll(TINY)
    vocab = spacy.blank("en").vocab
    for s in sents:
        doc = recipe.to_doc(vocab, s)
        assert [t.text for t in doc] == s.tokens
        assert recipe.doc_tags(doc) == s.tags


def test_tokens_spacy_would_split_stay_whole(recipe):
    from llmner.data.types import Sentence

    s = Sentence(["U.S.-based", "don't", "e-mail"], ["B-LOC", "O", "O"])
    doc = recipe.to_doc(spacy.blank("en").vocab, s)
    assert len(doc) == 3 and recipe.doc_tags(doc) == s.tags


def test_prediction_docs_carry_no_gold_entities(recipe):
    """spaCy's NER keeps entities preset on a Doc: a pipeline with no NER at all must
    predict nothing, not echo the gold entities."""
    sents = read_conll(TINY)
    pred = recipe.predict(spacy.blank("en"), sents)
    assert pred == [["O"] * len(s) for s in sents]


def test_run_directory_is_complete_and_compares(recipe, tmp_path):
    out = tmp_path / "spacy-run"
    args = recipe.make_parser().parse_args(
        [
            "--train_file", str(TINY), "--validation_file", str(TINY),
            "--test_file", str(TINY), "--output_dir", str(out),
            "--max_train_samples", "8", "--max_steps", "12",
        ]
    )  # fmt: skip
    recipe.main(args)
    for name in ("config.yaml", "metrics.json", "predictions.conll"):
        assert (out / name).is_file()
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["model"] == "spacy-blank-en-cnn"
    assert metrics["format"] == "tagging" and metrics["quantization"] == "none"
    assert metrics["num_train_sentences"] == 8
    assert metrics["num_eval_sentences"] == len(read_conll(TINY))
    assert metrics["trainable_parameters"] > 0 and metrics["train_seconds"] > 0
    for key in ("f1", "precision", "recall", "f1_default", "per_type", "peak_rss_mb"):
        assert key in metrics
    # spaCy counts words, never sub-tokens: the two speeds live under different names
    assert "train_tokens_per_second" not in metrics
    assert metrics["train_words_per_second"] == pytest.approx(
        metrics["train_words"] / metrics["train_seconds"]
    )
    words = sum(len(s) for s in read_conll(TINY)[:8])
    assert metrics["train_epochs"] == pytest.approx(metrics["train_words"] / words)
    assert metrics["train_epochs"] > 1  # 12 updates over 8 sentences: several passes
    assert metrics["train_steps"] >= 12  # spaCy's max_steps (it counts from 0)
    assert metrics["num_dev_sentences"] == len(read_conll(TINY))

    run = load_run(out)
    gold = read_conll(TINY)
    assert run.predictions.tokens == [s.tokens for s in gold]
    assert run.predictions.gold == [s.tags for s in gold]

    report = tmp_path / "report"
    assert llmner_main(["compare", str(out), str(out), "--output", str(report),
                        "--bootstrap", "20"]) == 0  # fmt: skip
    text = (report / "report.md").read_text()
    assert "spacy-blank-en-cnn" in text
    header = next(line for line in text.splitlines() if line.startswith("| run |"))
    assert "| train tok/s | train words/s |" in header
    row = next(line for line in text.splitlines() if "| spacy-blank-en-cnn |" in line)
    cells = [c.strip() for c in row.strip("|").split("|")]
    columns = [c.strip() for c in header.strip("|").split("|")]
    assert cells[columns.index("train tok/s")] == "–"
    assert cells[columns.index("train words/s")] != "–"


def test_the_run_records_its_validation_score_as_seqeval_gives_it(recipe, tmp_path):
    """``best_validation_f1`` is the kept pipeline's seqeval F1 on the validation file, the
    score every other run records; spaCy's own scores of each evaluation form the curve,
    and on the kept checkpoint the two are close (they count exact spans both; on WNUT-17
    they differ in the fourth decimal)."""
    out = tmp_path / "spacy-run"
    args = recipe.make_parser().parse_args(
        [
            "--train_file", str(TINY), "--validation_file", str(TINY),
            "--test_file", str(TINY), "--output_dir", str(out), "--max_steps", "60",
        ]
    )  # fmt: skip
    recipe.main(args)
    metrics = json.loads((out / "metrics.json").read_text())
    curve = metrics["validation_curve"]
    assert metrics["validation_curve_from"] == "spacy ents_f"
    # one evaluation every 15 updates (a quarter of max_steps), the first after update 1
    assert [p["step"] for p in curve] == [1, 16, 31, 46, 61]
    assert [p["epoch"] for p in curve] == sorted(p["epoch"] for p in curve)
    assert curve[-1]["epoch"] == pytest.approx(metrics["train_epochs"], abs=1e-3)
    assert metrics["best_validation_f1"] > curve[0]["f1"]  # it learned something
    best = max(curve, key=lambda p: p["f1"])
    assert metrics["best_validation_f1"] == pytest.approx(best["f1"], abs=5e-3)
    assert metrics["best_step"] in [p["step"] for p in curve if p["f1"] == best["f1"]]
    # validation and test files are the same here, and so is the pipeline that scored them
    assert metrics["best_validation_f1"] == pytest.approx(metrics["f1"])
    machine = metrics["provenance"]["machine"]  # the run marked its start
    assert machine["cpu_seconds"] > 0 and machine["wall_seconds"] >= metrics["train_seconds"]
