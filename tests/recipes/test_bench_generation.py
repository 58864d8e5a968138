"""``recipes/bench_generation.py`` times the naive loop and each batch size in one process."""

from __future__ import annotations

import json

import pytest
from recipe_module import load_recipe


@pytest.fixture(scope="module")
def recipe():
    return load_recipe("bench_generation")


def test_random_init_model_times_naive_and_every_batch_size(recipe, tiny_llama_dir, tmp_path):
    out = tmp_path / "gen.json"
    args = recipe.make_parser().parse_args(
        ["--model", str(tiny_llama_dir), "--random-init", "--sentences", "6", "--repeats", "1"]
        + ["--batch-size", "2,6", "--max-words", "12", "--out", str(out), "--no-reuse-prefix"]
    )
    result = recipe.main(args)
    assert json.loads(out.read_text()) == result
    assert result["sentences"] == 6 and result["random_init"] is True
    assert result["naive_sentences_per_s"] > 0
    assert [b["batch_size"] for b in result["batched"]] == [2, 6]
    for entry in result["batched"]:
        assert entry["sentences_per_s"] > 0
        assert entry["speedup"] == pytest.approx(
            entry["sentences_per_s"] / result["naive_sentences_per_s"]
        )
        # constrained greedy decoding in float32: left padding must not change the answers
        assert entry["answers_differing"] == 0
    plain = result["without_prefix_reuse"]
    assert [b["batch_size"] for b in plain["batched"]] == [2, 6]
    assert plain["naive_sentences_per_s"] > 0
    assert result["reuse_prefix"] is True and plain["reuse_prefix"] is False


def test_the_record_says_what_the_model_computed_with(recipe, tiny_llama_dir):
    """The file names the numerics of the model that ran, not a flag that was ignored."""
    from lab.bench.table import generation_table

    args = recipe.make_parser().parse_args(
        ["--model", str(tiny_llama_dir), "--random-init", "--sentences", "2", "--repeats", "1"]
        + ["--batch-size", "2", "--max-words", "12", "--dtype", "bfloat16"]
    )
    result = recipe.main(args)
    assert result["quantization"] == "none"
    assert result["weights"] == result["dtype"] == "bfloat16"
    table = generation_table(result).splitlines()
    assert table[0].startswith("| path | shared prompt prefix | sentences/s |")
    assert table[3].startswith("| batched, 2 per batch | computed once |")
    assert table[3].endswith(" of 2 |")


def test_lookahead_and_profile_are_timed_in_the_same_process(recipe, tiny_llama_dir):
    from lab.bench.table import decoding_table, generation_profile_table

    args = recipe.make_parser().parse_args(
        ["--model", str(tiny_llama_dir), "--random-init", "--sentences", "4", "--repeats", "1"]
        + ["--batch-size", "4", "--max-words", "12", "--lookahead", "3", "--profile"]
    )
    result = recipe.main(args)
    (fast,) = result["with_lookahead"]
    assert fast["lookahead"] == 3 and result["lookahead"] == 0
    # drafts change the passes, never the answers
    assert fast["naive"]["answers_differing_from_reference"] == 0
    assert fast["batched"][0]["answers_differing_from_reference"] == 0
    assert fast["naive"]["drafted_tokens_per_answer"] > 0
    assert "answers_differing_from_reference" not in result["naive"]
    assert [p["lookahead"] for p in result["profiles"]] == [0, 3]
    for profile in result["profiles"]:
        split = profile["time_split"]
        assert split["model"] > 0 and sum(split.values()) == pytest.approx(1.0)
        assert profile["operators"] and all(0 < o["share"] <= 1 for o in profile["operators"])
    assert len(decoding_table(result).splitlines()) == 2 + 4
    assert len(generation_profile_table(result).splitlines()) == 2 + 2
