"""Results pages whose tables are built from committed run files.

A page (``README.md``, ``docs/results/*.md``) marks each generated table::

    <!-- table: KIND ARG ... -->
    | ... the table ... |
    <!-- end -->

and :func:`refresh` rebuilds every marked table from the files the marker names, paths
relative to the page's folder. Kinds:

* ``runs DIR ...``: the summary table of ``llmner compare`` over run directories that
  hold ``metrics.json`` (and ``config.yaml``); no predictions needed, so no dataset text
  has to be committed;
* ``seeds DIR``: one row per configuration over its seeds (``DIR/NAME-sSEED`` run
  folders, as ``recipes/benchmark.py --collect`` writes them): mean ± sd of strict F1;
* ``coverage CONFIGS NAME=DIR ...``: which seeds of each configuration (every ``*.yaml``
  of ``CONFIGS``) have a run with ``metrics.json`` in each data set's ``DIR/NAME-sSEED``
  folders, a column per data set; a ``DIR`` that does not exist has no run yet;
* ``curve DIR``: a learning curve, one row per configuration and size over its seeds
  (``DIR/nSIZE/NAME-sSEED`` run folders, as ``recipes/learning_curve.py`` writes them);
* ``bootstrap FILE ... [A:B ...]``: the paired bootstraps of ``recipes/benchmark.py
  --collect``; with ``A:B`` pairs, only those comparisons, in that order, each with ``A``
  as its A (either way round in the file);
* ``bench DIR``: ``recipes/bench_train_cpu.py``'s entries (``NAME/bench.json`` and each
  seed's ``metrics.json``), medians over seeds;
* ``gpu-bench FILE [key=value ...]``: the tables of ``recipes/bench_gpu.py``'s JSON,
  keeping only the cases whose fields equal the given values;
* ``generation FILE``: batched against naive generation, ``recipes/bench_generation.py``'s
  JSON;
* ``decoding FILE``: plain against speculative decoding (``--lookahead``), the same JSON;
* ``generation-profile FILE``: where a batched generation's time went (``--profile``);
* ``integrations FILE``: merged folders, transformers' pipeline and the spaCy component
  against ``llmner.load``, ``recipes/integrations.py``'s JSON;
* ``serve FILE ...``: ``recipes/serve_load.py``'s load tests of ``llmner serve``, a row
  each;
* ``sweep FILE``: the trials of an ``llmner sweep`` (its ``sweep.json``);
* ``profile NAME=FILE ...``: where a training step's time goes,
  ``recipes/profile_train_step.py``'s JSON, a column per named file.
* ``journey FILE ...``: ``recipes/journey.py``'s records, a row each: every step's time
  and peak memory, and the checks.
* ``raw-text-splitters FILE``, ``raw-text-sentences FILE ...`` (a column per file, named
  by its commit), ``raw-text-f1 FILE``, ``raw-text-spacy FILE``: ``recipes/raw_text.py``'s
  JSON (splitters' round trips, sentences cut, F1 on words against raw text, the spaCy
  component's ``tokens`` modes).

The run files stay under ``recipes/results/``; the pages under ``docs/results/`` name
them relative to themselves (``../../recipes/results/...``). A test regenerates every
committed page and compares, so a figure on a page cannot drift from its file.

Example:
    >>> page = "a\\n<!-- table: double 2 -->\\nold\\n<!-- end -->\\nb"
    >>> refresh(page, ".", {"double": lambda args, base: str(2 * int(args[0]))})
    'a\\n<!-- table: double 2 -->\\n4\\n<!-- end -->\\nb'
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from pathlib import Path

from llmner.errors import InputError
from llmner.markdown import markdown_table
from llmner.provenance import short_commit

__all__ = [
    "RENDERERS",
    "commit_note",
    "coverage_rows",
    "curve_table",
    "refresh",
    "refresh_file",
    "render",
    "table_blocks",
]

# The marker, the table (possibly empty, never another marker) and the end mark.
BLOCK = re.compile(r"(<!-- table: ([^\n]+?) -->)((?:\n(?:(?!<!-- )[^\n])*)*?)(\n<!-- end -->)")

Renderer = Callable[[list[str], Path], str]


def _json(path: Path) -> dict:
    if not path.is_file():
        raise InputError("no such file; expected the run file a table is built from", str(path))
    return json.loads(path.read_text(encoding="utf-8"))


def _runs(args: list[str], base: Path) -> str:
    from llmner.report import Run
    from llmner.report.tables import summary_rows
    from llmner.rundir import METRICS_FILE, read_config

    names = [Path(a).name for a in args]
    common = os.path.commonpath(args) if len(args) > 1 else ""
    runs = []
    for arg, name in zip(args, names):
        folder = base / arg
        name = os.path.relpath(arg, common) if names.count(name) > 1 else name
        runs.append(
            Run(folder, name, config=read_config(folder), metrics=_json(folder / METRICS_FILE))
        )
    return _with_note(markdown_table(summary_rows(runs)), [r.metrics for r in runs])


def commit_note(metrics: list[dict]) -> str | None:
    """The sentence under a table whose runs come from more than one commit (or record
    none), and the meanings of ``†`` and ``-dirty``; ``None`` for runs of one recorded commit
    from clean trees.

    Example:
        >>> one = {"provenance": {"commit": "abcdef0123"}}
        >>> commit_note([one, one]) is None
        True
        >>> commit_note([one, {"provenance": {"commit": "1234567890"}}])
        'These runs come from 2 commits (1234567, abcdef0).'
        >>> commit_note([one, {}])
        'These runs come from 1 commit (abcdef0); 1 run records none.'
        >>> commit_note([{}, {}])
        'None of these runs records its commit.'
        >>> commit_note([one, {"provenance": {"commit": "abcdef0123", "dirty": True}}])
        'A commit marked -dirty had uncommitted changes in its tree when the run read it; ...'
    """
    provs = [m.get("provenance") or {} for m in metrics]
    commits = sorted({short_commit(p) for p in provs if short_commit(p)})
    unrecorded = sum(1 for p in provs if not short_commit(p))
    notes = []
    if not commits and unrecorded:
        notes.append("None of these runs records its commit.")
    elif len(commits) > 1 or unrecorded:
        noun = "commit" if len(commits) == 1 else "commits"
        note = f"These runs come from {len(commits)} {noun} ({', '.join(commits)})"
        if unrecorded:
            note += f"; {unrecorded} run{'s record' if unrecorded > 1 else ' records'} none"
        notes.append(note + ".")
    if any(p.get("reconstructed") for p in provs):
        notes.append(
            "† provenance reconstructed, not written by the run: the commit the results "
            "page names, else the one that added the run file (the code is that or older)."
        )
    if any(p.get("dirty") and not p.get("reconstructed") for p in provs):
        notes.append(
            "A commit marked -dirty had uncommitted changes in its tree when the run read it; "
            "the changes themselves are not recorded."
        )
    return " ".join(notes) or None


def _with_note(table: list[str], metrics: list[dict]) -> str:
    """A table, and under it the note of :func:`commit_note`."""
    note = commit_note(metrics)
    return "\n".join(table + ([] if note is None else ["", note]))


def _seeds(args: list[str], base: Path) -> str:
    """One row per configuration of ``DIR/runs/NAME-sSEED``: its setting, seeds, strict
    test F1 (mean ± sd), per-type F1 means and costs; ``seeds DIR show=validation`` adds
    the best validation F1 each run kept."""
    from llmner.report.tables import seed_rows
    from llmner.rundir import METRICS_FILE, read_config

    folder = base / args[0]
    runs = [
        (p.name, read_config(p), _json(p / METRICS_FILE))
        for p in sorted(folder.iterdir())
        if (p / METRICS_FILE).is_file()
    ]
    if not runs:
        raise InputError("no run with metrics.json here; expected NAME-sSEED folders", str(folder))
    if args[1:] not in ([], ["show=validation"]):
        raise InputError(f"unknown arguments {args[1:]}; expected DIR or DIR show=validation")
    rows = seed_rows(runs, validation=args[1:] == ["show=validation"])
    return _with_note(markdown_table(rows), [m for _, _, m in runs])


def coverage_rows(
    configs: list[str], columns: dict[str, Path]
) -> tuple[list[str], list[list[str]]]:
    """Headers and rows of the coverage table: per configuration, the seeds that have a
    finished run (``metrics.json``) in each column's ``NAME-sSEED`` folders, ``–`` for
    none; configurations that ran but are not in ``configs`` are added at the end.

    Example:
        >>> import tempfile
        >>> root = Path(tempfile.mkdtemp())
        >>> for run in ("a-s42", "a-s7", "b-s13"):
        ...     (root / "x" / run).mkdir(parents=True)
        ...     _ = (root / "x" / run / "metrics.json").write_text("{}")
        >>> coverage_rows(["a", "c"], {"X": root / "x", "Y": root / "y"})
        (['configuration', 'X', 'Y'], [['a', '7, 42', '–'], ['c', '–', '–'], ['b', '13', '–']])
    """
    from llmner.rundir import METRICS_FILE, split_run_name

    seeds: dict[tuple[str, str], list[int]] = {}
    names = list(configs)
    for column, folder in columns.items():
        runs = sorted(folder.iterdir()) if folder.is_dir() else []
        for run in (r for r in runs if (r / METRICS_FILE).is_file()):
            name, seed = split_run_name(run.name)
            names += [name] if name not in names else []
            seeds.setdefault((name, column), []).append(int(seed) if seed else -1)

    def cell(name: str, column: str) -> str:
        found = sorted(seeds.get((name, column), []))
        return ", ".join(str(s) if s >= 0 else "no seed" for s in found) or "–"

    rows = [[name, *(cell(name, column) for column in columns)] for name in names]
    return ["configuration", *columns], rows


def _coverage(args: list[str], base: Path) -> str:
    from lab.seeds import config_names

    configs = base / args[0] if args else None
    pairs = [a.partition("=") for a in args[1:]]
    if configs is None or not configs.is_dir() or not pairs or any(not s for _, s, _ in pairs):
        raise InputError(
            f"coverage {' '.join(args)}: expected a folder of configs, then NAME=DIR per data set"
        )
    names, _ = config_names(configs, "")  # every config in the folder
    rows = coverage_rows(names, {name: base / folder for name, _, folder in pairs})
    return "\n".join(markdown_table(rows))


def curve_table(root: str | Path) -> str:
    """:func:`~llmner.report.curves.curve_rows` as a markdown table, and under it the note
    of :func:`commit_note`."""
    from llmner.report.curves import curve_rows, curve_runs

    runs = curve_runs(root)
    return _with_note(markdown_table(curve_rows(root, runs)), [r.metrics for r in runs])


def _curve(args: list[str], base: Path) -> str:
    return curve_table(base / args[0])


def _oriented(pair: dict, a: str) -> dict:
    """A bootstrap pair with ``a`` as its A: the difference and interval turned round when
    the file holds it the other way.

    Example:
        >>> p = {"a": "x", "b": "y", "f1_a": 0.5, "f1_b": 0.6, "delta_f1": 0.1,
        ...      "ci95": [0.05, 0.15], "p_value": 0.01}
        >>> q = _oriented(p, "y")
        >>> q["a"], q["f1_a"], q["delta_f1"], q["ci95"]
        ('y', 0.6, -0.1, [-0.15, -0.05])
    """
    if pair["a"] == a:
        return pair
    low, high = pair["ci95"]
    return {
        **pair,
        "a": pair["b"],
        "b": pair["a"],
        "f1_a": pair["f1_b"],
        "f1_b": pair["f1_a"],
        "delta_f1": 0.0 - pair["delta_f1"],  # 0.0 - x: no "-0.0" for a zero
        "ci95": [0.0 - high, 0.0 - low],
    }


def _bootstrap(args: list[str], base: Path) -> str:
    """Paired bootstraps over pooled seeds, from ``recipes/benchmark.py --collect``; with
    ``A:B`` pairs, those pairs of each file in turn (a pooled file, then one file per seed,
    say), each row oriented as named."""
    files = [a for a in args if ":" not in a]
    per_file = [json.loads((base / a).read_text(encoding="utf-8")) for a in files]
    pairs = [p for found in per_file for p in found]
    wanted = [tuple(a.split(":", 1)) for a in args if ":" in a]
    if wanted:
        by_file = [{frozenset((p["a"], p["b"])): p for p in found} for found in per_file]
        missing = [
            f"{a}:{b}" for a, b in wanted if not any(frozenset((a, b)) in f for f in by_file)
        ]
        if missing:
            raise InputError(
                f"no bootstrap for {', '.join(missing)}; expected pairs of configurations "
                "in " + ", ".join(files)
            )
        pairs = [
            _oriented(f[frozenset(w)], w[0]) for f in by_file for w in wanted if frozenset(w) in f
        ]
    headers = ["A", "B", "seeds", "sentences", "F1 A", "F1 B", "B - A", "95% CI", "p"]
    rows = [
        [
            p["a"],
            p["b"],
            ", ".join(map(str, p["seeds"])),
            f"{p['sentences']:,}",
            f"{p['f1_a']:.4f}",
            f"{p['f1_b']:.4f}",
            f"{100 * p['delta_f1']:+.1f}",
            f"[{100 * p['ci95'][0]:+.1f}, {100 * p['ci95'][1]:+.1f}]",
            f"{p['p_value']:.3f}",
        ]
        for p in pairs
    ]
    return "\n".join(markdown_table((headers, rows)))


def _train_cost(args: list[str], base: Path) -> str:
    from lab.bench.table import train_cost_table

    return train_cost_table(base / args[0])


def _gpu_bench(args: list[str], base: Path) -> str:
    from lab.bench.table import format_tables

    results = _json(base / args[0])
    keep = dict(a.split("=", 1) for a in args[1:])
    cases = [c for c in results["cases"] if all(str(c.get(k)) == v for k, v in keep.items())]
    return format_tables({**results, "cases": cases}).rstrip("\n")


def _generation(args: list[str], base: Path) -> str:
    from lab.bench.table import generation_table

    return generation_table(_json(base / args[0]))


def _decoding(args: list[str], base: Path) -> str:
    from lab.bench.table import decoding_table

    return decoding_table(_json(base / args[0]))


def _generation_profile(args: list[str], base: Path) -> str:
    from lab.bench.table import generation_profile_table

    return generation_profile_table(_json(base / args[0]))


def _integrations(args: list[str], base: Path) -> str:
    from lab.bench.table import integrations_table

    return integrations_table(_json(base / args[0]))


def _serve(args: list[str], base: Path) -> str:
    from lab.bench.table import serve_table

    return serve_table([_json(base / a) for a in args])


def _profile(args: list[str], base: Path) -> str:
    from lab.bench.profile import profile_table

    named = dict(a.split("=", 1) for a in args)
    return profile_table({name: _json(base / file) for name, file in named.items()})


def _journey(args: list[str], base: Path) -> str:
    from journey import journey_table

    return journey_table([_json(base / a) for a in args])


def _tests(args: list[str], base: Path) -> str:
    from time_tests import timings_table

    return timings_table([_json(base / a) for a in args])


def _fit_check(args: list[str], base: Path) -> str:
    from lab.fit import fit_table

    return fit_table([_json(base / a) for a in args])


def _sft_masks(args: list[str], base: Path) -> str:
    from lab.sft import masks_table

    return masks_table(_json(base / args[0]))


def _sweep(args: list[str], base: Path) -> str:
    from llmner.train.sweep import trials_table

    return trials_table(_json(base / args[0])["trials"]).rstrip("\n")


def _raw_text(kind: str) -> Renderer:
    def render(args: list[str], base: Path) -> str:
        from lab import raw_text

        records = [_json(base / a) for a in args]
        if kind == "sentences":
            labels = [f"at {(r.get('llmner_commit') or '?')[:7]}" for r in records]
            return raw_text.sentences_table(records, labels)
        return getattr(raw_text, f"{kind}_table")(records[0])

    return render


RENDERERS: dict[str, Renderer] = {
    "runs": _runs,
    "seeds": _seeds,
    "curve": _curve,
    "coverage": _coverage,
    "bootstrap": _bootstrap,
    "bench": _train_cost,
    "gpu-bench": _gpu_bench,
    "generation": _generation,
    "decoding": _decoding,
    "generation-profile": _generation_profile,
    "integrations": _integrations,
    "serve": _serve,
    "sweep": _sweep,
    "raw-text-splitters": _raw_text("splitters"),
    "raw-text-sentences": _raw_text("sentences"),
    "raw-text-f1": _raw_text("f1"),
    "raw-text-spacy": _raw_text("spacy"),
    "profile": _profile,
    "journey": _journey,
    "tests": _tests,
    "sft-masks": _sft_masks,
    "fit-check": _fit_check,
}


def table_blocks(text: str) -> list[tuple[str, str]]:
    """``(source, table)`` for every marked table of a page, in order."""
    return [(m.group(2), m.group(3).removeprefix("\n")) for m in BLOCK.finditer(text)]


def render(source: str, base: str | Path, renderers: dict[str, Renderer] | None = None) -> str:
    """The table a marker's source (``KIND ARG ...``) stands for."""
    kind, *args = source.split()
    table = (renderers or RENDERERS).get(kind)
    if table is None:
        raise ValueError(f"unknown table kind {kind!r}; expected one of {sorted(RENDERERS)}")
    return table(args, Path(base))


def refresh(
    text: str,
    base: str | Path,
    renderers: dict[str, Renderer] | None = None,
    page: str | None = None,
) -> str:
    """``text`` with every marked table rebuilt from its files; kinds that ``renderers``
    (default :data:`RENDERERS`) does not know are left as they are.

    Raises:
        InputError: a marker names a file or folder that is not there (``page`` and the
            marker's line).
    """
    known = renderers or RENDERERS

    def rebuilt(m: re.Match) -> str:
        if m.group(2).split()[0] not in known:
            return m.group(0)
        try:
            table = render(m.group(2), base, known)
        except FileNotFoundError as e:
            raise InputError(
                f"the table's files are missing: no {e.filename}; expected the run files "
                "the marker names, relative to the page",
                page,
                text.count("\n", 0, m.start()) + 1,
            ) from None
        return f"{m.group(1)}\n{table}{m.group(4)}"

    return BLOCK.sub(rebuilt, text)


def refresh_file(path: str | Path, write: bool = False) -> bool:
    """Whether the page at ``path`` is stale; rewrite it in place when ``write``."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    new = refresh(text, path.parent, page=str(path))
    if write and new != text:
        path.write_text(new, encoding="utf-8")
    return new != text
