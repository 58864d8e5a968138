"""What is in a dataset, and what is wrong with it: the engine of ``llmner data check``.

Per split: sentences, tokens, entities per type, invalid tag transitions (and how they were
repaired), sentences over a token budget, duplicate sentences. Across splits: sentences
shared between splits, and the same surface string labelled differently in different
places (as different types, or as an entity here and plain text there).

Example:
    >>> from llmner.data.types import Sentence
    >>> train = [Sentence(["Paris", "is", "big"], ["B-LOC", "O", "O"], id="t:1"),
    ...          Sentence(["Paris", "Hilton"], ["B-PER", "I-PER"], id="t:5")]
    >>> test = [Sentence(["Paris", "is", "big"], ["B-PER", "O", "O"], id="e:1")]
    >>> report = check_splits({"train": train, "test": test}, max_tokens=2)
    >>> report.splits[0].entities, report.splits[0].too_long
    ({'LOC': 1, 'PER': 1}, 1)
    >>> report.shared["train & test"]
    1
    >>> report.inconsistent[0]["text"], report.inconsistent[0]["labels"]
    ('Paris', {'LOC': 1, 'PER': 1})
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from itertools import combinations
from pathlib import Path

from llmner.data.conll import ConllStats
from llmner.data.loading import SPLITS, is_dataset_name, load_sentences
from llmner.data.registry import get_dataset
from llmner.data.schemes import tags_to_spans
from llmner.data.types import Sentence

__all__ = ["CheckReport", "SplitReport", "check_paths", "check_splits"]

EXAMPLES = 5
MAX_NGRAM = 8


@dataclass
class SplitReport:
    """The counts and findings for one split (one file)."""

    name: str
    sentences: int = 0
    tokens: int = 0
    entities: dict[str, int] = field(default_factory=dict)
    repaired_transitions: int = 0
    repairs: list[tuple[str, str, str]] = field(default_factory=list)
    too_long: int = 0
    longest: int = 0
    too_long_examples: list[str] = field(default_factory=list)
    duplicates: int = 0
    duplicate_examples: list[str] = field(default_factory=list)


@dataclass
class CheckReport:
    """Per-split reports plus the findings across splits."""

    max_tokens: int
    splits: list[SplitReport]
    shared: dict[str, int] = field(default_factory=dict)
    shared_examples: dict[str, list[str]] = field(default_factory=dict)
    inconsistent: list[dict] = field(default_factory=list)
    inconsistent_total: int = 0

    def to_dict(self) -> dict:
        return asdict(self)


def _split_report(name: str, sentences: list[Sentence], max_tokens: int) -> SplitReport:
    report = SplitReport(name, sentences=len(sentences))
    entities: Counter[str] = Counter()
    seen: Counter[tuple[str, ...]] = Counter()
    for s in sentences:
        report.tokens += len(s)
        report.longest = max(report.longest, len(s))
        entities.update(etype for etype, _, _ in tags_to_spans(s.tags))
        if len(s) > max_tokens:
            report.too_long += 1
            if len(report.too_long_examples) < EXAMPLES:
                report.too_long_examples.append(f"{s.id} ({len(s)} tokens)")
        key = tuple(s.tokens)
        seen[key] += 1
        if seen[key] == 2 and len(report.duplicate_examples) < EXAMPLES:
            report.duplicate_examples.append(f"{s.id}: {_short(s.text)}")
    report.entities = dict(sorted(entities.items()))
    report.duplicates = sum(n - 1 for n in seen.values())
    return report


def _short(text: str, width: int = 60) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def _shared(splits: dict[str, list[Sentence]]) -> tuple[dict[str, int], dict[str, list[str]]]:
    keys: dict[str, dict[tuple, Sentence]] = {}
    for name, sents in splits.items():
        keys[name] = {}
        for s in sents:  # the first occurrence stands for its duplicates
            keys[name].setdefault(tuple(s.tokens), s)
    counts, examples = {}, {}
    for a, b in combinations(keys, 2):
        both = [k for k in keys[a] if k in keys[b]]
        counts[f"{a} & {b}"] = len(both)
        examples[f"{a} & {b}"] = [
            f"{keys[a][k].id} = {keys[b][k].id}: {_short(keys[a][k].text)}" for k in both[:EXAMPLES]
        ]
    return counts, examples


def _inconsistent(sentences: list[Sentence]) -> list[dict]:
    """Surface strings annotated as an entity somewhere and differently somewhere else."""
    labels: dict[tuple, Counter] = defaultdict(Counter)
    where: dict[tuple, dict[str, str]] = defaultdict(dict)
    for s in sentences:
        for etype, start, end in tags_to_spans(s.tags):
            key = tuple(s.tokens[start:end])
            labels[key][etype] += 1
            where[key].setdefault(etype, s.id)
    lengths = {len(k) for k in labels if len(k) <= MAX_NGRAM}
    for s in sentences:  # the same strings left unannotated
        for n in lengths:
            for i in range(len(s) - n + 1):
                key = tuple(s.tokens[i : i + n])
                if key in labels and all(t == "O" for t in s.tags[i : i + n]):
                    labels[key]["O"] += 1
                    where[key].setdefault("O", s.id)
    found = [
        {"text": " ".join(k), "labels": dict(c.most_common()), "examples": where[k]}
        for k, c in labels.items()
        if len(c) > 1
    ]
    # The most suspicious first: most occurrences that disagree with the usual label.
    found.sort(key=lambda d: (max(d["labels"].values()) - sum(d["labels"].values()), d["text"]))
    return found


def check_splits(
    splits: dict[str, list[Sentence]],
    max_tokens: int = 128,
    stats: dict[str, ConllStats] | None = None,
) -> CheckReport:
    """Check sentences already read, split by split (see the module example)."""
    reports = []
    for name, sentences in splits.items():
        report = _split_report(name, sentences, max_tokens)
        if stats and name in stats:
            report.repaired_transitions = stats[name].repaired_transitions
            report.repairs = list(stats[name].repairs)
        reports.append(report)
    shared, shared_examples = _shared(splits)
    everything = [s for sents in splits.values() for s in sents]
    inconsistent = _inconsistent(everything)
    return CheckReport(
        max_tokens, reports, shared, shared_examples, inconsistent[:50], len(inconsistent)
    )


def check_paths(
    paths: list[str], max_tokens: int = 128, strict: bool = False, labels: list[str] | None = None
) -> CheckReport:
    """Read and check each path: a bundled dataset name or folder (its three splits, named
    ``NAME/SPLIT``), or a CoNLL or JSONL file (named as given).

    Raises:
        InputError: the first malformed input, naming file and line.
    """
    splits: dict[str, list[Sentence]] = {}
    stats: dict[str, ConllStats] = {}
    for path in paths:
        if is_dataset_name(path):
            spec = get_dataset(path)
            sources = {
                f"{spec.name}/{split}": spec.split_path(split)
                for split in SPLITS
                if spec.split_path(split).exists()
            }
            allowed = labels or list(spec.labels.types) or None
        else:
            sources, allowed = {path: Path(path)}, labels
        for name, source in sources.items():
            stats[name] = ConllStats()
            splits[name] = load_sentences(source, labels=allowed, strict=strict, stats=stats[name])
    return check_splits(splits, max_tokens, stats)
