"""Which code, versions and device made a run: the ``provenance`` of every ``metrics.json``.

:func:`provenance` is read once per run, when its ``metrics.json`` is written
(:func:`llmner.rundir.write_metrics`), so a results table can say which commit and which
device each of its rows comes from, and a reader can tell runs of different code apart.

The git commit is that of the checkout llmner is imported from (an installed wheel, or a
run outside any checkout, records ``None``); ``dirty`` says whether tracked files differed
from that commit. A run that called :func:`mark_start` when it began (training does)
records the commit and dirtiness of that moment, not of the moment it finished: the code
it ran, even when the checkout moved on while it trained.

``device`` names the CPU, its cores and which of :data:`CPU_FEATURES` it has (two CPUs
of one model name can differ in them, and with them in speed and in whether bf16 is
native), and the GPU where torch sees one.

``machine`` records how busy the machine was: the load averages (1, 5 and 15 minutes)
when the run was marked and when it wrote its provenance, and the CPU seconds this process
used against the wall seconds between the two. A run alone on its machine uses about
``threads`` CPU seconds per wall second while it computes; other work beside it shows as
a load above the run's own threads and a lower ratio. Load averages are ``None`` where
the system has none.

Example:
    >>> p = provenance()
    >>> sorted(p["versions"]) == sorted(("python",) + PACKAGES)
    True
    >>> short_commit({"commit": "0123456789abcdef"}), short_commit({"commit": None})
    ('0123456', None)
"""

from __future__ import annotations

import datetime as _dt
import os
import platform
import subprocess
import time
from importlib import metadata
from pathlib import Path

__all__ = ["CPU_FEATURES", "PACKAGES", "device_label", "mark_start", "provenance", "short_commit"]

# The packages whose versions can move a score.
PACKAGES = ("llmner", "torch", "transformers", "peft", "bitsandbytes", "accelerate")

_CHECKOUT = Path(__file__).resolve().parent.parent
# (commit, dirty) of each checkout as this process found it when mark_start() was called
_AT_START: dict[Path, tuple[str | None, bool | None]] = {}
# (wall clock, process CPU seconds, load averages) when this process first called mark_start()
_CLOCKS_AT_START: list[tuple[float, float, list[float] | None]] = []


def _git(*args: str, cwd: Path = _CHECKOUT) -> str | None:
    try:
        out = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


def _commit(cwd: Path = _CHECKOUT) -> tuple[str | None, bool | None]:
    """``(commit, dirty)`` of the checkout at ``cwd``, ``(None, None)`` outside git."""
    if not (cwd / ".git").exists():
        return None, None
    commit = _git("rev-parse", "HEAD", cwd=cwd)
    if not commit:
        return None, None
    status = _git("status", "--porcelain", "--untracked-files=no", cwd=cwd)
    return commit, bool(status) if status is not None else None


def mark_start(checkout: str | Path | None = None) -> None:
    """Read the commit of ``checkout`` (llmner's own by default) now, once per process:
    every later :func:`provenance` of this process reports it, so a run records the code it
    started with."""
    path = Path(checkout) if checkout else _CHECKOUT
    if path not in _AT_START:
        _AT_START[path] = _commit(path)
    if not _CLOCKS_AT_START:
        _CLOCKS_AT_START.append((time.monotonic(), time.process_time(), _load()))


def _load() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (AttributeError, OSError):
        return None


