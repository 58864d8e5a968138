"""Batched generation: a shared prompt prefix computed once gives the answers of unpadded,
one-at-a-time generation; the constrained processor masks per row."""

from __future__ import annotations

import pytest
import torch

from llmner.formats.generative import GenerativeFormat
from llmner.formats.generative.decoding import MIN_SHARED_PREFIX, generate, shared_prefix_length


def test_shared_prefix_leaves_every_prompt_a_token_of_its_own():
    assert shared_prefix_length([[1, 2, 3, 4], [1, 2, 3, 5]]) == 3
    assert shared_prefix_length([[1, 2, 3], [1, 2, 3, 4]]) == 2
    assert shared_prefix_length([[1, 2, 3]]) == 2
    assert shared_prefix_length([[7, 2], [1, 2]]) == 0
    assert shared_prefix_length([]) == 0


def _prompts(fmt, sentences):
    return [fmt.prompt_ids(s) for s in sentences]


def _reference(model, prompt, new_tokens, end_ids):
    """Greedy continuation of one unpadded prompt, token by token, no cache."""
    ids = list(prompt)
    for _ in range(new_tokens):
        with torch.no_grad():
            nxt = int(model(input_ids=torch.tensor([ids])).logits[0, -1].argmax())
        if nxt in end_ids:
            break
        ids.append(nxt)
    return ids[len(prompt) :]


@pytest.mark.parametrize("batch_size", [1, 3])
def test_prefix_reuse_gives_the_answers_of_unpadded_prompts(
    labels, sentences, smol_tokenizer, tiny_llama, batch_size
):
    fmt = GenerativeFormat(labels, smol_tokenizer, constrained=False)
    prompts = _prompts(fmt, sentences)
    assert shared_prefix_length(prompts) >= MIN_SHARED_PREFIX
    kwargs = dict(pad_id=fmt.builder.pad_id, end_ids=fmt.builder.end_ids, batch_size=batch_size)
    reused = generate(tiny_llama, prompts, [6] * len(prompts), **kwargs)
    plain = generate(tiny_llama, prompts, [6] * len(prompts), reuse_prefix=False, **kwargs)
    expected = [_reference(tiny_llama, p, 6, fmt.builder.end_ids) for p in prompts]
    assert reused == expected
    assert plain == expected


def test_shared_prefix_runs_once(labels, sentences, smol_tokenizer, tiny_llama):
    fmt = GenerativeFormat(labels, smol_tokenizer, constrained=False)
    prompts = _prompts(fmt, sentences)
    shared = shared_prefix_length(prompts)
    seen: list[tuple[int, int]] = []
    hook = tiny_llama.model.embed_tokens.register_forward_hook(
        lambda module, args, output: seen.append(tuple(args[0].shape))
    )
    try:
        generate(
            tiny_llama,
            prompts,
            [1] * len(prompts),
            pad_id=fmt.builder.pad_id,
            end_ids=fmt.builder.end_ids,
            batch_size=2,
        )
    finally:
        hook.remove()
    width = max(len(p) for p in prompts)
    assert seen[0] == (1, shared)  # the prefix, once
    assert len(seen) == 1 + (len(prompts) + 1) // 2  # then one forward per batch
    assert all(rows <= 2 and length <= width - shared for rows, length in seen[1:])


def test_constrained_answers_agree_with_and_without_prefix_reuse(
    labels, sentences, smol_tokenizer, tiny_llama
):
    reused = GenerativeFormat(labels, smol_tokenizer)
    plain = GenerativeFormat(labels, smol_tokenizer, reuse_prefix=False)
    assert reused.generate_texts(tiny_llama, sentences, 3) == plain.generate_texts(
        tiny_llama, sentences, 1
    )


def test_sliding_window_models_pad_on_the_left(tiny_gemma3):
    """Padding inside a sliding window would hide real tokens: such a model, with prompts
    longer than its window, decodes as one prompt at a time would."""
    model = tiny_gemma3(4)
    prefix = list(range(10, 30))
    prompts = [prefix + [40, 41, 42], prefix + [50], prefix + [60, 61, 62, 63, 64]]
    kwargs = dict(pad_id=0, end_ids=[1])
    batched = generate(model, prompts, [5] * 3, batch_size=3, **kwargs)
    one_by_one = generate(model, prompts, [5] * 3, batch_size=1, reuse_prefix=False, **kwargs)
    assert batched == one_by_one


