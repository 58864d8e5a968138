"""spaCy's own NER (blank English, CNN, "efficiency" config) as a peer of the LLM runs.

Reads the CoNLL files with llmner's reader (so ``-DOCSTART-``, tag schemes and repairs are
handled exactly as for the other runs), builds spaCy ``Doc`` objects from the given tokens
(spaCy's tokenizer is never used, so predictions align 1:1 with the gold tokens), trains
on the CPU and writes the same run directory as every llmner run::

    python recipes/spacy_ner.py --train_file train.txt --validation_file dev.txt \\
        --test_file test.txt --output_dir runs/spacy [--max_train_samples N] [--max_seconds S]

then ``llmner compare runs/spacy runs/other ...``.

Training is spaCy's own loop (``spacy.training.loop.train_while_improving``, what
``spacy train`` runs) driven here so that ``--max_seconds`` can stop it. With the
"efficiency" config it makes as many passes over the training sentences as it has time
for (``max_epochs = 0``): it stops after ``--max_steps`` updates, after 1,600 updates
without a better dev score (spaCy's ``patience``) or after ``--max_seconds``, whichever
comes first. Every 200 updates it scores entity F1 on **every** sentence of
``--validation_file`` (no ``--max_eval_samples`` here) and keeps the best checkpoint, as
``spacy train``'s ``model-best``; those evaluations count in ``train_seconds``.

spaCy counts words, not sub-tokens: ``metrics.json`` records ``train_words_per_second``
(and no ``train_tokens_per_second``, which llmner runs fill with the model's sub-tokens),
``train_epochs`` (passes over the training sentences, fractional), ``train_steps``,
``best_step`` (also as ``best_validation_step``, the name every run's tables read) and
``num_dev_sentences``. ``best_validation_f1`` is the kept pipeline's
strict F1 on ``--validation_file``, scored by seqeval as every run is;
``validation_curve`` holds each evaluation's score as spaCy's scorer gave it (``ents_f``,
exact spans; ``validation_curve_from: spacy ents_f``), with the passes over the training
sentences made (fractional, as ``train_epochs``) and the updates made when it was taken.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import yaml

from llmner.data.conll import read_conll
from llmner.data.schemes import spans_to_tags
from llmner.data.types import Sentence
from llmner.errors import InputError
from llmner.eval.scoring import score
from llmner.io import peak_rss_mb
from llmner.provenance import mark_start
from llmner.rundir import write_run

MODEL_NAME = "spacy-blank-en-cnn"


def make_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--train_file", required=True)
    p.add_argument("--validation_file", required=True)
    p.add_argument("--test_file", required=True)
    p.add_argument("--output_dir", required=True)
    p.add_argument("--max_train_samples", type=int, default=None)
    p.add_argument("--max_seconds", type=float, default=None, help="stop training after this")
    p.add_argument("--max_steps", type=int, default=20000, help="spaCy's training.max_steps")
    p.add_argument("--seed", type=int, default=0)
    return p


def to_doc(vocab, sentence: Sentence, gold: bool = True):
    """A spaCy Doc with exactly the sentence's tokens, and its gold entities if ``gold``
    (none at all otherwise: see :func:`llmner.integrations.spacy.doc_from_tags`)."""
    from llmner.integrations.spacy import doc_from_tags  # needs spaCy

    return doc_from_tags(vocab, sentence.tokens, None, sentence.tags if gold else None)


def predict(nlp, sentences: list[Sentence]) -> list[list[str]]:
    """Predicted IOB2 tags for each sentence, on entity-free Docs of its own tokens."""
    return [doc_tags(d) for d in nlp.pipe(to_doc(nlp.vocab, s, gold=False) for s in sentences)]


def doc_tags(doc) -> list[str]:
    """IOB2 tags of a Doc's predicted entities, one per token."""
    return spans_to_tags([(e.label_, e.start, e.end) for e in doc.ents], len(doc))


def write_docbin(vocab, sentences: list[Sentence], path: Path) -> Path:
    from spacy.tokens import DocBin

    DocBin(docs=[to_doc(vocab, s) for s in sentences]).to_disk(path)
    return path


