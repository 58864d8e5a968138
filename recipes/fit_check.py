"""Will it fit, measured: each config's largest per-device batch on GPUs of 24, 48 and 80 GB
against ``llmner plan``'s answer, as one JSON record.

    python recipes/fit_check.py --out fit-check.json \\
        --config recipes/configs/llama-3.1-8b/tagging_repeat4_qlora.yaml \\
                 recipes/configs/llama-3.2-1b/generative_qlora.yaml     # on a GPU

For each config, biggest model first (configs of one shape share one checkpoint): random
weights of the model's real shape (``journey.build_model``: drawn on the GPU, saved, then
loaded as training loads them, 4-bit and LoRA by the config). Each card is emulated by
capping this process's allocator with ``torch.cuda.set_per_process_memory_fraction`` at the
card's bytes less what CUDA holds outside the allocator now (a card above this GPU's memory
is skipped, unless within 1 GiB of it: then the whole GPU stands for it). A trial at batch B
is two optimizer steps of ``NERTrainer`` with the config's ``TrainingArguments`` (one
sentence, then B sentences, so the second step runs with AdamW's state already allocated, as
every step of a run after the first does) on random token ids of exactly the config's
``max_seq_length`` (every second example one token shorter, so each batch carries a padding
mask as real batches do; tagging labels only on the tagged copy), gradient accumulation 1.
A trial either runs or runs out of memory (caught; the memory is freed and the search goes
on). The search per card: batch 1, plan's answer, then from the batch that the measured
peaks predict (a line through them), steps up or down of 1, 2, 4, ... then bisection
(:func:`largest_fitting`). Each trial records its peak (``torch.cuda.max_memory_allocated``),
plan's estimate for the same batch and their ratio. ``--max_seconds`` bounds each config
(build included) and ``--budget_seconds`` the whole run: a trial predicted to overrun is not
started, and what was left is recorded as such. The record is rewritten after each config.
Without CUDA: exit status 2.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import sys
import time
from pathlib import Path

from lab.fit import card_caps, fit_table, search_cards

REPO = Path(__file__).resolve().parents[1]
CARDS = ("24GB", "48GB", "80GB")


def make_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", nargs="+", required=True, help="run configs (YAML)")
    p.add_argument("--cards", default=",".join(CARDS), help="card sizes, e.g. 24GB,48GB,80GB")
    p.add_argument("--max_seconds", type=float, default=150.0, help="per config, build included")
    p.add_argument("--budget_seconds", type=float, default=600.0, help="the whole run")
    p.add_argument("--workdir", help="where random checkpoints go (default /dev/shm if room)")
    p.add_argument("--out", default="fit-check.json")
    return p


def step_features(
    task: str, n: int, seq_len: int, vocab: int, copies: int = 1, end_id: int = 2,
    num_labels: int = 9, seed: int = 0,
) -> list[dict]:  # fmt: skip
    """``n`` training features of ``seq_len`` tokens, every second one a token shorter (so
    a batch is padded). ``tagging``: labels on the last ``1/copies`` of the tokens (the
    tagged copy); ``generative``: the generative format's ``encode_example`` with the second
    half of the tokens as the answer.

    Example:
        >>> f = step_features("tagging", 2, 10, 100, copies=5)
        >>> [x["length"] for x in f], sum(lab != -100 for lab in f[0]["labels"])
        ([10, 9], 2)
    """
    import torch

    from llmner.formats.generative.encode import encode_example

    g = torch.Generator().manual_seed(seed)
    out = []
    for i in range(n):
        length = seq_len - i % 2
        ids = torch.randint(3, vocab, (length,), generator=g).tolist()
        if task == "generative":
            cut = length - max(1, length // 2)
            out.append(encode_example(ids[:cut], ids[cut:-1] + [end_id]))
            continue
        tagged = max(1, length // copies)
        labels = torch.randint(0, num_labels, (tagged,), generator=g).tolist()
        out.append({"input_ids": ids, "attention_mask": [1] * length,
                    "labels": [-100] * (length - tagged) + labels, "length": length})  # fmt: skip
    return out


class FirstStepOfOne:
    """A collator whose first batch keeps one example: the first optimizer step allocates
    AdamW's state at little cost, the second runs the whole batch with it in place."""

    def __init__(self, collate) -> None:
        self.collate, self.calls = collate, 0

    def __call__(self, features: list[dict]) -> dict:
        self.calls += 1
        return self.collate(features[:1] if self.calls == 1 else features)


