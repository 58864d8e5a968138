"""Jump-forward decoding (tokens the answer automaton forces skip their own forward pass)
and speculative copying (``lookahead``: drafted tokens checked in one pass): answers and
scores stay those of step-by-step greedy constrained decoding, checked against an
independent reference (one unpadded prompt, one token per pass, no cache)."""

from __future__ import annotations

import math

import pytest
import torch

from llmner.data.types import Sentence
from llmner.formats.generative import GenerativeFormat, default_lookahead
from llmner.formats.generative.constrain import build_automaton
from llmner.formats.generative.decoding import generate, shared_prefix_length
from llmner.formats.generative.tokens import VocabTrie

END = [2]


class Scripted:
    """Answers of ``length`` tokens: ``forced[k]`` at step ``k``, any free token elsewhere."""

    def __init__(self, forced: dict[int, int], length: int = 9):
        self.forced, self.length = forced, length

    def start(self):
        return 0

    def accepts(self, state):
        return state >= self.length


class ScriptTrie:
    """The trie interface for :class:`Scripted` automata."""

    free = list(range(3, 200))

    def allowed(self, automaton, state):
        if state >= automaton.length:
            return []
        return [automaton.forced[state]] if state in automaton.forced else self.free

    def advance(self, automaton, state, token):
        return state + 1


def _reference(model, prompt, automaton, trie, end_ids, budget):
    """Greedy constrained answer and log-probabilities of one prompt, step by step."""
    ids, values, state = list(prompt), [], automaton.start()
    for _ in range(budget):
        with torch.no_grad():
            logits = model(input_ids=torch.tensor([ids])).logits[0, -1].float()
        allowed = trie.allowed(automaton, state)
        if automaton.accepts(state) or not allowed:
            allowed = allowed + end_ids
        mask = torch.full_like(logits, -math.inf)
        mask[allowed] = 0
        scores = torch.log_softmax(logits + mask, dim=-1)
        token = int(scores.argmax())
        if token in end_ids:
            break
        ids.append(token)
        values.append(float(scores[token]))
        state = trie.advance(automaton, state, token)
    return ids[len(prompt) :], values


def _run(model, prompts, automata, trie, budgets, end_ids, pad_id, **kwargs):
    stats: dict = {}
    logprobs: list = []
    answers = generate(
        model,
        prompts,
        budgets,
        pad_id=pad_id,
        end_ids=end_ids,
        automata=automata,
        trie=trie,
        logprobs=logprobs,
        stats=stats,
        **kwargs,
    )
    return answers, logprobs, stats


def _same_scores(jumped, stepped, reference):
    """Log-probabilities agree to float rounding (a pass over several positions sums in
    another order), and a forced token's is exactly 0 in both decodings."""
    for got, plain, want in zip(jumped, stepped, reference):
        assert got == pytest.approx(plain, abs=1e-5) and got == pytest.approx(want, abs=1e-5)
        assert [v == 0.0 for v in got] == [v == 0.0 for v in plain]
    assert any(v == 0.0 for row in jumped for v in row)


def _blocks(model, prompts):
    """Records how many tokens each row fed in each decoding pass (the passes after a
    batch's prompt: their attention reaches past the prompt's shared prefix)."""
    shared, fed = shared_prefix_length(prompts), []

    def hook(module, args, kwargs):
        width, mask = kwargs["input_ids"].shape[1], kwargs.get("attention_mask")
        if mask is not None and mask.shape[1] - width > shared:
            fed.append(mask[:, -width:].sum(1).tolist())

    return fed, model.register_forward_pre_hook(hook, with_kwargs=True)


def _uneven(fed: list[list[int]]) -> bool:
    """Some pass fed a run of several tokens for one row and fewer for another."""
    return any(max(rows) > 1 and len(set(rows)) > 1 for rows in fed)


SCRIPTS = [
    {1: 7, 2: 8, 3: 9, 4: 10, 5: 11},  # a run of five after the first free token
    {1: 20, 2: 21},  # a run of two
    {3: 30, 6: 31, 7: 32},  # runs that start later
    {},  # never forced
]


