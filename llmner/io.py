"""Small file helpers shared by runs, commands and recipes: atomic writes (a kill never
leaves half a file that a later load accepts) and the process's peak memory. No heavy
imports, so recipes that do not train (the spaCy peer) can use them too."""

from __future__ import annotations

import json
import os
import resource
from pathlib import Path

__all__ = ["peak_rss_mb", "write_json_atomic", "write_text_atomic"]


def write_text_atomic(path: str | Path, text: str) -> None:
    """Write ``text`` to a temporary file beside ``path``, then rename it into place."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def write_json_atomic(path: str | Path, data: dict) -> None:
    """``data`` as indented, key-sorted JSON, written atomically."""
    write_text_atomic(path, json.dumps(data, indent=2, sort_keys=True))


def peak_rss_mb() -> float:
    """Peak resident memory of this process, in MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
