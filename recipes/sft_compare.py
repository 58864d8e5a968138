"""A generative run trained by trl's ``SFTTrainer`` instead of llmner's trainer, scored the
same way: the measurement behind llmner not depending on trl (``docs/results/trl-sft.md``).

    pip install trl
    python recipes/sft_compare.py --config recipes/configs/sft/generative.yaml \
        --dataset ../shared/data/bc5cdr --output_dir runs/sft/sft-s13 --seed 13
    python recipes/finetune.py --config recipes/configs/sft/generative.yaml \
        --dataset ../shared/data/bc5cdr --output_dir runs/sft/llmner-s13 --seed 13
    python recipes/sft_compare.py --config recipes/configs/sft/generative.yaml \
        --dataset ../shared/data/bc5cdr --output_dir runs/sft/masks --masks_only

Takes ``finetune.py``'s options. The run directory holds ``config.yaml`` (with
``trainer: trl.SFTTrainer``), ``metrics.json`` (with ``mask_comparison``: the tokens each
trainer trains on, example by example) and the adapter. ``--masks_only`` writes the mask
comparison to ``masks.json`` and trains nothing.
"""

import json
import sys
from pathlib import Path

from llmner.config import parse_args
from llmner.errors import InputError


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    masks_only = "--masks_only" in argv
    argv = [a for a in argv if a != "--masks_only"]
    try:
        cfg = parse_args(argv)
        from lab.sft import mask_report, train_with_sft

        from llmner.train.score import score_run

        if masks_only:
            report = mask_report(cfg)
            Path(cfg.output_dir).mkdir(parents=True, exist_ok=True)
            (Path(cfg.output_dir) / "masks.json").write_text(json.dumps(report, indent=2) + "\n")
            print(json.dumps({k: v for k, v in report.items() if "only" not in k}))
            return 0
        run, _ = train_with_sft(cfg)
        metrics = score_run(run)
    except InputError as e:
        print(f"sft_compare: error: {e}", file=sys.stderr)
        return 2
    print(
        f"{cfg.output_dir}: strict F1 {metrics['f1']:.4f} on {metrics['num_eval_sentences']} "
        f"sentences; trained {metrics['train_seconds']:.0f} s at "
        f"{metrics['train_tokens_per_second']:.0f} tokens/s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
