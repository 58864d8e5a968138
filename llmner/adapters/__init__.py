"""Adapters after training: merge into the base, combine several, export to share.

Finding and loading a run, adapter, exported or merged folder is the run directory's
(:mod:`llmner.rundir.source`, re-exported here):

* :mod:`~llmner.adapters.merge`: ``merge_and_unload`` into a standalone model folder;
* :mod:`~llmner.adapters.combine`: ``add_weighted_adapter`` plus the head rule for label sets;
* :mod:`~llmner.adapters.export`, :mod:`~llmner.adapters.card`: the shareable folder.
"""

from llmner.adapters.combine import METHODS, combine_adapters
from llmner.adapters.export import export_run, push_to_hub, verify_sums
from llmner.adapters.merge import merge_adapter, merge_model
from llmner.rundir.source import ModelSource, load_model, locate

__all__ = [
    "METHODS",
    "ModelSource",
    "combine_adapters",
    "export_run",
    "load_model",
    "locate",
    "merge_adapter",
    "merge_model",
    "push_to_hub",
    "verify_sums",
]
