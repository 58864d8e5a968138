"""Fast generation: batches sorted by length, left padding, a KV cache, greedy decoding
that stops at the end marker, constrained row by row by the answer automata, and
jump-forward over the tokens an automaton forces.

Jump-forward: wherever a row's automaton allows exactly one token (and cannot end), greedy
decoding would pick that token whatever the logits, so it needs no forward pass of its own.
After each step a row appends its chosen token and the run of forced tokens that follows
it; the next forward pass takes every row's run at once, as a block as wide as the longest
run, each row's run right-aligned in the block with padding before it (hidden by the
attention mask, skipped by the position ids). The last position of the block is then
every row's last real token, whose logits choose the next token; a forced token's
log-probability under the constrained distribution is exactly 0. Answers and scores are
those of step-by-step decoding; the savings are counted in ``stats``.
"""

from __future__ import annotations

import copy
import inspect

import torch

from llmner.formats.generative.constrain import Automaton
from llmner.formats.generative.tokens import ConstrainedAnswers, VocabTrie, token_bytes

__all__ = ["ConstrainedAnswers", "VocabTrie", "generate", "shared_prefix_length", "token_bytes"]

#: A shared prompt prefix shorter than this is not worth a separate forward pass.
MIN_SHARED_PREFIX = 8


def shared_prefix_length(prompts: list[list[int]]) -> int:
    """Tokens that every prompt starts with, leaving each prompt at least one of its own
    (generation needs one uncached input token per row)."""
    if not prompts:
        return 0
    first, n = prompts[0], min(len(p) for p in prompts) - 1
    for p in prompts[1:]:
        k = 0
        while k < n and p[k] == first[k]:
            k += 1
        n = k
    return max(n, 0)


def _sliding_window(model) -> int | None:
    """The model's attention window when some layers attend to a window only."""
    config = getattr(model, "config", None)
    if config is not None and hasattr(config, "get_text_config"):
        config = config.get_text_config()
    window = getattr(config, "sliding_window", None)
    if not window or getattr(config, "use_sliding_window", True) is False:
        return None
    return int(window)


def _cache_of(out):
    """A forward pass's KV cache and the keyword that passes it back (``cache`` in recent
    transformers 5 releases, ``past_key_values`` before)."""
    if "cache" in getattr(type(out), "__dataclass_fields__", {}):
        return out.cache, "cache"
    return out.past_key_values, "past_key_values"


def _prefix_cache(model, prefix: list[int], device):
    """The KV cache of ``prefix`` (batch of one) and the keyword that takes it."""
    return _cache_of(model(input_ids=torch.tensor([prefix], device=device), use_cache=True))


