"""The report's content as plain data: table rows of cells (:mod:`llmner.report.cells`),
comparisons, error counts.

Rendering (markdown, html) only lays these out; nothing here knows about either format.
"""

from __future__ import annotations

import itertools
import statistics
from dataclasses import dataclass

from llmner.errors import InputError
from llmner.provenance import device_label, short_commit
from llmner.report.bootstrap import BootstrapResult, paired_bootstrap, sentence_counts
from llmner.report.bootstrap import f1_from_counts as _f1
from llmner.report.cells import MISSING, fmt, mean_sd, span
from llmner.report.errors import CATEGORIES, category_table
from llmner.report.setting import setting
from llmner.rundir import Run, split_run_name

__all__ = [
    "Comparison",
    "compare_runs",
    "error_rows",
    "per_type_rows",
    "prompt_label",
    "score_check",
    "seed_rows",
    "summary_rows",
    "train_rates",
]

SUMMARY_HEADERS = [
    "run", "model", "format", "setting", "prompt", "trainable params", "train sents",
    "F1 (strict)", "F1 (default)", "precision", "recall", "parse fail", "halluc.",
    "train time", "train tok/s", "eval sent/s", "peak RSS", "commit", "device",
]  # fmt: skip
# Keys a run's config.yaml may differ in from another seed of the same configuration
# (spaCy's config file lies in the run's own folder).
PER_RUN_KEYS = frozenset(
    {"seed", "data_seed", "output_dir", "run_name", "logging_dir", "spacy_config"}
)
WORDS_HEADER = "train words/s"


def prompt_label(run: Run) -> str:
    """The prompt's name and first 8 hash characters, or ``–`` for tagging runs.

    Example:
        >>> m = {"prompt": {"name": "ner.v2", "hash": "abcdef0123"}}
        >>> prompt_label(Run(".", "r", metrics=m))
        'ner.v2 (abcdef01)'
    """
    prompt = run.metrics.get("prompt")
    if isinstance(prompt, dict):
        name, digest = prompt.get("name"), str(prompt.get("hash") or "")[:8]
        if name:
            return f"{name} ({digest})" if digest else str(name)
    if isinstance(prompt, str) and prompt:
        return prompt
    config_prompt = run.config.get("prompt")
    return str(config_prompt) if config_prompt and run.get("format") == "generative" else MISSING


def train_rates(metrics: dict) -> tuple[float | None, float | None]:
    """Training speed as ``(sub-tokens/s, words/s)``.

    llmner runs count the model's sub-tokens (``train_tokens_per_second``); spaCy counts
    words (``train_words_per_second``). spaCy runs written before the two were told
    apart put words under ``train_tokens_per_second``: a run that names its spaCy
    version and records no words figure is read as words.

    Example:
        >>> train_rates({"train_tokens_per_second": 210.0})
        (210.0, None)
        >>> train_rates({"train_tokens_per_second": 4508.0, "spacy_version": "3.8.18"})
        (None, 4508.0)
    """
    tokens = metrics.get("train_tokens_per_second")
    words = metrics.get("train_words_per_second")
    if words is None and metrics.get("spacy_version"):
        return None, tokens
    return tokens, words


def summary_rows(runs: list[Run]) -> tuple[list[str], list[list[str]]]:
    """The headline table: one row per run. ``train tok/s`` counts sub-tokens; a
    ``train words/s`` column follows when a run counts words (spaCy)."""
    rates = [train_rates(r.metrics) for r in runs]
    words = any(w is not None for _, w in rates)
    rows = []
    for r, (tokens_per_s, words_per_s) in zip(runs, rates):
        m = r.metrics
        generative = r.get("format") == "generative"
        trained = setting(r.config, m)
        rows.append([
            r.name, fmt(r.model), fmt(r.get("format")),
            trained if trained != MISSING else fmt(r.get("quantization")),
            prompt_label(r), fmt(m.get("trainable_parameters"), "int"),
            fmt(m.get("num_train_sentences"), "int"), fmt(m.get("f1"), "score"),
            fmt(m.get("f1_default"), "score"), fmt(m.get("precision"), "score"),
            fmt(m.get("recall"), "score"),
            fmt(m.get("parse_failure_rate"), "rate") if generative else MISSING,
            fmt(m.get("hallucination_rate"), "rate") if generative else MISSING,
            fmt(m.get("train_seconds"), "seconds"), fmt(tokens_per_s, "float"),
            *([fmt(words_per_s, "float")] if words else []),
            fmt(m.get("eval_sentences_per_second"), "float"), fmt(m.get("peak_rss_mb"), "mb"),
            *provenance_cells([m]),
        ])  # fmt: skip
    headers = list(SUMMARY_HEADERS)
    if words:
        headers.insert(headers.index("train tok/s") + 1, WORDS_HEADER)
    return headers, rows


