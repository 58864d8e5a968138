"""llmner.models.hub: a hub id with the hub switched off."""

import pytest
from huggingface_hub import constants

from llmner.errors import InputError
from llmner.models.hub import load_error, require_cached
from llmner.models.registry import resolve_model


def _cache_with(tmp_path, hub_id):
    """A Hugging Face cache holding ``hub_id``'s config.json, laid out as the hub lays it."""
    repo = tmp_path / f"models--{hub_id.replace('/', '--')}"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("abc123")
    (repo / "snapshots" / "abc123").mkdir(parents=True)
    (repo / "snapshots" / "abc123" / "config.json").write_text("{}")
    return tmp_path


def test_offline_a_hub_id_not_in_the_cache_is_refused_naming_it(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(_cache_with(tmp_path, "org/cached")))
    with pytest.raises(InputError) as err:
        resolve_model("org/elsewhere")
    assert "'org/elsewhere'" in str(err.value) and "HF_HUB_OFFLINE" in str(err.value)
    assert "\n" not in str(err.value)
    assert resolve_model("org/cached") == "org/cached"


def test_online_the_id_goes_to_from_pretrained_unchecked(tmp_path, monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    require_cached("org/elsewhere")  # the hub will be asked; nothing to refuse here


def test_a_load_error_is_one_line_with_the_offline_hint_only_while_online(monkeypatch):
    error = OSError("We couldn't connect to the hub.\nCheck your connection.")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    online = str(load_error("model", "org/m", error))
    assert online.count("\n") == 0 and "HF_HUB_OFFLINE=1" in online
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert "HF_HUB_OFFLINE" not in str(load_error("model", "org/m", error))
