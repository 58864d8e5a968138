"""Will it fit, the search and the table: the largest batch a card takes, found with as few
training steps as can be (:func:`largest_fitting`, :func:`search_cards`), each card's
allocator cap (:func:`card_caps`), and :func:`fit_table` for ``recipes/fit_check.py``'s
records. No torch here: the search is tested with a made-up ``fits``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = [
    "Search",
    "card_caps",
    "fit_table",
    "largest_fitting",
    "linear_fit",
    "predict_largest",
    "search_cards",
]

LIMIT = 4096  # the largest batch searched (as llmner plan's)
WHOLE_CARD_SLACK = 2**30  # a card this much above the GPU's memory is measured on all of it


@dataclass
class Search:
    """A search's outcome: ``largest`` fits, ``high`` did not (``None``: none failed),
    the batches ``tried`` in order, ``complete`` unless ``fits`` answered ``None``."""

    largest: int
    high: int | None
    tried: list[int] = field(default_factory=list)
    complete: bool = True


def largest_fitting(
    fits: Callable[[int], bool | None],
    start: int = 1,
    low: int = 0,
    high: int | None = None,
    limit: int = LIMIT,
) -> Search:
    """The largest batch in ``1..limit`` that ``fits``, for a ``fits`` that holds up to some
    batch and fails above it. ``low`` is known to fit (0: nothing known), ``high`` known
    not to. From ``start``: on a fit, steps up of 1, 2, 4, ... until a failure (from 1,
    that is doubling the batch); on a failure, steps down likewise; then bisection. A
    ``None`` from ``fits`` (no time left) stops the search where it stands.

    Example:
        >>> s = largest_fitting(lambda b: b <= 37)
        >>> s.largest, s.high, s.tried
        (37, 38, [1, 2, 4, 8, 16, 32, 64, 48, 40, 36, 38, 37])
        >>> largest_fitting(lambda b: b <= 37, start=36).tried
        [36, 37, 39, 38]
    """
    lo, hi, tried = low, (limit + 1 if high is None else high), []
    b, up, step = min(max(start, lo + 1), hi - 1), None, 1
    while lo + 1 < hi:  # steps of 1, 2, 4, ... away from start until the answer flips
        tried.append(b)
        ok = fits(b)
        if ok is None:
            return Search(lo, None if hi > limit else hi, tried, False)
        lo, hi = (b, hi) if ok else (lo, b)
        if up is None:
            up = ok
        elif ok != up:
            break
        b, step = (min(lo + step, hi - 1) if up else max(hi - step, lo + 1)), 2 * step
    while lo + 1 < hi:  # then bisection
        mid = (lo + hi) // 2
        tried.append(mid)
        ok = fits(mid)
        if ok is None:
            return Search(lo, None if hi > limit else hi, tried, False)
        lo, hi = (mid, hi) if ok else (lo, mid)
    return Search(lo, None if hi > limit else hi, tried)


def linear_fit(points: list[tuple[float, float]]) -> tuple[float, float] | None:
    """Least-squares ``(intercept, slope)`` through ``(x, y)`` points; ``None`` with fewer
    than two distinct ``x``.

    Example:
        >>> linear_fit([(1, 12.0), (3, 16.0), (5, 20.0)])
        (10.0, 2.0)
    """
    xs = {x for x, _ in points}
    if len(xs) < 2:
        return None
    n = len(points)
    mx, my = sum(x for x, _ in points) / n, sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    slope = sum((x - mx) * (y - my) for x, y in points) / sxx
    return my - slope * mx, slope


def predict_largest(points: list[tuple[int, int]], budget: float) -> int | None:
    """The largest batch whose peak, on the line through measured ``(batch, peak)``
    points, stays within ``budget`` bytes; ``None`` without a rising line.

    Example:
        >>> predict_largest([(1, 6e9), (9, 10e9)], 20e9)
        29
    """
    line = linear_fit(points)
    if line is None or line[1] <= 0:
        return None
    return max(0, math.floor((budget - line[0]) / line[1] + 1e-6))  # a float sum rounded


# -- a config's cards ---------------------------------------------------------------------
def search_cards(cards: list[dict], trial, time_left=lambda: math.inf) -> list[dict]:
    """Each card's largest batch, smallest card first, and plan's answer checked.

    ``cards``: dicts with ``card``, ``plan_batch`` and ``cap_bytes`` (``None`` with a
    ``skipped`` reason). ``trial(card, batch)`` runs one trial under that card's cap and
    returns a dict with ``status`` (``ok``, ``oom`` or ``error``), ``seconds`` and, when
    ok, ``peak_allocated_bytes``; the dicts are kept, in order, under each card's ``trials``.
    A batch that fits a smaller card is taken to fit a larger one (the lower bound carries
    over); an error stops everything. Trials predicted to outlast ``time_left()`` are not run.
    """
    done, low, stop = [], 0, None
    history: list[dict] = []
    for card in cards:
        result = {**card, "trials": [], "largest_batch": None, "complete": False}
        done.append(result)
        if card.get("cap_bytes") is None or stop:
            result["stopped"] = card.get("skipped") or stop
            continue
        seen: dict[int, bool] = {}

        def fits(batch: int, card=card, result=result, seen=seen) -> bool | None:
            nonlocal stop
            if batch in seen:
                return seen[batch]
            cost = linear_fit([(t["batch"], t["seconds"]) for t in history])
            if cost and cost[0] + cost[1] * batch > time_left() or time_left() <= 0:
                stop = "time budget"
                return None
            t = {"batch": batch, **trial(card, batch)}
            history.append(t)
            result["trials"].append(t)
            if t["status"] == "error":
                stop = f"error at batch {batch}"
                return None
            seen[batch] = t["status"] == "ok"
            return seen[batch]

        search = _card_search(fits, card, low, history)
        result.update(largest_batch=search.largest, first_oom_batch=search.high)
        result.update(complete=search.complete, stopped=None if search.complete else stop)
        plan_b = card["plan_batch"]
        result["plan_batch_ran"] = seen.get(plan_b) if plan_b else None
        low = search.largest
    return done


def _card_search(fits, card: dict, low: int, history: list[dict]) -> Search:
    """Batch 1 while no peak is known, plan's answer, then from the batch where the line
    through the measured peaks (reserved, where known) meets the cap."""
    tried, high = [], None
    first = [] if any(t["status"] == "ok" for t in history) else [1]
    for b in dict.fromkeys([*first, card["plan_batch"]]):
        if b <= low or (high is not None and b >= high):
            continue
        ok = fits(b)
        tried.append(b)
        if ok is None:
            return Search(low, high, tried, False)
        low, high = (b, high) if ok else (low, b)
    ok = [t for t in history if t["status"] == "ok"]  # the cap bounds what is reserved
    points = [(t["batch"], t.get("peak_reserved_bytes", t["peak_allocated_bytes"])) for t in ok]
    start = predict_largest(points, card["cap_bytes"]) or low + 1
    return _tried(largest_fitting(fits, start, low, high), tried)


def _tried(search: Search, before: list[int]) -> Search:
    search.tried = before + [b for b in search.tried if b not in before]
    return search


# -- on the GPU -----------------------------------------------------------------------------
def card_caps(cards: list[str], total: int, outside: int) -> list[dict]:
    """Each card's allocator cap on a GPU of ``total`` bytes of which ``outside`` are held
    outside PyTorch's allocator (the CUDA context): ``cap_bytes`` and ``fraction`` for
    ``set_per_process_memory_fraction``; a card above ``total`` by more than 1 GiB is
    skipped, one within 1 GiB is the whole GPU.

    Example:
        >>> G = 2**30
        >>> caps = card_caps(["24GB", "80GB", "141GB"], 79 * G + G // 2, G // 2)
        >>> [(c["card"], c["cap_bytes"] and c["cap_bytes"] / G, c.get("whole_card")) for c in caps]
        [('24GB', 23.5, False), ('80GB', 79.0, True), ('141GB', None, None)]
    """
    from llmner.models.memory import parse_memory

    out = []
    for label in cards:
        size = parse_memory(label)
        if size > total + WHOLE_CARD_SLACK:
            out.append({"card": label, "card_bytes": size, "cap_bytes": None,
                        "skipped": f"above this GPU's {total / 2**30:.1f} GiB"})  # fmt: skip
            continue
        whole = size >= total
        cap = total - outside if whole else size - outside
        out.append({"card": label, "card_bytes": size, "cap_bytes": cap,
                    "fraction": 1.0 if whole else cap / total, "whole_card": whole})  # fmt: skip
    return out


def fit_table(records: list[dict]) -> str:
    """A markdown table of fit-check records: a row per config and card.

    Example:
        >>> G = 2**30
        >>> t = {"batch": 4, "status": "ok", "peak_allocated_bytes": 10 * G,
        ...      "plan_estimate_bytes": 11 * G, "plan_over_measured": 1.1}
        >>> card = {"card": "24GB", "plan_batch": 3, "plan_batch_ran": True, "largest_batch": 4,
        ...         "first_oom_batch": 5, "complete": True, "trials": [t]}
        >>> r = {"device": {"gpu": "NVIDIA H100 80GB HBM3"}, "configs": [{"config": "c.yaml",
        ...      "cards": [card]}]}
        >>> print(fit_table([r]).splitlines()[2])
        | c.yaml | NVIDIA H100 80GB HBM3 | 24GB | 3 | ran | 4 | 5 | 10.0 | 11.0 | 1.10 | 1.10-1.10 (1) |
    """  # noqa: E501
    head = ["config", "GPU", "card", "plan's batch", "plan's batch", "largest that ran",
            "first OOM", "peak there GiB", "plan there GiB", "plan / peak",
            "plan / peak, every run"]  # fmt: skip
    lines = ["| " + " | ".join(head) + " |", "|---|---|---|---:|---|---:|---:|---:|---:|---:|---|"]
    for r in records:
        gpu = r["device"]["gpu"]
        for c in r["configs"]:
            if "cards" not in c:
                why = c.get("error") or c.get("skipped") or "not measured"
                lines.append(f"| {c['config']} | {gpu} | - | - | - | {why} | - | - | - | - | - |")
                continue
            for card in c["cards"]:
                lines.append("| " + " | ".join(str(x) for x in _row(c, card, gpu)) + " |")
    return "\n".join(lines)


def _row(config: dict, card: dict, gpu: str) -> list:
    G = 2**30
    label = card["card"] + (" (the whole GPU)" if card.get("whole_card") else "")
    ok = [t for t in card["trials"] if t["status"] == "ok"]
    at = next((t for t in ok if t["batch"] == card["largest_batch"]), None)
    ran = {True: "ran", False: "out of memory", None: "not run"}[card.get("plan_batch_ran")]
    largest = card["largest_batch"]
    if largest is None:
        largest = f"not measured: {card.get('stopped')}"
    elif not card["complete"]:
        largest = f">= {largest} (stopped: {card.get('stopped')})"
    ratios = [t["plan_over_measured"] for t in ok]
    every = f"{min(ratios):.2f}-{max(ratios):.2f} ({len(ratios)})" if ratios else "-"
    return [
        config["config"], gpu, label, card.get("plan_batch", "-"),
        ran if card.get("plan_batch") else "-", largest, card.get("first_oom_batch") or "-",
        f"{at['peak_allocated_bytes'] / G:.1f}" if at else "-",
        f"{at['plan_estimate_bytes'] / G:.1f}" if at else "-",
        f"{at['plan_over_measured']:.2f}" if at else "-", every,
    ]  # fmt: skip
