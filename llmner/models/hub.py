"""The Hugging Face hub, as llmner asks it: whether it is switched off, and what to say
when a hub id cannot be loaded.

A model named by hub id (``org/name``) goes to ``from_pretrained``, which looks in the
local Hugging Face cache and then on the hub. With ``HF_HUB_OFFLINE`` set, llmner checks
the cache first and stops with one line when the model is not there, rather than
leaving transformers to fail with a paragraph.
"""

from __future__ import annotations

import os

from llmner.errors import InputError

__all__ = ["hub_offline", "load_error", "require_cached"]


def hub_offline() -> bool:
    """Whether the Hugging Face hub is switched off (``HF_HUB_OFFLINE``)."""
    if os.environ.get("HF_HUB_OFFLINE", "").upper() in ("1", "ON", "YES", "TRUE"):
        return True
    from huggingface_hub import constants

    return bool(constants.HF_HUB_OFFLINE)


def require_cached(hub_id: str) -> None:
    """With the hub switched off, a hub id whose ``config.json`` is not in the local
    cache is refused in one line that names it and ``HF_HUB_OFFLINE``.

    Raises:
        InputError: offline and not cached.
    """
    if not hub_offline():
        return
    from huggingface_hub import try_to_load_from_cache

    try:
        cached = try_to_load_from_cache(hub_id, "config.json")
    except ValueError:  # not a valid repository id
        cached = None
    if not isinstance(cached, str):
        raise InputError(
            f"model {hub_id!r} is not in the local Hugging Face cache and HF_HUB_OFFLINE is "
            f"set, so the hub is not asked; download it where the hub can be reached "
            f"(hf download {hub_id}) or give a local folder"
        )


def load_error(what: str, name_or_path: str, error: Exception) -> InputError:
    """One line for a model or tokenizer ``from_pretrained`` could not load: the first
    line of its error and, while the hub is switched on, how to stop without waiting for
    the network."""
    lines = str(error).strip().splitlines()
    first = lines[0].strip() if lines else type(error).__name__
    hint = "" if hub_offline() else " (without network, HF_HUB_OFFLINE=1 stops at once)"
    return InputError(f"cannot load {what} {name_or_path!r}: {first}{hint}")
