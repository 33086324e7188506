"""`python -m bench`: run every benchmark, print each ratio next to its target, write bench/results/latest.json.

Each benchmark measures the project and its reference in the same run (this machine is noisy), so the
ratios are what to compare; the absolute figures are context.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from bench import digest, vip_lookup

BENCHMARKS = {"digest": digest.run, "vip_lookup": vip_lookup.run}
RESULTS = Path(__file__).with_name("results")


def main(names: list[str]) -> int:
    chosen = names or list(BENCHMARKS)
    unknown = [name for name in chosen if name not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    report = {"date": datetime.now(UTC).isoformat(timespec="seconds"),
              "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
              "results": {}}
    for name in chosen:
        print(f"running {name} …", flush=True)
        result = BENCHMARKS[name]()
        report["results"][name] = result
        print(json.dumps(result, indent=2))
    report["seconds"] = round(time.perf_counter() - started, 1)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(report, indent=2))
    print(f"\nwritten {RESULTS / 'latest.json'} ({report['seconds']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
