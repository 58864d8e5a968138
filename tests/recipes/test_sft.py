"""lab.sft: trl's prompt–completion rows hold llmner's prompts and answers, and the mask
comparison counts what each side trains."""

from __future__ import annotations

import pytest

from llmner.data.types import LabelSet, Sentence
from llmner.formats.generative import GenerativeFormat
from llmner.formats.generative.answers import render_answer

SENTENCES = [
    Sentence(["Ann", "met", "Bob", "in", "Rome"], ["B-PER", "O", "B-PER", "O", "B-LOC"]),
    Sentence(["Zurich", "is", "cold"], ["B-LOC", "O", "O"]),
]
LABELS = LabelSet(["PER", "LOC"], {"PER": "a person", "LOC": "a place"})


@pytest.mark.parametrize("prompt", ["inline.v2", "inline.v1", "json"])
def test_rows_hold_the_prompts_and_answers_llmner_trains_on(prompt, smol_tokenizer):
    from lab.sft import sft_rows

    fmt = GenerativeFormat(LABELS, smol_tokenizer, prompt=prompt)
    rows = sft_rows(fmt, SENTENCES)
    assert len(rows) == len(SENTENCES)
    for row, sentence in zip(rows, SENTENCES):
        text = smol_tokenizer.apply_chat_template(
            row["prompt"], tokenize=False, add_generation_prompt=True
        )
        assert smol_tokenizer(text, add_special_tokens=False)["input_ids"] == fmt.prompt_ids(
            sentence
        )
        assert row["completion"] == [
            {"role": "assistant", "content": render_answer(sentence, fmt.answer_format)}
        ]
        roles = [m["role"] for m in row["prompt"]]
        assert roles == (["user"] if fmt.system_prompt is None else ["system", "user"])


def test_a_sentence_longer_than_the_window_gives_one_row_per_piece(smol_tokenizer):
    from lab.sft import sft_rows

    fmt = GenerativeFormat(LABELS, smol_tokenizer, prompt="inline.v2", window_words=2)
    rows = sft_rows(fmt, SENTENCES[:1])
    assert len(rows) == len(fmt.encode(SENTENCES[:1])) == 3


def test_compare_masks_counts_tokens_trained_by_one_side_only():
    from lab.sft import compare_masks

    class Tok:
        def decode(self, ids):
            return {7: "<end>", 8: "\n"}.get(ids[0], str(ids[0]))

    ours = [
        {"input_ids": [1, 2, 5, 7], "labels": [-100, -100, 5, 7]},
        {"input_ids": [1, 3, 6, 7], "labels": [-100, -100, 6, 7]},
    ]
    theirs = [
        {"input_ids": [1, 2, 5, 7], "labels": [-100, -100, 5, 7]},
        {"input_ids": [1, 3, 6, 7, 8], "labels": [-100, 3, 6, 7, 8]},
    ]
    report = compare_masks(ours, theirs, Tok())
    assert report["examples"] == 2
    assert report["same_ids"] == 1
    assert report["sft_ids_start_with_llmner_ids"] == 2
    assert report["same_trained_positions"] == 1
    assert report["trained_tokens_llmner"] == 4 and report["trained_tokens_sft"] == 6
    assert report["trained_only_by_sft"] == {"3": 1, "\n": 1}
    assert report["trained_only_by_llmner"] == {}
    with pytest.raises(ValueError):
        compare_masks(ours, theirs[:1], Tok())


def test_sft_config_keeps_every_training_argument(tmp_path):
    pytest.importorskip("trl")
    from lab.sft import sft_config

    from llmner.config import parse_args

    cfg = parse_args(["--output_dir", str(tmp_path), "--learning_rate", "7e-4", "--seed", "9",
                      "--gradient_accumulation_steps", "3", "--warmup_steps", "5"])  # fmt: skip
    args = sft_config(cfg.training, max_length=321)
    assert (args.learning_rate, args.seed, args.gradient_accumulation_steps) == (7e-4, 9, 3)
    assert args.warmup_steps == 5 and args.max_length == 321 and args.completion_only_loss


def test_masks_table_names_the_tokens_one_side_alone_trains():
    from lab.sft import masks_table

    report = {
        "examples": 200, "same_ids": 0, "sft_ids_start_with_llmner_ids": 200,
        "same_trained_positions": 0, "trained_tokens_llmner": 9000, "trained_tokens_sft": 9200,
        "trained_only_by_llmner": {}, "trained_only_by_sft": {"\n": 200},
    }  # fmt: skip
    lines = masks_table(report).splitlines()
    assert "| trained by trl only | '\\n' × 200 |" in lines
    assert "| trained by llmner only | none |" in lines
    assert "| tokens trained by trl | 9,200 |" in lines
