"""Will it fit: the peak GPU memory of one LoRA / QLoRA training step, from a model's shape.

Arithmetic on a :class:`ModelShape` (``config.json`` fields) and a :class:`TrainSetup` (what
a run config asks for), for one process (no FSDP or ZeRO sharding); ``llmner plan`` prints
it. ``a``, the bytes of an activation: 2 on CUDA (bf16 autocast; llmner keeps a 4-bit
model's unquantized parts in bf16 there), 4 on the CPU; a dropout mask: 1 on CUDA, else ``a``.

* **weights**: NF4 0.5 byte per layer weight plus its constants (a 4-byte absmax per 64,
  or with double quantization 1 byte per 64 and 4 per 16,384); 8-bit 1 byte; embeddings,
  norms and the head ``a`` (4 with checkpointing: peft's ``prepare_model_for_kbit_training``
  upcasts them).
* **trainable** (LoRA ``r(in + out)`` per target, the tagging head's trained copy): fp32
  value, gradient and two AdamW moments, 16 bytes (gradients live across accumulation),
  and on CUDA autocast's bf16 copy of each LoRA weight, 2 bytes.
* **saved activations**, per layer and token: each RMSNorm its fp32 input, ``4h + 4``;
  attention (sdpa) q, k, v and output, ``4aH`` (``H`` = heads x head_dim; with a padding
  mask k and v are repeated to every head, without it they are ``2a`` x kv heads x
  head_dim), its log-sum-exp ``4 x heads`` and the mask as floats, ``aS``; the SwiGLU MLP
  gate, SiLU output and up, ``3af``; LoRA each target's input (without dropout shared per
  group: ``ah`` for q/k/v, ``ah`` for gate/up, ``af`` for down, o reads attention's output;
  with dropout its own dropped copy and mask) and ``ar`` before each ``lora_B``; the first
  layer's norm and dropouts keep nothing (its input needs no gradient). Checkpointing keeps
  each layer's input (``4h`` for a 4-bit model) and recomputes one layer at a time
  (counted at 4 bytes). Outside the layers: the final norm; the tagging head's dropout and
  input, or the generative loss's fp32 log-softmax, ``4V``; labels.
* **working set**: the generative loss's logits, fp32 copy and gradients, ``8V`` more;
  else a backward's gradients, ``a(2f + 2h)``; plus one dequantized weight matrix.

Sources: the tensors that PyTorch's autograd, transformers' Llama/Mistral/Qwen2 modules and
peft's LoRA layers keep, counted with ``torch.autograd.graph.saved_tensors_hooks``
(``tests/models/test_memory.py`` checks parameters and saved activations against such a
count on tiny models on the CPU: equal to the byte); Korthikanti et al. (2022), "Reducing
Activation Recomputation in Large Transformer Models", for the method. On the GPU
(``docs/results/gpu-bench.md``: NF4, LoRA r=16 on every projection, dropout 0.05, 8 x
512 tokens, no padding), the 8B Llama shape peaked at 36.5 GiB tagging, 43.0 generative,
9.7 and 16.7 with checkpointing: here 36.7, 43.2, 10.2, 17.7; the 1B shape at 9.7, 15.4,
3.2, 8.5: here 9.7, 15.4, 3.3, 9.0.

Example:
    >>> shape = ModelShape(hidden=4096, intermediate=14336, layers=32, heads=32,
    ...                    kv_heads=8, head_dim=128, vocab=128256)
    >>> round(estimate(shape, TrainSetup(batch=8, seq_len=512)).total / GIB, 1)
    29.6
    >>> largest_batch(shape, TrainSetup(seq_len=512), 24 * GIB)
    5
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

__all__ = [
    "GIB",
    "LORA_TARGETS",
    "Estimate",
    "ModelShape",
    "TrainSetup",
    "activation_bytes",
    "estimate",
    "fits",
    "largest_batch",
    "parameter_counts",
    "parse_memory",
    "usable_memory",
]

GIB = 2**30
# LoRA on every attention and MLP projection: llmner's default targets (models.loading).
LORA_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
CUDA_RESERVE = GIB  # CUDA context and cuBLAS workspace, outside PyTorch's allocator
HEADROOM = 0.10  # fragmentation and the estimate's own error
_QKV = {"q_proj", "k_proj", "v_proj"}
_NF4_CONSTANTS = {True: 1 / 64 + 4 / (64 * 256), False: 4 / 64}  # bytes per weight


@dataclass(frozen=True)
class ModelShape:
    """What the memory depends on: a decoder's ``config.json`` fields."""

    hidden: int
    intermediate: int
    layers: int
    heads: int
    kv_heads: int
    head_dim: int
    vocab: int
    tied: bool = False
    qkv_bias: bool = False
    model_type: str = "llama"

    @classmethod
    def from_config(cls, config: dict) -> ModelShape:
        """From a ``config.json`` mapping (a nested ``text_config`` is used when present).

        Example:
            >>> ModelShape.from_config({"hidden_size": 64, "intermediate_size": 128,
            ...     "num_hidden_layers": 2, "num_attention_heads": 4, "vocab_size": 512}).kv_heads
            4
        """
        config = config.get("text_config") or config
        heads = config["num_attention_heads"]
        return cls(
            hidden=config["hidden_size"],
            intermediate=config["intermediate_size"],
            layers=config["num_hidden_layers"],
            heads=heads,
            kv_heads=config.get("num_key_value_heads") or heads,
            head_dim=config.get("head_dim") or config["hidden_size"] // heads,
            vocab=config["vocab_size"],
            tied=bool(config.get("tie_word_embeddings", False)),
            qkv_bias=config.get("model_type") == "qwen2" or bool(config.get("attention_bias")),
            model_type=config.get("model_type", "llama"),
        )

    def projections(self) -> dict[str, tuple[int, int]]:
        """Each layer's linear layers: ``name -> (in_features, out_features)``."""
        h, f = self.hidden, self.intermediate
        q, kv = self.heads * self.head_dim, self.kv_heads * self.head_dim
        return {
            "q_proj": (h, q), "k_proj": (h, kv), "v_proj": (h, kv), "o_proj": (q, h),
            "gate_proj": (h, f), "up_proj": (h, f), "down_proj": (f, h),
        }  # fmt: skip


