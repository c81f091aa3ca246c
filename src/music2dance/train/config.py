"""The settings of a training run, in the one config style (`validate.Config`), and the --config file.

A stage trains with two configs: `TrainConfig` (the loop's options) and its model config (`models/`).
Both start from the `--preset` (cpu, paper or tiny: `preset_configs`) and take the overrides of a
`--config` file; `stage_configs` checks the result field by field (name, type, range) with one-line
errors naming the file and the field.

The --config file has one shape: one section per stage, each with a "train" and/or a "model" object,
so that one file drives `train all`; a stage it does not name keeps its preset::

    {"style": {"train": {"weight_decay": 0.0}}, "composition": {"model": {"hidden": 512}}}

Model fields a stage derives from the data or from the stages it builds on (`DATA_FIELDS`: feature
columns, sizes, style names) are not settings: the file may not set them, and the task computes them
into the network's config without writing them back into this one.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

from ..errors import input_error
from ..models.pretrained import STAGE_MODELS, STAGES
from ..validate import Config, check_fields, read_json_object


@dataclass
class TrainConfig(Config):
    """Options of the training loop itself (the network's options are the model config's)."""

    steps: int = 2000
    batch_size: int = 64
    lr: float = 2e-4
    weight_decay: float = 0.0  # Adam's L2 weight decay, for every optimizer of the stage
    grad_clip: float = 0.5  # max global grad norm per optimizer step; 0 disables
    seed: int = 0
    log_every: int = 20
    val_every: int = 200  # 0 disables periodic validation (it still runs at the end)
    ckpt_every: int = 200  # 0 disables periodic checkpoints (one is still written at the end)
    device: str = "cpu"  # "cpu", "cuda" or "cuda:N"; under torchrun "cuda" means cuda:LOCAL_RANK
    num_threads: int = 0  # torch.set_num_threads; 0 = leave the default

    def check(self) -> dict[str, bool]:
        return {
            "steps": self.steps >= 0,
            "batch_size": self.batch_size >= 1,
            "lr": self.lr > 0 and math.isfinite(self.lr),
            "weight_decay": self.weight_decay >= 0,
            "grad_clip": self.grad_clip >= 0,
            "log_every": self.log_every >= 1,
            "val_every": self.val_every >= 0,
            "ckpt_every": self.ckpt_every >= 0,
            "device": self.device in ("cpu", "cuda") or self.device.startswith("cuda:"),
            "num_threads": self.num_threads >= 0,
        }


PRESETS = ("cpu", "paper", "tiny")
# The training schedule of each preset and stage. cpu: `train all` fits in the 60-minute budget on a
# 2-core CPU (measured in MODEL.md). The style classifier alone uses Adam's L2 weight decay.
# The cpu preset trains on one thread: CPU kernels split their sums by thread, so the weights depend on
# the thread count (measured: 1 vs 2 threads moves the style stage by up to 0.03 in 600 steps), and
# torch's default is the machine's core count. One thread gives the same weights on any core count (for
# the same CPU capability and torch version, MODEL.md), and on a shared 2-core machine it was ~10x faster
# than two threads waiting for each other. Other presets record the count they ran with (stage_configs).
PRESET_TRAIN = {
    "cpu": {
        "style": dict(
            steps=600, batch_size=64, lr=1e-3, weight_decay=1e-4, val_every=200, ckpt_every=200, num_threads=1
        ),
        "decomposition": dict(
            steps=3000, batch_size=64, lr=1e-3, val_every=500, ckpt_every=500, num_threads=1
        ),
        "composition": dict(steps=6000, batch_size=64, lr=2e-4, val_every=500, ckpt_every=500, num_threads=1),
    },
    "paper": {
        "style": dict(steps=3000, batch_size=128, lr=1e-3, weight_decay=1e-4),
        "decomposition": dict(steps=60000, batch_size=256, lr=2e-4, val_every=2000, ckpt_every=2000),
        "composition": dict(steps=30000, batch_size=256, lr=2e-4, val_every=2000, ckpt_every=2000),
    },
    "tiny": {
        "style": dict(
            steps=30, batch_size=8, lr=1e-3, weight_decay=1e-4, val_every=15, ckpt_every=15, log_every=5
        ),
        "decomposition": dict(steps=30, batch_size=8, lr=1e-3, val_every=15, ckpt_every=15, log_every=5),
        "composition": dict(steps=30, batch_size=8, lr=1e-3, val_every=15, ckpt_every=15, log_every=5),
    },
}
# Model fields each stage sets from the prepared data (feature columns, style names, pose and unit sizes)
# or from the frozen stages it builds on (the DU-VAE's z_mov, the style classifier's classes).
DATA_FIELDS = {
    "style": ("styles", "feature_idx", "music_dim"),
    "decomposition": ("unit_frames", "pose_dim"),
    "composition": ("z_mov", "unit_frames", "style_dim", "music_dim"),
}


def preset_configs(stage: str, preset: str) -> tuple[TrainConfig, Config]:
    """The preset's (training options, model config) of `stage`: `PRESET_TRAIN` and the model config's
    classmethod of that name (`cpu()`, `paper()`, `tiny()`)."""
    model = getattr(STAGE_MODELS[stage][0], preset)()
    return TrainConfig(**PRESET_TRAIN[preset][stage]), model


def read_overrides(config) -> dict[str, dict[str, dict]]:
    """The --config file as {stage: {"train": {...}, "model": {...}}}, every stage's field names and
    types checked (so `train all` stops before its first stage); no file: {}."""
    if not config:
        return {}
    d = read_json_object(config, "config JSON")
    for stage, section in d.items():
        if stage not in STAGES:
            hint = f', e.g. {{"style": {{"{stage}": ...}}}}' if stage in ("train", "model") else ""
            raise input_error(
                config, f"unknown section {stage!r}: sections are stages ({', '.join(STAGES)}){hint}"
            )
        if not isinstance(section, dict) or set(section) - {"train", "model"}:
            raise input_error(config, f"{stage}: must be a JSON object with 'train' and/or 'model'")
        check_fields(config, f"{stage}.train", TrainConfig, section.get("train", {}))
        model = check_fields(config, f"{stage}.model", STAGE_MODELS[stage][0], section.get("model", {}))
        derived = [k for k in model if k in DATA_FIELDS[stage]]
        if derived:
            raise input_error(
                config, f"{stage}.model.{derived[0]}: set from the data, not a setting; remove it"
            )
    return d


def stage_configs(stage: str, *, preset: str = "cpu", config=None, **options) -> tuple[TrainConfig, Config]:
    """(TrainConfig, model config) of `stage`: its preset, then the --config file's overrides, then the
    training `options` given here (device, steps). Out-of-range values are one-line errors naming the file."""
    import torch

    section = read_overrides(config).get(stage, {})
    base_train, base_model = preset_configs(stage, preset)
    train = {**section.get("train", {}), **options}
    threads = train.get("num_threads", base_train.num_threads)
    if train.get("device", base_train.device) == "cpu" and not threads:
        # Record the thread count actually used: CPU kernels split sums by thread, so the weights depend
        # on it (see PRESET_TRAIN).
        train["num_threads"] = torch.get_num_threads()
    source = config or "training options"
    return (
        _override(base_train, train, source, f"{stage}.train"),
        _override(base_model, section.get("model", {}), source, f"{stage}.model"),
    )


def _override(base: Config, values: dict, source, section: str) -> Config:
    """`base` with `values` applied, checked as one config (names, types, ranges) by `from_dict`."""
    fields = json.loads(json.dumps(base.to_dict()))  # the JSON form (tuples as lists) that from_dict reads
    return type(base).from_dict({**fields, **values}, source=source, section=section)
