"""Merging: a folder transformers loads alone, predicting what the adapter predicts."""

from __future__ import annotations

import pytest
import torch
from transformers import AutoModelForTokenClassification

from adapters.tiny_runs import FOUR_BIT, TINY_CONLL, entity_tags
from llmner.adapters.merge import merge_adapter, merge_model
from llmner.data.conll import read_conll
from llmner.errors import InputError
from llmner.predict import load
from llmner.rundir.source import locate

# fp32 merge vs. the unmerged adapter: the same sums in another order.
LOGIT_ATOL = 1e-4


@pytest.fixture(scope="module")
def merged_dir(run_dir, tmp_path_factory):
    return merge_adapter(run_dir / "adapter", tmp_path_factory.mktemp("m") / "merged")


def _batch(tokenizer):
    sentences = read_conll(TINY_CONLL)
    enc = tokenizer([s.text for s in sentences], padding=True, return_tensors="pt")
    return enc["input_ids"], enc["attention_mask"], sentences


def test_merged_folder_loads_with_plain_transformers(merged_dir, run_dir):
    model = AutoModelForTokenClassification.from_pretrained(merged_dir)
    labels = locate(run_dir).labels
    assert model.config.id2label == labels.id2label
    assert model.config.label2id == labels.label2id
    assert not any("lora" in n for n, _ in model.named_parameters())
    assert (merged_dir / "tokenizer.json").exists() and (merged_dir / "llmner.yaml").exists()


def test_merged_logits_and_tags_equal_the_adapters(merged_dir, run_dir):
    adapter = load(run_dir)
    merged = AutoModelForTokenClassification.from_pretrained(merged_dir).eval()
    ids, mask, sentences = _batch(adapter.tokenizer)
    with torch.no_grad():
        a = adapter.model(input_ids=ids, attention_mask=mask).logits
        b = merged(input_ids=ids, attention_mask=mask).logits
    assert torch.allclose(a, b, atol=LOGIT_ATOL), (a - b).abs().max()
    expected = adapter.tag(sentences)
    assert entity_tags(expected), "the tiny run predicts entities"
    assert load(merged_dir).tag(sentences) == expected


@pytest.fixture(scope="module")
def four_bit_run(tmp_path_factory, tiny_llama_128_dir):
    from adapters.tiny_runs import tiny_run

    return tiny_run(tmp_path_factory, tiny_llama_128_dir, "4bit", **FOUR_BIT)


def test_merging_into_4bit_weights_is_refused(four_bit_run):
    from peft import PeftModel

    from llmner.models.loading import load_base_model

    source = locate(four_bit_run)
    base = load_base_model(source.base_model(), source.task, source.labels, "4bit")
    model = PeftModel.from_pretrained(base, source.path)
    with pytest.raises(InputError, match="cannot merge into quantized weights.*16 or 32 bits"):
        merge_model(model)


def test_a_4bit_merge_predicts_what_the_adapter_predicts(four_bit_run, tmp_path):
    """The default base is the dequantized NF4 one the adapter was scored on."""
    sentences = read_conll(TINY_CONLL)
    out = merge_adapter(four_bit_run, tmp_path / "merged", check=sentences)
    expected = load(four_bit_run).tag(sentences)
    assert entity_tags(expected), "the tiny run predicts entities"
    assert load(out).tag(sentences) == expected
    meta = locate(out).meta
    assert meta["merge_base"] == "quantized" and meta["trained_quantization"] == "4bit"
    check = meta["merge_check"]
    assert check["identical_sentences"] == check["sentences"] == len(sentences)
    assert check["entity_agreement"] == 1.0 and check["adapter_entities"] > 0
    card = (out / "README.md").read_text()
    assert "dequantized values" in card and "| entity agreement | 1.0 |" in card
    assert "library_name: transformers" in card


def test_the_original_base_is_offered_and_its_difference_measured(four_bit_run, tmp_path):
    sentences = read_conll(TINY_CONLL)
    out = merge_adapter(four_bit_run, tmp_path / "orig", base="original", check=sentences)
    # the original weights plus the update: what the adapter gives on an unquantized base
    expected = load(four_bit_run, quantization="none").tag(sentences)
    assert entity_tags(expected), "the tiny run predicts entities"
    assert load(out).tag(sentences) == expected
    meta = locate(out).meta
    assert meta["merge_base"] == "original"
    check = meta["merge_check"]
    adapter = load(four_bit_run).tag(sentences)
    assert check["identical_sentences"] == sum(a == b for a, b in zip(adapter, expected))
    assert "not the one that was scored" in (out / "README.md").read_text()


