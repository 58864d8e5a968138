import json

import pytest

from llmner.report.cells import MISSING
from llmner.report.tables import (
    compare_runs,
    error_rows,
    per_type_rows,
    score_check,
    summary_rows,
)
from llmner.rundir import load_run, load_runs, write_run

from .conftest import corrupt, synthetic_gold


def test_summary_shows_dash_for_missing_and_tagging_rates(make_run):
    gold = synthetic_gold(10)
    tagging = make_run("tag", gold, gold, parse_failure_rate=0.5)
    bare = make_run("bare", gold, gold, train_seconds=None, peak_rss_mb=None)
    gen = make_run(
        "gen", gold, gold, format="generative", parse_failure_rate=0.02,
        hallucination_rate=0.01, prompt={"name": "ner.v1", "hash": "0123456789abcdef"},
    )  # fmt: skip
    headers, rows = summary_rows(load_runs([tagging, bare, gen]))
    col = {h: i for i, h in enumerate(headers)}
    assert rows[0][col["parse fail"]] == MISSING  # not generative: not shown
    assert rows[1][col["train time"]] == MISSING and rows[1][col["peak RSS"]] == MISSING
    assert rows[2][col["parse fail"]] == "2.0%" and rows[2][col["halluc."]] == "1.0%"
    assert rows[2][col["prompt"]] == "ner.v1 (01234567)"
    assert rows[0][col["F1 (strict)"]] == "1.0000"
    assert all(len(r) == len(headers) for r in rows)


def test_summary_says_which_setting_each_side_trained_with(make_run):
    gold = synthetic_gold(4)
    lora = {"use_lora": True, "lora_r": 16, "quantization": "4bit", "learning_rate": 3e-4,
            "num_train_epochs": 1, "repeat": 1}  # fmt: skip
    full = {"use_lora": False, "quantization": "none", "learning_rate": 3e-4,
            "num_train_epochs": 2}  # fmt: skip
    headers, rows = summary_rows(
        load_runs(
            [make_run("dec", gold, gold, config=lora), make_run("enc", gold, gold, config=full)]
        )
    )
    col = headers.index("setting")
    assert rows[0][col] == "LoRA r16, 4bit, lr 3e-04, 1 ep, repeat 1"
    assert rows[1][col] == "every weight, none, lr 3e-04, 2 ep"


def test_a_spacy_run_says_its_pipeline_and_the_update_it_kept(make_run):
    """spaCy keeps the last of equal scores, so its tested epoch is the one at the step it
    recorded, not the first best of its curve."""
    gold = synthetic_gold(4)
    curve = [{"epoch": 2.5, "step": 201, "f1": 0.6}, {"epoch": 5.0, "step": 401, "f1": 0.6},
             {"epoch": 7.5, "step": 601, "f1": 0.5}]  # fmt: skip
    config = {"model": "spacy-blank-en-cnn", "spacy_config": "c.cfg", "max_seconds": 600.0}
    run = make_run("spacy", gold, gold, config=config, train_steps=601,
                   best_validation_step=401, validation_curve=curve)  # fmt: skip
    headers, rows = summary_rows(load_runs([run]))
    assert rows[0][headers.index("setting")] == (
        "spaCy CNN, no vectors, up to 600 s, 601 steps, best at ep 5"
    )


def test_words_and_sub_tokens_stay_in_their_own_columns(make_run):
    """spaCy counts words, llmner sub-tokens: never one column for both."""
    gold = synthetic_gold(4)
    llm = make_run("llm", gold, gold)
    headers, _ = summary_rows(load_runs([llm]))
    assert "train words/s" not in headers  # no run counts words: no column for them
    spacy = make_run("spacy", gold, gold, train_tokens_per_second=None,
                     train_words_per_second=4000.0, spacy_version="3.8")  # fmt: skip
    old = make_run("old-spacy", gold, gold, train_tokens_per_second=4500.0, spacy_version="3.8")
    headers, rows = summary_rows(load_runs([llm, spacy, old]))
    col = {h: i for i, h in enumerate(headers)}
    assert col["train words/s"] == col["train tok/s"] + 1
    assert [r[col["train tok/s"]] for r in rows] == ["300.0", MISSING, MISSING]
    assert [r[col["train words/s"]] for r in rows] == [MISSING, "4,000.0", "4,500.0"]
    assert all(len(r) == len(headers) for r in rows)


def test_per_type_rows(make_run):
    gold = [["B-PER", "O", "B-LOC"]]
    a = make_run("a", gold, gold)
    b = make_run("b", gold, [["B-PER", "O", "O"]])
    headers, rows = per_type_rows(load_runs([a, b]))
    assert headers == ["type", "support", "a", "b"]
    assert rows == [["LOC", "1", "1.0000", "0.0000"], ["PER", "1", "1.0000", "1.0000"]]


