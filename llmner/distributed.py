"""The process group llmner runs in (one process, several GPUs, or several CPU processes).

Accelerate only forms a CPU process group (gloo) when asked for the CPU explicitly, so
``accelerate launch --multi_gpu`` on a machine without a GPU starts processes that would
each believe they are alone. :func:`state` asks for the CPU whenever there is no GPU.
"""

from __future__ import annotations

__all__ = ["state"]


def state():
    """The shared ``accelerate.PartialState`` of this process."""
    import torch
    from accelerate import PartialState

    return PartialState(cpu=not torch.cuda.is_available())