def test_bad_dtype_and_non_empty_output(run_dir, tmp_path):
    with pytest.raises(InputError, match="unknown dtype"):
        merge_adapter(run_dir, tmp_path / "x", dtype="int8")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "f").write_text("x")
    with pytest.raises(InputError, match="not empty"):
        merge_adapter(run_dir, tmp_path / "full")
    with pytest.raises(InputError, match="unknown merge base"):
        merge_adapter(run_dir, tmp_path / "y", base="nf4")


def test_bfloat16_merge_writes_bfloat16(run_dir, tmp_path):
    out = merge_adapter(run_dir, tmp_path / "bf16", dtype="bfloat16")
    model = AutoModelForTokenClassification.from_pretrained(out)
    assert next(model.parameters()).dtype == torch.bfloat16


# -- transformers alone -----------------------------------------------------------------


# byte-level BPE has no word markers: the pipeline says it groups sub-tokens by a heuristic
@pytest.mark.filterwarnings("ignore:Tokenizer does not support real words")
def test_a_causal_tagging_merge_runs_in_transformers_pipeline(merged_dir):
    """The pipeline takes each word's first sub-token's best label, as llmner's ``argmax``
    decoding does (llmner's default, ``viterbi``, also repairs invalid IOB2 sequences,
    which a trained model rarely produces and this random one often does)."""
    from transformers import pipeline

    from llmner.data.schemes import tags_to_spans

    ours = load(merged_dir)
    ours.format.decode = "argmax"
    # A lone space token (this tiny vocabulary has many; real ones have them before digits)
    # is a "word" of its own to the pipeline, while llmner counts it with the next word:
    # compare on the sentences without one, where both see the same words.
    sentences = [
        s
        for s in read_conll(TINY_CONLL)
        if "Ġ"
        not in ours.tokenizer.convert_ids_to_tokens(ours.tokenizer(" ".join(s.tokens))["input_ids"])
    ]
    assert len(sentences) >= 3
    texts = [" ".join(s.tokens) for s in sentences]
    expected = []
    for s, tags in zip(sentences, ours.tag(sentences)):
        starts = [sum(len(w) + 1 for w in s.tokens[:i]) for i in range(len(s.tokens))]
        expected.append(
            {
                (starts[a], starts[b - 1] + len(s.tokens[b - 1]), t)
                for t, a, b in tags_to_spans(tags)
            }
        )
    assert any(expected), "the tiny run predicts entities"
    ner = pipeline("token-classification", model=str(merged_dir), aggregation_strategy="first")

    def stripped(text, e):  # byte-level BPE offsets start at the space before a word
        start = (
            e["start"]
            + len(text[e["start"] : e["end"]])
            - len(text[e["start"] : e["end"]].lstrip())
        )
        return (start, e["end"], e["entity_group"])

    got = [
        {stripped(t, e) for e in ents if t[e["start"] : e["end"]].strip()}
        for t, ents in zip(texts, ner(texts))
    ]
    assert got == expected
    assert not (merged_dir / "llmner_guard.py").exists()


@pytest.fixture(scope="module")
def echo_merged(tmp_path_factory, tiny_llama_dir):
    from adapters.tiny_runs import tiny_run

    run = tiny_run(tmp_path_factory, tiny_llama_dir, "echo", echo=True)
    return run, merge_adapter(run, tmp_path_factory.mktemp("echo") / "merged")


def test_an_echo_merge_is_refused_by_transformers_alone_and_loads_in_llmner(echo_merged):
    run, out = echo_merged
    from transformers import pipeline

    with pytest.raises(ValueError, match="(?s)contains custom code.*trust_remote_code"):
        AutoModelForTokenClassification.from_pretrained(out)
    with pytest.raises(ValueError, match="fed 2 times.*llmner.load"):
        AutoModelForTokenClassification.from_pretrained(out, trust_remote_code=True)
    with pytest.raises(ValueError, match="fed 2 times.*llmner.load"):
        pipeline("token-classification", model=str(out), trust_remote_code=True)
    sentences = read_conll(TINY_CONLL)
    expected = load(run).tag(sentences)
    assert entity_tags(expected), "the tiny run predicts entities"
    assert load(out).tag(sentences) == expected
    assert "transformers alone cannot run this model" in (out / "README.md").read_text()
