"""Run the full evaluation protocol on the prepared data and print the results tables.

Usage: python benchmarks/evaluate_protocol.py [--data data/prepared] [--model none|FOLDER] [--out report]
[--quick] [--protocol tang|aistpp|finedance|FILE] [--scan-clips]

--scan-clips measures how the clip length and hop decide whether the realism metrics separate the reference
rows (ground truth, mean pose, model): the dances are generated once, then each clip layout is scored.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

SCAN = ((20.0, 20.0), (10.0, 10.0), (10.0, 5.0), (5.0, 5.0), (5.0, 2.5), (2.5, 1.25))
SCAN_METRICS = ("fid_k", "fid_g", "kid_k", "c2st")


def _cell(e: dict) -> str:
    if e.get("value") is None:
        return "n/a"
    lo, hi = e.get("ci_lo"), e.get("ci_hi")
    d = 2 if abs(e["value"]) < 10 else 0
    return f"{e['value']:.{d}f} [{lo:.{d}f}, {hi:.{d}f}]" if lo is not None else f"{e['value']:.{d}f}"


def scan_clips(model, data, protocol, seed: int) -> None:
    """Print, per clip layout, FID_k / FID_g / KID_k / C2ST of ground truth, mean pose and model, with the
    FID_k floor and whether the rows' intervals are apart."""
    import numpy as np

    from music2dance.evaluate.baselines import ground_truth, mean_pose_row
    from music2dance.evaluate.findings import overlap
    from music2dance.evaluate.generated import generate_rows
    from music2dance.evaluate.reference import build_reference, clip_count
    from music2dance.evaluate.report import single_thread_blas
    from music2dance.evaluate.row import evaluate_row
    from music2dance.evaluate.split import load_split

    _, base, train, test = load_split(data, protocol)
    base = dataclasses.replace(base, n_seeds=1)
    t0 = time.perf_counter()
    model_dances = generate_rows(model, test, base, seed, True)[0]
    print(f"generated {len(model_dances)} dances in {time.perf_counter() - t0:.0f} s")
    print("clip/hop s | clips | row | " + " | ".join(SCAN_METRICS) + " | FID_k floor")
    for clip_s, hop_s in SCAN:
        proto = dataclasses.replace(base, clip_s=clip_s, clip_hop_s=hop_s, min_clip_s=min(hop_s, 10.0))
        rng = np.random.default_rng(seed)
        t0 = time.perf_counter()
        with single_thread_blas():
            ref = build_reference(train, proto)
            rows = {
                "ground truth": ground_truth(test, proto.fps),
                "mean pose": mean_pose_row(test, ref.pose, proto.fps),
                "model": model_dances,
            }
            n = min(clip_count(d, proto) for d in rows.values())
            res = {r: evaluate_row(d, ref, proto, rng, n_common=n)[0] for r, d in rows.items()}
        for r, v in res.items():
            cells = " | ".join(_cell(v[k]) for k in SCAN_METRICS)
            print(f"{clip_s:g}/{hop_s:g} | {n} | {r} | {cells} | {_cell(v['fid_k_floor'])}")
        apart = [
            k
            for k in SCAN_METRICS
            if not overlap(res["ground truth"][k], res["model"][k])
            and not overlap(res["ground truth"][k], res["mean pose"][k])
        ]
        print(
            f"{clip_s:g}/{hop_s:g}: ground truth apart from both model and mean pose on "
            f"{', '.join(apart) or 'none'} ({time.perf_counter() - t0:.0f} s)"
        )


def main() -> int:
    from music2dance.evaluate.report import run_evaluate

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default="data/prepared")
    p.add_argument(
        "--model", default=None, help="model folder, 'none' for reference rows only (default: bundled)"
    )
    p.add_argument("--out", default="report")
    p.add_argument("--protocol", help="tang, aistpp, finedance or a JSON file of protocol fields")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--scan-clips", action="store_true", help="measure clip length / hop choices instead")
    a = p.parse_args()
    t0 = time.perf_counter()
    if a.scan_clips:
        scan_clips(a.model, a.data, a.protocol, a.seed)
        print(f"\n({time.perf_counter() - t0:.1f} s)")
        return 0
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
