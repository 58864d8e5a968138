"""Generated tables on results pages: the markers, the renderers, and stale pages."""

from __future__ import annotations

import json

import pytest
import yaml
from lab.pages import commit_note, refresh, refresh_file, render, table_blocks

from llmner.errors import InputError

UPPER = {"upper": lambda args, base: " ".join(args).upper()}


@pytest.mark.parametrize(
    "page, blocks",
    [
        ("<!-- table: upper a -->\n<!-- end -->", [("upper a", "")]),
        ("<!-- table: upper a -->\n| x |\n\n| y |\n<!-- end -->", [("upper a", "| x |\n\n| y |")]),
        (
            "<!-- table: upper a -->\n<!-- end -->\ntext\n"
            "<!-- table: upper b -->\nold\n<!-- end -->",
            [("upper a", ""), ("upper b", "old")],
        ),
    ],
    ids=["empty", "two-tables-in-one-block", "empty-block-before-another"],
)
def test_blocks_are_found_one_by_one(page, blocks):
    assert table_blocks(page) == blocks


def test_refresh_rebuilds_known_kinds_and_keeps_the_rest():
    page = (
        "# t\n<!-- table: upper a b -->\nstale\n<!-- end -->\n"
        "<!-- table: bench cpu -->\nbuilt by its recipe\n<!-- end -->\n"
    )
    assert refresh(page, ".", UPPER) == (
        "# t\n<!-- table: upper a b -->\nA B\n<!-- end -->\n"
        "<!-- table: bench cpu -->\nbuilt by its recipe\n<!-- end -->\n"
    )
    with pytest.raises(ValueError, match="unknown table kind 'bench'"):
        render("bench cpu", ".", UPPER)


def _run(folder, **metrics):
    folder.mkdir(parents=True)
    base = {"model": "m", "format": "tagging", "quantization": "4bit", "f1": 0.5}
    (folder / "metrics.json").write_text(json.dumps({**base, **metrics}))
    (folder / "config.yaml").write_text(yaml.safe_dump({"model_name_or_path": "m"}))


def test_runs_table_needs_only_metrics_and_config(tmp_path):
    """No predictions file, so no dataset text has to be committed for a table."""
    _run(tmp_path / "a" / "decoder", train_tokens_per_second=200.0)
    _run(tmp_path / "b" / "decoder", train_words_per_second=900.0, spacy_version="3.8")
    table = render("runs a/decoder b/decoder", tmp_path).splitlines()
    assert table[0].startswith("| run | model |") and "| train words/s |" in table[0]
    assert table[2].startswith("| a/decoder | m | tagging | 4bit |")
    assert table[3].startswith("| b/decoder |") and "| 900.0 |" in table[3]
    with pytest.raises(InputError, match="metrics.json"):
        render("runs missing", tmp_path)


def test_gpu_bench_table_keeps_the_cases_asked_for(tmp_path):
    case = {"size": "8b", "formulation": "tagging", "seq_len": 512, "status": "ok"}
    cases = [
        {**case, "quantization": q, "tokens_per_s": t} for q, t in [("4bit", 1e4), ("none", 9e3)]
    ]
    cases.append({"size": "8b", "quantization": "none", "kind": "generation", "status": "ok"})
    (tmp_path / "bench.json").write_text(json.dumps({"cases": cases}))
    table = render("gpu-bench bench.json quantization=none seq_len=512", tmp_path)
    assert table.count("\n") == 2 and "| 8b | none | tagging | 512 |" in table  # no generation
    assert "sentences/s" in render("gpu-bench bench.json quantization=none", tmp_path)


def test_refresh_file_rewrites_only_when_asked(tmp_path):
    _run(tmp_path / "r")
    page = tmp_path / "page.md"
    page.write_text("<!-- table: runs r -->\nold\n<!-- end -->\n")
    assert refresh_file(page) and "old" in page.read_text()
    assert refresh_file(page, write=True) and "| r | m |" in page.read_text()
    assert not refresh_file(page)


