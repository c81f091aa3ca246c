"""Totals of the bad-input fuzz suite (issue 13): how many inputs were tried and how many broke the promise.

Runs the same generators as tests/test_fuzz_inputs.py (hand-made cases for every defect of the issue, plus
N Hypothesis examples of each kind) and, with --kills, the SIGKILL training trials and the signal trials of
tests/test_fuzz_kills.py. Prints one line per kind and the totals.

    python3 benchmarks/fuzz_totals.py                 # hand-made + 40 generated inputs of each kind
    python3 benchmarks/fuzz_totals.py --examples 200 --kills 9 --seed 3
"""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
import fuzz_harness as fh  # noqa: E402


def _examples(strategy, n: int, seed: int) -> list:
    """n draws of a Hypothesis strategy, reproducible for a seed."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import seed as hseed

    out: list = []

    @hseed(seed)
    @settings(max_examples=n, database=None, deadline=None, suppress_health_check=list(HealthCheck))
    @given(strategy)
    def collect(x):
        out.append(x)

    collect()
    return out[:n]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--examples", type=int, default=40, help="generated inputs per kind")
    ap.add_argument(
        "--kills", type=int, default=0, help="SIGKILL training trials (0: skip the process trials)"
    )
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    total = fh.Totals()
    with tempfile.TemporaryDirectory() as tmp:
        ws = fh.Workspace(Path(tmp) / "ws")
        t0 = time.perf_counter()
        per_kind: dict[str, fh.Totals] = {}
        cases = [(c.kind, c) for c in fh.handmade_cases(ws)]
        for kind, strategy in fh.STRATEGIES.items():
            cases += [(kind, build(ws)) for build in _examples(strategy, a.examples, a.seed)]
        for kind, case in cases:
            o = fh.run_case(case)
            total.add(o)
            per_kind.setdefault(kind, fh.Totals()).add(o)
        for kind, t in sorted(per_kind.items()):
            print(f"{kind:7s} {t.line()}")
        print(f"bad inputs: {total.line()} ({time.perf_counter() - t0:.0f} s)")
        for f in total.failures:
            print("  FAILED", f[:300])
        crashes, tried = 0, 0
        for build in _examples(fh.odd_dances(), max(a.examples // 4, 1), a.seed):
            dance = build(ws)
            for ext in (".json", ".npz", ".bvh", ".html", ".gif", ".mp4"):
                argv = ["render", str(dance), "-o", str(ws.out / f"odd{ext}"), "-q"]
                o = fh.run_case(fh.Case("dance", f"odd {ext}", argv, ".bvh"))
                tried += 1
                crashes += o.traceback or o.unbounded or not (o.rc == 0 or (ext == ".bvh" and not o.unclear))
        print(f"valid but unusual dances rendered to every format: {tried} renders, {crashes} crashes")
        if a.kills:
            r = fh.sigkill_training_trials(Path(tmp) / "kills", a.kills, seed=a.seed)
            print(
                f"SIGKILL during training: {r['kills']} kills ({r['mid_save']} inside a checkpoint write), "
                f"{r['failed_resumes']} failed resumes, "
                f"bit-exact resume: {r['bit_exact']}, left behind: {r['left_behind'] or 'nothing'}"
            )
            from music2dance.io.dance_npz import save_dance_npz
            from music2dance.motion.demo import demo_motion

            dance = Path(tmp) / "long.npz"
            save_dance_npz(dance, demo_motion(seconds=120.0, fps=15.0))
            for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
                out = Path(tmp) / f"sig{int(sig)}"
                out.mkdir()
                r = fh.signal_command_trial(
                    ["render", str(dance), "-o", str(out / "d.mp4"), "-q"], out, sig, ".d.*.mp4"
                )
                print(
                    f"{sig.name} during render: exit code {r['rc']}, left behind: {r['left'] or 'nothing'}, "
                    f"message: {r['stderr'].strip()!r}"
                )
    return 0 if not total.failures else 1


if __name__ == "__main__":
    sys.exit(main())