def _three_ways(model, prompts, automata, trie, budgets, end_ids, pad_id, batch_size):
    """The blocks fed, jump-forward's and step-by-step's ``(answers, logprobs, stats)`` and
    the one-prompt no-cache reference's ``(answer, logprobs)`` per prompt."""
    kwargs = dict(batch_size=batch_size, end_ids=end_ids, pad_id=pad_id)
    fed, hook = _blocks(model, prompts)
    try:
        jumped = _run(model, prompts, automata, trie, budgets, jump_forward=True, **kwargs)
    finally:
        hook.remove()
    stepped = _run(model, prompts, automata, trie, budgets, jump_forward=False, **kwargs)
    expected = [
        _reference(model, p, a, trie, end_ids, b) for p, a, b in zip(prompts, automata, budgets)
    ]
    return fed, jumped, stepped, expected


@pytest.mark.parametrize("batch_size", [1, 2, 4])
def test_forced_runs_of_different_lengths_give_step_by_step_answers(tiny_llama, batch_size):
    prefix = list(range(100, 112))
    prompts = [prefix + list(range(300, 300 + n)) for n in (3, 1, 5, 2)]
    automata = [Scripted(script) for script in SCRIPTS]
    budgets = [12, 12, 12, 5]  # the last row stops at its budget
    trie = ScriptTrie()
    fed, (jumped, jumped_lp, jumped_stats), (stepped, stepped_lp, stepped_stats), expected = (
        _three_ways(tiny_llama, prompts, automata, trie, budgets, END, 0, batch_size)
    )
    assert jumped == stepped == [answer for answer, _ in expected]
    for scripted, answer in zip(automata, jumped):
        assert all(answer[k] == token for k, token in scripted.forced.items() if k < len(answer))
    _same_scores(jumped_lp, stepped_lp, [values for _, values in expected])
    assert jumped_stats["forced_tokens"] == 10 and stepped_stats["forced_tokens"] == 0
    saved = stepped_stats["forward_passes"] - jumped_stats["forward_passes"]
    if batch_size == 1:  # each forced token saves exactly its own pass
        assert saved == jumped_stats["forced_tokens"]
    else:
        assert 0 < saved <= jumped_stats["forced_tokens"]
        assert _uneven(fed), "rows with runs of different lengths shared a pass"


@pytest.mark.parametrize("window", [4, 24, 28, 64])
def test_sliding_window_models_jump_only_while_padding_stays_out_of_the_window(window, tiny_gemma3):
    model = tiny_gemma3(window)
    prefix = list(range(10, 20))
    prompts = [prefix + [40, 41, 42], prefix + [50], prefix + [60, 61, 62, 63, 64], prefix + [70]]
    automata = [Scripted(script) for script in SCRIPTS]
    trie, budgets = ScriptTrie(), [10] * 4
    jumped, jumped_lp, _ = _run(
        model, prompts, automata, trie, budgets, END, 0, batch_size=4, jump_forward=True
    )
    expected = [
        _reference(model, p, a, trie, END, b) for p, a, b in zip(prompts, automata, budgets)
    ]
    assert jumped == [answer for answer, _ in expected]
    for got, (_, want) in zip(jumped_lp, expected):
        assert got == pytest.approx(want, abs=1e-5)


SENTENCES = [
    Sentence(["Steve", "Jobs", "founded", "Apple", "."], ["B-PER", "I-PER", "O", "O", "O"]),
    Sentence(["Ann", "met", "Ann", "in", "Rome"], ["B-PER", "O", "B-PER", "O", "B-LOC"]),
    Sentence(["<PER>", "says", "a|b", ":", '"hi"'], ["O", "O", "B-LOC", "O", "O"]),
    Sentence(["Zürich", "is", "cold"], ["B-LOC", "O", "O"]),
    Sentence(["1996-12-06", "in", "Tromsø"], ["O", "O", "B-LOC"]),
]


