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
log-probability under the constrained distribution is exactly 0.

Speculative copying (``lookahead``): most of an answer copies the sentence, and the answer
automaton knows which bytes a copy goes on with (the rest of a mark being written, then
the sentence). Each row's block also carries up to ``lookahead`` tokens that spell that
continuation; one pass scores every position of the block, each drafted token is kept
while it is the one greedy constrained decoding chooses at its position, and the first
position where the model chooses otherwise gives the row its next token. The dropped
draft tokens stay in the KV cache, hidden by the attention mask like padding. A row thus
advances by one token or more per pass.

Answers and scores are those of step-by-step decoding; the savings are counted in
``stats``.
"""

from __future__ import annotations

import copy
import inspect
import time

import torch

from llmner import progress
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


class _Batch:
    """One left-padded batch being decoded: the answers so far, their log-probabilities,
    per row the queue of tokens chosen (or forced) but not yet run through the model, and
    the draft that follows the queue in the next block."""

    def __init__(self, budgets: list[int], end_ids, constraint, jump: bool, counted: dict):
        self.budgets, self.end_ids = budgets, set(end_ids)
        self.constraint, self.jump, self.counted = constraint, jump, counted
        self.answers: list[list[int]] = [[] for _ in budgets]
        self.logprobs: list[list[float]] = [[] for _ in budgets]
        self.queues: list[list[int]] = [[] for _ in budgets]
        self.drafts: list[list[int]] = [[] for _ in budgets]
        self.states: list[list] = [[None] for _ in budgets]  # before each draft token
        self.live = [True] * len(budgets)
        for r, budget in enumerate(budgets):
            if budget <= 0:
                self._stop(r, cut=True)

    def _stop(self, row: int, cut: bool) -> None:
        self.live[row] = False
        self.queues[row] = []
        self.counted["cut_at_budget"] += cut
        if self.constraint is not None:
            self.constraint.done[row] = True  # no more choices for it

    def _append(self, row: int, token: int, logprob: float) -> None:
        self.answers[row].append(token)
        self.logprobs[row].append(logprob)
        if self.constraint is not None:
            self.constraint.advance(row, token)

    def choose(self, row: int, token: int, logprob: float) -> None:
        """Row ``row``'s next token is ``token``; with jump-forward, so are the tokens
        its automaton forces after it."""
        if token in self.end_ids:
            self._stop(row, cut=False)
            return
        answer, constraint = self.answers[row], self.constraint
        self._append(row, token, logprob)
        self.queues[row].append(token)
        if constraint is not None:
            while self.jump and len(answer) < self.budgets[row]:
                forced = constraint.forced(row)
                if forced is None:
                    break
                self._append(row, forced, 0.0)  # the only token left unmasked
                self.queues[row].append(forced)
                self.counted["forced_tokens"] += 1
        if len(answer) >= self.budgets[row]:
            self._stop(row, cut=True)

    def plan(self, row: int, lookahead: int) -> None:
        """Guesses the tokens row ``row`` writes after its queue (speculative decoding;
        within its budget, and none for a row whose queue is empty or that decodes
        unconstrained)."""
        room = min(lookahead, self.budgets[row] - len(self.answers[row]))
        if self.constraint is None or not self.queues[row] or room <= 0:
            self.drafts[row], self.states[row] = [], [None]
            return
        self.drafts[row], self.states[row] = self.constraint.draft(row, room)

    def decide(self, rows: list[int], logits: torch.Tensor, slot: dict[int, int]) -> None:
        """Each row of ``rows`` chooses from ``logits`` (rows, positions, vocabulary; row
        ``r``'s logits are ``logits[slot[r]]``), whose last positions are its queue's
        last token and its draft: each drafted token greedy decoding would also have
        chosen is kept, and the first one it would not is replaced by its choice (the
        tokens after it are dropped: :meth:`rejected`)."""
        rows = [r for r in rows if self.live[r]]
        lines = [(r, j) for r in rows for j in range(len(self.drafts[r]) + 1)]
        if not lines:
            return
        span = logits.shape[1]
        scores = logits[
            torch.tensor([slot[r] for r, _ in lines]),
            torch.tensor([span - len(self.drafts[r]) - 1 + j for r, j in lines]),
        ].float()
        if self.constraint is not None:
            now = self.constraint.states  # each row's state after its queue
            states = [self.states[r][j] if j else now[r] for r, j in lines]
            tokens, values = self.constraint.best(scores, [r for r, _ in lines], states)
        else:
            top, at = scores.max(-1)
            tokens, values = at.tolist(), (top - scores.logsumexp(-1)).tolist()
        chosen = dict(zip(lines, zip(tokens, values)))
        for r in rows:
            self.queues[r], draft = [], self.drafts[r]
            for j in range(len(draft) + 1):
                token, value = chosen[r, j]
                if j == len(draft) or token != draft[j]:
                    self.drafts[r] = draft[:j]
                    self.choose(r, token, value)
                    break
                self._append(r, token, value)
                self.counted["accepted_tokens"] += 1
                if len(self.answers[r]) >= self.budgets[r]:
                    self.drafts[r] = draft[: j + 1]
                    self._stop(r, cut=True)
                    break

    def rejected(self, row: int, fed: int) -> int:
        """How many of the ``fed`` draft tokens of ``row`` the last pass ran were dropped."""
        return fed - len(self.drafts[row])

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


def _decode(
    model, ids, attn, start, cache, cache_key, batch: _Batch, pad_id, window, lookahead: int
):
    """Runs ``batch`` to its end: ``ids`` and ``attn`` are the left-padded prompts and
    their attention mask, whose first ``start`` positions are in ``cache``. A row that
    has finished leaves the tensors (and the cache) before the next pass, so the rows
    still writing do not carry it along as padding."""
    device = ids.device
    feed = ids[:, start:]
    keep = _last_logits_only(model)
    active = list(range(ids.shape[0]))  # the batch rows in the tensors, in their order
    deciding, fed = list(active), [0] * len(active)
    while True:
        width = feed.shape[1]
        span = 1 + max(fed)  # the positions whose logits are read
        pos = (attn.cumsum(-1) - 1).clamp(min=0)[:, -width:]
        past = {cache_key: cache} if cache is not None else {}
        kept = {"logits_to_keep": span} if keep else {}
        clock = time.perf_counter()
        out = model(
            input_ids=feed, attention_mask=attn, position_ids=pos, use_cache=True, **kept, **past
        )
        batch.counted["forward_passes"] += 1
        batch.counted["positions"] += feed.numel()
        cache, cache_key = _cache_of(out)
        batch.counted["seconds_model"] += time.perf_counter() - clock
        clock = time.perf_counter()
        slot = {r: i for i, r in enumerate(active)}
        batch.decide(deciding, out.logits[:, -span:], slot)
        batch.counted["seconds_choosing"] += time.perf_counter() - clock
        for r in deciding:
            dropped = batch.rejected(r, fed[slot[r]])
            if dropped:  # their keys and values stay in the cache, hidden like padding
                attn[slot[r], attn.shape[1] - dropped :] = 0
        if not any(batch.live):
            return
        clock = time.perf_counter()
        still = [i for i, r in enumerate(active) if batch.live[r]]
        if len(still) < len(active):
            at = torch.tensor(still, device=device)
            attn = attn[at]
            cache.batch_select_indices(at)
            active = [active[i] for i in still]
        for r in active:
            batch.plan(r, lookahead)
        batch.counted["seconds_drafting"] += time.perf_counter() - clock
        width = max(len(batch.queues[r]) + len(batch.drafts[r]) for r in active)
        if window is not None and attn.shape[1] + width + batch.remaining() > window:
            for r in active:  # no padding (or dropped draft) may end up in the window
                batch.plan(r, 0)
            width = 1
        feed = torch.full((len(active), width), pad_id, dtype=torch.long)
        new = torch.zeros((len(active), width), dtype=attn.dtype)
        deciding, fed = [], [0] * len(active)
        for i, r in enumerate(active):
            queue = batch.queues[r]
            if queue:
                run, batch.queues[r] = queue[:width], queue[width:]
                block = run + batch.drafts[r]
                feed[i, width - len(block) :] = torch.tensor(block)
                new[i, width - len(block) :] = 1
                if not batch.queues[r]:
                    deciding.append(r)
                    fed[i] = len(batch.drafts[r])
                    batch.counted["drafted_tokens"] += fed[i]
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
    lookahead: int = 0,
    stats: dict | None = None,
) -> list[list[int]]:
    """Greedy answers (token ids, end marker cut) for ``prompts``, in input order.

    Prompts are sorted by length (longest first, so memory trouble shows at once) and
    left-padded in batches; each batch is decoded with a KV cache until every row wrote an
    end marker or its own ``max_new_tokens`` (so answers do not depend on which sentences
    share a batch). With ``automata`` (and ``trie``), decoding is constrained row by row,
    and with ``jump_forward`` the tokens an automaton forces skip their own forward pass
    and with ``lookahead`` > 0 each constrained row also feeds up to that many drafted
    tokens per pass, kept as far as greedy decoding agrees (see the module's docstring);
    answers are the same either way. When a list is passed
    as ``logprobs``, it is filled with each answer's token log-probabilities under the
    constrained distribution. A dict passed as ``stats`` gets ``dead_ends`` (constrained
    answers ended because no token could continue them), ``cut_at_budget`` (answers that
    reached their ``max_new_tokens`` without an end marker), ``forced_tokens`` (answer
    tokens that jump-forward appended without a decoding step of their own),
    ``drafted_tokens`` and ``accepted_tokens`` (speculated tokens fed, and those kept),
    ``forward_passes`` (calls of the model, the shared prefix's included),
    ``positions`` (token positions those calls ran, padding included), and where the
    time went on the host's clock: ``seconds`` in all, ``seconds_model`` in the model's
    forward passes (on an accelerator, until they are queued), ``seconds_choosing`` in
    reading the logits and choosing under the automata (the wait for an accelerator's
    results included), ``seconds_drafting`` in the automata's guesses; the rest is
    batching, padding and copying caches.

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
    keys = (
        "dead_ends",
        "cut_at_budget",
        "forced_tokens",
        "drafted_tokens",
        "accepted_tokens",
        "forward_passes",
        "positions",
    )
    counted: dict = dict.fromkeys(keys, 0)
    timers = ("seconds_model", "seconds_choosing", "seconds_drafting", "seconds")
    counted.update(dict.fromkeys(timers, 0.0))
    started = time.perf_counter()
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
        clock = time.perf_counter()
        prefix_cache, cache_key = _prefix_cache(model, prompts[0][:shared], device)
        counted["seconds_model"] += time.perf_counter() - clock
        counted["forward_passes"] += 1
        counted["positions"] += shared
    else:
        shared = 0
    shown = progress.bar(len(order), "generating")
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
        _decode(model, ids, attn, shared, cache, cache_key, batch, pad_id, window, lookahead)
        shown.update(len(rows))
        for r, i in enumerate(rows):
            out[i], logprob_rows[i] = batch.answers[r], batch.logprobs[r]
        if constraint is not None:
            counted["dead_ends"] += sum(constraint.dead_ends)
    shown.close()
    if logprobs is not None:
        logprobs[:] = logprob_rows
    counted["seconds"] = time.perf_counter() - started
    if stats is not None:
        stats.update(counted)
    return out
