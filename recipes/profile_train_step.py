"""Where a training step's time and memory go, for a finetune config, on this machine.

    python recipes/profile_train_step.py --config recipes/configs/quickstart/decoder.yaml \\
        --out runs/profile.json [--steps 4] [--flag value ...]
    python recipes/profile_train_step.py --table NAME=runs/profile.json ...

Builds the config's model, format and batches as ``recipes/finetune.py`` does (token-
budget batches where the budget is on, else random batches of
``per_device_train_batch_size`` sentences), runs one warm-up step, then profiles
``--steps`` steps with ``torch.profiler``. Prints and writes: seconds per phase, operator
time by part (4-bit dequantization, attention, MLP and projection products, LoRA, head,
optimizer, conversions, overhead) and memory (weights, optimizer state, activations).
Further ``--flag value`` pairs override the config.
"""

import argparse
import json
import sys
from pathlib import Path

import torch
from lab.bench.profile import profile_steps, profile_table, rss_mb

from llmner.config import parse_args, resolve_defaults
from llmner.data.batching import TokenBudgetSampler
from llmner.errors import InputError
from llmner.models.loading import load_tokenizer
from llmner.models.numerics import resolve_bf16
from llmner.train.run import build_model, format_for, load_data, token_budget_sampler


def _batches(cfg, train_ds, sampler: TokenBudgetSampler | None, n: int) -> list[list[dict]]:
    """``n`` batches as training would draw them (cycled when there are fewer)."""
    if sampler is not None:
        index_batches = list(sampler)
    else:
        g = torch.Generator().manual_seed(cfg.training.seed)
        order = torch.randperm(len(train_ds), generator=g).tolist()
        size = cfg.training.per_device_train_batch_size
        index_batches = [order[i : i + size] for i in range(0, len(order), size)]
    picked = [index_batches[i % len(index_batches)] for i in range(n)]
    return [[train_ds[i] for i in batch] for batch in picked]


def _bytes_mb(tensors) -> float:
    return sum(t.numel() * t.element_size() for t in tensors) / 2**20


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="runs/profile.json")
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument(
        "--table", nargs="+", metavar="NAME=FILE", help="print profiles side by side, then stop"
    )
    args, overrides = parser.parse_known_args(argv)
    if args.table:
        named = dict(item.split("=", 1) for item in args.table)
        print(profile_table({k: json.loads(Path(v).read_text()) for k, v in named.items()}))
        return 0
    try:
        cfg = resolve_defaults(parse_args(overrides))
        bf16 = resolve_bf16(cfg.training.bf16)
        splits, labels = load_data(cfg)
        tokenizer = load_tokenizer(cfg.model.model_name_or_path)
        fmt = format_for(cfg, labels, tokenizer, splits["train"])
        encoded = fmt.encode(splits["train"])
        sampler = token_budget_sampler(cfg, encoded["length"])
        train_ds = encoded.remove_columns(["length"])
    except InputError as e:
        print(f"profile_train_step: error: {e}", file=sys.stderr)
        return 2
    rss_data = rss_mb()
    model, _ = build_model(cfg, fmt.task, labels, fmt)
    rss_model = rss_mb()
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=cfg.training.learning_rate)
    batches = _batches(cfg, train_ds, sampler, args.steps + 1)
    collate = fmt.collator()
    profile_steps(model, optimizer, batches[:1], collate, bf16)  # warm-up, optimizer state
    result = profile_steps(model, optimizer, batches[1:], collate, bf16)
    result.update(
        config={k: v for k, v in cfg.to_dict().items() if v not in (None, "")},
        bf16=bf16,
        max_tokens_per_batch=sampler.max_tokens if sampler else None,
        torch=torch.__version__,
        threads=torch.get_num_threads(),
        memory_mb={
            "process after data and tokenizer": rss_data,
            "model loaded (weights, quantized where asked)": rss_model - rss_data,
            "weights and buffers (tensor bytes)": _bytes_mb(
                [*model.parameters(), *model.buffers()]
            ),
            "trainable (LoRA, head)": _bytes_mb(trainable),
            "optimizer state": _bytes_mb(
                [t for s in optimizer.state.values() for t in s.values() if torch.is_tensor(t)]
            ),
            "activations and workspace (step peak minus resident before)": result[
                "peak_rss_steps_mb"
            ]
            - result["rss_before_steps_mb"],
        },
    )
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    wall = result["wall_seconds"]
    print(
        f"{result['steps']} steps, {result['tokens']} tokens ({result['padded_tokens']} padded)"
        f", {result['tokens'] / wall:.0f} tokens/s"
    )
    for part, s in result["parts_seconds"].items():
        print(f"  {part:55s} {s:7.2f} s  {100 * s / wall:5.1f}%")
    for what, mb in result["memory_mb"].items():
        print(f"  {what:60s} {mb:8.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