@dataclass(frozen=True)
class TrainSetup:
    """One training step as a run config sets it up (``seq_len``: padded tokens per
    example, every repeated copy included)."""

    task: str = "tagging"  # or "generative"
    quantization: str = "4bit"  # "8bit", "none"
    double_quant: bool = True
    lora_r: int = 16
    targets: tuple[str, ...] = LORA_TARGETS
    lora_dropout: float = 0.0
    batch: int = 1
    seq_len: int = 512
    checkpointing: bool = False
    num_labels: int = 9
    device: str = "cuda"
    padded: bool = True  # a padding mask: sdpa repeats k and v to every head and keeps the mask


@dataclass
class Estimate:
    """Peak bytes of a training step, by part; ``total`` is their sum."""

    parts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.parts.values())


def _bytes(setup: TrainSetup) -> tuple[int, int]:
    """An activation's and a dropout mask's bytes: bf16 and bool on CUDA, else fp32."""
    return (2, 1) if setup.device == "cuda" else (4, 4)


def parameter_counts(shape: ModelShape, setup: TrainSetup) -> dict[str, int]:
    """Parameters: ``quantizable`` (the layers' projections), ``unquantized`` (embeddings,
    norms, biases, head), ``lora`` and ``trainable`` (LoRA plus the tagging head's copy).

    Example:
        >>> s = ModelShape(64, 128, 2, 4, 2, 16, 512, tied=True)
        >>> parameter_counts(s, TrainSetup(task="generative", lora_r=4))["lora"]
        8192
    """
    proj = shape.projections()
    quantizable = shape.layers * sum(i * o for i, o in proj.values())
    bias = shape.layers * (proj["q_proj"][1] + 2 * proj["k_proj"][1]) if shape.qkv_bias else 0
    norms, embedding = (2 * shape.layers + 1) * shape.hidden, shape.vocab * shape.hidden
    tagging = setup.task == "tagging"
    head = setup.num_labels * (shape.hidden + 1) if tagging else (not shape.tied) * embedding
    lora = shape.layers * sum(setup.lora_r * sum(proj[t]) for t in setup.targets if t in proj)
    trainable = lora + head * tagging
    return {
        "quantizable": quantizable,
        "unquantized": embedding + norms + bias + head,
        "lora": lora,
        "trainable": trainable,
        "total": quantizable + embedding + norms + bias + head,
    }


def _weight_bytes(shape: ModelShape, setup: TrainSetup, counts: dict) -> int:
    a = _bytes(setup)[0]
    rest = 4 if setup.checkpointing and setup.quantization != "none" else a
    per = {"4bit": 0.5 + _NF4_CONSTANTS[setup.double_quant], "8bit": 1.0, "none": a}
    return int(counts["quantizable"] * per[setup.quantization] + counts["unquantized"] * rest)


def _layer_bytes(shape: ModelShape, setup: TrainSetup, a: int) -> int:
    """Saved bytes of one layer for one token (the mask's share included)."""
    h, f, t, proj = shape.hidden, shape.intermediate, set(setup.targets), shape.projections()
    q, kv = proj["q_proj"][1], proj["k_proj"][1]
    attention = 2 * a * (q + (q if setup.padded else kv)) + 4 * shape.heads
    attention += a * setup.seq_len if setup.padded else 0
    saved = 2 * (4 * h + 4) + attention + 3 * a * f
    saved += a * setup.lora_r * len(t & set(proj))
    if setup.lora_dropout > 0:
        saved += sum((a + _bytes(setup)[1]) * proj[name][0] for name in t & set(proj))
    else:
        saved += a * h * bool(t & _QKV)
        saved += a * h * bool(t & {"gate_proj", "up_proj"}) + a * f * ("down_proj" in t)
    return saved


