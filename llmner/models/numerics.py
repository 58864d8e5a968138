"""The numeric path and batch budget a run takes on its device, resolved once and
recorded in ``metrics.json``.

* bf16 autocast is on by default where the device computes bf16 natively: CUDA devices
  with bf16 support, and CPUs where oneDNN reports bf16 support (AVX512-BF16 and AMX
  among them, AVX2 not). Elsewhere
  bf16 is emulated and slower than fp32, so asking for it is refused.
* Batches are bounded by a token budget by default on the CPU, where activation memory
  (about 1.5-2.2 MB per token for a 135M decoder) sets the peak: 512 tokens, or the
  longest example where that is longer; on a GPU the budget is
  off unless asked for.
"""

from __future__ import annotations

import torch

from llmner.errors import InputError

__all__ = ["CPU_TOKEN_BUDGET", "cpu_bf16_supported", "resolve_bf16", "resolve_token_budget"]

CPU_TOKEN_BUDGET = 512


def cpu_bf16_supported() -> bool:
    """Whether oneDNN computes bf16 on this CPU (AVX512-BF16 and AMX among those it
    reports; an AVX2 CPU not).

    Example:
        >>> isinstance(cpu_bf16_supported(), bool)
        True
    """
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def resolve_bf16(requested: bool | None, cuda: bool | None = None) -> bool:
    """bf16 autocast on or off: ``requested`` if given (refused where the device has no
    native bf16), else on where it is native."""
    cuda = torch.cuda.is_available() if cuda is None else cuda
    native = torch.cuda.is_bf16_supported() if cuda else cpu_bf16_supported()
    if requested and not native:
        device = "this GPU" if cuda else "this CPU (oneDNN reports no bf16 support)"
        raise InputError(f"--bf16 true: {device} does not compute bf16 natively; use --bf16 false")
    return native if requested is None else bool(requested)


def resolve_token_budget(
    requested: int | None, cuda: bool | None = None, longest: int = 0
) -> int | None:
    """The micro-batch token budget: ``requested`` (0 = off), else on the CPU 512 tokens
    or the ``longest`` example, whichever is larger; off on a GPU.

    Example:
        >>> resolve_token_budget(None, cuda=False), resolve_token_budget(None, False, 900)
        (512, 900)
    """
    cuda = torch.cuda.is_available() if cuda is None else cuda
    if requested is None:
        return None if cuda else max(CPU_TOKEN_BUDGET, longest)
    return requested or None
