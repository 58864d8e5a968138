"""A config's whole journey on a model shape with random weights, as one JSON record.

    python recipes/journey.py --out journey-tiny.json                    # tiny shape, any CPU
    python recipes/journey.py --shape llama-3.1-8b \\
        --config recipes/configs/llama-3.1-8b/tagging_repeat4_qlora.yaml \\
        --out journey-llama-3.1-8b-tagging.json                          # on a GPU

Steps, each timed with its peak memory (GPU: ``torch.cuda.max_memory_allocated``; every
process: peak resident memory): ``build`` (random weights of ``--shape``, a byte-level
tokenizer trained on the data's words), ``train`` (``--steps`` optimizer steps of the
config, the adapter saved with its head), ``evaluate`` (the test split), then in a fresh
process ``reload`` (``llmner.load``), ``merge`` (into the dequantized base) and
``merged_equals_adapter`` (the same tags on every check sentence; the largest logit
difference recorded), ``predict`` (``llmner predict``), and ``serve`` (``llmner serve`` on a
free port, one request). Flags it does not know go to the run's config, as in
``recipes/finetune.py`` (``--learning_rate 3e-2``, ``--train_file ...``). Random weights
make every score meaningless; what is checked is that each step runs and that the merged
model predicts what the adapter does. Exit status 0 when every check passed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TINY = dict(
    hidden_size=128, intermediate_size=352, num_hidden_layers=2, num_attention_heads=4,
    num_key_value_heads=2, model_type="llama", tie_word_embeddings=True,
)  # fmt: skip
STEPS = 30


def make_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--config", default=str(REPO / "recipes/configs/llama-3.2-1b/tagging_repeat4_qlora.yaml")
    )
    p.add_argument("--shape", default="tiny", help="tiny, or a registry shape (llama-3.1-8b, ...)")
    p.add_argument("--steps", type=int, default=STEPS)
    p.add_argument("--check_sentences", type=int, default=32)
    p.add_argument("--merge_dtype", default="float32", choices=["float32", "bfloat16"])
    p.add_argument("--workdir", help="where the weights and runs go (default: a temporary folder)")
    p.add_argument("--out", default="journey.json")
    p.add_argument("--stage", choices=["check"], help=argparse.SUPPRESS)  # the fresh process
    p.add_argument("--run", help=argparse.SUPPRESS)
    return p  # fmt: skip


@contextmanager
def measured(steps: dict, name: str):
    """Time the block and record its peak memory under ``steps[name]`` (facts the block
    adds to the yielded dict are kept)."""
    import torch

    from llmner.io import peak_rss_mb, reset_peak_rss

    if torch.cuda.is_available():
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    reset_peak_rss()
    facts: dict = {}
    start = time.perf_counter()
    yield facts
    if torch.cuda.is_available():
        torch.cuda.synchronize()
        facts["peak_gpu_mib"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
    facts.update(seconds=round(time.perf_counter() - start, 3), peak_rss_mb=round(peak_rss_mb()))
    steps[name] = facts


def bpe_tokenizer(words: list[str], vocab_size: int = 512):
    """A byte-level BPE tokenizer trained on ``words``: any text encodes, in few ids."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=["<|endoftext|>", "<|bos|>", "<|eos|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator([" ".join(words)] * 3, trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<|bos|>", eos_token="<|eos|>", pad_token="<|endoftext|>"
    )


