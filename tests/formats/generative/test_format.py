"""GenerativeFormat on the SmolLM2 tokenizer and an untrained tiny Llama."""

from __future__ import annotations

import pytest

from llmner.data.schemes import invalid_transitions, tags_to_spans
from llmner.data.types import Sentence
from llmner.errors import InputError
from llmner.formats.generative import GenerativeFormat
from llmner.formats.generative.answers import render_answer

FORMATS = ["inline", "inline.v1", "list", "json"]


@pytest.mark.parametrize("prompt", FORMATS)
def test_encode_masks_prompt_keeps_answer(prompt, labels, sentences, smol_tokenizer):
    fmt = GenerativeFormat(labels, smol_tokenizer, prompt=prompt)
    ds = fmt.encode(sentences)
    assert set(ds.column_names) >= {"input_ids", "attention_mask", "labels", "length"}
    for s, row in zip(sentences, ds):
        prompt_ids = fmt.prompt_ids(s)
        n = len(prompt_ids)
        assert row["input_ids"][:n] == prompt_ids
        assert row["labels"][:n] == [-100] * n
        answer = row["labels"][n:]
        assert -100 not in answer and answer[-1] == fmt.builder.end_marker
        text = smol_tokenizer.decode(answer, skip_special_tokens=True)
        assert text == render_answer(s, fmt.answer_format)
        assert row["length"] == len(row["input_ids"])


def test_a_template_system_turn_replaces_the_chat_template_default(
    labels, sentences, smol_tokenizer
):
    default = "You are a helpful AI assistant named SmolLM"
    v1 = GenerativeFormat(labels, smol_tokenizer, prompt="inline.v1")
    v2 = GenerativeFormat(labels, smol_tokenizer, prompt="inline.v2")
    assert v1.system_prompt is None and v2.system_prompt.startswith("Copy the text")
    for s in sentences:
        old = smol_tokenizer.decode(v1.prompt_ids(s))
        new = smol_tokenizer.decode(v2.prompt_ids(s))
        assert default in old and default not in new
        assert f"<|im_start|>system\n{v2.system_prompt}<|im_end|>" in new
        assert new.endswith(f"<|im_start|>user\n{s.text}<|im_end|>\n<|im_start|>assistant\n")
        assert len(smol_tokenizer(new)["input_ids"]) < len(smol_tokenizer(old)["input_ids"])
    # every prompt starts with the same system turn: the part generation computes once
    firsts = [v2.prompt_ids(s) for s in sentences]
    shared = len(v2.builder.prompt_ids("", v2.system_prompt)) - 8
    assert all(p[:shared] == firsts[0][:shared] for p in firsts)


def test_truncation_never_masks_every_label(labels, sentences, smol_tokenizer):
    fmt = GenerativeFormat(labels, smol_tokenizer, max_length=10)
    with pytest.raises(InputError, match="cuts every answer token of 4 sentence"):
        fmt.encode(sentences)
    n = len(fmt.prompt_ids(sentences[0]))
    fmt.max_length = n + 2
    ds = fmt.encode(sentences[:1])
    assert sum(label != -100 for label in ds[0]["labels"]) == 2
    assert fmt.num_truncated == 1


def test_collator_pads_right(labels, sentences, smol_tokenizer):
    fmt = GenerativeFormat(labels, smol_tokenizer)
    rows = list(fmt.encode(sentences))
    batch = fmt.collator()(rows)
    short = min(range(len(rows)), key=lambda i: rows[i]["length"])
    n = rows[short]["length"]
    assert batch["attention_mask"][short, n:].sum() == 0
    assert (batch["labels"][short, n:] == -100).all()
    assert batch["attention_mask"][short, :n].all()


def test_examples_are_seeded_and_shown(labels, sentences, smol_tokenizer):
    a = GenerativeFormat(labels, smol_tokenizer, examples=2, train_sentences=sentences, seed=1)
    b = GenerativeFormat(labels, smol_tokenizer, examples=2, train_sentences=sentences, seed=1)
    assert a.user_prompt(sentences[0]) == b.user_prompt(sentences[0])
    assert a.system_prompt == b.system_prompt
    whole = (a.system_prompt or "") + a.user_prompt(sentences[0])
    assert whole.count("Answer: ") == 2


def test_describe(labels, smol_tokenizer):
    d = GenerativeFormat(labels, smol_tokenizer, prompt="list.v1", alignment="expand").describe()
    assert d["format"] == "generative" and d["prompt"] == "list" and d["prompt_version"] == 1
    assert len(d["prompt_sha256"]) == 64 and d["constrained"] and d["alignment"] == "expand"


@pytest.mark.parametrize("prompt", FORMATS)
def test_constrained_untrained_model_never_fails(
    prompt, labels, sentences, smol_tokenizer, tiny_llama
):
    fmt = GenerativeFormat(labels, smol_tokenizer, prompt=prompt)
    texts = fmt.generate_texts(tiny_llama, sentences, batch_size=3)
    pred = fmt.tags_from_texts(sentences, texts)
    m = pred.metrics
    assert m["num_outputs"] == len(sentences)
    assert m["num_parse_failures"] == 0, texts
    assert m["num_hallucinated_mentions"] == 0, texts
    assert m["num_unknown_type_mentions"] == 0, texts
    assert [len(t) for t in pred.tags] == [len(s) for s in sentences]