def make_config(train: Path, dev: Path, max_steps: int, seed: int):
    """``spacy init config --lang en --pipeline ner --optimize efficiency``, CPU, paths set."""
    from spacy.cli.init_config import init_config

    config = init_config(lang="en", pipeline=["ner"], optimize="efficiency", gpu=False)
    config["paths"]["train"] = str(train)
    config["paths"]["dev"] = str(dev)
    config["system"]["seed"] = seed
    config["training"]["seed"] = seed
    config["training"]["max_steps"] = max_steps
    config["training"]["eval_frequency"] = max(1, min(200, max_steps // 4))
    return config


def train(config, max_seconds: float | None):
    """Train as ``spacy train`` does; returns the best pipeline, the seconds spent and
    ``{"words", "steps", "best_step", "curve"}``: words seen (every pass counted), updates
    made, the update whose checkpoint was kept (``None`` if no evaluation ran) and each
    evaluation's spaCy entity F1 (``ents_f``) with the words seen and updates made."""
    from spacy.schemas import ConfigSchemaTraining
    from spacy.training.initialize import init_nlp
    from spacy.training.loop import (
        create_evaluation_callback,
        create_train_batches,
        train_while_improving,
    )
    from spacy.util import registry, resolve_dot_names

    nlp = init_nlp(config)
    start = time.perf_counter()
    resolved = nlp.config.interpolate()
    T = registry.resolve(resolved["training"], schema=ConfigSchemaTraining)
    train_corpus, dev_corpus = resolve_dot_names(resolved, [T["train_corpus"], T["dev_corpus"]])
    optimizer = T["optimizer"]
    steps = train_while_improving(
        nlp,
        optimizer,
        create_train_batches(nlp, train_corpus, T["batcher"], T["max_epochs"]),
        create_evaluation_callback(nlp, dev_corpus, T["score_weights"]),
        dropout=T["dropout"],
        accumulate_gradient=T["accumulate_gradient"],
        patience=T["patience"],
        max_steps=T["max_steps"],
        eval_frequency=T["eval_frequency"],
        exclude=T["frozen_components"],
        annotating_components=T["annotating_components"],
        before_update=T["before_update"],
    )
    best, stats = None, {"words": 0, "steps": 0, "best_step": None, "curve": []}
    for _, info, is_best in steps:
        stats.update(words=info["words"], steps=info["step"] + 1)
        if info["other_scores"] is not None:  # an evaluation; spaCy drops a score of None
            point = {"words": info["words"], "step": info["step"] + 1}
            stats["curve"].append({**point, "f1": info["other_scores"].get("ents_f")})
        if is_best:
            stats["best_step"] = info["step"] + 1
            with nlp.use_params(optimizer.averages):
                best = nlp.to_bytes()
        if max_seconds is not None and time.perf_counter() - start > max_seconds:
            break
    seconds = time.perf_counter() - start
    if best is not None:
        nlp.from_bytes(best)
    else:
        nlp.from_bytes(_averaged(nlp, optimizer))
    return nlp, seconds, stats


def _averaged(nlp, optimizer) -> bytes:
    with nlp.use_params(optimizer.averages):
        return nlp.to_bytes()


def trainable_parameters(nlp) -> int:
    """Number of weights in the pipeline's models (shared layers counted once)."""
    seen, total = set(), 0
    for _, proc in nlp.pipeline:
        for node in getattr(proc, "model", None).walk() if hasattr(proc, "model") else []:
            for name in node.param_names:
                if node.has_param(name) and (node.id, name) not in seen:
                    seen.add((node.id, name))
                    total += int(node.get_param(name).size)
    return total


def main(args: argparse.Namespace) -> Path:
    import spacy

    mark_start()  # metrics.json records the code the run started with and its CPU time
    out = Path(args.output_dir)
    work = out / "spacy"
    work.mkdir(parents=True, exist_ok=True)
    train_sents = read_conll(args.train_file)[: args.max_train_samples]
    dev_sents, test_sents = read_conll(args.validation_file), read_conll(args.test_file)
    vocab = spacy.blank("en").vocab
    train_path = write_docbin(vocab, train_sents, work / "train.spacy")
    dev_path = write_docbin(vocab, dev_sents, work / "dev.spacy")
    config = make_config(train_path, dev_path, args.max_steps, args.seed)
    config.to_disk(work / "config.cfg")

    nlp, train_seconds, stats = train(config, args.max_seconds)
    nlp.to_disk(work / "model-best")

    words = sum(len(s) for s in train_sents)
    curve = [
        {"epoch": round(p["words"] / max(1, words), 3), "step": p["step"], "f1": p["f1"]}
        for p in stats["curve"]
    ]
    dev_scores = score([s.tags for s in dev_sents], predict(nlp, dev_sents))
    start = time.perf_counter()
    pred = predict(nlp, test_sents)
    eval_seconds = time.perf_counter() - start
    gold = [s.tags for s in test_sents]

    metrics = {
        **score(gold, pred),
        "num_train_sentences": len(train_sents),
        "num_dev_sentences": len(dev_sents),
        "num_eval_sentences": len(test_sents),
        "train_seconds": train_seconds,
        "train_words": stats["words"],
        "train_words_per_second": stats["words"] / train_seconds if train_seconds else None,
        "train_epochs": stats["words"] / max(1, words),
        "train_steps": stats["steps"],
        "best_step": stats["best_step"],
        "best_validation_step": stats["best_step"],
        "best_validation_f1": dev_scores["f1"],
        "validation_curve": curve,
        "validation_curve_from": "spacy ents_f",
        "eval_sentences_per_second": len(test_sents) / eval_seconds if eval_seconds else None,
        "peak_rss_mb": peak_rss_mb(),
        "trainable_parameters": trainable_parameters(nlp),
        "model": MODEL_NAME,
        "format": "tagging",
        "quantization": "none",
        "seed": args.seed,
        "eval_data": str(args.test_file),
        "spacy_version": spacy.__version__,
    }
    run_config = {"model": MODEL_NAME, "format": "tagging", "quantization": "none"}
    run_config.update({k: v for k, v in vars(args).items()})
    run_config["spacy_config"] = str(work / "config.cfg")
    write_run(out, gold, pred, tokens=[s.tokens for s in test_sents], metrics=metrics,
              config=run_config)  # fmt: skip
    print(json.dumps({k: metrics[k] for k in ("f1", "precision", "recall")}))
    print(yaml.safe_dump({"run_dir": str(out)}).strip())
    return out


if __name__ == "__main__":
    try:
        main(make_parser().parse_args())
    except InputError as e:
        sys.exit(f"spacy_ner: error: {e}")
