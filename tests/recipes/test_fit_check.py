"""recipes/fit_check.py on the CPU: the search finds the largest batch with a made-up
``fits`` (and a made-up memory line per card), stops for time and for errors, the table
reads a hand-made record, a trial runs two optimizer steps (one sentence, then the whole
padded batch) on the tiny model, and without a GPU the script says so with status 2."""

from __future__ import annotations

import math
from pathlib import Path

import fit_check  # noqa: E402  (recipes/ is on the path: tests/conftest.py)
import pytest
from lab.fit import (
    card_caps,
    fit_table,
    largest_fitting,
    linear_fit,
    predict_largest,
    search_cards,
)

REPO = Path(__file__).resolve().parents[2]
G = 2**30


@pytest.mark.parametrize("answer", [0, 1, 2, 3, 7, 8, 9, 63, 64, 100, 4095, 4096])
@pytest.mark.parametrize("start", [1, 5, 64, 5000])
def test_the_search_finds_the_largest_batch_from_any_start(answer, start):
    calls = []

    def fits(b):
        calls.append(b)
        return b <= answer

    s = largest_fitting(fits, start=start)
    assert (s.largest, s.complete) == (answer, True)
    assert s.high == (answer + 1 if answer < 4096 else None)
    assert s.tried == calls and len(set(calls)) == len(calls), "no batch is tried twice"
    assert all(1 <= b <= 4096 for b in calls)
    assert len(calls) <= 2 * math.log2(4096) + 2


def test_from_batch_one_the_search_doubles_then_bisects():
    s = largest_fitting(lambda b: b <= 37)
    assert s.tried[:7] == [1, 2, 4, 8, 16, 32, 64]
    assert all(32 < b < 64 for b in s.tried[7:])


def test_known_bounds_are_not_tried_again():
    s = largest_fitting(lambda b: b <= 20, start=15, low=12, high=30)
    assert s.largest == 20 and all(12 < b < 30 for b in s.tried)
    assert largest_fitting(lambda b: pytest.fail("nothing to try"), low=5, high=6).largest == 5


def test_a_search_out_of_time_keeps_what_it_knows():
    answers = iter([True, True, None])
    s = largest_fitting(lambda b: next(answers), start=10)
    assert (s.largest, s.complete, s.tried) == (11, False, [10, 11, 13])


def test_the_predicted_batch_follows_the_measured_line():
    assert linear_fit([(4, 1.0)]) is None and linear_fit([(4, 1.0), (4, 2.0)]) is None
    a, b = linear_fit([(1, 5.0), (2, 7.0), (4, 11.0)])
    assert (round(a, 9), round(b, 9)) == (3.0, 2.0)
    assert predict_largest([(1, 5.0), (4, 11.0)], 21.0) == 9
    assert predict_largest([(1, 5.0), (4, 5.0)], 21.0) is None  # flat: no prediction


