"""Progress bars for the long phases after a model is loaded: scoring a split, generation,
merge checks and prediction on a large file.

A bar shows only where someone can watch it: on a terminal (stderr), not in a log, and not
when progress bars are turned off, either by transformers' switch
(``transformers.utils.logging.disable_progress_bar``, which the ``llmner`` command's
``--quiet`` turns) or for a block with :func:`quiet` (a run with Trainer's
``--disable_tqdm``). In several processes only the main one draws. Bars are left on the
screen only while they run (``leave=False``), as Trainer's evaluation bars are.

Example:
    >>> with quiet():
    ...     with bar(3, "scoring") as b:
    ...         b.update(3)
    ...     enabled()
    False
"""

from __future__ import annotations

import contextlib
import contextvars
import sys

import torch.distributed as dist
from tqdm.auto import tqdm
from transformers.utils import logging as hf_logging

__all__ = ["bar", "enabled", "quiet"]

_QUIET = contextvars.ContextVar("llmner_quiet_progress", default=False)


def enabled() -> bool:
    """Whether a bar would show now."""
    if _QUIET.get() or not sys.stderr.isatty():
        return False
    if not hf_logging.is_progress_bar_enabled():
        return False
    return not (dist.is_available() and dist.is_initialized() and dist.get_rank() != 0)


def bar(total: int, desc: str, unit: str = "sentence") -> tqdm:
    """A bar of ``total`` ``unit``s, drawn only when :func:`enabled`; call ``update(n)``."""
    return tqdm(total=total, desc=desc, unit=unit, disable=not enabled(), leave=False)


@contextlib.contextmanager
def quiet(on: bool = True):
    """No bar inside the block when ``on`` (a run's ``disable_tqdm``)."""
    token = _QUIET.set(bool(on))
    try:
        yield
    finally:
        _QUIET.reset(token)