def activation_bytes(shape: ModelShape, setup: TrainSetup) -> dict[str, int]:
    """Saved activations of one step: ``layers`` (every layer, or with checkpointing the
    kept inputs plus one recomputed layer), ``outside`` (embeddings' rotary tables, the
    final norm, the head or the log-softmax) and their sum ``saved``; ``working``: the
    loss's and backward's extra peak.

    Example:
        >>> s = ModelShape(64, 176, 2, 4, 2, 16, 512)
        >>> activation_bytes(s, TrainSetup(batch=2, seq_len=40, lora_r=8, device="cpu"))["saved"]
        893124
    """
    a, h, tokens = _bytes(setup)[0], shape.hidden, setup.batch * setup.seq_len
    dropout = setup.lora_dropout > 0
    if setup.checkpointing:  # a 4-bit model's residual stream is fp32 then (peft's prepare)
        kept = 4 if setup.quantization != "none" else a
        layers = (shape.layers * kept * h + _layer_bytes(shape, setup, kept)) * tokens
    else:  # the first layer's input needs no gradient: its norm and dropouts keep nothing
        first = 4 * h + 4 + _bytes(setup)[1] * h * len(set(setup.targets) & _QKV) * dropout
        layers = (shape.layers * _layer_bytes(shape, setup, a) - first) * tokens
    rotary = 2 * setup.seq_len * shape.head_dim * a
    outside = rotary + (4 * h + 4) * tokens
    if setup.task == "tagging":
        outside += (a + _bytes(setup)[1]) * h * tokens + (4 * setup.num_labels + 8) * tokens + 4
        working = tokens * a * (2 * shape.intermediate + 2 * h)
    else:
        outside += (4 * shape.vocab + 8) * tokens + 4
        working = 8 * shape.vocab * tokens
    if setup.quantization != "none":
        working += max(i * o for i, o in shape.projections().values()) * a
    return {"layers": layers, "outside": outside, "saved": layers + outside, "working": working}


def estimate(shape: ModelShape, setup: TrainSetup) -> Estimate:
    """The peak memory of a training step, by part (bytes)."""
    counts = parameter_counts(shape, setup)
    trainable = counts["trainable"] * 16
    if setup.device == "cuda":
        trainable += counts["lora"] * 2  # autocast's bf16 copies, kept for the backward
    acts = activation_bytes(shape, setup)
    weights = _weight_bytes(shape, setup, counts)
    parts = dict(weights=weights, trainable=trainable, activations=acts["saved"])
    return Estimate({**parts, "working": acts["working"]})


def usable_memory(card: int, headroom: float = HEADROOM) -> int:
    """What an estimate may reach on ``card`` bytes: less the CUDA reserve, / (1 + headroom).

    Example:
        >>> round(usable_memory(24 * GIB) / GIB, 2)
        20.91
    """
    return int((card - CUDA_RESERVE) / (1 + headroom))


def fits(shape: ModelShape, setup: TrainSetup, card: int, headroom: float = HEADROOM) -> bool:
    return estimate(shape, setup).total <= usable_memory(card, headroom)


def largest_batch(
    shape: ModelShape, setup: TrainSetup, card: int, headroom: float = HEADROOM, limit: int = 4096
) -> int:
    """The largest per-device batch whose estimate fits ``card`` bytes (0: not even one).

    Example:
        >>> s = ModelShape(64, 176, 2, 4, 2, 16, 512)
        >>> largest_batch(s, TrainSetup(seq_len=64), 2 * GIB, limit=64)
        64
    """
    low, high = 0, limit
    while low < high:  # the estimate grows with the batch
        mid = (low + high + 1) // 2
        if fits(shape, dataclasses.replace(setup, batch=mid), card, headroom):
            low = mid
        else:
            high = mid - 1
    return low


def parse_memory(text: str) -> int:
    """Bytes of ``24GB``, ``24GiB``, ``24G`` or ``80000MB``: GPU memory is sold in binary
    units, so GB is taken as GiB.

    Example:
        >>> parse_memory("24GB") == 24 * GIB, parse_memory("512MiB") == 2**29
        (True, True)
    """
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([GM])(i?B)?\s*", str(text), re.IGNORECASE)
    if not match:
        raise ValueError(f"{text!r} is not a memory size; expected e.g. 24GB or 80000MB")
    scale = GIB if match.group(2).upper() == "G" else 2**20
    return int(float(match.group(1)) * scale)