def provenance_cells(metrics: list[dict]) -> list[str]:
    """The ``commit`` and ``device`` cells of runs pooled in one row: each distinct value
    once; a commit whose provenance was reconstructed from git history (not written by
    the run) carries ``†``, one whose tree had uncommitted changes when the run read it
    ``-dirty`` (as ``git describe --dirty`` writes it).

    Example:
        >>> a = {"provenance": {"commit": "abcdef0123", "device": {"gpu": "NVIDIA H200"}}}
        >>> b = {"provenance": {"commit": "1234567890", "reconstructed": True}}
        >>> c = {"provenance": {"commit": "abcdef0123", "dirty": True}}
        >>> provenance_cells([a, b, c])
        ['abcdef0, 1234567†, abcdef0-dirty', 'NVIDIA H200, –']
        >>> provenance_cells([{}])
        ['–', '–']
    """
    commits, devices = [], []
    for m in metrics:
        prov = m.get("provenance") or {}
        commit = short_commit(prov)
        mark = "†" if prov.get("reconstructed") else "-dirty" if prov.get("dirty") else ""
        commit = f"{commit}{mark}" if commit else fmt(commit)
        device = fmt(device_label(prov))
        commits += [commit] if commit not in commits else []
        devices += [device] if device not in devices else []
    return [", ".join(commits), ", ".join(devices)]


def check_poolable(name: str, configs: list[dict]) -> None:
    """Refuse to pool seeds whose configs differ in anything but :data:`PER_RUN_KEYS`
    (at any depth). A key one config leaves out, empty or ``None`` is taken as not
    recorded (a run written before the key existed), not as a difference.

    Raises:
        InputError: naming the configuration and the keys that differ.

    Example:
        >>> check_poolable("a", [{"seed": 1, "lr": 1}, {"seed": 2, "lr": 1.0, "new": 3}])
        >>> check_poolable("a", [{"seed": 1, "lr": 1}, {"seed": 2, "lr": 2}])
        Traceback (most recent call last):
        ...
        llmner.errors.InputError: a: its seeds' configs differ in lr; expected runs that ...
    """
    differ = _differing(configs)
    if differ:
        raise InputError(
            f"its seeds' configs differ in {', '.join(differ)}; "
            "expected runs that differ only in the seed",
            name,
        )


def _differing(configs: list[dict], prefix: str = "") -> list[str]:
    keys = sorted({k for c in configs for k in c} - PER_RUN_KEYS)
    out = []
    for key in keys:
        values = [c.get(key) for c in configs if c.get(key) not in (None, "", {}, [])]
        if values and all(isinstance(v, dict) for v in values):
            out += _differing(values, f"{prefix}{key}.")
        elif any(v != values[0] for v in values[1:]):
            out.append(prefix + key)
    return out


def per_type_rows(runs: list[Run]) -> tuple[list[str], list[list[str]]]:
    """Strict F1 per entity type (rows) for each run (columns), with the gold support."""
    types = sorted({t for r in runs for t in (r.metrics.get("per_type") or {})})
    rows = []
    for t in types:
        cells = [(r.metrics.get("per_type") or {}).get(t) or {} for r in runs]
        support = next((c.get("support") for c in cells if c.get("support") is not None), None)
        rows.append([t, fmt(support, "int")] + [fmt(c.get("f1"), "score") for c in cells])
    return ["type", "support"] + [r.name for r in runs], rows


@dataclass
class Comparison:
    """A pair of runs: a bootstrap result, or the reason none was run."""

    a: str
    b: str
    result: BootstrapResult | None = None
    refused: str | None = None

    @property
    def verdict(self) -> str:
        if self.result is None:
            return self.refused or MISSING
        r = self.result
        if not r.significant:
            return f"no significant difference ({r.p_text})"
        better, worse = (self.b, self.a) if r.delta > 0 else (self.a, self.b)
        return f"{better} beats {worse} ({r.p_text})"


def compare_runs(runs: list[Run], n_resamples: int = 1000, seed: int = 0) -> list[Comparison]:
    """Every pair of runs: a paired bootstrap if they were scored on the same sentences
    (same tokens and gold tags), otherwise a refusal saying why."""
    out = []
    for a, b in itertools.combinations(runs, 2):
        pa, pb = a.predictions, b.predictions
        if pa is None or pb is None:
            out.append(Comparison(a.name, b.name, refused="predictions missing"))
        elif pa.fingerprint() != pb.fingerprint():
            why = f"scored on different data ({len(pa)} vs {len(pb)} sentences"
            why += ", same count but different tokens or gold tags)" if len(pa) == len(pb) else ")"
            out.append(Comparison(a.name, b.name, refused=why))
        elif n_resamples < 1:
            out.append(Comparison(a.name, b.name, refused="bootstrap disabled (--bootstrap 0)"))
        else:
            res = paired_bootstrap(pa.gold, pa.pred, pb.pred, n_resamples=n_resamples, seed=seed)
            out.append(Comparison(a.name, b.name, result=res))
    return out