@pytest.mark.parametrize("batch_size", [1, 5])
def test_inline_answers_and_scores_equal_step_by_step_decoding(
    labels, smol_tokenizer, tiny_llama, batch_size
):
    fmt = GenerativeFormat(labels, smol_tokenizer)
    prompts = [fmt.prompt_ids(s) for s in SENTENCES]
    automata = [build_automaton(s, "inline", labels.types) for s in SENTENCES]
    trie = VocabTrie.of(smol_tokenizer)
    budgets = [fmt.max_new_tokens(s, a) for s, a in zip(SENTENCES, automata)]
    end_ids, pad_id = fmt.builder.end_ids, fmt.builder.pad_id
    fed, (jumped, jumped_lp, jumped_stats), (stepped, stepped_lp, stepped_stats), expected = (
        _three_ways(tiny_llama, prompts, automata, trie, budgets, end_ids, pad_id, batch_size)
    )
    assert jumped == stepped == [answer for answer, _ in expected]
    assert all(len(answer) >= 3 for answer in jumped), "the tiny model must write something"
    _same_scores(jumped_lp, stepped_lp, [values for _, values in expected])
    assert jumped_stats["forced_tokens"] > 0
    assert jumped_stats["forward_passes"] < stepped_stats["forward_passes"]
    if batch_size > 1:
        assert _uneven(fed), "rows with runs of different lengths shared a pass"


def test_predictions_and_confidences_do_not_depend_on_jump_forward(
    labels, smol_tokenizer, tiny_llama
):
    on = GenerativeFormat(labels, smol_tokenizer, jump_forward=True, lookahead=0).predict(
        tiny_llama, SENTENCES, batch_size=3
    )
    off = GenerativeFormat(labels, smol_tokenizer, jump_forward=False, lookahead=0).predict(
        tiny_llama, SENTENCES, batch_size=3
    )
    assert on.tags == off.tags
    for got, want in zip(on.scores, off.scores):  # one pass over several positions rounds
        assert got.keys() == want.keys()  # differently from one position at a time
        assert list(got.values()) == pytest.approx(list(want.values()), abs=1e-6)
    assert any(on.scores), "some mention must be scored"
    assert on.metrics["num_forced_tokens"] > 0 and off.metrics["num_forced_tokens"] == 0
    assert on.metrics["num_forward_passes"] < off.metrics["num_forward_passes"]
    # every pass runs at least one position per row it holds
    assert on.metrics["num_positions"] >= on.metrics["num_forward_passes"] > 0


class Guessing(Scripted):
    """A :class:`Scripted` automaton that also guesses: its continuation from step ``k``
    is ``guess[k:]`` (one byte per token id, spelled by :class:`GuessTrie`)."""

    def __init__(self, guess: list[int], forced: dict[int, int] | None = None, length: int = 9):
        super().__init__(forced or {}, length)
        self.guess = guess

    def continuation(self, state):
        return bytes(self.guess[state:])


class GuessTrie(ScriptTrie):
    def longest_match(self, data, limit):
        return list(data[:limit])


def _guesses(model, prompts, budgets, wrong: list[list[int]]):
    """Per prompt, the greedy answer with the tokens at the positions in ``wrong``
    replaced (so a draft holds both tokens the model agrees with and ones it rejects)."""
    trie, out = ScriptTrie(), []
    for prompt, budget, bad in zip(prompts, budgets, wrong):
        answer, _ = _reference(model, prompt, Scripted({}), trie, END, budget)
        out.append([(199 if k in bad else t) for k, t in enumerate(answer)])
    return out


@pytest.mark.parametrize("batch_size", [1, 2, 4])
@pytest.mark.parametrize("jump_forward", [False, True])
def test_drafts_keep_step_by_step_answers_and_save_passes(tiny_llama, batch_size, jump_forward):
    prefix = list(range(100, 112))
    prompts = [prefix + list(range(300, 300 + n)) for n in (3, 1, 5, 2)]
    budgets = [9, 9, 9, 5]  # the last row stops at its budget, in the middle of a draft
    guesses = _guesses(tiny_llama, prompts, budgets, wrong=[[4], [1, 6], [], [8]])
    automata = [Guessing(g, forced={2: g[2]} if i == 2 else None) for i, g in enumerate(guesses)]
    kwargs = dict(batch_size=batch_size, end_ids=END, pad_id=0, jump_forward=jump_forward)
    trie = GuessTrie()
    drafted = _run(tiny_llama, prompts, automata, trie, budgets, lookahead=3, **kwargs)
    stepped = _run(tiny_llama, prompts, automata, trie, budgets, **kwargs)
    expected = [
        _reference(tiny_llama, p, a, trie, END, b) for p, a, b in zip(prompts, automata, budgets)
    ]
    assert drafted[0] == stepped[0] == [answer for answer, _ in expected]
    assert all(len(answer) >= 5 for answer in drafted[0])
    for got, (_, want) in zip(drafted[1], expected):
        assert got == pytest.approx(want, abs=1e-5)
    stats, plain = drafted[2], stepped[2]
    assert 0 < stats["accepted_tokens"] < stats["drafted_tokens"], "some drafts must fail"
    assert plain["drafted_tokens"] == plain["accepted_tokens"] == 0
    assert stats["forward_passes"] < plain["forward_passes"]


