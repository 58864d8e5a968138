"""The run directory: the one place that writes and reads its files (and, in
:mod:`llmner.rundir.source`, finds and loads the model a run, export or merge holds).

Every training run, every ``llmner evaluate`` and the spaCy peer write the same files:

* ``config.yaml``: the resolved config (with the label set and the format's options);
* ``metrics.json``: seqeval scores, the run's facts (:func:`run_facts`) and costs, and
  its ``provenance`` (:mod:`llmner.provenance`);
* ``predictions.conll``: token, gold tag, predicted tag; a blank line after each sentence;
* ``adapter/`` and ``checkpoints/`` for trained runs.

Every file is written atomically (:mod:`llmner.io`): a kill never leaves half a file that
a later load accepts. A missing or malformed file is an
:class:`~llmner.errors.InputError` that names the file (and the line, for predictions).

Example:
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "predictions.conll")
    >>> _ = open(path, "w").write("EU B-ORG B-ORG\\nrejects O O\\n\\nHi O B-PER\\n")
    >>> p = read_predictions(path)
    >>> p.tokens, p.gold, p.pred
    ([['EU', 'rejects'], ['Hi']], [['B-ORG', 'O'], ['O']], [['B-ORG', 'O'], ['B-PER']])
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from llmner.data.conll import write_conll
from llmner.errors import InputError
from llmner.io import atomic_file, parse_yaml, peak_rss_mb, write_json_atomic, write_text_atomic
from llmner.provenance import provenance

__all__ = [
    "ADAPTER_DIR",
    "CONFIG_FILE",
    "METRICS_FILE",
    "PREDICTIONS_FILE",
    "Predictions",
    "Run",
    "clear_results",
    "flat_config",
    "load_run",
    "load_runs",
    "read_config",
    "read_metrics",
    "read_predictions",
    "run_facts",
    "split_run_name",
    "write_config",
    "write_metrics",
    "write_predictions",
    "write_run",
]

CONFIG_FILE = "config.yaml"
METRICS_FILE = "metrics.json"
PREDICTIONS_FILE = "predictions.conll"
ADAPTER_DIR = "adapter"
#: The option groups of ``config.yaml`` (:class:`llmner.config.RunConfig`).
CONFIG_GROUPS = ("model", "data", "training")

_SEEDED = re.compile(r"^(?P<name>.+)-s(?P<seed>\d+)(?P<suffix>-.+)?$")


def split_run_name(folder_name: str) -> tuple[str, str]:
    """``(configuration, seed)`` of a run folder named ``NAME-sSEED``, as the benchmark
    recipes name them; a suffix after the seed (``NAME-sSEED-unconstrained``, a run scored
    another way) stays with the configuration. A name without a seed gives ``(name, "")``.

    Example:
        >>> split_run_name("smollm2_echo-s42")
        ('smollm2_echo', '42')
        >>> split_run_name("gen_list-s13-unconstrained")
        ('gen_list-unconstrained', '13')
        >>> split_run_name("spacy-small")
        ('spacy-small', '')
    """
    m = _SEEDED.match(folder_name)
    if m is None:
        return folder_name, ""
    return m["name"] + (m["suffix"] or ""), m["seed"]


@dataclass
class Predictions:
    """Tokens, gold tags and predicted tags, one list per sentence."""

    tokens: list[list[str]]
    gold: list[list[str]]
    pred: list[list[str]]

    def __len__(self) -> int:
        return len(self.tokens)

    def fingerprint(self) -> str:
        """A hash of the tokens and gold tags: equal for runs scored on the same data.

        Example:
            >>> a = Predictions([["a"]], [["O"]], [["O"]])
            >>> b = Predictions([["a"]], [["O"]], [["B-X"]])
            >>> a.fingerprint() == b.fingerprint()
            True
        """
        h = hashlib.sha256()
        for toks, gold in zip(self.tokens, self.gold):
            h.update("\x1f".join(toks).encode("utf-8") + b"\x1e")
            h.update("\x1f".join(gold).encode("utf-8") + b"\x1d")
        return h.hexdigest()[:16]


@dataclass
class Run:
    """One run directory, loaded.

    Attributes:
        path: the directory.
        name: a short label for tables and plots (the directory name, made unique).
        config: the resolved training config (empty if absent).
        metrics: the contents of ``metrics.json``.
        predictions: the contents of ``predictions.conll``.
    """

    path: Path
    name: str
    config: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    predictions: Predictions | None = None

    def get(self, key: str, default=None):
        """A value from ``metrics.json``, else from ``config.yaml``, else ``default``."""
        if self.metrics.get(key) is not None:
            return self.metrics[key]
        if self.config.get(key) is not None:
            return self.config[key]
        return default

    @property
    def model(self) -> str | None:
        return self.get("model") or self.config.get("model_name_or_path")


def read_predictions(path: str | Path) -> Predictions:
    """Read a ``token gold predicted`` file, sentences separated by blank lines.

    Tags are kept exactly as written (no repair), so that strict scoring sees what the
    model produced.

    Raises:
        InputError: naming the file and line of a malformed line.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError("no such file; expected the run's predictions", path=str(path))
    out = Predictions([], [], [])
    cur: tuple[list[str], list[str], list[str]] = ([], [], [])
    with open(path, encoding="utf-8") as f:
        for lineno, raw in enumerate(f, 1):
            cols = raw.split()
            if not cols:
                _flush(out, cur)
                cur = ([], [], [])
                continue
            if cols[0] == "-DOCSTART-":
                continue
            if len(cols) != 3:
                raise InputError(
                    f"expected 3 columns (token, gold tag, predicted tag), found {len(cols)}",
                    str(path),
                    lineno,
                )
            for col, value in zip(cur, cols):
                col.append(value)
    _flush(out, cur)
    if not out.tokens:
        raise InputError("no sentences found; expected token/gold/pred lines", path=str(path))
    return out


