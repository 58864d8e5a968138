"""The spaCy component (``nlp.add_pipe("llmner")``) and ``llmner predict --output x.spacy``."""

from __future__ import annotations

import json
import logging
import sys

import pytest

spacy = pytest.importorskip("spacy")

from adapters.tiny_runs import TINY_CONLL, tiny_run  # noqa: E402
from spacy.tokens import DocBin  # noqa: E402
from spacy.vocab import Vocab  # noqa: E402

from llmner.cli import main  # noqa: E402
from llmner.data.conll import read_conll  # noqa: E402
from llmner.data.schemes import tags_to_spans  # noqa: E402
from llmner.data.text import tokenize  # noqa: E402
from llmner.errors import InputError  # noqa: E402
from llmner.predict import entities_from_tags, load  # noqa: E402

TEXTS = [
    "Marta Olsen opened a bakery in Oslo.",
    "",
    "Ada met Bo. Then they left!",
    "Alice visited Paris and Berlin with Bob .",
    "Rome .",
]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, tiny_llama_dir):
    return tiny_run(tmp_path_factory, tiny_llama_dir, "fp32")


@pytest.fixture(scope="module")
def gen_dir(tmp_path_factory, tiny_llama_dir):
    # The same run (name and options) as tests/test_predict.py's, trained once a session.
    return tiny_run(
        tmp_path_factory, tiny_llama_dir, "gen-scores", format="generative", max_steps=2
    )


def pipeline(model, **config):
    nlp = spacy.blank("en")
    nlp.add_pipe("llmner", config={"model": str(model), **config})
    return nlp


def ents(doc):
    return [(e.start_char, e.end_char, e.label_) for e in doc.ents]


def offsets(entities):
    return [(e["start"], e["end"], e["label"]) for e in entities]


def test_the_factory_comes_through_the_entry_point(run_dir, tmp_path):
    from importlib.metadata import entry_points

    [ep] = [ep for ep in entry_points(group="spacy_factories") if ep.name == "llmner"]
    assert ep.value == "llmner.integrations.spacy:make_component"
    spacy.blank("en")  # imports the entry point factories
    assert "llmner" in spacy.registry.factories
    nlp = pipeline(run_dir, alignment_mode="expand")
    nlp.to_disk(tmp_path / "pipeline")  # the config keeps the model's path, not its weights
    again = spacy.load(tmp_path / "pipeline")
    assert again.pipe_names == ["llmner"]
    assert again.get_pipe("llmner").alignment_mode == "expand"
    assert ents(again(TEXTS[0])) == ents(nlp(TEXTS[0]))


@pytest.mark.parametrize("kind", ["tagging", "generative"])
def test_doc_ents_are_what_the_model_predicts(kind, run_dir, gen_dir):
    model = run_dir if kind == "tagging" else gen_dir
    expected = load(model).predict(TEXTS)
    assert sum(map(len, expected)) >= 2, "the tiny run finds entities"
    nlp = pipeline(model)
    docs = [nlp(t) for t in TEXTS]
    assert [ents(d) for d in docs] == [offsets(e) for e in expected]
    assert all(d.user_data["llmner"]["misaligned"] == 0 for d in docs)
    scores = [[e._.llmner_score for e in d.ents] for d in docs]
    assert scores == [[e.get("score") for e in doc] for doc in expected]
    if kind == "generative":
        assert all(0 < s <= 1 for doc in scores for s in doc)
    counts = nlp.get_pipe("llmner").counts
    assert counts["docs"] == len(TEXTS) and counts["entities"] == sum(map(len, expected))


def test_pipe_in_batches_equals_one_by_one(run_dir):
    nlp = pipeline(run_dir)
    texts = TEXTS * 3
    one_by_one = [ents(nlp(t)) for t in texts]
    assert sum(map(len, one_by_one)) > 0
    assert [ents(d) for d in nlp.pipe(texts, batch_size=4)] == one_by_one
    assert [ents(d) for d in nlp.get_pipe("llmner").pipe(nlp.make_doc(t) for t in texts)] == (
        one_by_one
    )


@pytest.mark.parametrize(
    "config, message",
    [
        ({}, "not an llmner model"),
        ({"alignment_mode": "snap"}, "alignment_mode 'snap': expected one of"),
    ],
)
def test_a_bad_folder_or_mode_is_one_line(config, message, run_dir, tmp_path):
    model = tmp_path if not config else run_dir
    with pytest.raises(InputError) as err:
        pipeline(model, **config)
    assert message in str(err.value) and "\n" not in str(err.value)