def _last_logits_only(model) -> dict:
    """``logits_to_keep=1`` where the model (or the model a peft wrapper holds) takes it:
    the vocabulary projection of every prompt position is never needed."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    return (
        {"logits_to_keep": 1}
        if "logits_to_keep" in inspect.signature(base.forward).parameters
        else {}
    )


def _block_width(queued: list[int]) -> int:
    """How many positions the next pass feeds each row, given each row's queued tokens:
    the longest queue, so that every run is fed at once and every row decides again after
    one pass. Rows with shorter runs are padded: fewest passes (what a GPU or a batch of
    one pays for), at the price of padded positions in wide batches (``positions`` in the
    stats; a narrower block, fed over several passes, would trade one for the other)."""
    return max(queued)


class _Batch:
    """One left-padded batch being decoded: the answers so far, their log-probabilities,
    and per row the queue of tokens chosen (or forced) but not yet run through the model."""

    def __init__(self, budgets: list[int], end_ids, constraint, jump: bool, counted: dict):
        self.budgets, self.end_ids = budgets, set(end_ids)
        self.constraint, self.jump, self.counted = constraint, jump, counted
        self.answers: list[list[int]] = [[] for _ in budgets]
        self.logprobs: list[list[float]] = [[] for _ in budgets]
        self.queues: list[list[int]] = [[] for _ in budgets]
        self.live = [True] * len(budgets)
        for r, budget in enumerate(budgets):
            if budget <= 0:
                self._stop(r, cut=True)

    def _stop(self, row: int, cut: bool) -> None:
        self.live[row] = False
        self.queues[row] = []
        self.counted["cut_at_budget"] += cut
        if self.constraint is not None:
            self.constraint.done[row] = True  # no more masks for it

    def choose(self, row: int, token: int, logprob: float) -> None:
        """Row ``row``'s next token is ``token``; with jump-forward, so are the tokens
        its automaton forces after it."""
        if token in self.end_ids:
            self._stop(row, cut=False)
            return
        answer, constraint = self.answers[row], self.constraint
        answer.append(token)
        self.logprobs[row].append(logprob)
        self.queues[row].append(token)
        if constraint is not None:
            constraint.advance(row, token)
            while self.jump and len(answer) < self.budgets[row]:
                forced = constraint.forced(row)
                if forced is None:
                    break
                constraint.advance(row, forced)
                answer.append(forced)
                self.logprobs[row].append(0.0)  # the only token left unmasked
                self.queues[row].append(forced)
                self.counted["forced_tokens"] += 1
        if len(answer) >= self.budgets[row]:
            self._stop(row, cut=True)

    def remaining(self) -> int:
        """At most how many more positions any live row will take (for the window guard)."""
        return max(
            (
                b - len(a) + len(q)
                for b, a, q, x in zip(self.budgets, self.answers, self.queues, self.live)
                if x
            ),
            default=0,
        )


def _decode(model, ids, attn, start, cache, cache_key, batch: _Batch, pad_id, window, logprobs):
    """Runs ``batch`` to its end: ``ids`` and ``attn`` are the left-padded prompts and
    their attention mask, whose first ``start`` positions are in ``cache``."""
    device, rows = ids.device, ids.shape[0]
    feed = ids[:, start:]
    keep = _last_logits_only(model)
    deciding = list(range(rows))
    while True:
        pos = (attn.cumsum(-1) - 1).clamp(min=0)[:, -feed.shape[1] :]
        past = {cache_key: cache} if cache is not None else {}
        out = model(
            input_ids=feed, attention_mask=attn, position_ids=pos, use_cache=True, **keep, **past
        )
        batch.counted["forward_passes"] += 1
        batch.counted["positions"] += feed.numel()
        cache, cache_key = _cache_of(out)
        scores = out.logits[:, -1].float()
        if batch.constraint is not None:
            scores = batch.constraint.mask(scores)
        chosen = scores.argmax(-1)
        values = [0.0] * rows
        if logprobs:
            values = torch.log_softmax(scores, -1).gather(1, chosen[:, None])[:, 0].tolist()
        chosen = chosen.tolist()
        for r in deciding:
            if batch.live[r]:
                batch.choose(r, chosen[r], values[r])
        if not any(batch.live):
            return
        width = _block_width([len(q) for q in batch.queues])
        if window is not None and attn.shape[1] + width + batch.remaining() > window:
            width = 1  # no padding may end up inside the attention window
        feed = torch.full((rows, width), pad_id, dtype=torch.long)
        new = torch.zeros((rows, width), dtype=attn.dtype)
        deciding = []
        for r, queue in enumerate(batch.queues):
            if queue:
                run, batch.queues[r] = queue[:width], queue[width:]
                feed[r, width - len(run) :] = torch.tensor(run)
                new[r, width - len(run) :] = 1
                if not batch.queues[r]:
                    deciding.append(r)
        feed, attn = feed.to(device), torch.cat([attn, new.to(device)], dim=1)


@torch.inference_mode()
def generate(
    model,
    prompts: list[list[int]],
    max_new_tokens: list[int],
    *,
    pad_id: int,
    end_ids: list[int],
    batch_size: int = 32,
    automata: list[Automaton] | None = None,
    trie: VocabTrie | None = None,
    logprobs: list[list[float]] | None = None,
    reuse_prefix: bool = True,
    jump_forward: bool = False,
    stats: dict | None = None,
) -> list[list[int]]:
    """Greedy answers (token ids, end marker cut) for ``prompts``, in input order.

    Prompts are sorted by length (longest first, so memory trouble shows at once) and
    left-padded in batches; each batch is decoded with a KV cache until every row wrote an
    end marker or its own ``max_new_tokens`` (so answers do not depend on which sentences
    share a batch). With ``automata`` (and ``trie``), decoding is constrained row by row,
    and with ``jump_forward`` the tokens an automaton forces skip their own forward pass
    (see the module's docstring); answers are the same either way. When a list is passed
    as ``logprobs``, it is filled with each answer's token log-probabilities under the
    constrained distribution. A dict passed as ``stats`` gets ``dead_ends`` (constrained
    answers ended because no token could continue them), ``cut_at_budget`` (answers that
    reached their ``max_new_tokens`` without an end marker), ``forced_tokens`` (answer
    tokens that jump-forward appended without a decoding step of their own),
    ``forward_passes`` (calls of the model, the shared prefix's included) and
    ``positions`` (token positions those calls ran, padding included).

    With ``reuse_prefix``, the tokens every prompt starts with (the system turn, the
    instruction, the label list, the examples) run through the model once; each batch
    starts from a copy of that cache, and the padding goes between the shared prefix and
    each row's own tokens (``[prefix][pad...][own tokens]``), where the attention mask
    hides it and the position ids skip it, so the answers are those of unpadded prompts.
    Models whose sliding attention window is shorter than prompt plus answer pad on the
    left instead, and jump-forward pads a block only while no padding can end up inside
    the window.
    """
    order = sorted(range(len(prompts)), key=lambda i: -len(prompts[i]))
    keys = ("dead_ends", "cut_at_budget", "forced_tokens", "forward_passes", "positions")
    counted = dict.fromkeys(keys, 0)
    device = next(model.parameters()).device
    out: list[list[int]] = [[] for _ in prompts]
    logprob_rows: list[list[float]] = [[] for _ in prompts]
    model.eval()
    shared = shared_prefix_length(prompts) if reuse_prefix else 0
    window = _sliding_window(model)
    # padding inside the sequence would take places in a sliding window
    if window is not None and prompts and max(map(len, prompts)) + max(max_new_tokens) > window:
        shared = 0
    prefix_cache = cache_key = None
    if shared >= MIN_SHARED_PREFIX:
        prefix_cache, cache_key = _prefix_cache(model, prompts[0][:shared], device)
        counted["forward_passes"] += 1
        counted["positions"] += shared
    else:
        shared = 0
    for b in range(0, len(order), batch_size):
        rows = order[b : b + batch_size]
        width = max(len(prompts[i]) for i in rows)
        ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
        attn = torch.zeros((len(rows), width), dtype=torch.long)
        ids[:, :shared] = torch.tensor(prompts[rows[0]][:shared])
        attn[:, :shared] = 1
        for r, i in enumerate(rows):
            own = prompts[i][shared:]
            ids[r, width - len(own) :] = torch.tensor(own)
            attn[r, width - len(own) :] = 1
        cache = None
        if prefix_cache is not None:
            cache = copy.deepcopy(prefix_cache)
            cache.batch_repeat_interleave(len(rows))
        constraint = None
        if automata is not None:
            constraint = ConstrainedAnswers([automata[i] for i in rows], trie, end_ids)
        batch = _Batch(
            [max_new_tokens[i] for i in rows], end_ids, constraint, jump_forward, counted
        )
        ids, attn = ids.to(device), attn.to(device)
        _decode(
            model, ids, attn, shared, cache, cache_key, batch, pad_id, window, logprobs is not None
        )
        for r, i in enumerate(rows):
            out[i], logprob_rows[i] = batch.answers[r], batch.logprobs[r]
        if constraint is not None:
            counted["dead_ends"] += sum(constraint.dead_ends)
    if logprobs is not None:
        logprobs[:] = logprob_rows
    if stats is not None:
        stats.update(counted)
    return out
