"""Small file helpers shared by runs, commands and recipes: atomic writes (a kill never
leaves half a file that a later load accepts) and the process's peak memory. No heavy
imports, so recipes that do not train (the spaCy peer) can use them too."""

from __future__ import annotations

import json
import os
import resource
from pathlib import Path

__all__ = [
    "peak_rss_mb",
    "release_freed_memory",
    "reset_peak_rss",
    "trim_heap",
    "write_json_atomic",
    "write_text_atomic",
]


def write_text_atomic(path: str | Path, text: str) -> None:
    """Write ``text`` to a temporary file beside ``path``, then rename it into place."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def write_json_atomic(path: str | Path, data: dict) -> None:
    """``data`` as indented, key-sorted JSON, written atomically."""
    write_text_atomic(path, json.dumps(data, indent=2, sort_keys=True))


def trim_heap() -> None:
    """Hand the C heap's free pages back to the system (glibc's ``malloc_trim``; a no-op
    where there is none)."""
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)


def release_freed_memory() -> None:
    """Collect unreachable Python objects, then :func:`trim_heap`."""
    import gc

    gc.collect()
    trim_heap()


def _malloc_trim():
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    return getattr(ctypes.CDLL(name), "malloc_trim", None) if name else None


_MALLOC_TRIM = _malloc_trim()


def reset_peak_rss() -> bool:
    """Start a new peak-memory measurement for this process.

    Linux resets a process's resident high-water mark (``VmHWM``) when 5 is written to
    ``/proc/self/clear_refs``; a second run in one process (the quick start's encoder
    after its decoder) then reports its own peak. Returns whether the reset took place
    (``False`` elsewhere, where :func:`peak_rss_mb` stays the process's lifetime peak).
    """
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return False
    return True


def peak_rss_mb() -> float:
    """Peak resident memory in MB since the last :func:`reset_peak_rss` (Linux ``VmHWM``),
    else the process's lifetime peak (``ru_maxrss``)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