def _machine() -> dict:
    """Load averages now and, for a marked run, at its mark, with the CPU and wall seconds
    since the mark."""
    out = {"load_at_start": None, "load_at_end": _load(), "cpu_seconds": None,
           "wall_seconds": None}  # fmt: skip
    if _CLOCKS_AT_START:
        wall, cpu, load = _CLOCKS_AT_START[0]
        out["load_at_start"] = load
        out["cpu_seconds"] = round(time.process_time() - cpu, 1)
        out["wall_seconds"] = round(time.monotonic() - wall, 1)
    return out


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _cpuinfo(field: str) -> str | None:
    """The value of ``field`` in ``/proc/cpuinfo``'s first processor, ``None`` where the
    system does not say."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text(errors="replace").splitlines():
            if line.startswith(field):
                return line.split(":", 1)[1].strip()
    return None


def _cpu_model() -> str:
    return _cpuinfo("model name") or platform.processor() or platform.machine()


# CPU instruction sets that change how fast (and, for bf16, in which precision) a run
# trains, weakest first, with their names in a table cell: two CPUs of one model name can
# differ in them.
CPU_FEATURES = {"avx2": "AVX2", "avx512f": "AVX512", "avx512_bf16": "AVX512-BF16",
                "amx_bf16": "AMX"}  # fmt: skip


def _cpu_features() -> list[str] | None:
    """Which of :data:`CPU_FEATURES` the CPU has (``/proc/cpuinfo``'s flags), ``None``
    where the system does not say."""
    flags = _cpuinfo("flags")
    return None if flags is None else [f for f in CPU_FEATURES if f in flags.split()]


def _device() -> dict:
    """The CPU always, with its :data:`CPU_FEATURES`; the GPU's name and count when torch
    sees one."""
    device = {"cpu": _cpu_model(), "cpu_count": os.cpu_count(), "cpu_features": _cpu_features(),
              "gpu": None, "gpu_count": 0}  # fmt: skip
    try:
        import torch  # a run has it; the spaCy peer may not need it

        if torch.cuda.is_available():
            device["gpu"] = torch.cuda.get_device_name(0)
            device["gpu_count"] = torch.cuda.device_count()
        device["threads"] = torch.get_num_threads()
    except ImportError:
        device["threads"] = None
    return device


def provenance(checkout: str | Path | None = None) -> dict:
    """The run's provenance: llmner's version, the git commit (``None`` outside git) and
    whether the tree was dirty, the UTC date, the device and thread count, how busy the
    machine was (``machine``), and the versions of python and of :data:`PACKAGES`
    (``None`` for one not installed).

    Args:
        checkout: the git checkout to read the commit of; llmner's own by default.
    """
    path = Path(checkout) if checkout else _CHECKOUT
    commit, dirty = _AT_START[path] if path in _AT_START else _commit(path)
    versions = {"python": platform.python_version()}
    versions.update({p: _version(p) for p in PACKAGES})
    return {
        "llmner": versions["llmner"],
        "commit": commit,
        "dirty": dirty,
        "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "device": _device(),
        "machine": _machine(),
        "versions": versions,
    }


def short_commit(prov: dict | None) -> str | None:
    """The first 7 characters of a provenance's commit, ``None`` if it has none."""
    commit = (prov or {}).get("commit")
    return str(commit)[:7] if commit else None


def device_label(prov: dict | None) -> str | None:
    """A table cell for the device: the GPU's name (with a count above one), else the
    CPU's cores and model, with the strongest of its :data:`CPU_FEATURES` where the run
    recorded them, else ``None``.

    Example:
        >>> device_label({"device": {"gpu": "NVIDIA H200", "gpu_count": 1}})
        'NVIDIA H200'
        >>> device_label({"device": {"cpu": "AMD EPYC 9R14", "cpu_count": 2, "gpu": None}})
        '2-core AMD EPYC 9R14'
        >>> device_label({"device": {"cpu": "AMD EPYC", "cpu_count": 2,
        ...                          "cpu_features": ["avx2", "avx512f", "avx512_bf16"]}})
        '2-core AMD EPYC (AVX512-BF16)'
        >>> device_label({"device": {"cpu": "AMD EPYC", "cpu_count": 2, "cpu_features": []}})
        '2-core AMD EPYC (no AVX2)'
        >>> device_label({}) is None
        True
    """
    device = (prov or {}).get("device")
    if isinstance(device, str):
        return device
    if not isinstance(device, dict):
        return None
    if device.get("gpu"):
        count = device.get("gpu_count") or 1
        return device["gpu"] if count == 1 else f"{count}x {device['gpu']}"
    if device.get("cpu"):
        cores = device.get("cpu_count")
        label = f"{cores}-core {device['cpu']}" if cores else str(device["cpu"])
        features = device.get("cpu_features")
        if features is not None:
            known = [f for f in CPU_FEATURES if f in features]
            label += f" ({CPU_FEATURES[known[-1]]})" if known else " (no AVX2)"
        return label
    return None
