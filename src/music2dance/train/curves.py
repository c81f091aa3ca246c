"""Loss curves of a training run: `curves.csv` (step, split, one column per loss) and its `curves.png`."""

from __future__ import annotations

import csv
import math
import os
from pathlib import Path

from ..io.atomic import atomic_path


class Curves:
    """Loss rows kept in memory and rewritten whole, so the CSV always matches the last checkpoint."""

    def __init__(self) -> None:
        self.rows: list[dict] = []

    def add(self, step: int, split: str, losses: dict[str, float]) -> None:
        """One row: the losses of `split` ("train" or "val") at `step`."""
        self.rows.append({"step": step, "split": split, **losses})

    def load(self, path: Path, up_to_step: int) -> None:
        """Take the rows of a saved CSV up to `up_to_step` (a resume drops the rows of an unsaved tail)."""
        if not path.exists():
            return
        with path.open(newline="") as f:
            for row in csv.DictReader(f):
                if int(row["step"]) <= up_to_step:
                    losses = {k: float(v) for k, v in row.items() if k not in ("step", "split") and v != ""}
                    self.add(int(row["step"]), row["split"], losses)

    def write(self, path: Path) -> None:
        """The whole CSV (written into a checkpoint's pending folder, which makes it atomic)."""
        columns = ["step", "split"]
        for row in self.rows:
            columns.extend(k for k in row if k not in columns)
        with path.open("w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=columns, restval="")
            writer.writeheader()
            writer.writerows(self.rows)


def plot_curves(csv_path: str | os.PathLike, png_path: str | os.PathLike) -> None:
    """Draw curves.csv as a PNG: one subplot per loss, train and val lines."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # Agg directly: no pyplot global state
    from matplotlib.figure import Figure

    series: dict[str, dict[str, tuple[list[int], list[float]]]] = {}
    with Path(csv_path).open(newline="") as f:
        for row in csv.DictReader(f):
            for key, value in row.items():
                if key in ("step", "split") or value in ("", None):
                    continue
                xs, ys = series.setdefault(key, {}).setdefault(row["split"], ([], []))
                xs.append(int(row["step"]))
                ys.append(float(value))
    cols = min(max(len(series), 1), 3)
    nrows = math.ceil(max(len(series), 1) / cols)
    fig = Figure(figsize=(4.5 * cols, 3.2 * nrows), layout="constrained")
    FigureCanvasAgg(fig)
    for i, (loss, splits) in enumerate(series.items()):
        ax = fig.add_subplot(nrows, cols, i + 1)
        for split, (xs, ys) in splits.items():
            ax.plot(xs, ys, label=split, marker="o" if split == "val" else None, markersize=3)
        ax.set_title(loss)
        ax.set_xlabel("step")
        ax.legend()
        ax.grid(alpha=0.3)
    with atomic_path(png_path) as tmp:
        fig.savefig(tmp, dpi=90, format="png")
