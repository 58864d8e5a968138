"""Where a trained adapter runs: merged folder, transformers' pipeline, spaCy, HTTP server.

    python recipes/integrations.py --data ../shared/data/conll2003 \
        --output_dir runs/integrations --out recipes/results/integrations

Trains (or reuses) a small causal 4-bit tagging adapter (``configs/integrations/``), then:

* merges it into its dequantized NF4 base (the default) and into the original weights, and
  checks each merge against the adapter on the first ``--merge_sentences`` test sentences;
* compares entities on the first ``--agree_sentences`` test sentences (words joined by
  spaces) between (a) transformers' ``pipeline("token-classification")`` and
  ``llmner.load(MERGED).predict`` on the merged folder (also against llmner's tags
  on the file's own words, ``NERModel.tag``: llmner splits raw text into finer words than
  whitespace), (b) the ``llmner`` spaCy component and ``llmner.load(RUN).predict``
  (misaligned mentions counted);
* load-tests ``llmner serve`` (``recipes/serve_load.py``) against offline ``predict``, once
  per ``--texts_per_request`` value.

Writes ``OUT/integrations.json`` and ``OUT/serve_load-tK.json`` (K texts per request): the
machine, the date, the command and counts, never the dataset's text.
"""

from __future__ import annotations

import argparse
import datetime
import json
import shlex
import sys
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

import benchmark  # noqa: E402
import serve_load  # noqa: E402


def make_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", required=True, help="folder with train.txt and test.txt")
    p.add_argument("--output_dir", default="runs/integrations")
    p.add_argument("--out", required=True, help="folder for the JSON records")
    p.add_argument("--configs", default=str(HERE / "configs" / "integrations"))
    p.add_argument("--config", default="smollm2_causal", help="a config name in --configs")
    p.add_argument("--train_sentences", type=int, default=300)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--merge_sentences", type=int, default=1000)
    p.add_argument("--agree_sentences", type=int, default=200)
    p.add_argument("--serve_seconds", type=float, default=30.0)
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--texts_per_request", default="1,4", help="comma list: one load test each")
    return p


def entity_set(per_text: list[list[dict]]) -> set:
    """``(text index, start, end, label)`` of each entity llmner found."""
    return {(i, e["start"], e["end"], e["label"]) for i, ents in enumerate(per_text) for e in ents}


def word_entities(sentences, tags: list[list[str]]) -> set:
    """The entities of tags on the file's own words, as offsets into the words joined by
    spaces: what llmner finds when it is given the words rather than raw text."""
    from llmner.data.schemes import tags_to_spans

    out = set()
    for i, (s, t) in enumerate(zip(sentences, tags)):
        starts = [sum(len(w) + 1 for w in s.tokens[:j]) for j in range(len(s.tokens))]
        for label, a, b in tags_to_spans(t):
            out.add((i, starts[a], starts[b - 1] + len(s.tokens[b - 1]), label))
    return out


def compare(a: set, b: set) -> dict:
    from llmner.eval.scoring import entity_agreement

    return {
        "llmner_entities": len(a),
        "other_entities": len(b),
        "shared_entities": len(a & b),
        "entity_agreement": entity_agreement(a, b),
    }


def pipeline_entities(merged: Path, texts: list[str]) -> set:
    from transformers import pipeline

    ner = pipeline("token-classification", model=str(merged), aggregation_strategy="first")
    out = set()
    for i, (text, ents) in enumerate(zip(texts, ner(texts))):
        for e in ents:
            span = text[e["start"] : e["end"]]
            if not span.strip():  # a lone space token before a digit, tagged as a word
                continue
            start = e["start"] + len(span) - len(span.lstrip())
            end = e["end"] - (len(span) - len(span.rstrip()))
            out.add((i, start, end, e["entity_group"]))
    return out


def spacy_entities(run: Path, texts: list[str]) -> tuple[set, dict]:
    import spacy

    nlp = spacy.blank("en")
    component = nlp.add_pipe("llmner", config={"model": str(run)})
    ents = set()
    for i, doc in enumerate(nlp.pipe(texts)):
        ents |= {(i, e.start_char, e.end_char, e.label_) for e in doc.ents}
    return ents, dict(component.counts)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = make_parser().parse_args(argv)
    from llmner.adapters.merge import merge_adapter
    from llmner.data.conll import read_conll
    from llmner.predict import load
    from llmner.rundir.source import locate

    data, out_dir, dest = Path(args.data), Path(args.output_dir), Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    dest.mkdir(parents=True, exist_ok=True)
    common = [
        "--dataset", str(data), "--max_train_samples", str(args.train_sentences),
        "--max_predict_samples", str(args.merge_sentences),
    ]  # fmt: skip
    run, ok = benchmark.finetune(Path(args.configs), args.config, args.seed, common, out_dir)
    if not ok:
        raise SystemExit(f"integrations: training failed; see {out_dir / run.name}.log")
    test = read_conll(data / "test.txt")
    result = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": shlex.join(["python", "recipes/integrations.py", *argv]),
        "machine": serve_load.machine(),
        "run": {k: locate(run).meta.get(k) for k in ("model_name_or_path", "format",
                                                       "quantization", "max_train_samples",
                                                       "num_train_epochs", "seed")},
    }  # fmt: skip
    merges = {}
    for base in ("quantized", "original"):
        folder = out_dir / f"{run.name}-merged-{base}"
        if not (folder / "config.json").exists():
            merge_adapter(run, folder, base=base, check=test[: args.merge_sentences])
        merges[base] = locate(folder).meta["merge_check"]
    result["merge"] = merges

    sentences = test[: args.agree_sentences]
    texts = [" ".join(s.tokens) for s in sentences]
    # the pipeline runs the merged folder: compare it with llmner on that same folder
    merged = out_dir / f"{run.name}-merged-quantized"
    ner = load(merged)
    ours = entity_set(ner.predict(texts))
    ours_words = word_entities(sentences, ner.tag(sentences))
    ner.format.decode = "argmax"
    ours_argmax = entity_set(ner.predict(texts))
    ours_words_argmax = word_entities(sentences, ner.tag(sentences))
    piped = pipeline_entities(merged, texts)
    result["pipeline"] = {
        "sentences": len(texts),
        "against_default_decoding": compare(ours, piped),
        "against_argmax_decoding": compare(ours_argmax, piped),
        "words_against_default_decoding": compare(ours_words, piped),
        "words_against_argmax_decoding": compare(ours_words_argmax, piped),
    }
    ours = entity_set(load(run).predict(texts))
    spacy_ents, counts = spacy_entities(run, texts)
    result["spacy"] = {"sentences": len(texts), **compare(ours, spacy_ents), "component": counts}
    (dest / "integrations.json").write_text(json.dumps(result, indent=2) + "\n")

    for k in args.texts_per_request.split(","):
        serve_load.main([
            "--adapter", str(run), "--input", str(data / "test.txt"), "--clients",
            str(args.clients), "--seconds", str(args.serve_seconds), "--texts-per-request", k,
            "--out", str(dest / f"serve_load-t{k}.json"),
        ])  # fmt: skip
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
