"""Cleaning statistics over the Tang 2018 set: glitches, NaN filled, bone-length spread, time, per style.

Usage: python benchmarks/cleaning_stats.py [TANG_ROOT]   (default ../shared/data/tang2018)
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from music2dance.errors import Music2DanceError
from music2dance.io.tang import list_tang_sequences, read_tang_sequence
from music2dance.motion.clean import clean_motion

DEFAULT_ROOT = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "tang2018"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("root", nargs="?", default=str(DEFAULT_ROOT), help="Tang data folder")
    args = ap.parse_args(argv)
    try:
        folders = list_tang_sequences(args.root)
    except Music2DanceError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    rows = defaultdict(list)
    for folder in folders:
        t0 = time.perf_counter()
        seq = read_tang_sequence(folder)
        _, rep = clean_motion(seq.motion)
        rows[seq.style].append((rep, seq.motion.num_frames, time.perf_counter() - t0))

    head = (
        f"{'style':8} {'takes':>5} {'frames':>7} {'glitch/1000f':>12} {'NaN filled':>10} "
        f"{'bone std cm before':>18} {'after':>6} {'floor drift m':>13} {'s/take':>7}"
    )
    print(head)
    print("-" * len(head))
    for style in sorted(rows):
        reps = rows[style]
        frames = sum(n for _, n, _ in reps)
        glitches = sum(r.glitches_repaired for r, _, _ in reps)
        print(
            f"{style:8} {len(reps):5d} {frames:7d} {1000 * glitches / frames:12.2f} "
            f"{sum(r.nan_filled for r, _, _ in reps):10d} "
            f"{np.mean([r.bone_std_cm_before for r, _, _ in reps]):18.2f} "
            f"{np.mean([r.bone_std_cm_after for r, _, _ in reps]):6.2f} "
            f"{np.mean([r.floor_drift_m for r, _, _ in reps]):13.2f} "
            f"{np.mean([t for _, _, t in reps]):7.3f}"
        )
    print("glitches: joint-frames repaired per 1000 frames (each frame has 18 joints); std: mean over bones")
    return 0


if __name__ == "__main__":
    sys.exit(main())