def test_inline_answers_with_drafts_equal_step_by_step_decoding(labels, smol_tokenizer, tiny_llama):
    fmt = GenerativeFormat(labels, smol_tokenizer)
    prompts = [fmt.prompt_ids(s) for s in SENTENCES]
    automata = [build_automaton(s, "inline", labels.types) for s in SENTENCES]
    trie = VocabTrie.of(smol_tokenizer)
    budgets = [fmt.max_new_tokens(s, a) for s, a in zip(SENTENCES, automata)]
    kwargs = dict(end_ids=fmt.builder.end_ids, pad_id=fmt.builder.pad_id, batch_size=5)
    drafted = _run(tiny_llama, prompts, automata, trie, budgets, lookahead=4, **kwargs)
    expected = [
        _reference(tiny_llama, p, a, trie, kwargs["end_ids"], b)
        for p, a, b in zip(prompts, automata, budgets)
    ]
    assert drafted[0] == [answer for answer, _ in expected]
    assert all(len(answer) >= 3 for answer in drafted[0]), "the tiny model must write something"
    for got, (_, want) in zip(drafted[1], expected):
        assert got == pytest.approx(want, abs=1e-5)
    assert drafted[2]["drafted_tokens"] > 0


@pytest.mark.parametrize("window", [4, 24, 64])
def test_sliding_window_models_draft_only_while_dropped_tokens_stay_out_of_the_window(
    window, tiny_gemma3
):
    model = tiny_gemma3(window)
    prefix = list(range(10, 20))
    prompts = [prefix + [40, 41, 42], prefix + [50], prefix + [60, 61, 62, 63, 64], prefix + [70]]
    budgets = [10] * 4
    guesses = _guesses(model, prompts, budgets, wrong=[[3], [], [0, 5], [7]])
    automata = [Guessing(g, length=10) for g in guesses]
    got = _run(model, prompts, automata, GuessTrie(), budgets, END, 0, batch_size=4, lookahead=4)
    expected = [
        _reference(model, p, a, GuessTrie(), END, b) for p, a, b in zip(prompts, automata, budgets)
    ]
    assert got[0] == [answer for answer, _ in expected]
    for values, (_, want) in zip(got[1], expected):
        assert values == pytest.approx(want, abs=1e-5)
    assert (got[2]["drafted_tokens"] > 0) == (window == 64)


def test_predictions_and_confidences_do_not_depend_on_lookahead(labels, smol_tokenizer, tiny_llama):
    on = GenerativeFormat(labels, smol_tokenizer, lookahead=4).predict(
        tiny_llama, SENTENCES, batch_size=3
    )
    off = GenerativeFormat(labels, smol_tokenizer, lookahead=0).predict(
        tiny_llama, SENTENCES, batch_size=3
    )
    assert on.tags == off.tags
    for got, want in zip(on.scores, off.scores):
        assert got.keys() == want.keys()
        assert list(got.values()) == pytest.approx(list(want.values()), abs=1e-6)
    assert any(on.scores), "some mention must be scored"
    assert on.metrics["num_drafted_tokens"] > 0 and off.metrics["num_drafted_tokens"] == 0


def test_the_default_lookahead_depends_on_the_device(labels, sentences, smol_tokenizer, tiny_llama):
    assert default_lookahead(torch.device("cpu")) == 4
    assert default_lookahead("cuda:0") == 8
    fmt = GenerativeFormat(labels, smol_tokenizer)
    assert fmt.lookahead is None
    stats: dict = {}
    fmt.generate_texts(tiny_llama, sentences, batch_size=4, stats=stats)
    explicit: dict = {}
    GenerativeFormat(labels, smol_tokenizer, lookahead=4).generate_texts(
        tiny_llama, sentences, batch_size=4, stats=explicit
    )
    assert stats["drafted_tokens"] == explicit["drafted_tokens"] > 0
