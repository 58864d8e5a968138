"""The GPU benchmark's case loop: model sizes x quantization x formulation x length.

Each (size, quantization, formulation) loads its model once through llmner's real
loading path, then trains at each sequence length and, for the generative formulation,
times batched generation with the trained adapter. Cases run in a fixed order; once the
time budget is spent the remaining ones are recorded as skipped. An out-of-memory error
ends only its own case. The JSON result is rewritten after every case, so a run cut
short still leaves its figures.
"""

from __future__ import annotations

import datetime as dt
import gc
import shutil
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from lab.bench.measure import flops_per_token, generation_throughput, train_throughput
from lab.bench.random_init import llama_config, parameter_counts, save_random_model
from lab.bench.synthetic import generative_features, tagging_features
from llmner.config import RunConfig, resolve_defaults
from llmner.data.types import LabelSet
from llmner.formats import FORMATS

__all__ = ["BenchPlan", "peak_bf16_tflops", "run_bench"]

LABELS = LabelSet(["PER", "LOC", "ORG", "MISC"])
# Quantization variants: llmner's ``quantization`` values, plus two 4-bit set-ups:
# ``4bit-bf16`` loads the parts left unquantized (embeddings, norms, heads) in bf16 instead
# of load_base_model's float32 default; ``4bit-gc`` is the config's
# ``gradient_checkpointing: true`` (peft's prepare_model_for_kbit_training + checkpointing).
VARIANTS = ("4bit", "8bit", "none", "4bit-bf16", "4bit-gc")
# Dense bf16 peak by the vendor's datasheets (SXM parts; the PCIe H100 is lower).
_PEAKS = (("H100 PCIe", 756.0), ("H100", 989.0), ("H200", 989.0), ("A100", 312.0))


@dataclass
class BenchPlan:
    """What to measure. ``tokens_per_step`` fixes the batch: ``tokens_per_step // seq``."""

    sizes: list[str] = field(default_factory=lambda: ["1b", "8b"])
    quantizations: list[str] = field(default_factory=lambda: ["4bit", "none"])
    formulations: list[str] = field(default_factory=lambda: ["tagging", "generative"])
    seq_lens: list[int] = field(default_factory=lambda: [128, 512])
    tokens_per_step: int = 4096
    warmup: int = 2
    steps: int = 5
    gen_prompts: int = 64
    gen_prompt_len: int = 128
    gen_new_tokens: int = 32
    lora_r: int = 16
    budget_s: float = 360.0
    workdir: str = ""
    checkpoint_dtype: str = "bfloat16"
    peak_tflops: float | None = None

    def __post_init__(self) -> None:
        for q in self.quantizations:
            if q not in VARIANTS:
                raise ValueError(f"unknown quantization {q!r}")
        for f in self.formulations:
            if f not in ("tagging", "generative"):
                raise ValueError(f"unknown formulation {f!r}")
        if self.steps < 1 or self.warmup < 0:
            raise ValueError(f"steps must be >= 1 and warmup >= 0, got {self.steps}, {self.warmup}")


def peak_bf16_tflops(name: str) -> float | None:
    """The dense bf16 peak of a GPU from its name, or ``None`` when unknown.

    Example:
        >>> peak_bf16_tflops("NVIDIA H200"), peak_bf16_tflops("NVIDIA H100 PCIe")
        (989.0, 756.0)
    """
    return next((peak for key, peak in _PEAKS if key in name), None)


def _environment(plan: BenchPlan) -> dict:
    import peft
    import transformers

    try:
        import bitsandbytes

        bnb = bitsandbytes.__version__
    except ImportError:
        bnb = None
    cuda = torch.cuda.is_available()
    gpu = torch.cuda.get_device_name(0) if cuda else "cpu"
    peak = plan.peak_tflops or (peak_bf16_tflops(gpu) if cuda else None)
    return {
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "gpu": gpu,
        "gpu_memory_gib": (
            torch.cuda.get_device_properties(0).total_memory / 2**30 if cuda else None
        ),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "transformers": transformers.__version__,
        "peft": peft.__version__,
        "bitsandbytes": bnb,
        "peak_bf16_tflops": peak,
        "flops_per_token": "4 x matmul parameters (frozen base: forward + backward through "
        "activations, no weight gradients; LoRA products left out) + "
        "12 x layers x hidden x seq (attention, no causal halving)",
        "generative_source": "llmner.formats.generative.encode (encode_example, "
        "CompletionCollator)",
        "plan": asdict(plan),
    }


