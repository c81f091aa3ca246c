"""Inference (eq. 7): song -> style s -> z~_dan -> {z~_mov} -> units decoded one after another -> a dance.

Units are laid on the song's beat grid (each spans a whole number of beats), chained through E_ini of the
previous unit's last pose, and joined without a jump; any song length works.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..errors import input_error
from ..io.skeleton import CANONICAL_JOINTS, CANONICAL_PARENTS, Motion
from ..models.du_vae import DUVAE
from ..models.mm_gan import MMGAN
from ..models.pretrained import STAGES, from_pretrained
from ..models.style import StyleClassifier
from ..motion.clean import STANDARD_BONE_LENGTHS, normalize_bone_lengths, put_on_floor
from ..motion.units import canonicalize_units, place_units
from ..validate import read_json_object

log = logging.getLogger(__name__)

MODEL_FPS = 15.0
# Frames over which the offset between a decoded unit's first pose and the previous unit's last pose is
# faded out: long enough to hide the correction, short enough to keep the unit's own movement.
BLEND_FRAMES = 8
# A unit whose mean joint speed is below this fraction of the training units' median is re-drawn
# (the original's "resample a unit with too little motion"; the first guard against freezing).
MIN_ENERGY_FRACTION = 0.35
MAX_REDRAWS = 4
FLOOR_WINDOW_S = 4.0


def default_model_path() -> Path:
    """The model bundled with the package (trained by `music2dance train all`, see MODEL.md)."""
    return Path(__file__).resolve().parents[1] / "assets" / "model"


@dataclass
class DanceModel:
    """The three trained stages plus what inference needs to know about the training data."""

    style: StyleClassifier
    du_vae: DUVAE
    mm_gan: MMGAN
    name: str
    unit_energy: float  # median mean-joint-speed of training units, m/s
    info: dict = field(default_factory=dict)

    @property
    def unit_frames(self) -> int:
        return self.du_vae.cfg.unit_frames


def load_model(path: str | Path | None = None) -> DanceModel:
    """Load a model folder (`style/`, `decomposition/`, `composition/` run folders); None: the bundled one."""
    folder = Path(path) if path else default_model_path()
    if not folder.is_dir():
        raise input_error(
            folder, "is a file, not a model folder" if folder.exists() else "model folder not found"
        )
    missing = [s for s in STAGES if not (folder / s / "config.json").exists()]
    if missing:
        raise input_error(
            folder,
            f"not a music2dance model folder: missing {', '.join(s + '/' for s in missing)}"
            " (train one with `music2dance train all`)",
        )
    style, du_vae, mm_gan = (from_pretrained(folder / s, s)[0] for s in STAGES)
    info = (
        read_json_object(folder / "model.json", "model summary") if (folder / "model.json").exists() else {}
    )
    energy = info.get("unit_energy", 0.0)
    if (
        not isinstance(energy, (int, float))
        or isinstance(energy, bool)
        or not np.isfinite(energy)
        or energy < 0
    ):
        raise input_error(folder / "model.json", f"unit_energy must be a number >= 0, got {energy!r}")
    name = "bundled" if path is None else folder.name
    model = DanceModel(style, du_vae, mm_gan, name=name, unit_energy=float(energy), info=info)
    _check_stages_fit(model, folder)
    return model


def _check_stages_fit(model: DanceModel, folder: Path) -> None:
    """The three stages must have been trained together: matching sizes, finite weights, and one tiny
    pass through the whole inference chain (so a mismatch is a one-line error, not a shape traceback)."""
    st, vae, gan = model.style.cfg, model.du_vae.cfg, model.mm_gan.cfg
    pairs = [
        ("decomposition unit_frames", vae.unit_frames, "composition unit_frames", gan.unit_frames),
        ("decomposition z_mov", vae.z_mov, "composition z_mov", gan.z_mov),
        ("style music_dim", st.music_dim, "composition music_dim", gan.music_dim),
        ("style classes", len(st.styles), "composition style_dim", gan.style_dim),
        ("style feature_idx entries", len(st.feature_idx), "style music_dim", st.music_dim),
        ("decomposition pose_dim", vae.pose_dim, "18 joints x 3", 3 * len(CANONICAL_JOINTS)),
    ]
    for a, va, b, vb in pairs:
        if va != vb:
            raise input_error(folder, f"the stages do not fit together: {a} is {va} but {b} is {vb}")
    for stage, module in zip(STAGES, (model.style, model.du_vae, model.mm_gan)):
        total = sum(
            float(t.double().abs().sum()) for t in module.state_dict().values() if t.is_floating_point()
        )
        if not np.isfinite(total):
            raise input_error(folder / stage, "the weights contain NaN or infinite values")
    try:
        with torch.no_grad():
            L, n = vae.unit_frames, gan.units
            music = torch.zeros(1, n, L, gan.music_dim)
            s = model.style.probs(music.flatten(1, 2))
            g = torch.Generator().manual_seed(0)  # never touch the global RNG
            z_movs = model.mm_gan.compose(s, model.mm_gan.norm_music(music), generator=g).reshape(n, -1)
            model.du_vae.G_uni(torch.zeros(1, vae.z_ini), z_movs[:1])
    except (RuntimeError, ValueError, IndexError) as e:
        why = str(e).splitlines()[0]
        raise input_error(folder, f"the stages do not fit together ({why})") from None


def beat_grid(beats: np.ndarray, duration: float, natural: float) -> tuple[np.ndarray, int]:
    """Unit boundaries (seconds) on the beat grid, covering [0, duration].

    beats: (B,) tracked beat times, s. natural: a unit's duration at the model's rate (31 / 15 s).
    Each unit spans k beats, k in {1, 2, 3, 4, 6, 8} chosen so that k beats last closest to `natural`
    (so units are warped as little as possible). Before the first and after the last beat the grid goes
    on at the song's beat period. Without a usable beat (silence, fewer than 2 beats) units keep their
    natural duration. Returns (boundaries (U+1,), k).
    """
    beats = np.asarray(beats, dtype=np.float64)
    if len(beats) < 2:
        return np.arange(0.0, duration + natural, natural), 0
    period = float(np.median(np.diff(beats)))
    k = min((1, 2, 3, 4, 6, 8), key=lambda k: abs(np.log(k * period / natural)))
    b = list(beats[::k])
    span = k * period
    while b[0] > 0:
        b.insert(0, b[0] - span)
    while b[-1] < duration:
        b.append(b[-1] + span)
    return np.asarray(b), k


def _mean_speed(units: np.ndarray, fps: float) -> np.ndarray:
    """(N, L, J, 3) -> (N,) mean joint speed, m/s."""
    return np.linalg.norm(np.diff(units, axis=1), axis=-1).mean(axis=(1, 2)) * fps


def join_unit(unit: np.ndarray, prev: np.ndarray, dt: float, prev_dt: float) -> np.ndarray:
    """Make `unit` (L, J, 3) continue `prev` (L, J, 3) without a jump in position or in velocity.

    A correction c(t) = (dp + dv t) w(t) is added, where dp and dv are the position and velocity gaps at
    the join (velocities in m/s: units are time-warped differently, dt / prev_dt seconds per frame) and
    w falls from 1 to 0 with zero slope at both ends (smoothstep) over BLEND_FRAMES frames. So the unit
    starts exactly at prev's last pose with prev's last velocity, and is untouched after the blend.
    """
    dp = prev[-1] - unit[0]
    dv = (prev[-1] - prev[-2]) / prev_dt - (unit[1] - unit[0]) / dt
    k = np.arange(len(unit))
    x = np.clip(k / BLEND_FRAMES, 0.0, 1.0)
    w = 1.0 - x * x * (3 - 2 * x)
    return unit + w[:, None, None] * (dp[None] + dv[None] * (k * dt)[:, None, None])


@torch.no_grad()
def generate_dance(
    model: DanceModel,
    y: np.ndarray,
    sr: int,
    *,
    seed: int = 0,
    seconds: float | None = None,
    out_fps: float = 30.0,
    quiet: bool = True,
    source: str = "song",
) -> Motion:
    """A dance for the song `y` (mono float, `sr` Hz), `seconds` long (default: the whole song).

    Returns a Motion at `out_fps` on the canonical skeleton with meta: music_beats (s), unit_starts
    (output frames where units begin), style (probabilities by name), beats_per_unit, seed, model.
    The same model, song and seed give the same dance.
    """
    from scipy.interpolate import make_interp_spline
    from tqdm import tqdm

    from ..audio.beats import track_beats
    from ..audio.features import music_features

    L = model.unit_frames
    natural = (L - 1) / MODEL_FPS
    duration = len(y) / sr
    if seconds is not None:
        if not 0 < seconds < float("inf"):  # also NaN
            raise input_error("--seconds", f"must be a positive number of seconds, got {seconds}")
        if seconds > duration:
            log.warning("the song lasts %.1f s; the dance will too (asked for %.1f s)", duration, seconds)
        duration = min(duration, seconds)
        y = y[: int(round(duration * sr))]
    if duration < natural:
        raise input_error(
            source, f"song is {duration:.2f} s long, shorter than one dance unit ({natural:.2f} s)"
        )

    g = torch.Generator().manual_seed(int(seed))
    _, beats = track_beats(y, sr)
    feats = music_features(y, sr, MODEL_FPS, beats=beats)[:, model.style.cfg.feature_idx]
    bounds, k = beat_grid(beats, duration, natural)
    U = len(bounds) - 1
    # Frame times of every unit: L frames from its first boundary to its last (units share end frames).
    frac = np.linspace(0.0, 1.0, L)
    times = bounds[:-1, None] + frac[None, :] * np.diff(bounds)[:, None]  # (U, L) seconds
    idx = np.clip(np.round(times * MODEL_FPS).astype(int), 0, len(feats) - 1)
    unit_music = torch.from_numpy(feats[idx])  # (U, L, D)

    n = model.mm_gan.cfg.units
    groups = -(-U // n)
    pad = groups * n - U
    music_g = torch.cat([unit_music, unit_music[-1:].expand(pad, -1, -1)]).reshape(groups, n, L, -1)
    s = model.style.probs(music_g.flatten(1, 2))  # style of each group's music, (G, S)
    music_n = model.mm_gan.norm_music(music_g)

    z_movs = model.mm_gan.compose(s, music_n, generator=g).reshape(groups * n, -1)[:U]
    vae = model.du_vae
    min_energy = MIN_ENERGY_FRACTION * model.unit_energy
    keys = np.zeros((U, L, len(CANONICAL_JOINTS), 3), np.float32)
    prev_last, prev_dt = None, 0.0
    redraws = 0
    for i in tqdm(range(U), desc="dance units", unit="unit", disable=quiet):
        if prev_last is None:
            z_ini = torch.randn(1, vae.cfg.z_ini, generator=g)  # eq. 7: z_ini^0 ~ N(0, I)
            yaw, offset = np.zeros(1, np.float32), np.zeros((1, 3), np.float32)
        else:
            canon_last, yaw, offset = canonicalize_units(prev_last[None, None])
            z_ini = vae.E_ini(vae.norm(torch.from_numpy(canon_last.reshape(1, -1))))[0]
        for attempt in range(MAX_REDRAWS + 1):
            unit = vae.norm.inverse(vae.G_uni(z_ini, z_movs[i : i + 1])).reshape(1, L, -1, 3).numpy()
            if attempt == MAX_REDRAWS or _mean_speed(unit, MODEL_FPS)[0] >= min_energy:
                break
            redraws += 1
            gi = i // n  # re-compose only this unit's group, with fresh noise
            z_movs[i] = model.mm_gan.compose(s[gi : gi + 1], music_n[gi : gi + 1], generator=g)[0, i % n]
        world = place_units(unit, yaw, offset)[0]
        dt = (bounds[i + 1] - bounds[i]) / (L - 1)  # seconds per key frame of this (warped) unit
        if prev_last is not None:
            world = join_unit(world, keys[i - 1], dt, prev_dt)
        keys[i] = world
        prev_last, prev_dt = world[-1], dt
    if redraws:
        log.info("re-drew %d of %d units whose motion was too small", redraws, U)

    # Units share their boundary frame: keep it once, then resample the warped key frames to out_fps.
    key_t = np.concatenate([times[0, :1], times[:, 1:].reshape(-1)])
    key_p = np.concatenate([keys[0, :1], keys[:, 1:].reshape(-1, *keys.shape[2:])])
    T = int(np.floor(duration * out_fps))
    t_out = np.arange(T) / out_fps
    # A cubic spline through the key frames: continuous velocity at every key frame, not only at joins.
    joints = make_interp_spline(key_t, key_p.reshape(len(key_p), -1), k=3)(t_out)
    # Decoded heights drift a little from unit to unit; keep the feet on the floor with the same moving
    # floor estimate that cleans the training data (a 4 s window: jumps stay in the air).
    # G_uni outputs positions, not rotations, so bone lengths wobble (2.3 cm std measured): rebuild the
    # skeleton with the standard lengths the training data was normalised to, keeping every bone's direction.
    joints = normalize_bone_lengths(joints.reshape(T, -1, 3), CANONICAL_PARENTS, STANDARD_BONE_LENGTHS)
    joints = put_on_floor(joints, out_fps, window_s=FLOOR_WINDOW_S).astype(np.float32)
    starts = np.unique(np.clip(np.round(bounds[:-1] * out_fps).astype(int), 0, None))
    style = s.mean(0).numpy()
    meta = {
        "music_beats": beats[beats < duration].astype(np.float32),
        "unit_starts": starts[starts < T],
        "style": {n_: float(p) for n_, p in zip(model.style.cfg.styles, style)},
        "beats_per_unit": k,
        "seed": int(seed),
        "model": model.name,
        "redraws": redraws,
    }
    return Motion(
        joints=joints, fps=out_fps, joint_names=CANONICAL_JOINTS, parents=CANONICAL_PARENTS, meta=meta
    )