def test_each_row_keeps_its_own_budget_whatever_its_batch(
    labels, sentences, smol_tokenizer, tiny_llama
):
    fmt = GenerativeFormat(labels, smol_tokenizer, constrained=False)
    prompts = _prompts(fmt, sentences)
    budgets = [2 + 3 * i for i in range(len(prompts))]
    kwargs = dict(pad_id=fmt.builder.pad_id, end_ids=fmt.builder.end_ids)
    stats: dict = {}
    batched = generate(tiny_llama, prompts, budgets, batch_size=len(prompts), stats=stats, **kwargs)
    alone = [
        generate(tiny_llama, [p], [b], batch_size=1, **kwargs)[0] for p, b in zip(prompts, budgets)
    ]
    assert batched == alone
    assert all(len(a) <= b for a, b in zip(batched, budgets))
    cut = sum(len(a) == b for a, b in zip(batched, budgets))
    assert cut > 0 and stats["cut_at_budget"] == cut, "a random model rarely writes the end"


def test_a_constrained_dead_end_is_counted():
    from llmner.formats.generative.decoding import ConstrainedAnswers

    class Stuck:
        """An automaton with one state that accepts nothing and allows no byte."""

        def start(self):
            return frozenset({0})

        def transitions(self, states):
            return {}

        def accepts(self, states):
            return False

    class Trie:
        def allowed(self, automaton, states):
            return []

    processor = ConstrainedAnswers([Stuck(), Stuck()], Trie(), end_ids=[0])
    assert processor.forced(0) is None, "a dead end forces nothing"
    scores = torch.arange(10.0).reshape(2, 5)  # the end marker scores lowest
    tokens, logprobs = processor.best(scores, [0, 1], processor.states)
    assert processor.dead_ends == [True, True]
    assert tokens == [0, 0] and logprobs == [0.0, 0.0], "only the end marker is allowed"


def test_vocab_trie_is_never_shared_by_a_tokenizer_with_another_vocabulary():
    import gc

    from llmner.formats.generative.decoding import VocabTrie

    class Tok:
        all_special_ids: list = []

        def __init__(self, vocab):
            self.vocab = vocab

        def decode(self, ids):
            return "".join(self.convert_ids_to_tokens(ids))

        def get_vocab(self):
            return dict(self.vocab)

        def convert_ids_to_tokens(self, ids):
            inverse = {v: k for k, v in self.vocab.items()}
            return [inverse[i] for i in ids]

        def __len__(self):
            return len(self.vocab)

    first = Tok({"a": 0, "b": 1})
    trie_a = VocabTrie.of(first)
    del first
    gc.collect()  # the id of the freed tokenizer may now be reused
    second = Tok({"x": 0, "yz": 1})
    trie_b = VocabTrie.of(second)
    assert trie_b is not trie_a
    assert VocabTrie.of(Tok({"a": 0, "b": 1})) is trie_a, "same vocabulary, same trie"


@pytest.mark.parametrize("reuse_prefix", [True, False])
def test_a_finished_row_leaves_the_batch(
    labels, sentences, smol_tokenizer, tiny_llama, reuse_prefix
):
    """Once a row has written its last token, later passes run only the rows still
    writing (the embedding sees fewer rows), and every answer stays the unbatched one."""
    fmt = GenerativeFormat(labels, smol_tokenizer, constrained=False)
    prompts = _prompts(fmt, sentences)[:3]
    budgets = [1, 7, 4]
    rows: list[int] = []
    hook = tiny_llama.model.embed_tokens.register_forward_hook(
        lambda module, args, output: rows.append(args[0].shape[0])
    )
    kwargs = dict(pad_id=0, end_ids=[-1], batch_size=3, reuse_prefix=reuse_prefix)
    try:
        got = generate(tiny_llama, prompts, budgets, **kwargs)
    finally:
        hook.remove()
    expected = [_reference(tiny_llama, p, n, [-1]) for p, n in zip(prompts, budgets)]
    assert got == expected and [len(a) for a in got] == budgets
    steps = rows[1:] if reuse_prefix else rows  # the shared prefix runs as one row
    assert steps == [3, 2, 2, 2, 1, 1, 1]
