"""Small file helpers shared by runs, commands and recipes: reading a user's text file,
atomic writes (a kill never leaves half a file or folder that a later load accepts) and
the process's peak memory. No heavy imports, so recipes that do not train (the spaCy
peer) can use them too.

Files and folders that a later step loads are written with :func:`atomic_file` (one
file) or :func:`atomic_dir` (a folder: a model, an adapter, an export).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import json
import os
import resource
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import yaml

from llmner.errors import InputError

__all__ = [
    "atomic_dir",
    "atomic_file",
    "parse_yaml",
    "peak_rss_mb",
    "read_input_text",
    "release_freed_memory",
    "require_empty_folder",
    "reset_peak_rss",
    "trim_heap",
    "write_json_atomic",
    "write_text_atomic",
]


def read_input_text(path: str | Path, file_kind: str, content: str) -> str:
    """The text of a user's input file: UTF-8, a leading byte-order mark dropped.

    Args:
        path: the file.
        file_kind: what the file should be, for the error when it is missing
            (``"a CoNLL column file"``).
        content: what it should hold, for the error when it is empty
            (``"CoNLL sentences"``).

    Raises:
        InputError: no such file; bytes that are not UTF-8 (naming the line of the
            first); a file of whitespace only.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"no such file; expected {file_kind}", str(path))
    data = path.read_bytes()
    try:
        text = data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise InputError(
            f"bytes at offset {e.start} are not UTF-8; expected UTF-8 text", str(path), line
        ) from None
    if not text.strip():
        raise InputError(f"the file is empty; expected {content}", str(path))
    return text


def parse_yaml(text: str, path: str | Path):
    """The data of a YAML file's ``text`` (``None`` when it holds none).

    Raises:
        InputError: the text is not valid YAML, naming ``path``, the line and the problem.

    Example:
        >>> parse_yaml("seed: 1", "c.yaml")
        {'seed': 1}
        >>> parse_yaml("seed: 1\\nlr: a: b", "c.yaml")
        Traceback (most recent call last):
        ...
        llmner.errors.InputError: c.yaml:2: not valid YAML (mapping values are not allowed here)
    """
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        problem = getattr(e, "problem", None) or "unreadable"
        line = None if mark is None else mark.line + 1
        raise InputError(f"not valid YAML ({problem})", str(path), line) from None


@contextmanager
def atomic_file(path: str | Path) -> Iterator[Path]:
    """Write one file atomically: yields a temporary path beside ``path`` to write to.

    When the ``with`` block ends without an exception the temporary file replaces
    ``path`` in one rename; when it raises, the temporary file is removed and ``path``
    is left as it was. A kill in between leaves ``path`` whole (old or new) and at most
    a stale ``NAME.tmp`` beside it, which the next write replaces.
    """
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text_atomic(path: str | Path, text: str) -> None:
    """Write ``text`` to a temporary file beside ``path``, then rename it into place."""
    with atomic_file(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json_atomic(path: str | Path, data: dict) -> None:
    """``data`` as indented, key-sorted JSON, written atomically."""
    write_text_atomic(path, json.dumps(data, indent=2, sort_keys=True))


def require_empty_folder(path: str | Path) -> Path:
    """``path`` as a ``Path``, refused when it is a folder that already holds files (an
    output is never written over another one).

    Example:
        >>> import tempfile
        >>> folder = Path(tempfile.mkdtemp())
        >>> require_empty_folder(folder) == folder
        True
        >>> _ = (folder / "x").write_text("x")
        >>> require_empty_folder(folder)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        llmner.errors.InputError: ...: the output folder exists and is not empty
    """
    path = Path(path)
    if path.is_dir() and any(path.iterdir()):
        raise InputError("the output folder exists and is not empty", str(path))
    return path


@contextmanager
def atomic_dir(target: str | Path, keep_existing: bool = False) -> Iterator[Path]:
    """Write a folder atomically: yields a new, empty temporary folder beside ``target``.

    Write everything into the yielded folder. When the ``with`` block ends without an
    exception the folder becomes ``target`` (mode ``0o755``): an existing ``target`` is
    first renamed aside to ``.NAME.*.old``, then removed after the swap. When the block
    raises, the temporary folder is removed and ``target`` is left as it was. So
    ``target`` is never half-written: a kill leaves the old folder or the complete new
    one (or, killed between the two renames, the old one at ``.NAME.*.old``), plus at
    most a hidden ``.NAME.*.tmp`` folder. Each call has its own temporary folder, so two
    processes writing the same ``target`` do not mix their files.

    Args:
        target: the folder to write; its parent is created if missing.
        keep_existing: if ``target`` exists when the block ends (another process wrote
            it meanwhile), keep it and discard what was written.

    Example:
        >>> import tempfile
        >>> root = Path(tempfile.mkdtemp())
        >>> with atomic_dir(root / "adapter") as tmp:
        ...     _ = (tmp / "weights").write_text("new")
        >>> [p.name for p in root.iterdir()], (root / "adapter" / "weights").read_text()
        (['adapter'], 'new')
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        yield tmp
        if keep_existing and target.exists():
            shutil.rmtree(tmp)
            return
        tmp.chmod(0o755)  # mkdtemp makes it private to its owner
        _swap(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _swap(new: Path, target: Path) -> None:
    """Rename ``new`` to ``target``, an existing ``target`` set aside first (a rename
    cannot replace a folder that holds files) and put back if the swap fails."""
    old = new.with_suffix(".old")
    if target.exists():
        os.replace(target, old)
    try:
        os.replace(new, target)
    except BaseException:
        if old.exists():
            os.replace(old, target)
        raise
    shutil.rmtree(old, ignore_errors=True)


def trim_heap() -> None:
    """Hand the C heap's free pages back to the system (glibc's ``malloc_trim``; a no-op
    where there is none)."""
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)


def release_freed_memory() -> None:
    """Collect unreachable Python objects, then :func:`trim_heap`."""
    gc.collect()
    trim_heap()


def _malloc_trim():
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