def test_runs_on_different_data_are_refused_a_bootstrap(make_run):
    gold = synthetic_gold(20)
    other = synthetic_gold(20, seed=9)
    a = make_run("a", gold, corrupt(gold, 0.3))
    b = make_run("b", gold, corrupt(gold, 0.1))
    c = make_run("c", other, other)
    comps = compare_runs(load_runs([a, b, c]), n_resamples=100)
    assert [(x.a, x.b) for x in comps] == [("a", "b"), ("a", "c"), ("b", "c")]
    assert comps[0].result is not None and comps[0].refused is None
    for x in comps[1:]:
        assert x.result is None and "different data" in x.refused
        assert "different data" in x.verdict


def test_verdict_names_the_winner(make_run):
    gold = synthetic_gold(300)
    a = make_run("a", gold, corrupt(gold, 0.1))
    b = make_run("b", gold, corrupt(gold, 0.6))
    (comp,) = compare_runs(load_runs([a, b]), n_resamples=300)
    assert comp.verdict.startswith("a beats b")


def test_bootstrap_can_be_turned_off(make_run):
    gold = synthetic_gold(5)
    runs = load_runs([make_run("a", gold, gold), make_run("b", gold, gold)])
    (comp,) = compare_runs(runs, n_resamples=0)
    assert comp.result is None and "disabled" in comp.refused


def test_score_check_flags_disagreeing_metrics(make_run):
    gold = synthetic_gold(5)
    assert score_check(load_run(make_run("ok", gold, gold))) is None
    note = score_check(load_run(make_run("bad", gold, gold, f1=0.5)))
    assert "0.5000" in note and "1.0000" in note


def test_error_rows(make_run):
    run = load_run(make_run("r", [["B-PER", "O"]], [["B-LOC", "B-ORG"]]))
    headers, rows = error_rows(run)
    assert headers[0] == "type" and headers[1] == "correct"
    assert rows[0] == ["ALL", "0", "1", "0", "0", "0", "1"]
    assert [r[0] for r in rows] == ["ALL", "ORG", "PER"]


def test_seed_rows_keep_a_run_scored_another_way_apart():
    from llmner.report.tables import seed_rows

    config = {"model_name_or_path": "m", "use_lora": True, "lora_r": 8}
    runs = [
        ("gen-s1", config, {"f1": 0.5, "seed": 1}),
        ("gen-s2", config, {"f1": 0.7, "seed": 2}),
        ("gen-s1-unconstrained", config, {"f1": 0.1, "seed": 1}),
    ]
    _, rows = seed_rows(runs)
    by_name = {r[0]: r for r in rows}
    assert set(by_name) == {"gen", "gen-unconstrained"}
    assert by_name["gen"][3] == "1, 2" and by_name["gen"][4].startswith("0.6000 ± ")
    assert by_name["gen-unconstrained"][3] == "1" and by_name["gen-unconstrained"][4] == "0.1000"


def test_seed_rows_with_validation_show_the_validation_f1_each_run_kept():
    from llmner.report.tables import seed_rows

    config = {"model_name_or_path": "m", "use_lora": True, "lora_r": 8}
    runs = [
        ("tag-s1", config, {"f1": 0.5, "seed": 1, "best_validation_f1": 0.6}),
        ("tag-s2", config, {"f1": 0.7, "seed": 2, "best_validation_f1": 0.8}),
        ("old-s1", config, {"f1": 0.4, "seed": 1}),
    ]
    headers, rows = seed_rows(runs, validation=True)
    assert headers[4:6] == ["val F1", "F1 (strict)"]
    by_name = {r[0]: r for r in rows}
    assert by_name["tag"][4] == "0.7000 ± 0.1414" and by_name["tag"][5] == "0.6000 ± 0.1414"
    assert by_name["old"][4] == "–" and by_name["old"][5] == "0.4000"
    assert "val F1" not in seed_rows(runs)[0]


def test_seed_rows_show_the_cores_each_configuration_kept_busy_where_runs_record_it():
    from llmner.report.tables import seed_rows

    config = {"model_name_or_path": "m", "use_lora": True, "lora_r": 8}

    def machine(cpu, wall):
        return {"provenance": {"machine": {"cpu_seconds": cpu, "wall_seconds": wall}}}

    runs = [
        ("busy-s1", config, {"f1": 0.5, "seed": 1, **machine(190.0, 100.0)}),
        ("busy-s2", config, {"f1": 0.5, "seed": 2, **machine(140.0, 100.0)}),
        ("old-s1", config, {"f1": 0.4, "seed": 1}),
    ]
    headers, rows = seed_rows(runs)
    column = headers.index("cores used")
    assert headers[column - 1] == "peak RSS"
    by_name = {r[0]: r for r in rows}
    assert by_name["busy"][column] == "1.40–1.90" and by_name["old"][column] == "–"
    assert "cores used" not in seed_rows(runs[2:])[0]
    assert "cores used" not in seed_rows([*runs[1:], ("busy-s3", config, {"f1": 0.5})])[0]


