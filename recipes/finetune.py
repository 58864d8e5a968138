"""Fine-tune a model for NER and score it: ``accelerate launch recipes/finetune.py``.

    accelerate launch recipes/finetune.py --config recipes/configs/smollm2-135m/tagging_qlora.yaml
    accelerate launch recipes/finetune.py --quantization none --max_train_samples 500

Every option is a field of :class:`llmner.config.RunConfig`; ``--config FILE.yaml``
sets defaults that flags override. The run directory is ``--output_dir``. A mistake in the
input (a missing file, a malformed line, an unknown option) prints one line and exits with
status 2; ``--debug`` shows the traceback instead.
"""

import sys

from llmner.config import parse_args
from llmner.errors import InputError


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    argv = [a for a in argv if a != "--debug"]
    try:
        cfg = parse_args(argv)  # a mistyped flag is refused before the training stack loads
        from llmner.train.run import run_finetune

        metrics = run_finetune(cfg)
    except InputError as e:
        if debug:
            raise
        print(f"finetune: error: {e}", file=sys.stderr)
        return 2
    print(
        f"{cfg.output_dir}: strict F1 {metrics['f1']:.4f} (P {metrics['precision']:.4f}, "
        f"R {metrics['recall']:.4f}) on {metrics['num_eval_sentences']} sentences; "
        f"trained {metrics['train_seconds']:.0f} s at {metrics['train_tokens_per_second']:.0f} "
        "tokens/s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
