"""``llmner models``: the named models, whether each is installed, and where each one's
weights come from."""

from __future__ import annotations

from llmner.models.registry import MODELS, cache_dir

__all__ = ["register"]


def register(sub) -> None:
    p = sub.add_parser("models", help="list the named models and whether each is installed")
    p.set_defaults(func=run)


def run(args) -> int:
    rows = [("name", "kind", "installed", "converted", "licence", "hub original / install")]
    for m in MODELS.values():
        converted = "n/a"
        if m.gguf_file or m.assemble:
            converted = (
                "yes" if (cache_dir() / "models" / m.name / "config.json").exists() else "no"
            )
        rows.append(
            (
                m.name,
                m.kind,
                "yes" if m.installed() else "no",
                converted,
                m.licence,
                m.hub_id if m.installed() else m.install,
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
    print("\nWeights:")
    for m in MODELS.values():
        print(f"  {m.name}: {m.weights_note()}")
    print("\nAny Hugging Face id or local folder works as --model_name_or_path too.")
    return 0
