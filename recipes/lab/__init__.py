"""How llmner measures itself: training and generation benchmarks (:mod:`lab.bench`) and
the results pages' generated tables (:mod:`lab.pages`).

Not part of the installed package: the recipes import it as ``lab`` (their folder is on
``sys.path`` when run as ``python recipes/NAME.py``), and the tests put ``recipes/`` on
the path in ``tests/conftest.py``.
"""
