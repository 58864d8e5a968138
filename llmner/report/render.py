"""Lay the report out as markdown and as one self-contained html file.

Both renderers take a :class:`ReportData`; the html one inlines the PNG plots as base64,
so the file can be mailed or attached on its own.

Example:
    >>> spans = [("PER", 0, 2), ("LOC", 3, 4)]
    >>> highlight_md(["Ada", "Lovelace", "in", "London"], spans, focus=("PER", 0, 2))
    '**[Ada Lovelace]<sub>PER</sub>** in [London]<sub>LOC</sub>'
"""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass, field
from pathlib import Path

import jinja2

from llmner.markdown import Table, markdown_table
from llmner.report.errors import CATEGORIES, ErrorExample
from llmner.report.tables import Comparison

__all__ = [
    "ReportData",
    "RunErrors",
    "highlight_html",
    "highlight_md",
    "to_html",
    "to_markdown",
]


CATEGORY_TITLES = {
    "correct": "correct",
    "wrong_type": "wrong type (same boundaries)",
    "wrong_boundary": "wrong boundary (same type)",
    "wrong_boundary_type": "wrong boundary and type",
    "missed": "missed",
    "spurious": "spurious",
}


@dataclass
class RunErrors:
    """One run's error analysis: counts per category and example sentences."""

    name: str
    table: Table
    examples: dict[str, list[ErrorExample]]