def _flush(out: Predictions, cur: tuple[list[str], list[str], list[str]]) -> None:
    if cur[0]:
        out.tokens.append(cur[0])
        out.gold.append(cur[1])
        out.pred.append(cur[2])


def read_metrics(path: str | Path) -> dict:
    """A ``metrics.json`` (the file, or the run directory holding it).

    Raises:
        InputError: a missing file, bad JSON (naming the line) or not an object.
    """
    path = Path(path)
    path = path / METRICS_FILE if path.is_dir() else path
    if not path.is_file():
        raise InputError("no such file; expected the run's metrics", path=str(path))
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise InputError(f"not valid JSON ({e.msg})", str(path), e.lineno) from None
    if not isinstance(data, dict):
        raise InputError("expected a JSON object of metrics", path=str(path))
    return data


def flat_config(record: dict) -> dict:
    """A ``config.yaml`` as one mapping of option names: the ``model``, ``data`` and
    ``training`` groups' keys lifted to the top (``format_options`` stays a mapping). A
    flat, older record is returned as it is.

    Example:
        >>> flat_config({"model": {"lora_r": 8}, "training": {"seed": 1}, "labels": {}})
        {'labels': {}, 'lora_r': 8, 'seed': 1}
    """
    flat = {k: v for k, v in record.items() if not (k in CONFIG_GROUPS and isinstance(v, dict))}
    for group in CONFIG_GROUPS:
        if isinstance(record.get(group), dict):
            flat.update(record[group])
    return flat


def read_config(path: str | Path) -> dict:
    """A run's ``config.yaml`` (``path`` is the run directory or the file), its groups
    flattened (:func:`flat_config`); ``{}`` when there is none."""
    path = Path(path)
    return _read_config(path / CONFIG_FILE if path.is_dir() else path)


def _read_config(path: Path) -> dict:
    if not path.is_file():
        return {}
    data = parse_yaml(path.read_text(encoding="utf-8"), path)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InputError("expected a YAML mapping of config keys", path=str(path))
    return flat_config(data)


def load_run(path: str | Path, name: str | None = None) -> Run:
    """Load one run directory.

    ``metrics.json`` and ``predictions.conll`` are required; ``config.yaml`` is optional.

    Raises:
        InputError: naming the missing or malformed file.
    """
    path = Path(path)
    if not path.is_dir():
        raise InputError("no such directory; expected a run directory", path=str(path))
    return Run(
        path=path,
        name=name or path.resolve().name,
        config=_read_config(path / CONFIG_FILE),
        metrics=read_metrics(path / METRICS_FILE),
        predictions=read_predictions(path / PREDICTIONS_FILE),
    )


