"""The config of a trained model (`DanceModelConfig`) and of its unit-by-unit decode (`InferenceConfig`).

`config.json` of a model folder is `DanceModelConfig.to_dict()`; `DanceModel.from_pretrained` reads it
back with `DanceModelConfig.from_dict`, which names a bad field and value in one line.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..defaults import AUDIO_SR, FLOOR_WINDOW_S, MODEL_FPS, UNIT_FRAMES
from ..io.skeleton import CANONICAL_JOINTS
from ..validate import Config
from .du_vae import DUVAEConfig
from .mm_gan import MMGANConfig
from .style import StyleConfig

FORMAT = "music2dance-model-2"
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"


@dataclass
class InferenceConfig(Config):
    """Constants of the unit-by-unit decode; chosen by looking at and measuring dances (MODEL.md)."""

    # Frames over which the gap between a decoded unit's first pose and the previous unit's last pose is
    # faded out: long enough to hide the correction, short enough to keep the unit's own movement.
    # 8 -> 12 in issue 12: unit-boundary acceleration 1.24 -> 1.19 of inside units (docs/RESULTS.md).
    blend_frames: int = 12
    # A unit whose mean joint speed is below this fraction of the training units' median is re-drawn
    # (the original's "resample a unit with too little motion"; the first guard against freezing).
    min_energy_fraction: float = 0.35
    max_redraws: int = 4
    # Window of the moving floor estimate that puts the feet on the floor (the cleaning's): jumps stay in
    # the air.
    floor_window_s: float = FLOOR_WINDOW_S
    # `align`: time-warp inside each unit so the dance's kinematic beats land on the nearest music beats
    # (the original's "modulate", done in seconds; measured in docs/RESULTS.md, issue 12). max_warp bounds
    # the local speed-up or slow-down of a unit's time; align_passes re-detects beats after each warp.
    align_beats: bool = True
    max_warp: float = 1.6
    align_passes: int = 2
    # `finish`: rebuild the standard bones keeping each limb's root-to-end vector and bending the knee or
    # elbow to fit (motion.clean.normalize_bone_lengths_keep_limb_ends), instead of stretching every bone
    # along its decoded direction, which straightened the legs (issue 12, docs/RESULTS.md).
    limb_ik: str = "legs"  # "none", "legs" or "all" (legs and arms)
    # `finish`, last: a foot below the floor is raised onto it and its knee bent to fit
    # (motion.clean.lift_feet_to_floor); the moving floor estimate alone left 11.5 % of frames with a foot
    # more than 2 cm under the floor (issue 12, docs/RESULTS.md).
    lift_feet: bool = True
    # `plan`: the style feature of each group of units is the style classifier's reading of that group's
    # music ("group", as in training), or the mean of those readings over the whole song ("song": one
    # style per dance, so that a few misread 6-s windows do not switch the dance's style).
    style_pooling: str = "group"

    def check(self) -> dict[str, bool]:
        return {
            "max_warp": self.max_warp >= 1.0,
            "limb_ik": self.limb_ik in ("none", "legs", "all"),
            "style_pooling": self.style_pooling in ("group", "song"),
            "align_passes": self.align_passes >= 1,
            "blend_frames": self.blend_frames >= 1,
            "min_energy_fraction": 0.0 <= self.min_energy_fraction < 1.0,
            "max_redraws": self.max_redraws >= 0,
            "floor_window_s": self.floor_window_s > 0,
        }


@dataclass
class DanceModelConfig(Config):
    """Everything a trained model is: what it expects, how it decodes, its networks, how it was trained.

    fps: motion frames per second of the units (the prepared data's). sample_rate: Hz the song is decoded
    at. unit_frames: frames per dance unit. music_features: names of the `audio.features` columns the
    style classifier and MM-GAN hear, in order. styles: the style classes. unit_energy: median mean joint
    speed of the training units, m/s (derived from the data, not a hyperparameter). training: a record
    of how it was trained, never read by inference.
    """

    format: str = FORMAT
    fps: float = MODEL_FPS
    sample_rate: int = AUDIO_SR
    unit_frames: int = UNIT_FRAMES
    music_features: tuple[str, ...] = ()
    styles: tuple[str, ...] = ()
    unit_energy: float = 0.0
    inference: InferenceConfig = field(default_factory=InferenceConfig)
    style: StyleConfig = field(default_factory=StyleConfig)
    du_vae: DUVAEConfig = field(default_factory=DUVAEConfig)
    mm_gan: MMGANConfig = field(default_factory=MMGANConfig)
    training: dict = field(default_factory=dict)

    def check(self) -> dict[str, bool]:
        return {
            "format": self.format == FORMAT,
            "fps": 0 < self.fps <= 1000,
            "sample_rate": self.sample_rate >= 1000 and float(self.sample_rate / self.fps).is_integer(),
            "unit_frames": self.unit_frames >= 2,
            "unit_energy": self.unit_energy >= 0 and np.isfinite(self.unit_energy),
        }

    def fit_problems(self) -> list[str]:
        """The networks' sizes that disagree with each other or with the model's own fields."""
        st, vae, gan = self.style, self.du_vae, self.mm_gan
        pairs = [
            ("unit_frames", self.unit_frames, "du_vae.unit_frames", vae.unit_frames),
            ("du_vae.unit_frames", vae.unit_frames, "mm_gan.unit_frames", gan.unit_frames),
            ("du_vae.z_mov", vae.z_mov, "mm_gan.z_mov", gan.z_mov),
            ("music_features (count)", len(self.music_features), "style.music_dim", st.music_dim),
            ("style.music_dim", st.music_dim, "mm_gan.music_dim", gan.music_dim),
            ("styles (count)", len(self.styles), "mm_gan.style_dim", gan.style_dim),
            ("styles", list(self.styles), "style.styles", list(st.styles)),
            ("du_vae.pose_dim", vae.pose_dim, "18 joints x 3", 3 * len(CANONICAL_JOINTS)),
        ]
        if st.feature_idx:  # the training's column indices, when recorded, must name the same features
            from ..audio.features import FEATURE_NAMES

            named = [FEATURE_NAMES[i] if 0 <= i < len(FEATURE_NAMES) else i for i in st.feature_idx]
            pairs.append(("style.feature_idx (named)", named, "music_features", list(self.music_features)))
        return [f"{a} is {va} but {b} is {vb}" for a, va, b, vb in pairs if va != vb]
