"""Time a test run and record it as a run file, for the README's statement of how long the
quick loop takes.

    python recipes/time_tests.py --out recipes/results/tests/quick-loop.json
    python recipes/time_tests.py --out recipes/results/tests/full.json --marks ""

Runs ``python -m pytest -q -m MARKS`` (``not slow`` by default) from the repository root
and writes the command, its wall time, the pytest summary counts, the load average before
and after (to show whether the machine was otherwise idle) and the provenance of the
process. The exit status is pytest's.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from llmner.provenance import mark_start, provenance

ROOT = Path(__file__).resolve().parent.parent
COUNT = re.compile(r"(\d+) (passed|failed|skipped|errors?|deselected|xfailed|xpassed)")


def summary_counts(output: str) -> dict[str, int]:
    """The counts of pytest's last summary line.

    Example:
        >>> summary_counts("...\\n1315 passed, 6 skipped, 40 deselected in 328.12s\\n")
        {'passed': 1315, 'skipped': 6, 'deselected': 40}
    """
    lines = [ln for ln in output.splitlines() if re.search(r" in [\d.]+s", ln)]
    return {kind: int(n) for n, kind in COUNT.findall(lines[-1])} if lines else {}


def timings_table(records: list[dict]) -> str:
    """One row per timed test run: its command, counts, wall time, load and provenance."""
    from llmner.markdown import markdown_table
    from llmner.provenance import device_label, short_commit
    from llmner.report.cells import fmt

    headers = ["command", "passed", "skipped", "failed", "wall time", "load before", "commit"]
    headers.append("device")
    rows = [
        [
            f"`{r['command']}`",
            fmt(r.get("passed", 0), "int"),
            fmt(r.get("skipped", 0), "int"),
            fmt(r.get("failed", 0), "int"),
            fmt(r["seconds"], "seconds"),
            f"{r['load_average_before'][0]:.2f}",
            short_commit(r["provenance"]) or "–",
            device_label(r["provenance"]) or "–",
        ]
        for r in records
    ]
    return "\n".join(markdown_table((headers, rows)))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True, help="the JSON run file to write")
    p.add_argument("--marks", default="not slow", help='pytest -m expression ("" for all)')
    args = p.parse_args(argv)
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    cmd += ["-m", args.marks] if args.marks else []
    mark_start(ROOT)  # the commit the tests ran on, whatever happens to the checkout meanwhile
    load_before = os.getloadavg()
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    sys.stdout.write(done.stdout[-2000:])
    record = {
        "command": "python -m pytest" + (f' -m "{args.marks}"' if args.marks else ""),
        "seconds": round(seconds, 1),
        "returncode": done.returncode,
        **summary_counts(done.stdout),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "provenance": provenance(ROOT),
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    print(f"{record['command']}: {seconds:.0f} s, {record.get('passed', 0)} passed -> {out}")
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())