def test_cards_are_capped_below_the_gpu_and_skipped_above_it():
    caps = card_caps(["80GB", "24GB", "48GB", "141GB"], 79.6 * G, G // 2)
    by = {c["card"]: c for c in caps}
    assert by["24GB"]["cap_bytes"] == 24 * G - G // 2
    assert by["24GB"]["fraction"] * 79.6 * G == pytest.approx(by["24GB"]["cap_bytes"])
    assert by["80GB"]["whole_card"] and by["80GB"]["fraction"] == 1.0
    assert by["141GB"]["cap_bytes"] is None and "above" in by["141GB"]["skipped"]


def _memory_line(weights: float, per_example: float, seconds_per_example: float = 0.1):
    """A made-up GPU: a batch fits a card when weights + per_example x batch <= its cap."""

    def trial(card, batch):
        peak = weights + per_example * batch
        if peak > card["cap_bytes"]:
            return {"status": "oom", "seconds": 1 + seconds_per_example * batch}
        return {"status": "ok", "seconds": 1 + seconds_per_example * batch,
                "peak_allocated_bytes": int(peak)}  # fmt: skip

    return trial


def _cards(plan: dict[str, int], skip: str | None = None) -> list[dict]:
    cards = []
    for label, batch in plan.items():
        cap = None if label == skip else int(float(label[:-2]) * G)
        card = {"card": label, "card_bytes": int(float(label[:-2]) * G), "cap_bytes": cap,
                "plan_batch": batch}  # fmt: skip
        cards.append(card if cap else {**card, "skipped": "above this GPU"})
    return cards


def test_each_card_gets_its_largest_batch_in_few_trials():
    trial = _memory_line(5 * G, 0.25 * G)  # 24 GiB: 76, 48: 172, 80: 300
    plan = {"24GB": 60, "48GB": 180, "80GB": 290}  # right, too many, right
    done = search_cards(_cards(plan), trial)
    assert [c["largest_batch"] for c in done] == [76, 172, 300]
    assert [c["first_oom_batch"] for c in done] == [77, 173, 301]
    assert [c["plan_batch_ran"] for c in done] == [True, False, True]
    assert all(c["complete"] and c["stopped"] is None for c in done)
    assert done[0]["trials"][0]["batch"] == 1  # the first peak comes cheap
    # batch 1 (first card only), plan's answer, where the line meets the cap, one above it
    assert [len(c["trials"]) for c in done] == [4, 3, 3]
    for c in done:
        for t in c["trials"]:
            assert (t["status"] == "ok") == ("peak_allocated_bytes" in t)


def test_a_config_that_fits_no_card_and_a_skipped_card():
    done = search_cards(_cards({"24GB": 0, "48GB": 1, "141GB": 3}, skip="141GB"),
                        _memory_line(30 * G, G))  # fmt: skip
    assert done[0]["largest_batch"] == 0 and done[0]["plan_batch_ran"] is None
    assert [t["batch"] for t in done[0]["trials"]] == [1]
    assert done[1]["largest_batch"] == 18 and done[1]["plan_batch_ran"] is True
    assert done[2]["largest_batch"] is None and done[2]["stopped"] == "above this GPU"


def test_the_time_budget_stops_before_a_trial_that_would_overrun():
    spent = []
    trial = _memory_line(5 * G, 0.25 * G, seconds_per_example=1.0)

    def timed(card, batch):
        facts = trial(card, batch)
        spent.append(facts["seconds"])
        return facts

    done = search_cards(_cards({"24GB": 60, "48GB": 150, "80GB": 290}), timed,
                        time_left=lambda: 300 - sum(spent))  # fmt: skip
    # 24 GB: batches 1, 60, 76, 77 (218 s); 48 GB's first trial (151 s) would overrun
    assert [t["batch"] for t in done[0]["trials"]] == [1, 60, 76, 77]
    assert done[0]["complete"] and done[0]["largest_batch"] == 76
    assert done[1]["trials"] == [] and not done[1]["complete"]
    assert done[1]["largest_batch"] == 76, "what the smaller card showed still holds"
    assert [c["stopped"] for c in done[1:]] == ["time budget", "time budget"]
    assert sum(spent) <= 300


def test_an_error_stops_the_config_and_is_named():
    def broken(card, batch):
        return {"status": "error", "seconds": 1.0, "error": "ValueError: no"}

    done = search_cards(_cards({"24GB": 4, "48GB": 9}), broken)
    assert done[0]["stopped"] == "error at batch 1" and not done[0]["complete"]
    assert done[1]["stopped"] == "error at batch 1" and done[1]["trials"] == []


RECORD = {
    "device": {"gpu": "NVIDIA H100 80GB HBM3"},
    "configs": [
        {"config": "recipes/configs/a.yaml", "cards": [
            {"card": "24GB", "plan_batch": 3, "plan_batch_ran": True, "largest_batch": 4,
             "first_oom_batch": 5, "complete": True, "trials": [
                {"batch": 1, "status": "ok", "peak_allocated_bytes": 8 * G,
                 "plan_estimate_bytes": 7 * G, "plan_over_measured": 0.875},
                {"batch": 4, "status": "ok", "peak_allocated_bytes": 20 * G,
                 "plan_estimate_bytes": 21 * G, "plan_over_measured": 1.05},
                {"batch": 5, "status": "oom", "plan_estimate_bytes": 25 * G}]},
            {"card": "80GB", "whole_card": True, "plan_batch": 12, "plan_batch_ran": False,
             "largest_batch": 9, "first_oom_batch": 12, "complete": False,
             "stopped": "time budget", "trials": [
                {"batch": 12, "status": "oom", "plan_estimate_bytes": 60 * G}]}]},
        {"config": "recipes/configs/b.yaml", "error": "RuntimeError: broken"},
    ],
}  # fmt: skip


def test_the_table_has_a_row_per_config_and_card():
    lines = fit_table([RECORD]).splitlines()
    assert len(lines) == 2 + 3
    assert lines[2] == (
        "| recipes/configs/a.yaml | NVIDIA H100 80GB HBM3 | 24GB | 3 | ran | 4 | 5 | 20.0 | "
        "21.0 | 1.05 | 0.88-1.05 (2) |"
    )
    assert (
        "80GB (the whole GPU) | 12 | out of memory | >= 9 (stopped: time budget) | 12" in lines[3]
    )
    assert lines[3].endswith("| - | - | - | - |")
    assert "RuntimeError: broken" in lines[4]
    assert all(line.count("|") == lines[0].count("|") for line in lines)


def test_features_carry_padding_and_label_only_the_tagged_copy():
    tagging = fit_check.step_features("tagging", 4, 50, 1000, copies=5)
    assert [f["length"] for f in tagging] == [50, 49, 50, 49]
    assert [sum(x != -100 for x in f["labels"]) for f in tagging] == [10, 9, 10, 9]
    assert all(f["labels"][-1] != -100 and f["labels"][0] == -100 for f in tagging)
    generative = fit_check.step_features("generative", 2, 40, 1000, end_id=7)
    assert [len(f["input_ids"]) for f in generative] == [40, 39]
    assert generative[0]["labels"][-1] == 7 and generative[0]["labels"][0] == -100


@pytest.mark.parametrize("config", ["tagging_repeat4_qlora", "generative_qlora"])
def test_a_trial_runs_one_sentence_then_the_whole_padded_batch(
    config, tiny_llama_128_dir, tmp_path
):
    from llmner.config import parse_args, resolve_defaults
    from llmner.data.types import LabelSet
    from llmner.models.loading import load_tokenizer
    from llmner.train.run import build_model, format_for

    path = REPO / f"recipes/configs/llama-3.2-1b/{config}.yaml"
    argv = ["--config", str(path), "--model_name_or_path", str(tiny_llama_128_dir),
            "--output_dir", str(tmp_path / "trial"), "--eval_strategy", "no",
            "--save_strategy", "no", "--report_to", "none", "--max_steps", "2",
            "--gradient_accumulation_steps", "1", "--disable_tqdm", "true",
            "--max_seq_length", "40", "--lora_r", "4"]  # fmt: skip
    cfg = resolve_defaults(parse_args(argv))
    tokenizer = load_tokenizer(str(tiny_llama_128_dir))
    labels = LabelSet(["PER", "LOC"])
    fmt = format_for(cfg, labels, tokenizer)
    model, _ = build_model(cfg, fmt.task, labels, fmt)
    shapes = []
    model.register_forward_pre_hook(
        lambda m, args, kwargs: shapes.append(tuple(kwargs["input_ids"].shape)), with_kwargs=True
    )
    task = "generative" if fmt.task == "causal-lm" else "tagging"
    features = fit_check.step_features(task, 6, 40, len(tokenizer), 5, tokenizer.eos_token_id, 5)
    facts = fit_check.run_trial(model, fmt, tokenizer, argv, 3, features)
    assert facts["status"] == "ok", facts
    assert shapes == [(1, 40), (3, 40)]
    assert all(p.grad is None for p in model.parameters()), "memory freed after the trial"
    assert "_original_forward" not in model.__dict__, "no autocast wrapper left for the next"
    assert fit_check.run_trial(model, fmt, tokenizer, argv, 2, features)["status"] == "ok"
    assert shapes[2:] == [(1, 40), (2, 40)], "the same model runs the next trial"


def test_without_a_gpu_it_says_so_in_one_line(monkeypatch, capsys):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    config = str(REPO / "recipes/configs/llama-3.2-1b/generative_qlora.yaml")
    assert fit_check.main(["--config", config]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "GPU is needed" in err and "Traceback" not in err
    assert fit_check.main(["--config", "no/such.yaml"]) == 2
    assert "no/such.yaml" in capsys.readouterr().err


def test_the_examples_in_the_recipe_run():
    import doctest

    result = doctest.testmod(fit_check)
    assert result.attempted > 0 and result.failed == 0
