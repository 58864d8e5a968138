"""Tables of ``recipes/raw_text.py``'s JSON files: splitters' round trips, sentences cut,
F1 on words against raw text, and the spaCy component's ``tokens`` modes.

Example:
    >>> record = {"datasets": {"tiny": {"split": "test", "sentences": 4, "cut": 1, "pieces": 5}}}
    >>> print(sentences_table([record], ["after"]))
    | dataset | test sentences | cut into pieces: after |
    | --- | ---: | ---: |
    | tiny | 4 | 1 (25.0%) |
"""

from __future__ import annotations

__all__ = ["f1_table", "sentences_table", "spacy_table", "splitters_table"]


def _table(header: list[str], align: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(align) + " |"]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.2f}"


def splitters_table(record: dict) -> str:
    """One row per dataset and splitter: sentences and words given back exactly from the
    words joined by spaces and joined as prose; the chosen splitter in bold."""
    rows = []
    for dataset, d in record["datasets"].items():
        for name, joins in d["scores"].items():
            label = f"**{name}** (chosen)" if name == d["chosen"] else name
            cells = [
                _pct(joins[j][k])
                for j in ("spaces", "natural")
                for k in ("sentence_accuracy", "word_accuracy")
            ]
            rows.append([dataset, label, *cells])
    header = ["dataset (train)", "splitter", "spaces: sentences %", "spaces: words %",
              "prose: sentences %", "prose: words %"]  # fmt: skip
    return _table(header, ["---", "---"] + ["---:"] * 4, rows)


def sentences_table(records: list[dict], labels: list[str]) -> str:
    """Test sentences (words joined by spaces) cut into several pieces, one column per
    record (e.g. before and after)."""
    first = records[0]["datasets"]
    rows = []
    for dataset, d in first.items():
        cells = []
        for r in records:
            cut, n = r["datasets"][dataset]["cut"], r["datasets"][dataset]["sentences"]
            cells.append(f"{cut} ({100 * cut / n:.1f}%)")
        rows.append([dataset, str(d["sentences"]), *cells])
    header = ["dataset", "test sentences", *[f"cut into pieces: {x}" for x in labels]]
    return _table(header, ["---", "---:"] + ["---:"] * len(records), rows)


def f1_table(record: dict) -> str:
    """Strict F1 on the test words against F1 on the same text raw, per splitter."""
    rows = []
    for name, r in record["splitters"].items():
        rows.append([
            name, f"{r['word']['f1']:.4f}", f"{r['raw']['f1']:.4f}",
            f"{100 * r['f1_gap']:+.2f}", str(r["sentences_with_other_words"]),
            str(r["sentences_cut"]), str(r["sentences"]),
        ])  # fmt: skip
    header = ["splitter", "F1 words", "F1 raw text", "raw − words (points)",
              "sentences with other words", "sentences cut", "sentences"]  # fmt: skip
    return _table(header, ["---"] + ["---:"] * 6, rows)


def spacy_table(record: dict) -> str:
    """The spaCy component against ``llmner.load(...).predict`` on the same raw text."""
    rows = []
    for m in record["modes"].values():
        rows.append([
            m["tokens"], m["splitter"], str(m["llmner_entities"]), str(m["component_entities"]),
            str(m["shared_entities"]), f"{m['entity_agreement']:.3f}",
            str(m["component"].get("misaligned", 0)), f"{m['f1_llmner']:.4f}",
            f"{m['f1_component']:.4f}",
        ])  # fmt: skip
    header = ["tokens", "llmner splitter", "llmner entities", "component entities", "shared",
              "entity agreement", "dropped (misaligned)", "F1 llmner", "F1 component"]  # fmt: skip
    return _table(header, ["---", "---"] + ["---:"] * 7, rows)