def test_seed_rows_say_fp32_where_a_seed_trained_without_bf16():
    """The device decides bf16 when the config leaves it unset, so two seeds of one config
    can train in different precisions: the setting says so."""
    from llmner.report.tables import seed_rows

    config = {"model_name_or_path": "m", "use_lora": False, "quantization": "none",
              "learning_rate": 5e-5, "num_train_epochs": 1}  # fmt: skip
    runs = [
        ("mixed-s1", config, {"f1": 0.5, "seed": 1, "bf16": True}),
        ("mixed-s2", config, {"f1": 0.5, "seed": 2, "bf16": False}),
        ("cpu-s1", config, {"f1": 0.5, "seed": 1, "bf16": False}),
        ("bf16-s1", config, {"f1": 0.5, "seed": 1, "bf16": True}),
    ]
    headers, rows = seed_rows(runs)
    by_name = {r[0]: r[headers.index("setting")] for r in rows}
    assert by_name["mixed"] == "every weight, none, lr 5e-05, 1 ep, bf16 or fp32"
    assert by_name["cpu"] == "every weight, none, lr 5e-05, 1 ep, fp32"
    assert by_name["bf16"] == "every weight, none, lr 5e-05, 1 ep"


def _prov(commit, **kw):
    return {"provenance": {"commit": commit, "device": {"gpu": "NVIDIA H200"}, **kw}}


def test_a_seed_table_of_runs_from_two_commits_says_so_under_it(tmp_path):
    from lab.pages import _seeds

    for seed, commit in (("1", "a" * 40), ("2", "b" * 40)):
        metrics = {"f1": 0.5, "seed": int(seed), "model": "m", **_prov(commit)}
        write_run(tmp_path / "runs" / f"cfg-s{seed}", [["O"]], [["O"]], metrics=metrics)
        path = tmp_path / "runs" / f"cfg-s{seed}" / "metrics.json"
        path.write_text(json.dumps({**json.loads(path.read_text()), **metrics}))
    table = _seeds(["runs"], tmp_path)
    assert "aaaaaaa, bbbbbbb" in table and "NVIDIA H200" in table
    assert table.splitlines()[-1] == "These runs come from 2 commits (aaaaaaa, bbbbbbb)."


def test_a_run_started_from_a_dirty_tree_is_marked_in_its_row_and_under_the_table(tmp_path):
    from lab.pages import _seeds

    for seed, dirty in (("1", True), ("2", False)):
        metrics = {"f1": 0.5, "seed": int(seed), "model": "m", **_prov("a" * 40, dirty=dirty)}
        write_run(tmp_path / "runs" / f"cfg-s{seed}", [["O"]], [["O"]], metrics=metrics)
        path = tmp_path / "runs" / f"cfg-s{seed}" / "metrics.json"
        path.write_text(json.dumps({**json.loads(path.read_text()), **metrics}))
    table = _seeds(["runs"], tmp_path)
    row = next(line for line in table.splitlines() if line.startswith("| cfg "))
    assert "| aaaaaaa-dirty, aaaaaaa |" in row
    assert table.splitlines()[-1].startswith("A commit marked -dirty had uncommitted changes")


def test_seeds_whose_configs_differ_are_refused_with_the_differing_keys():
    from llmner.errors import InputError
    from llmner.report.tables import seed_rows

    runs = [
        ("c-s1", {"seed": 1, "learning_rate": 1e-3, "format_options": {"repeat": 1}}, {"f1": 1}),
        ("c-s2", {"seed": 2, "learning_rate": 1e-3, "format_options": {"repeat": 2}}, {"f1": 1}),
    ]
    with pytest.raises(InputError, match="c: its seeds' configs differ in format_options.repeat"):
        seed_rows(runs)


def test_spacy_seeds_pool_though_each_keeps_its_own_config_file():
    """spaCy's config file lies in its run's folder: a per-run path, like ``output_dir``;
    a time cap that differs still refuses the pool."""
    from llmner.errors import InputError
    from llmner.report.tables import seed_rows

    def run(seed, seconds=1200.0):
        config = {"seed": seed, "max_seconds": seconds, "output_dir": f"out/spacy-s{seed}",
                  "spacy_config": f"out/spacy-s{seed}/spacy/config.cfg"}  # fmt: skip
        return (f"spacy-s{seed}", config, {"f1": 0.5, "seed": seed})

    _, rows = seed_rows([run(1), run(2)])
    assert rows[0][0] == "spacy" and rows[0][3] == "1, 2"
    with pytest.raises(InputError, match="spacy: its seeds' configs differ in max_seconds"):
        seed_rows([run(1), run(2, 600.0)])


def test_a_reconstructed_commit_is_marked():
    from llmner.report.tables import provenance_cells

    assert provenance_cells([_prov("a" * 40, reconstructed=True)])[0] == "aaaaaaa†"
