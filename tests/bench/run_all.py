"""Run every tests/bench/bench_*.py, each in a process of its own on a fresh bench database,
then print all their tables.

`make bench` runs this. A benchmark that fails is reported and the others still run; the exit
status is 1 if any failed.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import harness  # first: puts the project on sys.path and sets Django up

HERE = Path(__file__).parent


def main() -> int:
    started = time.time()
    failed = []
    for path in sorted(HERE.glob("bench_*.py")):
        print(f"== {path.stem}", flush=True)
        # A process each: every benchmark builds its world on a database of its own.
        if subprocess.run([sys.executable, str(path)], check=False).returncode != 0:
            failed.append(path.stem)

    print("\n## Benchmarks\n")
    for result_file in sorted(harness.OUT_DIR.glob("*.json")):
        if result_file.stat().st_mtime >= started:
            print(harness.markdown(json.loads(result_file.read_text())) + "\n")
    print(harness.machine_line())
    if failed:
        print(f"\nFailed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
