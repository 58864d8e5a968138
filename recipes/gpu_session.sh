#!/usr/bin/env bash
# One command for a GPU machine: the measurements that need a GPU, in priority order, each
# under its own time limit, everything written under $OUT (default runs/gpu-session).
#
#   bash recipes/gpu_session.sh wheels   # first, where the package index is: .whl/
#   bash recipes/gpu_session.sh          # then on the GPU machine, from the repository root
#   GPU_SESSION_DRY=1 bash recipes/gpu_session.sh   # print each step's command, run nothing
#
# Steps (seconds at most; the whole stays under SESSION_SECONDS, default 540):
#   setup      45  install .whl/*.whl into /tmp/site (the image lacks bitsandbytes, datasets,
#                  seqeval, fastapi ...), print versions and the GPU
#   fit-check 280  recipes/fit_check.py on four configs, one per model, biggest first
#                  (24, 48 and 80 GB; 265 s of its own budget, at most 100 s a config)
#   journey   110  recipes/journey.py on the Llama-3.2-1B shape, tagging config
#   fsdp      100  recipes/accelerate/fsdp_qlora.yaml at world size 1 on that 1B
#                  checkpoint: 5 steps saved (45 s), then resumed to step 10 (45 s), checked
#   deepspeed 100  the same with deepspeed_zero3.yaml (bf16 base), only where deepspeed
#                  imports: it is not a dependency of llmner, so usually not run
# Files back in $OUT: session.log, fit-check.{json,log}, journey.{json,log}, fsdp.log,
# deepspeed.log.
set -u
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO" || exit 2
OUT=${OUT:-$REPO/runs/gpu-session}
WORK=${WORK:-/tmp/llmner-gpu-session}
WHEELS=${WHEELS:-$REPO/.whl}
SESSION_SECONDS=${SESSION_SECONDS:-540}
DEADLINE=$(($(date +%s) + SESSION_SECONDS))
FIT_CONFIGS=${FIT_CONFIGS:-"llama-3.1-8b/tagging_repeat4_qlora qwen2.5-7b/generative_qlora mistral-7b-v0.3/generative_qlora llama-3.2-1b/tagging_repeat4_qlora"}
JOURNEY=recipes/configs/llama-3.2-1b/tagging_repeat4_qlora.yaml

