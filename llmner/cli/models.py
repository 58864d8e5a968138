"""``llmner models``: the named models, whether each is installed, and where each one's
weights come from; for models shipped in parts, the packages, the pinned SHA-256 and the
command that fetches them."""

from __future__ import annotations

from llmner.models.registry import MODELS, wheel_dir

__all__ = ["register"]


def register(sub) -> None:
    p = sub.add_parser("models", help="list the named models and whether each is installed")
    p.set_defaults(func=run)


def run(args) -> int:
    rows = [("name", "kind", "installed", "converted", "licence", "hub original / install")]
    for m in MODELS.values():
        converted = "n/a"
        if m.from_gguf or m.parts:
            converted = "yes" if m.cached() else "no"
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
    _print_parts()
    print("\nAny Hugging Face id or local folder works as --model_name_or_path too.")
    return 0


def _print_parts() -> None:
    """Where each model in parts is read from, what it must hash to, how to fetch it."""
    print("\nParts (each part and the assembled file checked against a pinned SHA-256):")
    for m in MODELS.values():
        if m.parts is None:
            continue
        parts = m.parts
        where = f"wheels in {wheel_dir()} ($LLMNER_WHEELS)" if parts.source == "wheels" else ""
        print(f"  {m.name}: {len(parts.parts)} parts of {parts.describe()}{where and ', '}{where}")
        print(f"    assembled {parts.suffix}: {parts.size} bytes, SHA-256 {parts.sha256}")
        print(f"    fetch: {parts.command(wheel_dir())}")