def run_trial(model, fmt, tokenizer, argv: list[str], batch: int, features: list[dict]) -> dict:
    """Two optimizer steps of ``NERTrainer`` with the run's ``TrainingArguments`` (``argv``
    plus the batch): ``status`` (``ok``, ``oom``, ``error``), seconds, peak GPU memory.
    Memory is freed afterwards, whatever happened."""
    import torch

    from llmner.config import parse_args, resolve_defaults
    from llmner.train.run import TOKEN_CLS, training_arguments
    from llmner.train.trainer import NERTrainer, token_classification_loss

    cfg = resolve_defaults(parse_args([*argv, "--per_device_train_batch_size", str(batch)]))
    cuda = torch.cuda.is_available()
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    trainer, error, start = None, None, time.perf_counter()
    try:
        trainer = NERTrainer(
            model=model, args=training_arguments(cfg, Path(cfg.output_dir), has_eval=False),
            train_dataset=features, data_collator=FirstStepOfOne(fmt.collator()),
            processing_class=tokenizer, ner_format=fmt, eval_sentences=[],
            head_learning_rate=cfg.training.head_learning_rate,
            compute_loss_func=token_classification_loss if fmt.task == TOKEN_CLS else None,
        )  # fmt: skip
        trainer.train()
        status = "ok" if trainer.state.global_step == 2 else "error"
        error = None if status == "ok" else f"{trainer.state.global_step} steps, expected 2"
        if cuda:
            torch.cuda.synchronize()
    except Exception as e:  # noqa: BLE001  (out of memory is an answer; anything else is kept)
        text = str(e).splitlines()[0][:300] if str(e) else type(e).__name__
        oom = isinstance(e, torch.cuda.OutOfMemoryError) or "out of memory" in text
        status, error = ("oom" if oom else "error"), f"{type(e).__name__}: {text}"
    facts = {"status": status, "seconds": round(time.perf_counter() - start, 3)}
    if cuda:
        facts["peak_allocated_bytes"] = torch.cuda.max_memory_allocated()
        facts["peak_reserved_bytes"] = torch.cuda.max_memory_reserved()
    if error:
        facts["error"] = error
    _free(model, trainer)
    return facts


def _free(model, trainer=None) -> None:
    """Drop the trainer, its optimizer state and the gradients; undo Accelerate's autocast
    wrapper of ``model.forward`` (each trial's trainer would wrap it again)."""
    import gc

    import torch
    from accelerate.utils import extract_model_from_parallel

    if trainer is not None:
        trainer.accelerator.free_memory()
        trainer.optimizer = trainer.lr_scheduler = None
    extract_model_from_parallel(model, keep_fp32_wrapper=False)
    for p in model.parameters():
        p.grad = None
    del trainer
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


WORDS = ["the", "patient", "was", "given", "aspirin", "and", "developed", "renal", "failure"]


class Checkpoints:
    """Random weights of a model's shape, built once for the configs that share it (the
    previous shape's folder is removed when another is built)."""

    def __init__(self, work: Path) -> None:
        self.work, self.key, self.folder = work, None, None

    def get(self, name: str) -> tuple[Path, dict | None]:
        """The folder for ``name``'s shape, and the build's facts (``None`` if reused)."""
        import torch
        from journey import build_model

        from llmner.models.registry import shape_config

        key = shape_config(name)[1]
        if key == self.key:
            return self.folder, None
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
        self.key, self.folder = key, self.work / f"model-{len(list(self.work.iterdir()))}"
        start = time.perf_counter()
        facts = build_model(name, self.folder, WORDS)
        torch.cuda.empty_cache()
        return self.folder, {**facts, "seconds": round(time.perf_counter() - start, 1)}


def measure_config(path: str, cards: list[str], checkpoints: Checkpoints, deadline: float) -> dict:
    """One config's record: plan's estimate and answers, the build, each card's search."""
    import torch

    from llmner.cli.plan import setup_for
    from llmner.config import parse_args, resolve_defaults
    from llmner.data.types import LabelSet
    from llmner.models.loading import load_tokenizer
    from llmner.models.memory import estimate, largest_batch, parameter_counts
    from llmner.train.run import build_model, format_for

    cfg = parse_args(["--config", path])
    shape, source, setup = setup_for(cfg)
    entry = {"config": _rel(path), "model": cfg.model.model_name_or_path, "shape_source": source,
             "shape": dataclasses.asdict(shape), "setup": dataclasses.asdict(setup),
             "parameters": parameter_counts(shape, setup)}  # fmt: skip
    folder, entry["build"] = checkpoints.get(cfg.model.model_name_or_path)
    argv = ["--config", path, "--model_name_or_path", str(folder), "--output_dir",
            str(checkpoints.work / "trial"), "--eval_strategy", "no", "--save_strategy", "no",
            "--report_to", "none", "--max_steps", "2", "--gradient_accumulation_steps", "1",
            "--logging_steps", "1000", "--disable_tqdm", "true",
            "--max_tokens_per_batch", "0"]  # fmt: skip
    cfg = resolve_defaults(parse_args(argv))
    tokenizer, labels = load_tokenizer(str(folder)), LabelSet(["PER", "LOC", "ORG", "MISC"])
    fmt = format_for(cfg, labels, tokenizer)
    start = time.perf_counter()
    model, _ = build_model(cfg, fmt.task, labels, fmt)
    entry["load"] = {"seconds": round(time.perf_counter() - start, 1),
                     "weights_bytes": torch.cuda.memory_allocated()}  # fmt: skip
    free, total = torch.cuda.mem_get_info()
    outside = total - free - torch.cuda.memory_reserved()
    entry["outside_allocator_bytes"] = outside
    caps = card_caps(cards, total, outside)
    for card in caps:
        card["plan_batch"] = largest_batch(shape, setup, card["card_bytes"])
    copies, vocab = cfg.options.copies if fmt.task != "causal-lm" else 1, shape.vocab
    current = {}

    def trial(card: dict, batch: int) -> dict:
        if current.get("card") != card["card"]:
            torch.cuda.empty_cache()
            torch.cuda.set_per_process_memory_fraction(card["fraction"])
            current["card"] = card["card"]
        task = "generative" if fmt.task == "causal-lm" else "tagging"
        feats = step_features(task, 2 * batch, setup.seq_len, vocab, copies,
                              tokenizer.eos_token_id, len(labels.bio_labels))  # fmt: skip
        facts = run_trial(model, fmt, tokenizer, argv, batch, feats)
        plan = estimate(shape, dataclasses.replace(setup, batch=batch)).total
        facts["plan_estimate_bytes"] = plan
        if facts["status"] == "ok":
            facts["plan_over_measured"] = round(plan / facts["peak_allocated_bytes"], 4)
        print(f"  {card['card']} batch {batch}: {facts['status']} in {facts['seconds']:.1f} s, "
              f"peak {facts.get('peak_allocated_bytes', 0) / 2**30:.2f} GiB, plan "
              f"{plan / 2**30:.2f} GiB", flush=True)  # fmt: skip
        return facts

    try:
        entry["cards"] = search_cards(caps, trial, lambda: deadline - time.perf_counter())
    finally:
        torch.cuda.set_per_process_memory_fraction(1.0)
        _free(model)
    return entry