# "HIV-1" is one spaCy token and three of ours: an entity on "HIV" ends inside spaCy's token.
HIV = "HIV-1 spread in Oslo ."


def _hiv_entities():
    tags = ["B-Disease", "O", "O", "O", "O", "B-LOC", "O"]
    return entities_from_tags(HIV, tokenize(HIV), tags)


@pytest.mark.parametrize(
    "mode, kept, misaligned, adjusted",
    [
        ("strict", ["Oslo"], 1, 0),
        ("contract", ["Oslo"], 1, 0),
        ("expand", ["HIV-1", "Oslo"], 0, 1),
    ],
)
def test_a_mention_inside_a_spacy_token_is_counted(
    mode, kept, misaligned, adjusted, run_dir, monkeypatch, caplog
):
    nlp = pipeline(run_dir, alignment_mode=mode)
    assert [t.text for t in nlp.make_doc(HIV)][0] == "HIV-1"
    component = nlp.get_pipe("llmner")
    monkeypatch.setattr(component.ner, "predict", lambda texts: [_hiv_entities() for _ in texts])
    with caplog.at_level(logging.WARNING, logger="llmner"):
        doc = nlp(HIV)
    assert [e.text for e in doc.ents] == kept
    counts = doc.user_data["llmner"]
    assert (counts["misaligned"], counts["adjusted"], counts["entities"]) == (
        misaligned,
        adjusted,
        2,
    )
    assert component.counts["misaligned"] == misaligned
    assert ("could not be aligned" in caplog.text) == bool(misaligned)


def test_overlapping_mentions_keep_the_longest_and_are_counted(run_dir, monkeypatch):
    nlp = pipeline(run_dir)
    text = "Marta Olsen opened a bakery."
    found = [
        {"start": 6, "end": 11, "label": "LOC", "text": "Olsen", "score": 0.5},
        {"start": 0, "end": 11, "label": "PER", "text": "Marta Olsen", "score": 0.9},
    ]
    monkeypatch.setattr(nlp.get_pipe("llmner").ner, "predict", lambda texts: [found])
    doc = nlp(text)
    assert [(e.text, e.label_, e._.llmner_score) for e in doc.ents] == [("Marta Olsen", "PER", 0.9)]
    assert doc.user_data["llmner"]["overlapping"] == 1
    assert [t.ent_iob_ for t in doc] == ["B", "I", "O", "O", "O", "O"]


def _docbin(path):
    return list(DocBin().from_disk(path).get_docs(Vocab()))


def test_predict_writes_a_docbin(run_dir, tmp_path):
    ner = load(run_dir)
    texts = ["Marta Olsen opened a bakery in Oslo.", "  Ada met\u200bBo  in Oslo.\t", "Rome ."]
    txt = tmp_path / "in.txt"
    txt.write_text("\n".join(texts) + "\n")
    assert main(["predict", "--adapter", str(run_dir), "--input", str(txt), "--output",
                 str(tmp_path / "t.spacy")]) == 0  # fmt: skip
    docs = _docbin(tmp_path / "t.spacy")
    expected = ner.predict(texts)
    assert sum(map(len, expected)) > 0
    assert [d.text for d in docs] == texts
    assert [ents(d) for d in docs] == [offsets(e) for e in expected]

    jl = tmp_path / "in.jsonl"
    jl.write_text(json.dumps({"id": "a7", "text": texts[0]}) + "\n")
    main(["predict", "--adapter", str(run_dir), "--input", str(jl), "--output",
          str(tmp_path / "j.spacy")])  # fmt: skip
    [doc] = _docbin(tmp_path / "j.spacy")
    assert doc.user_data["id"] == "a7" and ents(doc) == offsets(expected[0])

    main(["predict", "--adapter", str(run_dir), "--input", str(TINY_CONLL), "--output",
          str(tmp_path / "c.spacy")])  # fmt: skip
    docs = _docbin(tmp_path / "c.spacy")
    sentences = read_conll(TINY_CONLL)
    tags = ner.tag(sentences)
    assert [[t.text for t in d] for d in docs] == [s.tokens for s in sentences]
    spans = [[(label, a, b) for label, a, b in tags_to_spans(t)] for t in tags]
    assert [[(e.label_, e.start, e.end) for e in d.ents] for d in docs] == spans
    assert sum(map(len, spans)) > 0


