"""The Hugging Face hub, as llmner asks it: whether it is switched off, and what to say
when a hub id cannot be loaded.

A model named by hub id (``org/name``) goes to ``from_pretrained``, which looks in the
local Hugging Face cache and then on the hub. With ``HF_HUB_OFFLINE`` set, llmner checks
the cache first and stops with one line when the model is not there, rather than
leaving transformers to fail with a paragraph.
"""

from __future__ import annotations

import os
from pathlib import Path

from llmner.errors import InputError

__all__ = ["could_be_hub_id", "hub_offline", "load_error", "require_cached"]


def could_be_hub_id(name: str) -> bool:
    """Whether a name that is no local path could be a hub repository id (``name`` or
    ``owner/name``): not written as a path (``./``, ``/``, ``~``, a backslash, more than
    two parts), and no local folder of the owner's name (``runs/x`` where ``runs/``
    exists is a mistyped folder, not a repository).

    Example:
        >>> [could_be_hub_id(n) for n in ("gpt2", "org/model", "./org/model", "a/b/c")]
        [True, True, False, False]
    """
    parts = Path(name).parts
    if not name or name.startswith((".", "/", "~")) or "\\" in name or len(parts) > 2:
        return False
    return len(parts) == 1 or not Path(parts[0]).exists()


def hub_offline() -> bool:
    """Whether the Hugging Face hub is switched off (``HF_HUB_OFFLINE``)."""
    if os.environ.get("HF_HUB_OFFLINE", "").upper() in ("1", "ON", "YES", "TRUE"):
        return True
    from huggingface_hub import constants

    return bool(constants.HF_HUB_OFFLINE)


def require_cached(hub_id: str, hint: str = "") -> None:
    """With the hub switched off, a hub id whose ``config.json`` is not in the local
    cache is refused in one line that names it and ``HF_HUB_OFFLINE`` (``hint`` ends it:
    a near model name, say).

    Raises:
        InputError: offline and not cached.
    """
    if not hub_offline():
        return
    from huggingface_hub import try_to_load_from_cache

    try:
        cached = try_to_load_from_cache(hub_id, "config.json")
    except ValueError as e:  # not a valid repository id
        raise InputError(f"model {hub_id!r} is neither a folder nor a valid hub id ({e})") from None
    if not isinstance(cached, str):
        raise InputError(
            f"model {hub_id!r} is not in the local Hugging Face cache and HF_HUB_OFFLINE is "
            f"set, so the hub is not asked; download it where the hub can be reached "
            f"(hf download {hub_id}) or give a local folder{hint}"
        )


def load_error(what: str, name_or_path: str, error: Exception, hub_id: bool) -> InputError:
    """One line for a model or tokenizer ``from_pretrained`` could not load: its error's
    lines joined and, for a hub id (``hub_id``) while the hub is switched on, how to stop
    without waiting for the network."""
    text = " ".join(line.strip() for line in str(error).splitlines() if line.strip())
    hint = ""
    if hub_id and not hub_offline():
        hint = " (without network, HF_HUB_OFFLINE=1 stops at once)"
    return InputError(f"cannot load {what} {name_or_path!r}: {text or type(error).__name__}{hint}")
