"""How llmner measures itself: training and generation benchmarks on random-weight models
(:mod:`lab.bench`), the results pages' generated tables (:mod:`lab.pages`), seeds reused
and pooled by the benchmark (:mod:`lab.seeds`) and the quick start's table
(:mod:`lab.side_by_side`).

Not part of the installed package: the recipes import it as ``lab`` (their folder is on
``sys.path`` when run as ``python recipes/NAME.py``), and the tests put ``recipes/`` on
the path in ``tests/conftest.py``.
"""
