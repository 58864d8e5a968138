"""The process group llmner runs in (one process, several GPUs, or several CPU processes).

Two CPU pitfalls of ``accelerate launch`` are handled here:

* Accelerate only forms a CPU process group (gloo) when asked for the CPU explicitly, so
  ``accelerate launch --multi_gpu`` on a machine without a GPU starts processes that would
  each believe they are alone. :func:`state` asks for the CPU whenever there is no GPU.
* ``accelerate launch`` sets ``OMP_NUM_THREADS=1`` unless told otherwise, which halves the
  speed of a single process on a 2-core machine. On the CPU, :func:`state` gives each
  process an equal share of the cores (``LLMNER_NUM_THREADS`` overrides it).

Accelerate applies FSDP only to a GPU-type process group: launched on the CPU with an FSDP
config, the processes train as plain data parallelism (each holds the whole model), and
:func:`state` says so once.
"""

from __future__ import annotations

import logging
import os

import torch
from accelerate import PartialState

__all__ = ["cpu_threads", "state"]

_configured = False


def cpu_threads(num_processes: int, cores: int | None = None) -> int:
    """Threads for each of ``num_processes`` processes sharing ``cores`` cores.

    Example:
        >>> cpu_threads(1, cores=2), cpu_threads(2, cores=2), cpu_threads(4, cores=2)
        (2, 1, 1)
    """
    if os.environ.get("LLMNER_NUM_THREADS"):
        return max(1, int(os.environ["LLMNER_NUM_THREADS"]))
    if cores is None:
        has_affinity = hasattr(os, "sched_getaffinity")
        cores = len(os.sched_getaffinity(0)) if has_affinity else (os.cpu_count() or 1)
    return max(1, cores // max(1, num_processes))


def state():
    """The shared ``accelerate.PartialState`` of this process."""
    global _configured
    s = PartialState(cpu=not torch.cuda.is_available())
    if not _configured and not torch.cuda.is_available():
        local = int(os.environ.get("LOCAL_WORLD_SIZE", s.num_processes))
        torch.set_num_threads(cpu_threads(local))
        _configured = True
        if os.environ.get("ACCELERATE_USE_FSDP", "").lower() == "true" and s.is_main_process:
            logging.getLogger("llmner").warning(
                "FSDP needs GPUs: on the CPU these %d processes train as plain data "
                "parallelism, each holding the whole model",
                s.num_processes,
            )
    return s