if [[ ${1:-} == wheels ]]; then
    # The packages the GPU image lacks, at the versions installed here, for Python 3.12.
    mkdir -p "$WHEELS"
    names="bitsandbytes datasets dill multiprocess peft fastapi starlette pydantic pydantic_core
           annotated-types typing-inspection opentelemetry-api uvicorn"
    pins=$(python3 -c 'import sys; from importlib.metadata import version as v
print(" ".join(f"{n}=={v(n)}" for n in sys.argv[1:]))' $names) || exit 1
    # shellcheck disable=SC2086
    python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
        --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_24_x86_64 \
        --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d "$WHEELS" $pins &&
        python3 -m pip wheel -q --no-deps -w "$WHEELS" "seqeval==$(python3 -c \
            'from importlib.metadata import version; print(version("seqeval"))')" || exit 1
    exclude=$(git rev-parse --git-path info/exclude)
    mkdir -p "$(dirname "$exclude")"
    grep -qx '/.whl/' "$exclude" 2>/dev/null || echo '/.whl/' >>"$exclude"
    du -sh "$WHEELS"
    echo "carry .whl with the run (the working tree and the wheels must stay under 64 MiB)"
    exit 0
fi

step() { # step NAME SECONDS COMMAND...: run under min(SECONDS, time left), log to $OUT/NAME.log
    local name=$1 limit=$2 left start rc
    shift 2
    if [[ -n ${GPU_SESSION_DRY:-} ]]; then
        printf '%s' "$name"
        printf ' %q' "$@"
        echo
        return 0
    fi
    left=$((DEADLINE - $(date +%s)))
    ((limit > left)) && limit=$left
    if ((limit < 10)); then
        echo "== $name: not run, $left s left" | tee -a "$OUT/session.log"
        return 0
    fi
    echo "== $name (at most $limit s): $*" | tee -a "$OUT/session.log"
    start=$(date +%s)
    timeout --kill-after=10 "$limit" "$@" >>"$OUT/$name.log" 2>&1
    rc=$?
    echo "== $name: exit $rc after $(($(date +%s) - start)) s" | tee -a "$OUT/session.log"
    return 0
}

export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
export PYTHONPATH="$REPO:/tmp/site${PYTHONPATH:+:$PYTHONPATH}"

# -- setup: the missing packages, then what this machine is -------------------------------
if [[ -z ${GPU_SESSION_DRY:-} ]]; then
    mkdir -p "$OUT" "$WORK"
    {
        if compgen -G "$WHEELS/*.whl" >/dev/null; then
            timeout 45 python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
                --upgrade --target /tmp/site "$WHEELS"/*.whl
        else
            echo "no wheels in $WHEELS: bitsandbytes, datasets and seqeval must be installed"
        fi
        nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
        python3 -c 'import torch, llmner.provenance as p, llmner.train.run
print(torch.cuda.get_device_name(0), torch.version.cuda, p.provenance()["versions"])'
        df -h /dev/shm "$WORK" | tail -n +2
    } >>"$OUT/session.log" 2>&1
fi

# -- 1. will it fit: largest batches at 24, 48 and 80 GB against llmner plan ---------------
configs=()
for c in $FIT_CONFIGS; do configs+=("recipes/configs/$c.yaml"); done
step fit-check 280 python3 recipes/fit_check.py --config "${configs[@]}" \
    --max_seconds 100 --budget_seconds 265 --out "$OUT/fit-check.json"

# -- 2. the whole journey on a real shape ---------------------------------------------------
step journey 110 python3 recipes/journey.py --shape llama-3.2-1b --config "$JOURNEY" \
    --max_predict_samples 100 --workdir "$WORK/journey" --out "$OUT/journey.json"

# -- 3. FSDP-QLoRA and ZeRO-3 at world size 1: 5 steps saved, resumed to 10 ----------------
model=$WORK/journey/model # the journey's random 1B checkpoint and tokenizer
sharded() { # sharded NAME ACCELERATE_CONFIG EXTRA...: two launches, the second resumed
    local name=$1 config=$2
    shift 2
    local run=(--config "$JOURNEY" --model_name_or_path "$model" --output_dir "$WORK/$name"
        --eval_strategy no --save_strategy steps --save_steps 5 --max_predict_samples 50
        --score_raw_text false --logging_steps 1 "$@")
    step "$name" 45 accelerate launch --config_file "recipes/accelerate/$config" \
        --num_processes 1 recipes/finetune.py "${run[@]}" --max_steps 5
    step "$name" 45 accelerate launch --config_file "recipes/accelerate/$config" \
        --num_processes 1 recipes/finetune.py "${run[@]}" --max_steps 10 \
        --resume_from_checkpoint latest
    local check='import json, sys; m = json.load(open(sys.argv[1] + "/metrics.json")); '
    check+='print("train_steps", m["train_steps"], "checkpoints", sys.argv[2:])'
    step "$name" 10 python3 -c "$check" "$WORK/$name" "$WORK/$name"/checkpoints/*
}
sharded fsdp fsdp_qlora.yaml --quant_storage bfloat16
if [[ -n ${GPU_SESSION_DRY:-} ]] || python3 -c 'import deepspeed' 2>/dev/null; then
    sharded deepspeed deepspeed_zero3.yaml --quantization none
else
    echo "deepspeed is not installed (not a dependency of llmner): ZeRO-3 not run" |
        tee -a "$OUT/session.log" >"$OUT/deepspeed.log"
fi
if [[ -z ${GPU_SESSION_DRY:-} ]]; then
    rm -rf "$WORK"
    echo "== done: $OUT" | tee -a "$OUT/session.log"
fi
