"""Raw text against the words a model was trained on: splitters, sentences, F1, spaCy.

    python recipes/raw_text.py splitters --data D/conll2003 D/wnut17 D/bc5cdr \
        --out recipes/results/raw-text/splitters.json
    python recipes/raw_text.py sentences --data D/conll2003 D/wnut17 D/bc5cdr \
        --out recipes/results/raw-text/sentences.json
    python recipes/raw_text.py f1 --run RUN --data D/conll2003 --sentences 500 \
        --out recipes/results/raw-text/f1-conll2003.json
    python recipes/raw_text.py spacy --run RUN --data D/conll2003 --sentences 200 \
        --out recipes/results/raw-text/spacy-conll2003.json

* ``splitters``: each installed splitter's round trip on each dataset's training words
  (``llmner.data.conventions.score_splitters``: sentences and words given back exactly
  from the words joined by spaces, and joined as prose), and the one
  ``choose_splitter`` picks;
* ``sentences``: how many test sentences, their words joined by spaces, the raw-text
  sentence splitter cuts into more than one piece;
* ``f1``: a trained run's F1 on the test words and on the same text raw, once per
  splitter (``llmner.eval.raw_text.score_raw_text``);
* ``spacy``: the spaCy component in each ``tokens`` mode against ``llmner.load(RUN)
  .predict`` on the same raw text (entity agreement, mentions dropped) and against gold.

Each writes one JSON file: counts, scores, the command, the date and the code's
provenance, never the dataset's text.
"""

from __future__ import annotations

import argparse
import datetime
import json
import shlex
import sys
from pathlib import Path


def make_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    for name in ("splitters", "sentences", "f1", "spacy"):
        s = sub.add_parser(name)
        s.add_argument("--out", required=True, help="the JSON file to write")
        s.add_argument("--data", nargs="+", required=True, help="dataset folders (CoNLL files)")
        if name in ("f1", "spacy"):
            s.add_argument("--run", required=True, help="a trained run directory")
            s.add_argument("--sentences", type=int, default=500, help="first N test sentences")
            s.add_argument("--splitters", default="", help="comma list (default: installed)")
    return p


def _record(argv: list[str]) -> dict:
    from llmner.provenance import provenance

    prov = provenance()
    return {
        "command": shlex.join(["python", "recipes/raw_text.py", *argv]),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "llmner_commit": prov.get("commit"),
        "llmner_dirty": prov.get("dirty"),
    }


def splitters(args) -> dict:
    from llmner.data.conll import read_conll
    from llmner.data.conventions import choose_splitter, score_splitters

    out = {}
    for folder in map(Path, args.data):
        train = read_conll(folder / "train.txt")
        out[folder.name] = {
            "split": "train",
            "scores": score_splitters(train),
            "chosen": choose_splitter(train, limit=None),
        }
    return {"datasets": out}


def sentences(args) -> dict:
    from llmner.data.conll import read_conll

    try:
        from llmner.data.sentences import split_sentences
    except ImportError:  # llmner before llmner.data.sentences: the same function's old home
        from llmner.data.text import split_sentences
    out = {}
    for folder in map(Path, args.data):
        test = read_conll(folder / "test.txt")
        pieces = [len(split_sentences(" ".join(s.tokens))) for s in test]
        out[folder.name] = {
            "split": "test",
            "sentences": len(test),
            "cut": sum(n > 1 for n in pieces),
            "pieces": sum(pieces),
        }
    return {"datasets": out}


def _names(args) -> list[str]:
    from llmner.data.text import available_splitters

    return args.splitters.split(",") if args.splitters else available_splitters()


def _test(args) -> list:
    from llmner.data.conll import read_conll

    return read_conll(Path(args.data[0]) / "test.txt")[: args.sentences]


def f1(args) -> dict:
    from llmner.eval.raw_text import score_raw_text
    from llmner.predict import load
    from llmner.rundir.source import locate

    test = _test(args)
    ner = load(args.run)
    word_tags = ner.tag(test)
    scores = {
        name: score_raw_text(ner.tag, test, name, ner.piece_words, word_tags)
        for name in _names(args)
    }
    meta = locate(args.run).meta
    run = {k: meta.get(k) for k in ("model_name_or_path", "format", "max_train_samples", "seed")}
    return {"dataset": Path(args.data[0]).name, "run": run, "splitters": scores}


def spacy_component(args) -> dict:
    import spacy

    from llmner.eval.raw_text import char_spans, span_scores
    from llmner.eval.scoring import entity_agreement
    from llmner.predict import load

    test = _test(args)
    texts = [s.text for s in test]
    gold = char_spans(test)
    out = {}
    for name in _names(args):
        ner = load(args.run, splitter=name)
        ours = {(i, e["start"], e["end"], e["label"]) for i, es in enumerate(ner.predict(texts))
                for e in es}  # fmt: skip
        for tokens in ("words", "doc"):
            nlp = spacy.blank("en")
            config = {"model": args.run, "tokens": tokens, "splitter": name}
            component = nlp.add_pipe("llmner", config=config)
            theirs = {(i, e.start_char, e.end_char, e.label_) for i, d in enumerate(nlp.pipe(texts))
                      for e in d.ents}  # fmt: skip
            out[f"{tokens}/{name}"] = {
                "tokens": tokens,
                "splitter": name,
                "llmner_entities": len(ours),
                "component_entities": len(theirs),
                "shared_entities": len(ours & theirs),
                "entity_agreement": entity_agreement(ours, theirs),
                "component": dict(component.counts),
                "f1_llmner": span_scores(gold, ours)["f1"],
                "f1_component": span_scores(gold, theirs)["f1"],
            }
    return {"dataset": Path(args.data[0]).name, "sentences": len(test), "modes": out}


COMMANDS = {"splitters": splitters, "sentences": sentences, "f1": f1, "spacy": spacy_component}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = make_parser().parse_args(argv)
    result = {**_record(argv), **COMMANDS[args.command](args)}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2)[:2000])
    return 0


if __name__ == "__main__":
    sys.exit(main())
