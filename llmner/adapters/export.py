"""A shareable adapter folder: adapter files, ``llmner.yaml``, a model card, checksums.

``export_run`` copies the run's adapter (head and tokenizer included), writes its resolved
config as ``llmner.yaml`` (what :func:`llmner.load` reads), the run's ``metrics.json``,
a model card ``README.md`` with Hugging Face YAML metadata, and ``SHA256SUMS`` in the
format ``sha256sum -c`` checks. ``push_to_hub`` uploads that folder with
``huggingface_hub``; offline it fails with an :class:`~llmner.errors.InputError` and leaves
the folder as it was.

The folder is made to be shared: ``llmner.yaml`` and ``metrics.json`` hold no absolute
path of the machine that made it (:func:`portable`), every file is readable by all
(``0o644``: save routines write some files private to their owner), and the card says what
the adapter needs beyond peft.

Example:
    >>> sha256_lines({"a.txt": b"hi"})
    ['8f434346648f6b96df89dda901c5176b10a6d83961dd3c1ac88b59b2dc327aa4  a.txt']
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import yaml

from llmner.adapters.card import model_card
from llmner.errors import InputError
from llmner.io import atomic_dir, require_empty_folder
from llmner.models.hub import hub_offline
from llmner.rundir import CONFIG_FILE, METRICS_FILE, read_metrics
from llmner.rundir.source import (
    META_FILE,
    describe_base,
    locate,
    needs_llmner_inputs,
)

__all__ = [
    "SUMS_FILE",
    "export_run",
    "make_readable",
    "portable",
    "push_to_hub",
    "sha256_lines",
    "verify_sums",
]

SUMS_FILE = "SHA256SUMS"


def sha256_lines(files: dict[str, bytes]) -> list[str]:
    """``sha256sum`` lines for ``{relative name: content}``, sorted by name."""
    return [f"{hashlib.sha256(files[n]).hexdigest()}  {n}" for n in sorted(files)]


def _sums(folder: Path) -> str:
    files = {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in folder.rglob("*")
        if p.is_file() and p.name != SUMS_FILE
    }
    return "\n".join(sha256_lines(files)) + "\n"


def verify_sums(folder: str | Path) -> list[str]:
    """Names whose content no longer matches ``SHA256SUMS`` (an empty list: all good)."""
    folder = Path(folder)
    bad = []
    for line in (folder / SUMS_FILE).read_text(encoding="utf-8").splitlines():
        digest, name = line.split("  ", 1)
        path = folder / name
        if not path.is_file() or hashlib.sha256(path.read_bytes()).hexdigest() != digest:
            bad.append(name)
    return bad


def portable(value, folder: Path, drop: tuple[str, ...] = ("output_dir",)):
    """``value`` (a run's config or metrics) with no absolute path: the keys in ``drop``
    (the run's own folder, meaningless elsewhere) left out and every other absolute path
    made relative to ``folder``, the folder the record is written into.

    Example:
        >>> portable({"output_dir": "/r/x", "test_file": "/d/t.txt", "lr": 1}, Path("/r/e"))
        {'test_file': '../../d/t.txt', 'lr': 1}
    """
    if isinstance(value, dict):
        return {k: portable(v, folder, drop) for k, v in value.items() if k not in drop}
    if isinstance(value, list):
        return [portable(v, folder, drop) for v in value]
    if isinstance(value, str) and "\n" not in value and os.path.isabs(value):
        relative = os.path.relpath(value, folder)
        return relative if relative.startswith("..") else f"./{relative}"
    return value


def make_readable(folder: Path) -> None:
    """Every file of ``folder`` readable by group and others (``0o644``)."""
    for f in folder.rglob("*"):
        if f.is_file():
            f.chmod(0o644)


def export_run(run: str | Path, output: str | Path, repo_id: str | None = None) -> Path:
    """Write the shareable folder for a run directory (or its ``adapter/``).

    Args:
        run: a run directory, or an adapter folder that :func:`locate` understands.
        output: the folder to write (must not exist or be empty).
        repo_id: the hub repository the card's loading snippet names (default: a
            placeholder).

    Returns:
        ``output``.
    """
    source = locate(run)
    if source.kind != "adapter":
        raise InputError("a merged model; expected a run directory or adapter", str(run))
    output = require_empty_folder(output)
    run_dir = source.path.parent if (source.path.parent / CONFIG_FILE).exists() else None
    metrics = {}
    for candidate in (source.path / METRICS_FILE, run_dir and run_dir / METRICS_FILE):
        if candidate and candidate.exists():
            metrics = read_metrics(candidate)
            break
    where = output.resolve()
    meta, metrics = portable(source.meta, where), portable(metrics, where)
    with atomic_dir(output) as tmp:
        for f in source.path.iterdir():
            if f.is_file() and f.name not in ("README.md", SUMS_FILE):
                shutil.copy2(f, tmp / f.name)
        _name_hub_base(tmp / "adapter_config.json", source.meta)
        (tmp / META_FILE).write_text(yaml.safe_dump(meta, sort_keys=False), "utf-8")
        if metrics:
            (tmp / "metrics.json").write_text(json.dumps(metrics, indent=2, sort_keys=True))
        card = model_card(
            meta, metrics, source.adapter_config(), repo_id, needs=needs_llmner_inputs(source)
        )
        (tmp / "README.md").write_text(card, encoding="utf-8")
        (tmp / SUMS_FILE).write_text(_sums(tmp), encoding="utf-8")
        make_readable(tmp)
    return output


def _name_hub_base(adapter_config: Path, meta: dict) -> None:
    """peft's ``base_model_name_or_path`` as the hub id of a named base (peft recorded the
    folder it was loaded from, a path of this machine), so ``AutoPeftModel`` finds it."""
    hub_id = describe_base(meta)
    if hub_id == str(meta.get("model_name_or_path", "")):
        return  # a hub id or a folder already: as recorded
    config = json.loads(adapter_config.read_text(encoding="utf-8"))
    config["base_model_name_or_path"] = hub_id
    adapter_config.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", "utf-8")


def push_to_hub(folder: str | Path, repo_id: str, private: bool = False) -> str:
    """Upload an exported folder to the hub repository ``repo_id``; returns its URL.

    Raises:
        InputError: offline (``HF_HUB_OFFLINE``), no network or no permission; the
            folder is left untouched either way.
    """
    folder = Path(folder)
    hint = f"the folder {folder} is ready; upload it later with `hf upload {repo_id} {folder}`"
    if hub_offline():
        raise InputError(f"cannot push to the hub: offline (HF_HUB_OFFLINE is set); {hint}")
    from huggingface_hub import HfApi  # optional: pip install 'llmner[hub]'

    api = HfApi()
    try:
        api.create_repo(repo_id, private=private, exist_ok=True)
        info = api.upload_folder(folder_path=str(folder), repo_id=repo_id)
    except Exception as e:  # network, authentication and hub errors all end here
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise InputError(f"cannot push to the hub ({first}); {hint}") from None
    return str(getattr(info, "commit_url", f"https://huggingface.co/{repo_id}"))