def score_check(run: Run, tolerance: float = 1e-4) -> str | None:
    """A warning if ``metrics.json``'s strict F1 disagrees with the predictions file."""
    reported = run.metrics.get("f1")
    if run.predictions is None or not isinstance(reported, (int, float)):
        return None
    p = run.predictions
    f1 = _f1(*sentence_counts(p.gold, p.pred).sum(axis=0))
    if abs(f1 - reported) > tolerance:
        return (
            f"{run.name}: metrics.json reports F1 {reported:.4f} but predictions.conll "
            f"scores {f1:.4f}; the table shows metrics.json, the bootstrap uses the predictions"
        )
    return None


def error_rows(run: Run) -> tuple[list[str], list[list[str]]]:
    """Counts of each error category, overall then per type (gold type; spurious by
    predicted type)."""
    p = run.predictions
    table = category_table(p.gold, p.pred) if p is not None else {"ALL": {}}
    rows = []
    for t in ["ALL"] + sorted(k for k in table if k != "ALL"):
        counts = table[t]
        rows.append([t] + [fmt(counts.get(c, 0), "int") for c in CATEGORIES])
    return ["type", *CATEGORIES], rows


def cores_used(metrics: dict) -> float | None:
    """The CPU cores a run kept busy on average: its process's CPU seconds over the wall
    seconds between its start and end (``provenance.machine``; model loading and test
    scoring included). ``None`` for runs that did not record it.

    Example:
        >>> cores_used({"provenance": {"machine": {"cpu_seconds": 96.0, "wall_seconds": 50.0}}})
        1.92
        >>> cores_used({"provenance": {}}) is None
        True
    """
    machine = (metrics.get("provenance") or {}).get("machine") or {}
    cpu, wall = machine.get("cpu_seconds"), machine.get("wall_seconds")
    return cpu / wall if isinstance(cpu, (int, float)) and wall else None


def seed_rows(
    runs: list[tuple[str, dict, dict]], validation: bool = False
) -> tuple[list[str], list[list[str]]]:
    """One row per configuration over its seeds: runs named ``NAME-sSEED``, each given
    as ``(name, config, metrics)``; F1 as mean ± sd (sample sd) over the seeds. With
    ``validation``, a column before it of the best validation F1 each run kept (the
    epoch it tested), mean ± sd the same way. Where every seed of some configuration
    records how busy it kept the machine, a ``cores used`` column (:func:`cores_used`, a
    range over seeds)."""
    groups: dict[str, list[tuple[str, dict, dict]]] = {}
    for name, config, metrics in runs:
        groups.setdefault(split_run_name(name)[0], []).append((name, config, metrics))
    types = sorted({t for _, _, m in runs for t in m.get("per_type", {})})
    scores = ["val F1", "F1 (strict)"] if validation else ["F1 (strict)"]
    headers = ["configuration", "model", "setting", "seeds", *scores, *types,
               "train sents", "train time", "train tok/s", "peak RSS",
               "commit", "device"]  # fmt: skip
    rows, cores = [], []
    for key, group in groups.items():
        check_poolable(key, [c for _, c, _ in group])
        metrics = [m for _, _, m in group]
        f1 = [m["f1"] for m in metrics]
        valid = [m.get("best_validation_f1") for m in metrics]

        def mean(key: str, metrics=metrics) -> float | None:
            values = [m.get(key) for m in metrics]
            ok = all(isinstance(v, (int, float)) for v in values)
            return statistics.fmean(values) if ok else None

        per_type = [
            fmt(statistics.fmean(m["per_type"][t]["f1"] for m in metrics), "score")
            if all(t in m.get("per_type", {}) for m in metrics)
            else MISSING
            for t in types
        ]
        rows.append(
            [
                key,
                str(metrics[0].get("model")),
                setting(group[0][1], metrics),
                ", ".join(str(m.get("seed")) for m in metrics),
                *([mean_sd(valid)] if validation else []),
                mean_sd(f1),
                *per_type,
                fmt(mean("num_train_sentences"), "int"),
                fmt(mean("train_seconds"), "seconds"),
                fmt(mean("train_tokens_per_second"), "float"),
                fmt(mean("peak_rss_mb"), "mb"),
                *provenance_cells(metrics),
            ]
        )
        cores.append(span([cores_used(m) for m in metrics], "{:.2f}") or MISSING)
    if any(cell != MISSING for cell in cores):
        at = headers.index("peak RSS") + 1
        headers.insert(at, "cores used")
        for row, cell in zip(rows, cores):
            row.insert(at, cell)
    return headers, rows
