"""The quick start: a 4-bit decoder with LoRA and an encoder baseline on the same data,
scored side by side.

    accelerate launch --config_file recipes/accelerate/one_process.yaml recipes/quickstart.py \
        [--output_dir runs/quickstart]

Runs ``recipes/configs/quickstart/decoder.yaml`` and ``encoder.yaml`` (bundled BC5CDR,
documented subsets), writes both run directories and ``summary.md``, and prints the table.
Any further ``--flag value`` pairs override both configs.
"""

import argparse
import sys
from pathlib import Path

from lab.side_by_side import side_by_side

from llmner.config import parse_args, resolve_defaults
from llmner.errors import InputError
from llmner.train.run import run_finetune

CONFIGS = Path(__file__).parent / "configs" / "quickstart"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output_dir", default="runs/quickstart")
    parser.add_argument("--decoder_config", default=str(CONFIGS / "decoder.yaml"))
    parser.add_argument("--encoder_config", default=str(CONFIGS / "encoder.yaml"))
    args, overrides = parser.parse_known_args(argv)
    out = Path(args.output_dir)
    results = {}
    try:
        for name, config in (("decoder", args.decoder_config), ("encoder", args.encoder_config)):
            cfg = parse_args(["--config", config, "--output_dir", str(out / name), *overrides])
            cfg = resolve_defaults(cfg)
            model = cfg.model
            where = f"{model.model_name_or_path} ({model.quantization}) -> {cfg.output_dir}"
            print(f"== {name}: {where}")
            results[f"{name} ({cfg.model.model_name_or_path})"] = run_finetune(cfg)
    except InputError as e:
        print(f"quickstart: error: {e}", file=sys.stderr)
        return 2
    table = side_by_side(results)
    (out / "summary.md").write_text(table + "\n", encoding="utf-8")
    print("\nStrict seqeval scores on the test sentences:\n")
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