@dataclass
class ReportData:
    """Everything the report shows, already formatted as strings where it is a table."""

    summary: Table
    per_type: Table
    comparisons: list[Comparison]
    errors: list[RunErrors]
    plots: list[tuple[str, str]] = field(default_factory=list)
    #: learning curves: (folder, table, plot file or None)
    curves: list[tuple[str, Table, str | None]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    runs: list[tuple[str, str]] = field(default_factory=list)
    n_resamples: int = 1000
    seed: int = 0


def _md_escape(text: str) -> str:
    for ch in "\\`*_[]<>|":
        text = text.replace(ch, "\\" + ch)
    return text


def _highlight(tokens, spans, focus, esc, wrap) -> str:
    starts = {s[1]: s for s in spans}
    out, i = [], 0
    while i < len(tokens):
        span = starts.get(i)
        if span is None:
            out.append(esc(tokens[i]))
            i += 1
            continue
        text = " ".join(esc(t) for t in tokens[span[1] : span[2]])
        out.append(wrap(text, span[0], span == focus))
        i = span[2]
    return " ".join(out)


def highlight_md(tokens: list[str], spans, focus=None) -> str:
    """Tokens with each span bracketed and typed; the ``focus`` span in bold."""

    def wrap(text, etype, is_focus):
        s = f"[{text}]<sub>{_md_escape(etype)}</sub>"
        return f"**{s}**" if is_focus else s

    return _highlight(tokens, spans, focus, _md_escape, wrap)


def highlight_html(tokens: list[str], spans, focus=None, side: str = "gold") -> str:
    """Tokens with each span in a ``<mark>`` of class ``side`` (and ``focus``).

    Example:
        >>> highlight_html(["Ada", "<b>"], [("PER", 0, 1)], side="pred")
        '<mark class="pred">Ada<sub>PER</sub></mark> &lt;b&gt;'
    """

    def wrap(text, etype, is_focus):
        cls = f"{side} focus" if is_focus else side
        return f'<mark class="{cls}">{text}<sub>{html.escape(etype)}</sub></mark>'

    return _highlight(tokens, spans, focus, html.escape, wrap)


def _p_cell(p_text: str) -> str:
    return p_text.removeprefix("p = ").removeprefix("p ")


def _comparison_table(comparisons: list[Comparison]) -> Table:
    headers = ["A", "B", "F1 A", "F1 B", "Δ F1 (B − A)", "95% interval", "p", "verdict"]
    rows = []
    for c in comparisons:
        r = c.result
        if r is None:
            rows.append([c.a, c.b, "–", "–", "–", "–", "–", f"not compared: {c.refused}"])
        else:
            rows.append([
                c.a, c.b, f"{r.f1_a:.4f}", f"{r.f1_b:.4f}", f"{r.delta:+.4f}",
                f"[{r.low:+.4f}, {r.high:+.4f}]", _p_cell(r.p_text), c.verdict,
            ])  # fmt: skip
    return headers, rows


def to_markdown(data: ReportData) -> str:
    """The report as GitHub-flavoured markdown (plots referenced as files beside it)."""
    out = ["# NER run comparison", ""]
    out += [f"- `{name}`: {path}" for name, path in data.runs] + [""]
    out += ["Scores: strict = seqeval `mode=\"strict\", scheme=IOB2`; default = seqeval's "
            "conlleval-compatible mode.", ""]  # fmt: skip
    out += [f"> **Note:** {n}" for n in data.notes] + ([""] if data.notes else [])
    out += ["## Runs", "", *markdown_table(data.summary), "", "## F1 per entity type", ""]
    out += [*markdown_table(data.per_type), ""]
    for title, file in data.plots:
        out += [f"![{title}]({file})", ""]
    for root, table, file in data.curves:
        out += [f"## Learning curve: {root}", "", *markdown_table(table), ""]
        out += [f"![learning curve]({file})", ""] if file else []
    out += ["## Significance: paired bootstrap over sentences", ""]
    out += [
        f"{data.n_resamples} resamples (seed {data.seed}) of the test sentences, the same "
        "draw for both runs; strict F1 on each; two-sided p-value for no difference.",
        "",
    ]
    if data.comparisons:
        out += [*markdown_table(_comparison_table(data.comparisons)), ""]
    else:
        out += ["Only one run: nothing to compare.", ""]
    out += ["## Error analysis (SemEval-2013 categories)", ""]
    for run in data.errors:
        out += [f"### {run.name}", "", *markdown_table(run.table), ""]
        for cat in CATEGORIES:
            examples = run.examples.get(cat) or []
            if not examples:
                continue
            out += [f"**{CATEGORY_TITLES[cat]}**", ""]
            for ex in examples:
                out.append(f"- sentence {ex.sentence + 1}  ")
                out.append(f"  gold: {highlight_md(ex.tokens, ex.gold_spans, ex.outcome.gold)}  ")
                out.append(f"  pred: {highlight_md(ex.tokens, ex.pred_spans, ex.outcome.pred)}")
            out.append("")
    return "\n".join(out).rstrip() + "\n"


_HTML = jinja2.Template(
    """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>NER run comparison</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;max-width:1200px;margin:2em auto;
padding:0 1em;color:#222;line-height:1.45}
h1,h2,h3{font-weight:600}h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;margin:1em 0;font-size:.88em;display:block;overflow-x:auto}
th,td{padding:.35em .7em;border-bottom:1px solid #e5e5e5;text-align:right;white-space:nowrap}
th{background:#f6f8fa}td:first-child,th:first-child{text-align:left}
tr:hover td{background:#fafafa}img{max-width:100%;margin:.5em 0}
.note{background:#fff8e1;border-left:4px solid #E69F00;padding:.5em 1em}
mark{padding:0 .2em;border-radius:3px}mark sub{font-size:.7em;margin-left:.2em;color:#555}
mark.gold{background:#d7ecff}mark.pred{background:#ffe8cc}
mark.focus{outline:2px solid #D55E00;font-weight:600}
.ex{margin:.3em 0 .8em 0}.ex div{margin:.1em 0}.lbl{display:inline-block;width:3em;color:#777}
code{background:#f3f3f3;padding:0 .2em}
</style></head><body>
<h1>NER run comparison</h1>
<ul>{% for name, path in data.runs %}<li><code>{{ name }}</code>: {{ path }}</li>{% endfor %}</ul>
<p>Scores: strict = seqeval <code>mode="strict", scheme=IOB2</code>; default = seqeval's
conlleval-compatible mode.</p>
{% for n in data.notes %}<p class="note">{{ n }}</p>{% endfor %}
<h2>Runs</h2>{{ table(data.summary) }}
<h2>F1 per entity type</h2>{{ table(data.per_type) }}
{% for title, src in images %}<figure><img alt="{{ title }}" src="{{ src }}"></figure>{% endfor %}
{% for root, rows, src in curves %}<h2>Learning curve: {{ root }}</h2>{{ table(rows) }}
{% if src %}<figure><img alt="learning curve" src="{{ src }}"></figure>{% endif %}{% endfor %}
<h2>Significance: paired bootstrap over sentences</h2>
<p>{{ data.n_resamples }} resamples (seed {{ data.seed }}) of the test sentences, the same draw
for both runs; strict F1 on each; two-sided p-value for no difference.</p>
{% if data.comparisons %}{{ table(comparisons) }}{% else %}<p>Only one run: nothing to
compare.</p>{% endif %}
<h2>Error analysis (SemEval-2013 categories)</h2>
{% for run in data.errors %}<h3>{{ run.name }}</h3>{{ table(run.table) }}
{% for cat in categories %}{% if run.examples.get(cat) %}<h4>{{ titles[cat] }}</h4>
{% for ex in run.examples[cat] %}<div class="ex"><div><span class="lbl">#{{ ex.sentence + 1 }}
</span></div><div><span class="lbl">gold</span> {{ hl(ex.tokens, ex.gold_spans, ex.outcome.gold,
"gold") }}</div><div><span class="lbl">pred</span> {{ hl(ex.tokens, ex.pred_spans,
ex.outcome.pred, "pred") }}</div></div>{% endfor %}{% endif %}{% endfor %}{% endfor %}
</body></html>
""",
    autoescape=True,
)


def _html_table(table: Table) -> jinja2.utils.Markup:
    headers, rows = table
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>" for row in rows
    )
    return jinja2.utils.markupsafe.Markup(f"<table><tr>{head}</tr>{body}</table>")


def to_html(data: ReportData, plot_dir: str | Path) -> str:
    """The report as one html page; plots from ``plot_dir`` inlined as base64 PNG."""

    def inline(file: str) -> str:
        encoded = base64.b64encode((Path(plot_dir) / file).read_bytes()).decode("ascii")
        return f"data:image/png;base64,{encoded}"

    images = [(title, inline(file)) for title, file in data.plots]
    curves = [(root, table, inline(file) if file else None) for root, table, file in data.curves]
    markup = jinja2.utils.markupsafe.Markup
    return _HTML.render(
        data=data,
        images=images,
        curves=curves,
        comparisons=_comparison_table(data.comparisons),
        table=_html_table,
        hl=lambda *a: markup(highlight_html(*a)),
        categories=CATEGORIES,
        titles=CATEGORY_TITLES,
    )
