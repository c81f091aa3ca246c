"""Generation, the way nanoGPT's `sample.py` uses its `model.py`: find a model folder, load it, call it.

The algorithm (eq. 7: plan, decode, finish) is `models.dance_model.DanceModel.generate`; this module only
knows where the bundled model lives and how to read any model folder, and imports nothing from `train/`.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from ..defaults import OUTPUT_FPS
from ..errors import input_error
from ..io.skeleton import Motion
from ..models.dance_config import CONFIG_FILE
from ..models.dance_model import DanceModel

log = logging.getLogger(__name__)


def default_model_path() -> Path:
    """The model bundled with the package (trained by `music2dance train all`, see MODEL.md)."""
    return Path(__file__).resolve().parents[1] / "assets" / "model"


def load_model(path: str | Path | None = None) -> DanceModel:
    """A model folder (config.json + model.safetensors, as `train all` and `save_pretrained` write it);
    None: the bundled one. A `train all` folder of an older version (only the three stage run folders)
    is assembled from those. Every problem is a one-line error naming the folder or file."""
    folder = Path(path) if path else default_model_path()
    if not folder.is_dir():
        raise input_error(
            folder, "is a file, not a model folder" if folder.exists() else "model folder not found"
        )
    name = "bundled" if path is None else folder.name
    if (folder / CONFIG_FILE).exists():
        return DanceModel.from_pretrained(folder, name=name)
    model = DanceModel.from_stage_runs(folder)
    model.name = name
    return model


def generate_dance(
    model: DanceModel,
    y: np.ndarray,
    sr: int,
    *,
    seed: int = 0,
    seconds: float | None = None,
    out_fps: float = OUTPUT_FPS,
    quiet: bool = True,
    source: str = "song",
) -> Motion:
    """A dance for the song `y` (mono float, `sr` Hz), `seconds` long (default: the whole song), at
    `out_fps`; see `DanceModel.generate`. The same model, song and seed give the same dance."""
    return model.generate(y, sr, seed=seed, seconds=seconds, out_fps=out_fps, quiet=quiet, source=source)