def load_runs(paths: list[str | Path]) -> list[Run]:
    """Load several run directories, giving each a unique short name.

    Runs whose directory names clash are named by their parent too (``a/run``, ``b/run``),
    then numbered if that is not enough.
    """
    resolved = [Path(p).resolve() for p in paths]
    base = [p.name for p in resolved]
    names = [f"{p.parent.name}/{p.name}" if base.count(p.name) > 1 else p.name for p in resolved]
    seen: dict[str, int] = {}
    unique = list(names)
    for i, n in enumerate(names):
        seen[n] = seen.get(n, 0) + 1
        if names.count(n) > 1:
            unique[i] = f"{n}#{seen[n]}"
    names = unique
    return [load_run(p, n) for p, n in zip(paths, names)]


def write_run(
    path: str | Path,
    gold: list[list[str]],
    pred: list[list[str]],
    tokens: list[list[str]] | None = None,
    metrics: dict | None = None,
    config: dict | None = None,
) -> Path:
    """Write a run directory that :func:`load_run` reads.

    ``metrics.json`` holds :func:`llmner.eval.scoring.score` of ``gold`` and ``pred``,
    updated with ``metrics``; ``config.yaml`` holds ``config``.

    Args:
        path: the directory (created if needed).
        gold: gold IOB2 tags per sentence.
        pred: predicted tags per sentence.
        tokens: the tokens; ``w0 w1 ...`` if not given.
        metrics: extra or overriding metrics (timings, model, format, ...).
        config: the resolved config.

    Example:
        >>> import tempfile
        >>> d = write_run(tempfile.mkdtemp(), [["B-PER", "O"]], [["B-PER", "O"]])
        >>> load_run(d).metrics["f1"]
        1.0
    """
    # seqeval loads scikit-learn (about 2 s): keeps llmner.rundir, which the command
    # line's --model check reads, light
    from llmner.eval.scoring import score

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    if tokens is None:
        tokens = [[f"w{i}" for i in range(len(g))] for g in gold]
    write_config(path, config or {})
    write_predictions(path, tokens, gold, pred)
    write_metrics(path, {**score(gold, pred), **(metrics or {})})
    return path


def write_config(run_dir: str | Path, config: dict) -> None:
    """``config.yaml``: the resolved config, keys in the order given."""
    write_text_atomic(Path(run_dir) / CONFIG_FILE, yaml.safe_dump(config, sort_keys=False))


def write_metrics(run_dir: str | Path, metrics: dict) -> None:
    """``metrics.json``; written last, so a run directory with it is complete. The
    writing process adds its :func:`~llmner.provenance.provenance` (the code, versions
    and device that made these scores), replacing any it was given."""
    write_json_atomic(Path(run_dir) / METRICS_FILE, {**metrics, "provenance": provenance()})


def write_predictions(
    run_dir: str | Path, tokens: list[list[str]], gold: list[list[str]], pred: list[list[str]]
) -> None:
    """``predictions.conll``: token, gold tag, predicted tag."""
    with atomic_file(Path(run_dir) / PREDICTIONS_FILE) as tmp:
        write_conll(tmp, list(zip(tokens, gold, pred)))


def clear_results(run_dir: str | Path) -> None:
    """Remove the results of an earlier, killed attempt before a run starts again."""
    for name in (METRICS_FILE, PREDICTIONS_FILE):
        (Path(run_dir) / name).unlink(missing_ok=True)


def run_facts(config: dict, eval_data: str, format_options: dict, num_processes: int = 1) -> dict:
    """What every ``metrics.json`` says about the run besides its scores: the model,
    format and options, quantization, seed, the data scored and the process's memory.

    Example:
        >>> f = run_facts({"model_name_or_path": "m", "format": "tagging"}, "x:test", {})
        >>> f["model"], f["format"], f["eval_data"]
        ('m', 'tagging', 'x:test')
    """
    return {
        "model": config.get("model_name_or_path"),
        "format": config.get("format", "tagging"),
        "quantization": config.get("quantization"),
        "seed": config.get("seed"),
        "eval_data": eval_data,
        "peak_rss_mb": peak_rss_mb(),
        "num_processes": num_processes,
        "format_options": format_options,
    }
