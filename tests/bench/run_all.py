"""Run every tests/bench/bench_*.py (each has `main() -> dict`), then print all their tables.

`make bench` runs this. A benchmark that fails is reported and the others still run; the exit
status is 1 if any failed.
"""

from __future__ import annotations

import importlib
import sys
import traceback
from pathlib import Path

import harness  # first: puts the project on sys.path and sets Django up


def main() -> int:
    harness.setup()
    results, failed = [], []
    for path in sorted(Path(__file__).parent.glob("bench_*.py")):
        print(f"== {path.stem}", flush=True)
        try:
            # This folder is sys.path[0] when run as a script, so each file imports by name.
            results.append(importlib.import_module(path.stem).main())
        except Exception:
            traceback.print_exc()
            failed.append(path.stem)

    print("\n## Benchmarks\n")
    for result in results:
        print(harness.markdown(result) + "\n")
    print(harness.machine_line())
    if failed:
        print(f"\nFailed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    try:
        status = main()
    finally:
        harness.close()
    sys.exit(status)
