"""recipes/integrations.py on a tiny model: one record of every way of running an adapter
(merges, transformers' pipeline, the spaCy component, the server), counts only."""

import json

import pytest
from lab.bench.table import integrations_table, serve_table

pytest.importorskip("spacy")
pytest.importorskip("fastapi")


def test_the_record_covers_every_integration_and_renders(
    tmp_path, tiny_data, tiny_config, write_configs, tiny_conll, run_recipe
):
    data = tiny_data
    configs = write_configs(tiny=dict(tiny_config, max_steps=4, eval_strategy="no", repeat=0))
    out = tmp_path / "results"
    done = run_recipe(
        "integrations", "--data", str(data), "--output_dir", str(tmp_path / "runs"),
        "--out", str(out), "--configs", str(configs), "--config", "tiny",
        "--serve_seconds", "2", "--clients", "2", "--texts_per_request", "1",
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    result = json.loads((out / "integrations.json").read_text())
    merge = result["merge"]["quantized"]
    assert merge["sentences"] == 12 and merge["adapter_entities"] > 0
    # an unquantized run: both bases are the same weights
    assert (
        merge["identical_sentences"] == 12
        and result["merge"]["original"]["entity_agreement"] == 1.0
    )
    assert result["spacy"]["llmner_entities"] > 0 and result["spacy"]["sentences"] == 12
    words = result["pipeline"]["words_against_argmax_decoding"]
    assert words["llmner_entities"] > 0
    # (not 1.0 here: this tiny vocabulary's many lone space tokens are words to the pipeline;
    # tests/adapters/test_merge.py compares on sentences without them)
    assert 0 < words["entity_agreement"] <= 1
    served = json.loads((out / "serve_load-t1.json").read_text())
    assert served["served"]["failed_requests"] == 0 and served["served"]["requests"] > 0
    table = integrations_table(result)
    assert "| merged, dequantized NF4 base | 12 | 12 / 12 |" in table, table
    assert (
        "spaCy component" in table
        and "transformers pipeline (llmner argmax, file's words)" in table
    )
    assert "| 2 | 1 |" in serve_table([served])
    vocab = {
        w for line in tiny_conll.read_text().splitlines() if line.strip() for w in line.split()[:1]
    }
    text = (out / "integrations.json").read_text() + (out / "serve_load-t1.json").read_text()
    assert not [w for w in vocab if len(w) > 4 and f'"{w}"' in text], "no dataset text"