def test_unconstrained_untrained_model_is_counted(labels, sentences, smol_tokenizer, tiny_llama):
    fmt = GenerativeFormat(labels, smol_tokenizer, prompt="json", constrained=False)
    pred = fmt.predict(tiny_llama, sentences[:2], batch_size=2)
    assert pred.metrics["num_outputs"] == 2
    assert pred.metrics["num_parse_failures"] == 2  # random text is not JSON
    assert pred.tags == [["O"] * len(s) for s in sentences[:2]]


def test_batched_equals_one_by_one(labels, sentences, smol_tokenizer, tiny_llama):
    fmt = GenerativeFormat(labels, smol_tokenizer)
    assert fmt.generate_texts(tiny_llama, sentences, 4) == fmt.generate_texts(
        tiny_llama, sentences, 1
    )


def test_examples_need_training_sentences(labels, smol_tokenizer):
    with pytest.raises(InputError, match="train_sentences"):
        GenerativeFormat(labels, smol_tokenizer, examples=1)
    with pytest.raises(InputError, match="unknown prompt"):
        GenerativeFormat(labels, smol_tokenizer, prompt="inline.v99")
    with pytest.raises(InputError, match="only 0"):
        pool = [Sentence(["a"], ["O"])]
        GenerativeFormat(labels, smol_tokenizer, examples=1, train_sentences=pool)


def test_long_sentences_train_in_consecutive_pieces(labels, smol_tokenizer):
    words = ["Ann", "saw", "Rome", "."] * 10  # 40 words
    tags = ["B-PER", "O", "B-LOC", "O"] * 10
    fmt = GenerativeFormat(labels, smol_tokenizer, window_words=16)
    ds = fmt.encode([Sentence(words, tags, id="long")])
    assert len(ds) == 3  # 16 + 16 + 8 words, no overlap in training


def test_long_sentences_are_tagged_from_the_window_where_a_word_has_most_context(
    labels, smol_tokenizer, tiny_llama
):
    """64 words in 16-word windows that overlap by half: each word takes its tag from the
    window in which it is farthest from an edge, and the entities are those that conlleval
    reads from those tags (computed here from each window tagged on its own)."""
    from seqeval.metrics.sequence_labeling import get_entities

    vocab = ["Ann", "saw", "Rome", "and", "Bo", "met", "Oslo", "in", "May", "with", "Li", "of", "."]
    n = 64
    words = [vocab[i % len(vocab)] for i in range(n)]  # 13 words: every window differs
    fmt = GenerativeFormat(labels, smol_tokenizer, window_words=16)
    pred = fmt.predict(tiny_llama, [Sentence(words, ["O"] * n)], batch_size=32)
    assert len(pred.tags) == 1 and len(pred.tags[0]) == n
    assert pred.metrics["num_outputs"] > n // 16, "overlapping windows, counted per piece"
    assert (
        pred.metrics["num_parse_failures"] == 0 and pred.metrics["num_hallucinated_mentions"] == 0
    )

    starts = range(0, n - 16 + 1, 8)
    alone = fmt.predict(
        tiny_llama, [Sentence(words[a : a + 16], ["O"] * 16) for a in starts], batch_size=32
    ).tags
    chosen = []
    for i in range(n):
        _margin, tag = max(
            (min(i - a, a + 15 - i), tags[i - a])
            for a, tags in zip(starts, alone)
            if a <= i < a + 16
        )
        chosen.append(tag)
    expected = [(t, a, b + 1) for t, a, b in get_entities(chosen)]
    assert expected, "the untrained model writes some entities"
    assert tags_to_spans(pred.tags[0]) == expected
    assert invalid_transitions(pred.tags[0]) == [], "merged tags are valid IOB2"


def test_entities_get_a_confidence_between_0_and_1(labels, sentences, smol_tokenizer, tiny_llama):
    fmt = GenerativeFormat(labels, smol_tokenizer)
    pred = fmt.predict(tiny_llama, sentences, batch_size=4)
    assert pred.scores is not None and len(pred.scores) == len(sentences)
    assert any(pred.scores), "the untrained model writes some entities"
    for tags, scores in zip(pred.tags, pred.scores):
        spans = {(a, b) for _, a, b in tags_to_spans(tags)}
        assert set(scores) <= spans, "a score belongs to a predicted entity"
        assert all(0.0 < v <= 1.0 for v in scores.values())


def test_token_log_probabilities_are_those_of_the_decoded_tokens(
    labels, smol_tokenizer, tiny_llama
):
    fmt = GenerativeFormat(labels, smol_tokenizer, constrained=False)
    sentence = [Sentence(["Ann", "ran"], ["B-PER", "O"])]
    token_scores: list = []
    texts = fmt.generate_texts(tiny_llama, sentence, 1, token_scores)
    (steps,) = token_scores
    assert steps and all(lp <= 0.0 for _, lp in steps)
    assert [end for end, _ in steps] == sorted(end for end, _ in steps)
    assert steps[-1][0] == len(texts[0])
