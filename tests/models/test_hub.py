"""llmner.models.hub: a hub id with the hub switched off."""

import pytest
from huggingface_hub import constants

from llmner.errors import InputError
from llmner.models.hub import could_be_hub_id, load_error, require_cached
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


def test_a_load_error_is_one_line_with_the_offline_hint_only_for_a_hub_id_online(monkeypatch):
    error = OSError("You are trying to access a gated repo.\nMake sure to have access to it.")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    online = str(load_error("model", "org/m", error, hub_id=True))
    assert "\n" not in online and "Make sure to have access" in online
    assert "HF_HUB_OFFLINE=1" in online
    assert "HF_HUB_OFFLINE" not in str(load_error("model", "./m", error, hub_id=False))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert "HF_HUB_OFFLINE" not in str(load_error("model", "org/m", error, hub_id=True))


def test_offline_a_mistyped_model_name_is_offered_the_near_one(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    with pytest.raises(InputError, match="did you mean smollm2-135m"):
        resolve_model("smollm2-13m")
    with pytest.raises(InputError, match="valid hub id"):
        resolve_model("not a/valid id")


def test_a_folder_mistyped_under_an_existing_one_is_no_hub_id(tmp_path, monkeypatch):
    (tmp_path / "runs").mkdir()
    monkeypatch.chdir(tmp_path)
    assert could_be_hub_id("org/model") and not could_be_hub_id("runs/model")
    with pytest.raises(InputError, match="model folder 'runs/model' does not exist"):
        resolve_model("runs/model")