def _workdir(plan: BenchPlan) -> Path:
    if plan.workdir:
        return Path(plan.workdir)
    shm = Path("/dev/shm")
    need = 20 * 2**30  # the 8B checkpoint in bf16 and some room
    if shm.is_dir() and shutil.disk_usage(shm).free > need:
        return Path(tempfile.mkdtemp(prefix="llmner_bench_", dir=shm))
    return Path(tempfile.mkdtemp(prefix="llmner_bench_"))


def _free(*objs) -> None:
    for o in objs:
        acc = getattr(o, "accelerator", None)
        if acc is not None:
            acc.free_memory()
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def _format(formulation: str, tokenizer, seq_len: int):
    from llmner.formats import build_format

    options = FORMATS[formulation].options(max_length=seq_len)
    return build_format(formulation, options, LABELS, tokenizer)


def _case_cfg(plan: BenchPlan, path: Path, quant: str, form: str, batch: int, out: Path):
    return resolve_defaults(
        RunConfig.of(
            model_name_or_path=str(path),
            format=form,
            quantization=quant.split("-")[0],
            activation_checkpointing=quant == "4bit-gc",
            lora_r=plan.lora_r,
            lora_alpha=2 * plan.lora_r,
            max_steps=plan.warmup + plan.steps,
            per_device_train_batch_size=batch,
            eval_strategy="no",
            logging_steps=10**6,
            output_dir=str(out),
            warmup_steps=0.0,
            **({"repeat": 0} if form == "tagging" else {}),  # the causal step, as measured
        )
    )


def _features(form: str, n: int, seq: int, config) -> list[dict]:
    if form == "tagging":
        return tagging_features(n, seq, config.vocab_size, len(LABELS.bio_labels))
    return generative_features(n, seq, config.vocab_size, end_id=config.eos_token_id)


def _mfu(case: dict, flops: dict, peak: float | None) -> None:
    tps = case.get("tokens_per_s")
    case["flops_per_token"] = flops
    case["model_tflops"] = tps * flops["model"] / 1e12 if tps else None
    if peak and tps:
        case["mfu_model"] = tps * flops["model"] / (peak * 1e12)
        case["mfu_with_attention"] = tps * flops["total"] / (peak * 1e12)