def build_model(shape: str, folder: Path, words: list[str]) -> dict:
    """Random weights of ``shape`` (drawn on the GPU when there is one) and a tokenizer,
    saved as a checkpoint folder; returns the config's size fields."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    from llmner.models.registry import shape_config

    tokenizer = bpe_tokenizer(words)
    fields = dict(TINY, vocab_size=len(tokenizer)) if shape == "tiny" else shape_config(shape)[0]
    config = AutoConfig.for_model(
        fields.pop("model_type"), **fields, pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
    )  # fmt: skip
    device = "cuda" if torch.cuda.is_available() else "cpu"
    dtype = torch.float32 if shape == "tiny" else torch.bfloat16
    torch.manual_seed(0)
    with torch.device(device):
        model = AutoModelForCausalLM.from_config(config, dtype=dtype)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    facts = {"parameters": model.num_parameters(), "tokenizer_vocabulary": len(tokenizer)}
    del model
    return {**facts, **{k: v for k, v in config.to_dict().items() if k in fields}}


def train_and_score(cfg, steps: dict) -> tuple[dict, object]:
    from llmner.train.run import train_run
    from llmner.train.score import score_run

    with measured(steps, "train") as facts:
        run = train_run(cfg)
        facts.update(
            optimizer_steps=run.trainer.state.global_step,
            train_tokens_per_second=round(run.facts["train_tokens_per_second"], 1),
            save_and_other_seconds=round(run.facts["train_save_and_other_seconds"], 3),
        )
    with measured(steps, "evaluate") as facts:
        metrics = score_run(run)
        facts.update(f1=metrics["f1"], sentences=metrics["num_eval_sentences"])
    return metrics, run


def adapter_facts(adapter: Path, tagging: bool) -> dict:
    """What was saved: files, bytes, and for tagging the head's tensors (its full copy)."""
    from safetensors import safe_open

    with safe_open(str(adapter / "adapter_model.safetensors"), "pt") as f:
        keys = list(f.keys())
    head = [k for k in keys if ".score." in k or k.endswith("score.weight")]
    return {
        "files": sorted(p.name for p in adapter.iterdir()),
        "bytes": sum(p.stat().st_size for p in adapter.iterdir() if p.is_file()),
        "lora_tensors": sum("lora_" in k for k in keys),
        "head_tensors": head,
        "head_saved": bool(head) or not tagging,
    }


def _tags_and_logits(ner, sentences):
    """Tags of ``sentences`` and the first forward pass's logits (float32, on the CPU)."""
    seen = []

    def keep(_module, _inputs, output):
        if not seen:
            seen.append(output.logits.detach().float().cpu())

    handle = ner.model.register_forward_hook(keep)
    try:
        tags = ner.tag(sentences)
    finally:
        handle.remove()
    return tags, seen[0]


def check_stage(run: Path, work: Path, merge_dtype: str) -> dict:
    """The fresh process: reload the run, merge it, compare the two, ``llmner predict``."""
    from llmner import load
    from llmner.adapters.merge import merge_adapter
    from llmner.cli import main as llmner_main
    from llmner.data.conll import read_conll

    steps: dict = {}
    sentences = read_conll(work / "check.conll")
    with measured(steps, "reload") as facts:
        adapter = load(run)
        tags, logits = _tags_and_logits(adapter, sentences)
        facts["entities"] = sum(t.startswith("B-") for s in tags for t in s)
    del adapter
    _release()
    with measured(steps, "merge") as facts:
        merge_adapter(run, work / "merged", dtype=merge_dtype)
        facts["bytes"] = sum(p.stat().st_size for p in (work / "merged").iterdir())
    with measured(steps, "merged_equals_adapter") as facts:
        merged_tags, merged_logits = _tags_and_logits(load(work / "merged"), sentences)
        facts.update(
            sentences=len(sentences),
            identical_sentences=sum(a == b for a, b in zip(tags, merged_tags)),
            max_abs_logit_difference=float((logits - merged_logits).abs().max()),
            equal=tags == merged_tags,
        )
    _release()
    predictions = work / "predictions.jsonl"
    argv = ["predict", "--model", str(run), "--input", str(work / "check.txt")]
    with measured(steps, "predict") as facts:
        facts["status"] = llmner_main([*argv, "--output", str(predictions), "--quiet"])
        rows = [json.loads(line) for line in predictions.read_text().splitlines()]
        facts.update(texts=len(rows), entities=sum(len(r["entities"]) for r in rows))
    (work / "check.json").write_text(json.dumps(steps))
    return steps


