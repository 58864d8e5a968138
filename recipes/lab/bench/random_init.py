"""Random-initialised Llama-architecture checkpoints of realistic size, saved to disk.

Real weights cannot travel to a benchmark machine, but throughput and memory depend on
the shapes, not on the values. :func:`save_random_model` writes a folder that llmner's
ordinary loading path (:func:`llmner.models.loading.load_base_model`) reads like any
downloaded model: ``config.json``, bf16 safetensors and a small word-level tokenizer whose
ids stay below the model's vocabulary size.

Shapes follow the published configs: ``1b`` is Llama-3.2-1B, ``8b`` Llama-3.1-8B; ``tiny``
is for tests on the CPU.
"""

from __future__ import annotations

from pathlib import Path

import torch
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import AutoModelForCausalLM, LlamaConfig, PreTrainedTokenizerFast

from llmner.io import atomic_dir

__all__ = [
    "LLAMA_SHAPES",
    "llama_config",
    "make_tokenizer",
    "parameter_counts",
    "save_random_model",
]

# Keys are LlamaConfig arguments.
LLAMA_SHAPES: dict[str, dict] = {
    "tiny": dict(
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        vocab_size=512,
        tie_word_embeddings=True,
    ),
    "1b": dict(
        hidden_size=2048,
        intermediate_size=8192,
        num_hidden_layers=16,
        num_attention_heads=32,
        num_key_value_heads=8,
        vocab_size=128256,
        tie_word_embeddings=True,
    ),
    "8b": dict(
        hidden_size=4096,
        intermediate_size=14336,
        num_hidden_layers=32,
        num_attention_heads=32,
        num_key_value_heads=8,
        vocab_size=128256,
        tie_word_embeddings=False,
    ),
}
_SPECIALS = ("<pad>", "<eos>", "<unk>")
_WORDS = 253  # tokenizer vocabulary: the specials plus w3 .. w255


def llama_config(shape: str, max_position_embeddings: int = 4096):
    """A ``LlamaConfig`` for a named shape, with the benchmark tokenizer's special ids.

    Example:
        >>> llama_config("tiny").num_hidden_layers
        2
    """
    if shape not in LLAMA_SHAPES:
        raise ValueError(f"unknown shape {shape!r}; expected one of {sorted(LLAMA_SHAPES)}")
    return LlamaConfig(
        **LLAMA_SHAPES[shape],
        max_position_embeddings=max_position_embeddings,
        rope_theta=500000.0,
        rms_norm_eps=1e-5,
        pad_token_id=0,
        eos_token_id=1,
        bos_token_id=1,
    )


def parameter_counts(config, task: str = "causal-lm", num_labels: int = 0) -> dict[str, int]:
    """Parameters of a Llama model from its config: ``total``, ``embedding`` and
    ``matmul`` (every weight a token is multiplied by: the layers' projections and the
    output head; not the embedding lookup or the norms).

    Example:
        >>> c = llama_config("tiny")
        >>> parameter_counts(c)["matmul"]
        106496
    """
    h, f, n = config.hidden_size, config.intermediate_size, config.num_hidden_layers
    kv = config.num_key_value_heads * (h // config.num_attention_heads)
    per_layer = h * h * 2 + h * kv * 2 + 3 * h * f
    norms = n * 2 * h + h
    embedding = config.vocab_size * h
    head = num_labels * h + num_labels if task == "token-classification" else config.vocab_size * h
    tied = task == "causal-lm" and config.tie_word_embeddings
    total = n * per_layer + norms + embedding + (0 if tied else head)
    return {"total": total, "embedding": embedding, "matmul": n * per_layer + head}


def make_tokenizer():
    """A fast word-level tokenizer: ``<pad>``=0, ``<eos>``=1, ``<unk>``=2, words w3..w255.

    Example:
        >>> make_tokenizer()("w5 w7")["input_ids"]
        [5, 7]
    """
    vocab = {s: i for i, s in enumerate(_SPECIALS)}
    vocab.update({f"w{i}": i for i in range(len(_SPECIALS), len(_SPECIALS) + _WORDS)})
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, pad_token="<pad>", eos_token="<eos>", unk_token="<unk>"
    )


@torch.no_grad()
def save_random_model(
    shape: str,
    folder: str | Path,
    dtype: torch.dtype = torch.bfloat16,
    device: str | None = None,
    seed: int = 0,
) -> Path:
    """Build a random ``LlamaForCausalLM`` of ``shape`` and save it with its tokenizer.

    The weights are drawn on ``device`` (the GPU when there is one: an 8B model
    initialises in seconds there, minutes on a CPU) with the model's own initialiser
    (normal, std 0.02), never zeros. Returns the folder. A folder already holding a
    ``config.json`` is reused as it is.
    """
    folder = Path(folder)
    if (folder / "config.json").exists():
        return folder
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    torch.manual_seed(seed)
    with torch.device(device):
        model = AutoModelForCausalLM.from_config(llama_config(shape), dtype=dtype)
    with atomic_dir(folder) as tmp:
        model.save_pretrained(tmp)
        make_tokenizer().save_pretrained(tmp)
    del model
    if device.startswith("cuda"):
        torch.cuda.empty_cache()
    return folder
