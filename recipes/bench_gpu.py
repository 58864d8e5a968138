"""QLoRA training throughput, peak GPU memory and generation speed at realistic sizes.

    python recipes/bench_gpu.py --out bench.json            # 1B and 8B Llama shapes
    python recipes/bench_gpu.py --tiny --out tiny.json      # CPU smoke test (seconds)

Random-initialised Llama-3.2-1B / Llama-3.1-8B shapes are saved as bf16 safetensors and
loaded through ``load_base_model``; each (size, quantization, formulation) trains LoRA
adapters with ``NERTrainer`` on synthetic batches of exactly ``--seq-lens`` tokens, and the
generative formulation also times batched greedy generation. Prints Markdown tables and
writes every figure to ``--out`` (rewritten after each case); ``recipes/results_tables.py``
builds a results page's tables from that file.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from lab.bench import BenchPlan, format_tables, run_bench


def make_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=Path("gpu_bench.json"))
    p.add_argument(
        "--tiny",
        action="store_true",
        help="hidden 64, 2 layers, seq 32, 2 timed steps, fp32 (CPU test)",
    )
    p.add_argument("--sizes", default="1b,8b")
    p.add_argument(
        "--quantizations",
        default="4bit,none",
        help="4bit, 8bit, none, 4bit-bf16 (unquantized parts in bf16), 4bit-gc "
        "(gradient checkpointing)",
    )
    p.add_argument("--formulations", default="tagging,generative")
    p.add_argument("--seq-lens", default="128,512")
    p.add_argument("--tokens-per-step", type=int, default=4096)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--gen-prompts", type=int, default=64)
    p.add_argument("--gen-prompt-len", type=int, default=128)
    p.add_argument("--gen-new-tokens", type=int, default=32)
    p.add_argument(
        "--budget-s", type=float, default=360.0, help="start no new case after this many seconds"
    )
    p.add_argument("--workdir", default="", help="where checkpoints go (default: /dev/shm)")
    p.add_argument(
        "--peak-tflops",
        type=float,
        default=None,
        help="dense bf16 peak for MFU (default: from the GPU's name)",
    )
    return p


def plan_from_args(args: argparse.Namespace) -> BenchPlan:
    def ints(s: str) -> list[int]:
        return [int(x) for x in s.split(",") if x]

    if args.tiny:
        return BenchPlan(
            sizes=["tiny"],
            quantizations=args.quantizations.split(","),
            formulations=args.formulations.split(","),
            seq_lens=[32],
            tokens_per_step=64,
            warmup=1,
            steps=2,
            gen_prompts=4,
            gen_prompt_len=16,
            gen_new_tokens=4,
            budget_s=args.budget_s,
            workdir=args.workdir,
            checkpoint_dtype="float32",
        )
    return BenchPlan(
        sizes=args.sizes.split(","),
        quantizations=args.quantizations.split(","),
        formulations=args.formulations.split(","),
        seq_lens=ints(args.seq_lens),
        tokens_per_step=args.tokens_per_step,
        warmup=args.warmup,
        steps=args.steps,
        gen_prompts=args.gen_prompts,
        gen_prompt_len=args.gen_prompt_len,
        gen_new_tokens=args.gen_new_tokens,
        budget_s=args.budget_s,
        workdir=args.workdir,
        peak_tflops=args.peak_tflops,
    )


def main(args: argparse.Namespace) -> dict:
    start = time.perf_counter()
    plan = plan_from_args(args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    results = run_bench(
        plan,
        args.out,
        log=lambda s: print(f"[{time.perf_counter() - start:6.1f}s] {s}", flush=True),
    )
    env = results["environment"]
    print(
        f"\nGPU: {env['gpu']} | torch {env['torch']} | transformers {env['transformers']} "
        f"| peft {env['peft']} | bitsandbytes {env['bitsandbytes']} | peak "
        f"{env['peak_bf16_tflops']} TFLOP/s bf16 | {env['date']}"
    )
    print(f"generative path: {env['generative_source']}")
    print(f"command: {' '.join(sys.argv)}\n")
    print(format_tables(results))
    return results


if __name__ == "__main__":
    main(make_parser().parse_args())
