"""Throughput and memory benchmarks of llmner's training and generation paths on
random-initialised models of realistic size (see ``recipes/bench_gpu.py``), and
:func:`~lab.bench.generation.time_generation`, batched against one-at-a-time
generation with a real format (``recipes/bench_generation.py``)."""

from lab.bench.runner import BenchPlan, peak_bf16_tflops, run_bench
from lab.bench.table import format_tables

__all__ = ["BenchPlan", "format_tables", "peak_bf16_tflops", "run_bench"]
