"""Make the package's bundled model from a `music2dance train all` run.

Usage: python scripts/bundle_model.py runs/v1 [--dest src/music2dance/assets/model]
The bundle is one model folder (`DanceModel.save_pretrained`: config.json + model.safetensors, the
config holding the record of how each stage was trained, with its metrics) plus `curves/<stage>.png`.
No optimizer state or checkpoints. The run is checked first: every stage trained on the data that
model.json names (one data hash and recipe), to its last step, and no config holds a path of the
training machine. Reproduce it with `python3 benchmarks/reproduce_model.py` (MODEL.md).
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path

from music2dance.models.dance_model import DanceModel

STAGES = ("style", "decomposition", "composition")
FILES = ("model.safetensors", "config.json", "metrics.json", "curves.png")
DEST = Path(__file__).resolve().parents[1] / "src" / "music2dance" / "assets" / "model"


def check_run(run: Path) -> list[str]:
    """Why `run` is not a consistent, machine-independent `train all` run (empty if it is)."""
    summary = json.loads((run / "model.json").read_text())
    want = {k: summary.get(k) for k in ("data_hash", "recipe_version", "recipe_hash")}
    problems = [f"model.json: no {k}" for k, v in want.items() if v is None]
    for s in STAGES:
        text = (run / s / "config.json").read_text()
        cfg = json.loads(text)
        got = {k: cfg.get("meta", {}).get(k) for k in want}
        if got != want:
            problems.append(f"{s}: trained on data {got}, model.json says {want}")
        if cfg.get("step") != cfg.get("train", {}).get("steps"):
            problems.append(f"{s}: stopped at step {cfg.get('step')} of {cfg.get('train', {}).get('steps')}")
        paths = [v for v in _strings(cfg) if v.startswith("/") or v[1:3] == ":\\"]
        if paths:
            problems.append(f"{s}: config.json holds machine paths {paths}")
    return problems


def _strings(obj):
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from _strings(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _strings(v)


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
    problems = check_run(a.run)
    if problems:
        raise SystemExit(f"error: {a.run}: not bundled:\n  " + "\n  ".join(problems))
    model = DanceModel.from_stage_runs(a.run)
    paths = [v for v in _strings(model.cfg.to_dict()) if v.startswith("/") or v[1:3] == ":\\"]
    if paths:
        raise SystemExit(f"error: {a.run}: not bundled: the model record holds machine paths {paths}")
    # Written beside the destination, then swapped in, so a failure leaves the old bundle whole.
    a.dest.parent.mkdir(parents=True, exist_ok=True)
    new = Path(tempfile.mkdtemp(prefix=".bundle-", dir=a.dest.parent))
    try:
        model.save_pretrained(new)
        (new / "curves").mkdir()
        for s in STAGES:
            shutil.copy(a.run / s / "curves.png", new / "curves" / f"{s}.png")
        DanceModel.from_pretrained(new)  # reads back
        old = a.dest.with_name(a.dest.name + ".old")
        if a.dest.exists():
            a.dest.rename(old)
        new.rename(a.dest)
        a.dest.chmod(0o755)  # mkdtemp made it private
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(new, ignore_errors=True)
    size = sum(p.stat().st_size for p in a.dest.rglob("*") if p.is_file())
    summary = json.loads((a.run / "model.json").read_text())
    print(
        f"bundled {a.run} into {a.dest} ({size / 1e6:.1f} MB; data {summary['data_hash']}, "
        f"recipe {summary['recipe_version']})"
    )


if __name__ == "__main__":
    main()