def test_without_spacy_a_spacy_output_is_one_line(run_dir, tmp_path, monkeypatch, capsys):
    txt = tmp_path / "in.txt"
    txt.write_text("Ada met Bo.\n")
    monkeypatch.setitem(sys.modules, "spacy", None)  # import spacy now fails
    rc = main(["predict", "--adapter", str(run_dir), "--input", str(txt), "--output",
               str(tmp_path / "x.spacy")])  # fmt: skip
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1
    assert "needs spaCy: pip install 'llmner[spacy]'" in err
    assert not (tmp_path / "x.spacy").exists()


class TagsWords:
    """A format that tags the words it is given: ``HIV`` or ``HIV-1`` as a disease, every
    other word ``O``; it records the words."""

    cuts_raw_text = False

    def __init__(self) -> None:
        self.seen: list[list[str]] = []

    def predict(self, model, sentences, batch_size):
        from llmner.formats.base import Prediction

        self.seen += [s.tokens for s in sentences]
        tags = [["B-LOC" if w.startswith("HIV") else "O" for w in s.tokens] for s in sentences]
        return Prediction(tags)


@pytest.mark.parametrize(
    "tokens, kept, misaligned",
    [("doc", ["HIV-1"], 0), ("words", [], 1)],
)
def test_doc_tokens_drop_no_mention_where_llmner_words_differ(
    tokens, kept, misaligned, run_dir, monkeypatch
):
    nlp = pipeline(run_dir, tokens=tokens, splitter="llmner")
    component = nlp.get_pipe("llmner")
    fake = TagsWords()
    monkeypatch.setattr(component.ner, "format", fake)
    doc = nlp(HIV)
    assert [e.text for e in doc.ents] == kept
    assert doc.user_data["llmner"]["misaligned"] == misaligned
    words = nlp.make_doc(HIV) if tokens == "doc" else tokenize(HIV)
    assert fake.seen == [[w.text for w in words]]
    assert (fake.seen[0][0] == "HIV-1") == (tokens == "doc")


def test_doc_tokens_follow_the_docs_sentences_and_skip_whitespace(run_dir):
    from llmner.integrations.spacy import doc_words

    nlp = spacy.blank("en")
    doc = nlp("Ada met Bo.  Then  HIV-1 left!\n\nRome .")
    words = doc_words(doc)
    assert [[w.text for w in s] for s in words] == [
        ["Ada", "met", "Bo", "."], ["Then", "HIV-1", "left", "!"], ["Rome", "."],
    ]  # fmt: skip
    assert all(doc.text[w.start : w.end] == w.text for s in words for w in s)
    assert [len(s) for s in doc_words(doc, max_words=3)] == [3, 1, 3, 1, 2]
    nlp.add_pipe("sentencizer")
    doc = nlp("Ada met Bo. Then HIV-1 left!")
    doc[2].is_sent_start = True  # a sentence the Doc holds, not one llmner would find
    assert [[w.text for w in s] for s in doc_words(doc)][0] == ["Ada", "met"]


@pytest.mark.parametrize("kind", ["tagging", "generative"])
def test_doc_tokens_give_the_models_entities_on_those_tokens(kind, run_dir, gen_dir):
    from llmner.integrations.spacy import doc_words

    model = run_dir if kind == "tagging" else gen_dir
    nlp = pipeline(model, tokens="doc")
    ner = nlp.get_pipe("llmner").ner
    docs = [nlp.make_doc(t) for t in TEXTS]
    pieces = [(i, w) for i, d in enumerate(docs) for w in doc_words(d, ner.piece_words)]
    expected = ner.predict_words(TEXTS, pieces)
    assert sum(map(len, expected)) >= 2, "the tiny run finds entities"
    annotated = list(nlp.pipe(TEXTS))
    assert [ents(d) for d in annotated] == [offsets(e) for e in expected]
    counts = nlp.get_pipe("llmner").counts
    assert counts["misaligned"] == 0 and counts["entities"] == sum(map(len, expected))


def test_the_component_takes_a_splitter(run_dir):
    nlp = pipeline(run_dir, tokens="words", splitter="edges")
    assert nlp.get_pipe("llmner").ner.splitter == "edges"
    recorded = pipeline(run_dir).get_pipe("llmner").ner
    assert recorded.splitter == recorded.source.meta["splitter"]  # the run's own
    with pytest.raises(InputError, match="tokens 'chars': expected one of doc, words"):
        pipeline(run_dir, tokens="chars")
    with pytest.raises(InputError, match="splitter 'moses'"):
        pipeline(run_dir, splitter="moses")
