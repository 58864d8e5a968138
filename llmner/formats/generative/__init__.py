"""The generative formulation: prompt templates, answers, parsing, alignment, decoding.

Modules, in the order a sentence flows through them: ``templates`` (versioned prompt
files), ``answers`` (the gold answer text), ``encode`` (token ids, prompt masked),
``constrain``, ``tokens`` and ``decoding`` (constrained, batched generation with
jump-forward), ``parse`` (text to mentions), ``align`` (mentions to IOB2), and ``format``
(the :class:`GenerativeFormat` that ties them together).
"""

from llmner.formats.generative.align import ALIGNMENT_MODES, align_mentions
from llmner.formats.generative.answers import ANSWER_FORMATS, render_answer
from llmner.formats.generative.format import DEFAULT_PROMPT, GenerativeFormat, default_lookahead
from llmner.formats.generative.parse import Mention, ParseResult, parse_answer
from llmner.formats.generative.templates import list_templates, load_template

__all__ = [
    "ALIGNMENT_MODES",
    "ANSWER_FORMATS",
    "DEFAULT_PROMPT",
    "GenerativeFormat",
    "default_lookahead",
    "Mention",
    "ParseResult",
    "align_mentions",
    "list_templates",
    "load_template",
    "parse_answer",
    "render_answer",
]
