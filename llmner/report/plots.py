"""The comparison plots, drawn with matplotlib's Agg backend (no display needed).

Each function takes the loaded runs and a file to write, and returns that path, or
``None`` when no run has the numbers the plot needs.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import FuncFormatter, NullFormatter  # noqa: E402

from llmner.report.tables import train_rates  # noqa: E402
from llmner.rundir import Run  # noqa: E402

__all__ = [
    "PALETTE",
    "plot_f1_vs_time",
    "plot_learning_curve",
    "plot_per_type_f1",
    "plot_throughput",
]

# Okabe-Ito: distinguishable for colour-blind readers and in greyscale print.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]

_NICE_SECONDS = [1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400, 28800,
                 86400, 172800, 345600]  # fmt: skip

_STYLE = {
    "figure.dpi": 110,
    "savefig.dpi": 130,
    "font.size": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.grid.axis": "y",
    "grid.alpha": 0.3,
    "axes.titleweight": "bold",
    "legend.frameon": False,
}


@contextmanager
def _figure(width: float, height: float):
    with plt.rc_context(_STYLE):
        fig, ax = plt.subplots(figsize=(width, height))
        try:
            yield fig, ax
        finally:
            plt.close(fig)


def _color(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def _num(value) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _duration(seconds: float) -> str:
    """A compact tick label: ``45s``, ``20m``, ``3h``.

    Example:
        >>> _duration(45), _duration(1200), _duration(5400)
        ('45s', '20m', '1.5h')
    """
    if seconds < 60:
        return f"{seconds:.3g}s"
    if seconds < 3600:
        return f"{seconds / 60:.3g}m"
    return f"{seconds / 3600:.3g}h"


def plot_per_type_f1(runs: list[Run], path: str | Path) -> Path | None:
    """Grouped bars: strict F1 per entity type, one bar per run in each group."""
    types = sorted({t for r in runs for t in (r.metrics.get("per_type") or {})})
    if not types:
        return None
    width = 0.8 / len(runs)
    x = np.arange(len(types))
    with _figure(max(6.0, 1.2 * len(types) + 2), 4.0) as (fig, ax):
        for i, run in enumerate(runs):
            per_type = run.metrics.get("per_type") or {}
            values = [float((per_type.get(t) or {}).get("f1", np.nan)) for t in types]
            ax.bar(x - 0.4 + width * (i + 0.5), values, width, label=run.name, color=_color(i))
        rotate = len(types) > 4
        ax.set_xticks(x, types, rotation=30 if rotate else 0, ha="right" if rotate else "center")
        ax.set_ylim(0, 1.05)
        ax.set_ylabel("strict F1")
        ax.set_title("F1 per entity type")
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
        fig.tight_layout()
        fig.savefig(path)
    return Path(path)


def plot_f1_vs_time(runs: list[Run], path: str | Path) -> Path | None:
    """Scatter of strict F1 against training time; log x when times span 20x or more.

    The F1 axis runs from 0 to 1: scaled to the data, a gap of a few thousandths (within
    the bootstrap's interval) would fill the plot and look large.
    """
    points = [
        (i, r, _num(r.metrics.get("train_seconds")), _num(r.metrics.get("f1")))
        for i, r in enumerate(runs)
    ]
    points = [(i, r, t, f) for i, r, t, f in points if t is not None and t > 0 and f is not None]
    if not points:
        return None
    with _figure(6.5, 4.0) as (fig, ax):
        for i, run, t, f1 in points:
            ax.scatter(t, f1, s=60, color=_color(i), zorder=3, label=run.name)
            ax.annotate(run.name, (t, f1), xytext=(6, 4), textcoords="offset points", fontsize=8)
        times = [t for _, _, t, _ in points]
        if max(times) / min(times) >= 20:
            ax.set_xscale("log")
            ax.xaxis.set_minor_formatter(NullFormatter())
        ax.margins(x=0.2)
        ax.set_ylim(0, 1.05)
        low, high = ax.get_xlim()
        nice = [t for t in _NICE_SECONDS if low <= t <= high]
        if ax.get_xscale() == "log" and len(nice) >= 2:
            ax.set_xticks(nice[:: max(1, len(nice) // 6)])
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: _duration(v)))
        ax.grid(True, axis="both", alpha=0.3)
        ax.set_xlabel("training time" + (" (log scale)" if ax.get_xscale() == "log" else ""))
        ax.set_ylabel("strict F1")
        ax.set_title("F1 against training time")
        fig.tight_layout()
        fig.savefig(path)
    return Path(path)


def plot_throughput(runs: list[Run], path: str | Path) -> Path | None:
    """Two bar panels: training sub-tokens per second (runs that count words, such as
    spaCy, show ``–``) and evaluation sentences per second."""
    panels = [
        (lambda m: train_rates(m)[0], "training sub-tokens / s"),
        (lambda m: m.get("eval_sentences_per_second"), "evaluation sentences / s"),
    ]
    if not any(_num(get(r.metrics)) for r in runs for get, _ in panels):
        return None
    names = [r.name for r in runs]
    with plt.rc_context(_STYLE):
        fig, axes = plt.subplots(1, 2, figsize=(max(7.0, 1.1 * len(runs) + 4), 3.8))
        try:
            for ax, (get, label) in zip(axes, panels):
                values = [_num(get(r.metrics)) for r in runs]
                y = np.arange(len(runs))
                ax.barh(y, [v or 0 for v in values], color=[_color(i) for i in range(len(runs))])
                for yi, v in zip(y, values):
                    ax.annotate(
                        "–" if v is None else f"{v:,.0f}",
                        (v or 0, yi),
                        xytext=(3, 0),
                        textcoords="offset points",
                        va="center",
                        fontsize=8,
                    )
                ax.set_yticks(y, names)
                ax.invert_yaxis()
                ax.grid(True, axis="x", alpha=0.3)
                ax.grid(False, axis="y")
                ax.set_title(label)
            fig.savefig(path, bbox_inches="tight")  # long run names: fit the labels, no warning
        finally:
            plt.close(fig)
    return Path(path)


def plot_learning_curve(points: list[tuple[str, int, float]], path: str | Path) -> Path | None:
    """Strict F1 against training sentences from ``(configuration, sentences, F1)``
    points: a line per configuration through the mean over seeds (bars: the sample sd),
    each seed a dot; log x when the sizes span 10x or more."""
    if not points:
        return None
    names = list(dict.fromkeys(name for name, _, _ in points))
    with _figure(6.5, 4.0) as (fig, ax):
        for i, name in enumerate(names):
            by_size: dict[int, list[float]] = {}
            for n, size, f1 in points:
                if n == name:
                    by_size.setdefault(size, []).append(f1)
            sizes = sorted(by_size)
            means = [float(np.mean(by_size[s])) for s in sizes]
            sds = [float(np.std(by_size[s], ddof=1)) if len(by_size[s]) > 1 else 0.0 for s in sizes]
            ax.errorbar(sizes, means, yerr=sds, color=_color(i), marker="o", capsize=3,
                        label=name, zorder=3)  # fmt: skip
            for s in sizes:
                ax.scatter([s] * len(by_size[s]), by_size[s], s=12, color=_color(i), alpha=0.35)
        sizes = [s for _, s, _ in points]
        if max(sizes) >= 10 * max(min(sizes), 1):
            ax.set_xscale("log")
            ax.xaxis.set_minor_formatter(NullFormatter())
            ticks = sorted(set(sizes))
            ax.set_xticks(ticks, [f"{t:,}" for t in ticks])
        ax.grid(True, axis="both", alpha=0.3)
        ax.set_xlabel("training sentences" + (" (log scale)" if ax.get_xscale() == "log" else ""))
        ax.set_ylabel("strict F1")
        ax.set_title("Learning curve")
        ax.legend(loc="lower right", fontsize=8)
        fig.tight_layout()
        fig.savefig(path)
    return Path(path)
