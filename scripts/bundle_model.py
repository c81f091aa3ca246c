"""Copy the shipping files of a `music2dance train all` run into the package's bundled model folder.

Usage: python scripts/bundle_model.py runs/v1 [--dest src/music2dance/assets/model]
Only weights, configs, metrics and loss curves are copied (no optimizer state or checkpoints).
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

STAGES = ("style", "decomposition", "composition")
FILES = ("model.safetensors", "config.json", "metrics.json", "curves.png")
DEST = Path(__file__).resolve().parents[1] / "src" / "music2dance" / "assets" / "model"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", type=Path, help="folder written by `music2dance train all`")
    ap.add_argument("--dest", type=Path, default=DEST)
    a = ap.parse_args()
    missing = [str(a.run / s / f) for s in STAGES for f in FILES if not (a.run / s / f).exists()]
    if missing or not (a.run / "model.json").exists():
        raise SystemExit(
            f"error: {a.run}: not a finished `train all` run (missing {missing or 'model.json'})"
        )
    shutil.rmtree(a.dest, ignore_errors=True)
    for s in STAGES:
        (a.dest / s).mkdir(parents=True)
        for f in FILES:
            shutil.copy(a.run / s / f, a.dest / s / f)
    shutil.copy(a.run / "model.json", a.dest / "model.json")
    size = sum(p.stat().st_size for p in a.dest.rglob("*") if p.is_file())
    print(f"bundled {a.run} into {a.dest} ({size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
