"""Run the full evaluation protocol on the prepared data and print the results tables.

Usage: python benchmarks/evaluate_protocol.py [--data data/prepared] [--model none|FOLDER] [--out report]
[--quick]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path


def main() -> int:
    from music2dance.evaluate.report import run_evaluate

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default="data/prepared")
    p.add_argument(
        "--model", default=None, help="model folder, 'none' for reference rows only (default: bundled)"
    )
    p.add_argument("--out", default="report")
    p.add_argument("--protocol", help="JSON file overriding protocol fields")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quick", action="store_true")
    a = p.parse_args()
    t0 = time.perf_counter()
    run_evaluate(a.model, a.data, a.out, protocol=a.protocol, seed=a.seed, quick=a.quick, quiet=False)
    text = (Path(a.out) / "report.md").read_text()
    # the tables and call-outs, without the plot links
    print(text.split("## Plots")[0].rstrip())
    print(
        f"\n({time.perf_counter() - t0:.1f} s; report in {a.out}/report.md, numbers in {a.out}/results.json)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