def _free_all() -> None:
    import gc

    import torch

    gc.collect()
    torch.cuda.empty_cache()


def _rel(path: str) -> str:
    p = Path(path).resolve()
    return str(p.relative_to(REPO)) if p.is_relative_to(REPO) else str(path)


def _workdir(given: str | None) -> Path:
    import tempfile

    if given:
        Path(given).mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix="fit-check-", dir=given))
    shm = Path("/dev/shm")
    room = shm.is_dir() and shutil.disk_usage(shm).free > 24 * 2**30  # an 8B bf16 checkpoint
    return Path(tempfile.mkdtemp(prefix="fit-check-", dir=shm if room else None))


def _order(paths: list[str]) -> list[str]:
    """Biggest model first; configs of one shape together, in the order given."""
    from llmner.cli.plan import setup_for
    from llmner.config import parse_args
    from llmner.models.memory import parameter_counts

    size = {}
    for path in paths:
        shape, source, setup = setup_for(parse_args(["--config", path]))
        size[path] = (parameter_counts(shape, dataclasses.replace(setup, task="generative"))[
            "total"], source)  # fmt: skip
    return sorted(paths, key=lambda p: size[p], reverse=True)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = make_parser().parse_args(argv)
    missing = [c for c in args.config if not Path(c).is_file()]
    if missing:
        print(f"fit_check: error: no such config: {', '.join(missing)}", file=sys.stderr)
        return 2
    import torch

    if not torch.cuda.is_available():
        print("fit_check: a GPU is needed (CUDA): it caps GPU memory and trains there; "
              "none is visible", file=sys.stderr)  # fmt: skip
        return 2
    from llmner.io import write_json_atomic
    from llmner.provenance import provenance

    start = time.perf_counter()
    cards = [c.strip() for c in args.cards.split(",") if c.strip()]
    prov = provenance()
    props = torch.cuda.get_device_properties(0)
    record = {"command": " ".join(["python", "recipes/fit_check.py", *argv]),
              "device": prov["device"], "versions": prov["versions"], "commit": prov["commit"],
              "dirty": prov["dirty"], "date": prov["date"], "cards": cards,
              "gpu_total_bytes": props.total_memory, "max_seconds": args.max_seconds,
              "budget_seconds": args.budget_seconds, "configs": []}  # fmt: skip
    record["pytorch_cuda_alloc_conf"] = os.environ.get("PYTORCH_CUDA_ALLOC_CONF")
    work = _workdir(args.workdir)
    checkpoints = Checkpoints(work)
    try:
        for path in _order(args.config):
            now = time.perf_counter()
            left = args.budget_seconds - (now - start)
            if left <= 0:
                record["configs"].append({"config": _rel(path), "skipped": "time budget"})
                continue
            print(f"{_rel(path)}:", flush=True)
            deadline = now + min(args.max_seconds, left)
            try:
                entry = measure_config(path, cards, checkpoints, deadline)
            except Exception as e:  # noqa: BLE001  (one config's failure is recorded)
                entry = {"config": _rel(path), "error": f"{type(e).__name__}: {str(e)[:300]}"}
            _free_all()
            entry["seconds"] = round(time.perf_counter() - now, 1)
            record["configs"].append(entry)
            record["seconds"] = round(time.perf_counter() - start, 1)
            write_json_atomic(args.out, record)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    write_json_atomic(args.out, record)
    print(fit_table([record]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
