"""A trained stage read back: its run folder's config.json -> config dataclass -> network -> weights.

`train/` writes run folders and reads them back through this module (the composition stage's frozen
DU-VAE and style classifier) and `models/checkpoint.py` (resume); `generate/` only reads. Nothing here
imports `train/`, so inference never loads the trainer.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import input_error
from ..validate import check_fields, read_json_object
from .checkpoint import CONFIG_FILE, load_checkpoint
from .du_vae import DUVAE, DUVAEConfig
from .mm_gan import MMGAN, MMGANConfig
from .style import StyleClassifier, StyleConfig

# stage -> (config class, model class, key of its config in config.json, module name in the checkpoint)
STAGE_MODELS = {
    "style": (StyleConfig, StyleClassifier, "style", "style"),
    "decomposition": (DUVAEConfig, DUVAE, "du_vae", "du_vae"),
    "composition": (MMGANConfig, MMGAN, "mm_gan", "mm_gan"),
}
STAGES = tuple(STAGE_MODELS)  # the order they are trained in: style, decomposition, composition


def from_pretrained(folder: str | Path, stage: str):
    """The trained network of one stage's run folder, in eval mode, with its config: (model, cfg)."""
    folder = Path(folder)
    cfg_file = folder / CONFIG_FILE
    if not cfg_file.exists():
        raise input_error(folder, f"not a trained {stage} run (no config.json)")
    cfg_cls, model_cls, key, module = STAGE_MODELS[stage]
    model_cfg = read_json_object(cfg_file).get("model", {})
    if not isinstance(model_cfg, dict) or model_cfg.get("stage") != stage:
        found = model_cfg.get("stage") if isinstance(model_cfg, dict) else model_cfg
        raise input_error(cfg_file, f"expected a {stage} run, found {found!r}")
    fields = dict(check_fields(cfg_file, f"model.{key}", cfg_cls, model_cfg.get(key)))
    if "styles" in fields:
        fields["styles"] = tuple(fields["styles"])  # JSON has no tuples
    try:
        cfg = cfg_cls(**fields)
        model = model_cls(cfg)
    except Exception as e:  # sizes that build no network (zero or negative dimensions, ...)
        raise input_error(cfg_file, f"the {stage} settings do not build a network ({e})") from None
    load_checkpoint(folder, {module: model})
    return model.eval(), cfg