def test_a_marker_naming_missing_files_is_one_error_with_page_and_line(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("# p\n\n<!-- table: seeds runs -->\n<!-- end -->\n")
    with pytest.raises(InputError, match="the table's files are missing") as e:
        refresh_file(page)
    assert f"{page}:3" in str(e.value) and "runs" in str(e.value)


def test_seeds_table_gives_mean_and_sd_per_configuration(tmp_path):
    from llmner.rundir import write_config, write_metrics

    for name, f1, lora in [("dec-s1", 0.80, True), ("dec-s2", 0.84, True), ("enc-s1", 0.9, False)]:
        (tmp_path / name).mkdir()
        write_config(
            tmp_path / name,
            {
                "use_lora": lora,
                "lora_r": 16,
                "quantization": "none",
                "learning_rate": 3e-4,
                "num_train_epochs": 1,
                "repeat": 2,
            },
        )
        per_type = {"PER": {"f1": f1 + 0.01}}
        write_metrics(
            tmp_path / name,
            {
                "f1": f1,
                "seed": name[-1],
                "model": name[:3],
                "per_type": per_type,
                "train_seconds": 60.0,
            },
        )
    assert "val F1" in render("seeds . show=validation", tmp_path).splitlines()[0]
    with pytest.raises(InputError, match="expected DIR or DIR show=validation"):
        render("seeds . validation", tmp_path)
    table = render("seeds .", tmp_path)
    lines = table.splitlines()
    assert (
        "| dec | dec | LoRA r16, none, lr 3e-04, 1 ep, repeat 2 | 1, 2 | 0.8200 ± 0.0283 |"
        in (lines[2])
    )
    assert lines[2].split(" | ")[5] == "0.8300", "per-type F1 averaged over the seeds"
    assert lines[3].startswith("| enc | enc | every weight") and "0.9000 |" in lines[3]


def test_bootstrap_table_from_collected_pairs(tmp_path):
    pairs = [
        {
            "a": "enc",
            "b": "dec",
            "seeds": [1, 2],
            "sentences": 2000,
            "f1_a": 0.8,
            "f1_b": 0.82,
            "delta_f1": 0.02,
            "ci95": [0.01, 0.03],
            "p_value": 0.002,
        }
    ]
    (tmp_path / "b.json").write_text(json.dumps(pairs))
    row = render("bootstrap b.json", tmp_path).splitlines()[2]
    assert row == "| enc | dec | 1, 2 | 2,000 | 0.8000 | 0.8200 | +2.0 | [+1.0, +3.0] | 0.002 |"


def test_bootstrap_table_keeps_the_pairs_named_each_oriented_as_named(tmp_path):
    def pair(a, b):
        return {
            "a": a,
            "b": b,
            "seeds": [1],
            "sentences": 10,
            "f1_a": 0.5,
            "f1_b": 0.6,
            "delta_f1": 0.1,
            "ci95": [0.0, 0.2],
            "p_value": 0.04,
        }

    (tmp_path / "b.json").write_text(json.dumps([pair("x", "y"), pair("x", "z"), pair("y", "z")]))
    rows = render("bootstrap b.json z:y x:y", tmp_path).splitlines()[2:]
    assert rows == [
        "| z | y | 1 | 10 | 0.6000 | 0.5000 | -10.0 | [-20.0, +0.0] | 0.040 |",
        "| x | y | 1 | 10 | 0.5000 | 0.6000 | +10.0 | [+0.0, +20.0] | 0.040 |",
    ]
    with pytest.raises(InputError, match="no bootstrap for x:w"):
        render("bootstrap b.json x:w", tmp_path)

    # a pooled file and one per seed: the pair named, from every file that has it, in turn
    (tmp_path / "s1.json").write_text(json.dumps([{**pair("x", "y"), "seeds": [2]}]))
    rows = render("bootstrap b.json s1.json y:x", tmp_path).splitlines()[2:]
    assert [r.split(" | ")[2] for r in rows] == ["1", "2"]


def test_one_commit_needs_no_note_and_a_reconstructed_one_is_explained():
    one = {"provenance": {"commit": "a" * 40}}
    assert commit_note([one, one]) is None
    rebuilt = {"provenance": {"commit": "a" * 40, "reconstructed": True}}
    assert commit_note([rebuilt]).startswith("† provenance reconstructed")


def test_coverage_table_lists_every_config_and_the_seeds_each_data_set_ran(tmp_path):
    (tmp_path / "configs").mkdir()
    for name in ("enc", "dec"):
        (tmp_path / "configs" / f"{name}.yaml").write_text("seed: 1\n")
    for run in ("enc-s42", "enc-s7", "dec-s13"):
        (tmp_path / "wnut" / run).mkdir(parents=True)
        (tmp_path / "wnut" / run / "metrics.json").write_text("{}")
    (tmp_path / "wnut" / "dec-s42").mkdir()  # stopped before it wrote metrics.json
    table = render("coverage configs WNUT=wnut CoNLL=conll", tmp_path).splitlines()
    assert table[0] == "| configuration | WNUT | CoNLL |"
    assert table[2:] == ["| dec | 13 | – |", "| enc | 7, 42 | – |"]


def test_coverage_without_a_data_set_is_refused_with_the_shape_expected(tmp_path):
    (tmp_path / "configs").mkdir()
    with pytest.raises(InputError, match="expected a folder of configs, then NAME=DIR"):
        render("coverage configs", tmp_path)