def _run_group(plan, env, path, size, quant, form, save, log) -> None:
    """Load one model, train it at each length, generate (generative only)."""
    from llmner.models.loading import load_tokenizer
    from llmner.train.run import build_model

    config = llama_config(size)
    task = FORMATS[form].task
    counts = parameter_counts(config, task, len(LABELS.bio_labels))
    base = {"size": size, "parameters": counts["total"], "quantization": quant, "formulation": form}
    start = time.perf_counter()
    tokenizer = load_tokenizer(str(path))
    cfg = _case_cfg(plan, path, quant, form, 1, path.parent / "runs")
    if quant == "4bit-bf16":
        model = _build_bf16_rest(cfg, task)
    else:
        model, _ = build_model(cfg, task, LABELS)
    load_s = time.perf_counter() - start
    log(f"loaded {size} {quant} {form} in {load_s:.1f}s")
    trainer = None
    for seq in plan.seq_lens:
        case = {
            **base,
            "seq_len": seq,
            "batch": max(1, plan.tokens_per_step // seq),
            "load_seconds": load_s,
        }
        if time.perf_counter() - env["_start"] > plan.budget_s:
            save(case, status="skipped", reason="time budget")
            continue
        try:
            fmt = _format(form, tokenizer, seq)
            cfg = _case_cfg(plan, path, quant, form, case["batch"], path.parent / "runs")
            feats = _features(form, case["batch"] * cfg.training.max_steps, seq, config)
            result, trainer = train_throughput(
                model, fmt, feats, cfg, plan.warmup, path.parent / "runs"
            )
            case.update(result)
            _mfu(
                case,
                flops_per_token(
                    counts["matmul"], config.num_hidden_layers, config.hidden_size, seq
                ),
                env["peak_bf16_tflops"],
            )
            save(case, status="ok")
        except torch.cuda.OutOfMemoryError as e:
            save(case, status="oom", reason=str(e).splitlines()[0][:200])
        except Exception as e:  # one broken case must not end the benchmark
            save(case, status="error", reason=_short(e))
        if form == "generative" and seq == plan.seq_lens[-1]:
            _generate_case(plan, env, model, config, base, save)
        _free(trainer)
        trainer = None
    _free(model)


def _build_bf16_rest(cfg: RunConfig, task: str):
    """``build_model`` with the unquantized parts loaded in bf16 (``dtype`` argument)."""
    from peft import get_peft_model

    from llmner.models.loading import LoraOptions, get_peft_config, load_base_model

    model = load_base_model(
        cfg.model.model_name_or_path, task, LABELS, "4bit", dtype=torch.bfloat16
    )
    lora = LoraOptions(cfg.model.lora_r, cfg.model.lora_alpha, cfg.model.lora_dropout)
    return get_peft_model(model, get_peft_config(model, task, lora))


def _generate_case(plan, env, model, config, base, save) -> None:
    case = {**base, "kind": "generation"}
    if time.perf_counter() - env["_start"] > plan.budget_s:
        save(case, status="skipped", reason="time budget")
        return
    try:
        case.update(
            generation_throughput(
                model,
                plan.gen_prompts,
                plan.gen_prompt_len,
                plan.gen_new_tokens,
                config.vocab_size,
                config.pad_token_id,
                config.eos_token_id,
            )
        )
        save(case, status="ok")
    except torch.cuda.OutOfMemoryError as e:
        save(case, status="oom", reason=str(e).splitlines()[0][:200])
    except Exception as e:
        save(case, status="error", reason=_short(e))


def _short(e: BaseException) -> str:
    tb = traceback.extract_tb(e.__traceback__)
    where = f" at {tb[-1].filename.rsplit('/', 1)[-1]}:{tb[-1].lineno}" if tb else ""
    return f"{type(e).__name__}: {str(e)[:300]}{where}"


def run_bench(
    plan: BenchPlan, json_path: Path | None = None, log: Callable[[str], None] = lambda s: None
) -> dict:
    """Run every case of ``plan``; returns (and writes to ``json_path``) the results."""
    from llmner.io import write_json_atomic

    env = _environment(plan)
    env["_start"] = time.perf_counter()
    results = {"environment": {k: v for k, v in env.items() if k != "_start"}, "cases": []}
    work = _workdir(plan)
    # a temporary folder's name says nothing about the run, only about the machine
    results["environment"]["workdir"] = plan.workdir or "(a temporary folder)"
    dtype = getattr(torch, plan.checkpoint_dtype)

    def save(case: dict, status: str, reason: str | None = None) -> None:
        case.update(status=status, **({"reason": reason} if reason else {}))
        case["elapsed_s"] = time.perf_counter() - env["_start"]
        results["cases"].append(case)
        log(
            f"{status:7s} {case['size']} {case['quantization']} {case['formulation']} "
            f"{case.get('kind', 'train')} seq={case.get('seq_len', '-')} "
            f"tok/s={case.get('tokens_per_s') or case.get('sentences_per_s')} "
            f"peak={case.get('peak_allocated_gib')} {reason or ''}"
        )
        if json_path is not None:
            write_json_atomic(json_path, results)

    for size in plan.sizes:
        start = time.perf_counter()
        path = save_random_model(size, work / size, dtype=dtype)
        results["environment"][f"save_seconds_{size}"] = time.perf_counter() - start
        log(f"saved random {size} to {path} in {time.perf_counter() - start:.1f}s")
        for quant in plan.quantizations:
            for form in plan.formulations:
                base = {"size": size, "quantization": quant, "formulation": form}
                if time.perf_counter() - env["_start"] > plan.budget_s:
                    for seq in plan.seq_lens:
                        save({**base, "seq_len": seq}, status="skipped", reason="time budget")
                    continue
                try:
                    _run_group(plan, env, path, size, quant, form, save, log)
                except torch.cuda.OutOfMemoryError as e:
                    save({**base, "kind": "load"}, "oom", str(e).splitlines()[0][:200])
                except Exception as e:
                    save({**base, "kind": "load"}, "error", _short(e))
                _free()
        if not plan.workdir:
            shutil.rmtree(path, ignore_errors=True)
    results["environment"]["total_seconds"] = time.perf_counter() - env["_start"]
    if json_path is not None:
        write_json_atomic(json_path, results)
    return results