def _release() -> None:
    import gc

    import torch

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def serve_one(run: Path, text: str, timeout: float = 600.0) -> dict:
    """``llmner serve`` on a free port, one request: how long until it answered health
    checks, how long the request took, the server's own memory."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [sys.executable, "-m", "llmner", "serve", "--model", str(run), "--port", str(port)]
    start = time.perf_counter()
    server = subprocess.Popen([*cmd, "--log_level", "warning", "--quiet"])
    url, facts = f"http://127.0.0.1:{port}", {}
    try:
        while time.perf_counter() - start < timeout and server.poll() is None:
            try:
                urllib.request.urlopen(f"{url}/health", timeout=5).read()
                break
            except OSError:
                time.sleep(0.25)
        facts["ready_seconds"] = round(time.perf_counter() - start, 3)
        sent = time.perf_counter()
        body = json.dumps({"texts": [text]}).encode()
        request = urllib.request.Request(
            f"{url}/predict", body, {"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            answer = json.loads(response.read())
        facts.update(
            request_seconds=round(time.perf_counter() - sent, 3),
            entities=len(answer["entities"][0]),
            answered=len(answer["entities"]) == 1,
        )
        facts.update(_process_memory(server.pid))
    finally:
        server.terminate()
        server.wait(timeout=60)
    facts["seconds"] = round(time.perf_counter() - start, 3)
    return facts


def _process_memory(pid: int) -> dict:
    """Another process's peak resident memory (Linux) and the GPU memory it holds now
    (``nvidia-smi``, where there is one); what is not known is left out."""
    facts = {}
    status = Path(f"/proc/{pid}/status")
    if status.exists():
        hwm = next(ln for ln in status.read_text().splitlines() if ln.startswith("VmHWM:"))
        facts["peak_rss_mb"] = round(int(hwm.split()[1]) / 1024)
    if shutil.which("nvidia-smi"):
        query = ["nvidia-smi", "--query-compute-apps=pid,used_memory", "--format=csv,noheader"]
        out = subprocess.run(query, capture_output=True, text=True, check=False).stdout
        for line in out.splitlines():
            fields = [f.strip() for f in line.split(",")]
            if fields[0] == str(pid):
                facts["gpu_mib_after_request"] = float(fields[1].split()[0])
    return facts


def _plan(cfg) -> dict:
    from llmner.cli.plan import setup_for
    from llmner.models.memory import estimate

    shape, _, setup = setup_for(cfg)
    return {
        "batch": setup.batch,
        "seq_len": setup.seq_len,
        "estimate_mib": round(estimate(shape, setup).total / 2**20, 1),
    }


def journey(args, rest: list[str], work: Path) -> dict:
    from llmner.config import parse_args
    from llmner.data.conll import write_conll
    from llmner.provenance import provenance

    steps: dict = {}
    words = _training_words(parse_args(["--config", args.config, *rest]))
    with measured(steps, "build") as facts:
        facts.update(build_model(args.shape, work / "model", words))
    run_dir = work / "run"
    cfg = parse_args([
        "--config", args.config, "--model_name_or_path", str(work / "model"),
        "--output_dir", str(run_dir), "--max_steps", str(args.steps), "--eval_strategy", "no",
        "--save_strategy", "no", "--logging_steps", "10", "--report_to", "none", *rest,
    ])  # fmt: skip
    _, run = train_and_score(cfg, steps)
    with measured(steps, "save") as facts:  # train saved it; this times a second save
        run.trainer.model.save_pretrained(work / "adapter-again")
        facts.update(adapter_facts(run_dir / "adapter", cfg.model.format == "tagging"))
    check = run.splits["test"][: args.check_sentences]
    del run
    _release()
    write_conll(work / "check.conll", [(s.tokens, s.tags) for s in check])
    (work / "check.txt").write_text("\n".join(" ".join(s.tokens) for s in check) + "\n")
    command = [sys.executable, __file__, "--stage", "check", "--run", str(run_dir)]
    command += ["--workdir", str(work), "--merge_dtype", args.merge_dtype]
    status = subprocess.run(command, check=False).returncode
    if status != 0:
        raise RuntimeError(f"the fresh process ({' '.join(command)}) exited with {status}")
    steps.update(json.loads((work / "check.json").read_text()))
    steps["serve"] = serve_one(run_dir, " ".join(check[0].tokens))
    checks = {
        "head_saved": steps["save"]["head_saved"],
        "merged_equals_adapter": steps["merged_equals_adapter"]["equal"],
        "predict": steps["predict"]["status"] == 0 and steps["predict"]["texts"] == len(check),
        "serve": steps["serve"].get("answered", False),
    }
    prov = provenance()
    return {
        "command": " ".join(["python", "recipes/journey.py", *(args.argv or [])]),
        "config": os.path.relpath(args.config, REPO), "shape": args.shape,
        "format": cfg.model.format, "device": prov["device"], "versions": prov["versions"],
        "commit": prov["commit"], "dirty": prov["dirty"], "date": prov["date"],
        "plan_for_full_batches": _plan(cfg), "steps": steps, "checks": checks,
        "ok": all(checks.values()),
    }  # fmt: skip


def _training_words(cfg) -> list[str]:
    from llmner.train.run import load_data

    splits, _ = load_data(cfg)
    return [w for split in splits.values() for s in split for w in s.tokens]


TABLE_STEPS = ("train", "evaluate", "reload", "merge", "predict", "serve")


def journey_table(records: list[dict]) -> str:
    """A markdown table of journey records: a row each, every step's seconds and peak
    memory (GPU where measured, else resident), and the checks.

    Example:
        >>> step = {"seconds": 2.0, "peak_rss_mb": 700}
        >>> print(journey_table([{"config": "c.yaml", "shape": "tiny", "device": {"gpu": None,
        ...     "cpu_count": 2, "cpu": "X"}, "steps": dict.fromkeys(TABLE_STEPS, step),
        ...     "checks": {"head_saved": True}}]).splitlines()[2])
        | c.yaml | tiny | 2-core X | 2.0 s, 700 MB | 2.0 s, 700 MB | 2.0 s, 700 MB | 2.0 s, 700 MB | 2.0 s, 700 MB | 2.0 s, 700 MB | all 1 passed |
    """  # noqa: E501
    head = ["config", "shape", "device", *TABLE_STEPS, "checks"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in records:
        dev = r["device"]
        device = dev["gpu"] or f"{dev['cpu_count']}-core {dev['cpu']}"
        cells = [r["config"], r["shape"], device]
        for name in TABLE_STEPS:
            step = r["steps"][name]
            memory = (
                f"{step['peak_gpu_mib'] / 1024:.1f} GiB GPU"
                if "peak_gpu_mib" in step
                else f"{step['peak_rss_mb']:,} MB"
            )
            cells.append(f"{step['seconds']:.1f} s, {memory}")
        failed = [k for k, ok in r["checks"].items() if not ok]
        cells.append(f"failed: {', '.join(failed)}" if failed else f"all {len(r['checks'])} passed")
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args, rest = make_parser().parse_known_args(argv)
    args.argv = argv
    if args.stage == "check":
        check_stage(Path(args.run), Path(args.workdir), args.merge_dtype)
        return 0
    work = Path(args.workdir or tempfile.mkdtemp(prefix="journey-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        record = journey(args, rest, work)
    finally:
        if not args.workdir:
            shutil.rmtree(work, ignore_errors=True)
    Path(args.out).write_text(json.dumps(record, indent=1) + "\n")
    verdict = "every check passed" if record["ok"] else "a check failed"
    print(f"{args.out}: {verdict}: {record['checks']}")
    return 0 if record["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
