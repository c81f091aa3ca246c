"""The trained model as one object: `DanceModel` = style classifier + DU-VAE + MM-GAN + one config.

A model folder holds two files, the way lerobot's policies and Hugging Face models are stored:

    config.json        DanceModelConfig: rates, unit length, the music features it hears, the styles, the
                       training units' energy, the inference constants, each network's sizes, and
                       `training`, a record of how it was trained (data hash, recipe, per-stage options,
                       metrics, seconds, machine)
    model.safetensors  every weight, keyed "style.*", "du_vae.*", "mm_gan.*"

`DanceModel.from_pretrained(folder)` reads one back (one-line errors naming the file), `save_pretrained`
writes one atomically, and `from_stage_runs(folder)` assembles one from the three run folders that
`music2dance train` writes (`style/`, `decomposition/`, `composition/`). Inference is its method
`generate` (eq. 7), in three steps, each tested on its own:

    plan    song -> beats, the unit grid on them, each unit's music, the style of each group of units
    decode  latents -> key frames: z~_mov from the MM-GAN, decoded unit after unit by G_uni, each joined
            to the last pose of the one before
    align   key frames -> their times: each unit's kinematic beats moved onto the nearest music beats
    finish  key frames at their times -> the output frame rate (cubic spline) -> standard bone lengths
            -> on the floor

Nothing here imports `train/`; `generate/` only finds a folder and calls `generate`.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..defaults import AUDIO_SR, MODEL_FPS, OUTPUT_FPS
from ..errors import Music2DanceError, input_error
from ..io.skeleton import CANONICAL_JOINTS, CANONICAL_PARENTS, Motion
from ..validate import read_json_object
from .checkpoint import check_and_load, read_tensors
from .dance_config import CONFIG_FILE, FORMAT, WEIGHTS_FILE, DanceModelConfig
from .du_vae import DUVAE
from .mm_gan import MMGAN
from .style import StyleClassifier
from .unit_timing import beat_grid, join_unit, warp_times

log = logging.getLogger(__name__)

# module name in model.safetensors -> attribute of DanceModel; also the stage run folder each comes from
MODULES = {"style": "style", "du_vae": "decomposition", "mm_gan": "composition"}


@dataclass
class DancePlan:
    """What `DanceModel.plan` decides from the song, before any latent is drawn.

    duration: s of dance. music_beats: (B,) s. bounds: (U+1,) s, unit boundaries on the beat grid (each
    unit spans `beats_per_unit` beats). times: (U, L) s, the time of each unit's key frames (units share
    their boundary frame). music: (G, n, L, D) float32 tensor, each unit's music in groups of the MM-GAN's
    `n` units (the last group padded with the last unit). style: (G, S) the style classifier's
    probabilities of each group's music.
    """

    duration: float
    music_beats: np.ndarray
    bounds: np.ndarray
    beats_per_unit: int
    times: np.ndarray
    music: torch.Tensor
    style: torch.Tensor

    @property
    def n_units(self) -> int:
        return len(self.bounds) - 1


class DanceModel(nn.Module):
    """The three trained networks and the config that says how to use them (see the module docstring)."""

    def __init__(self, cfg: DanceModelConfig, name: str = "model"):
        super().__init__()
        problems = cfg.fit_problems()
        if problems:
            raise Music2DanceError(f"the networks do not fit together: {problems[0]}")
        self.cfg = cfg
        self.name = name
        self.style = StyleClassifier(cfg.style)
        self.du_vae = DUVAE(cfg.du_vae)
        self.mm_gan = MMGAN(cfg.mm_gan)
        self.eval()

    @property
    def unit_frames(self) -> int:
        return self.cfg.unit_frames

    @property
    def unit_energy(self) -> float:
        return self.cfg.unit_energy

    @property
    def feature_idx(self) -> list[int]:
        """Columns of `audio.features.music_features` this model hears, from their names."""
        from ..audio.features import FEATURE_NAMES

        return [list(FEATURE_NAMES).index(n) for n in self.cfg.music_features]

    # ------------------------------------------------------------------------------------ reading, writing
    @classmethod
    def from_pretrained(cls, folder: str | os.PathLike, name: str | None = None) -> DanceModel:
        """Read a model folder (config.json + model.safetensors); a one-line error names what is wrong."""
        folder = Path(folder)
        cfg_file, weights = folder / CONFIG_FILE, folder / WEIGHTS_FILE
        d = read_json_object(cfg_file, "model config")
        if d.get("format") != FORMAT:
            raise input_error(
                cfg_file, f"not a music2dance model config (format {d.get('format')!r}, expected {FORMAT!r})"
            )
        cfg = DanceModelConfig.from_dict(d, source=cfg_file, section="model")
        _check_features(cfg, cfg_file)
        try:
            model = cls(cfg, name=name or folder.name)
        except Music2DanceError as e:
            raise input_error(cfg_file, str(e)) from None
        except Exception as e:  # sizes that build no network
            raise input_error(cfg_file, f"the settings do not build a network ({e})") from None
        tensors = read_tensors(weights, "model weights file")
        check_and_load(weights, tensors, {m: getattr(model, m) for m in MODULES}, strict=True)
        model.check_runs(folder)
        return model.eval()

    def save_pretrained(self, folder: str | os.PathLike) -> Path:
        """Write config.json and model.safetensors into `folder` (each atomically; the weights first)."""
        from safetensors.torch import save_file

        from ..io.atomic import atomic_path, write_text_atomic

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        tensors = {
            f"{m}.{k}": t.detach().contiguous().clone()
            for m in MODULES
            for k, t in getattr(self, m).state_dict().items()
        }
        with atomic_path(folder / WEIGHTS_FILE) as tmp:
            save_file(tensors, str(tmp), metadata={"format": FORMAT})
        write_text_atomic(
            folder / CONFIG_FILE, json.dumps(self.cfg.to_dict(), indent=1, default=_json_default)
        )
        return folder

    @classmethod
    def from_stage_runs(cls, folder: str | os.PathLike, *, training: dict | None = None) -> DanceModel:
        """Assemble a model from `music2dance train all`'s run folders `folder/{style,decomposition,composition}`.

        `training` is the record to keep (default: `folder/model.json` of `train all`, if any); each stage's
        train options and data record come from its run folder's config.json.
        """
        from .pretrained import from_pretrained

        folder = Path(folder)
        missing = [s for s in MODULES.values() if not (folder / s / "config.json").exists()]
        if missing:
            raise input_error(
                folder,
                f"not a music2dance model folder: no {CONFIG_FILE}, and missing {', '.join(s + '/' for s in missing)}"
                " (train one with `music2dance train all`)",
            )
        nets = {m: from_pretrained(folder / s, s)[0] for m, s in MODULES.items()}
        summary = training
        if summary is None:
            summary = (
                read_json_object(folder / "model.json", "model summary")
                if (folder / "model.json").exists()
                else {}
            )
        energy = summary.get("unit_energy", 0.0)
        if (
            isinstance(energy, bool)
            or not isinstance(energy, (int, float))
            or not np.isfinite(energy)
            or energy < 0
        ):
            raise input_error(folder / "model.json", f"unit_energy must be a number >= 0, got {energy!r}")
        from ..audio.features import FEATURE_NAMES

        st = nets["style"].cfg
        stage_records = {s: _stage_record(folder / s) for s in MODULES.values()}
        meta = next(iter(stage_records.values())).get("data", {})
        # each stage's metrics are in its record; the summary's copy of them is left out
        record = {k: v for k, v in summary.items() if k not in ("format", "unit_energy", "metrics")}
        record = {**meta, **record, "stages": stage_records}
        cfg = DanceModelConfig(
            fps=float(meta.get("fps", MODEL_FPS)),
            sample_rate=int(meta.get("sample_rate", AUDIO_SR)),
            unit_frames=nets["du_vae"].cfg.unit_frames,
            music_features=tuple(FEATURE_NAMES[i] for i in st.feature_idx),
            styles=tuple(st.styles),
            unit_energy=float(energy),
            style=st,
            du_vae=nets["du_vae"].cfg,
            mm_gan=nets["mm_gan"].cfg,
            training=record,
        )
        try:
            model = cls(cfg, name=folder.name)
        except Music2DanceError as e:
            raise input_error(folder, str(e)) from None
        for m, net in nets.items():
            getattr(model, m).load_state_dict(net.state_dict())
        model.check_runs(folder)
        return model.eval()

    def check_runs(self, folder: Path) -> None:
        """Finite weights, and one tiny pass through the whole inference chain, so that a broken model is
        a one-line error at load time rather than a shape traceback in the middle of a song."""
        for m in MODULES:
            total = sum(
                float(t.double().abs().sum())
                for t in getattr(self, m).state_dict().values()
                if t.is_floating_point()
            )
            if not np.isfinite(total):
                raise input_error(folder, f"the {m} weights contain NaN or infinite values")
        try:
            with torch.no_grad():
                L, n = self.unit_frames, self.cfg.mm_gan.units
                music = torch.zeros(1, n, L, self.cfg.mm_gan.music_dim)
                s = self.style.probs(music.flatten(1, 2))
                g = torch.Generator().manual_seed(0)  # never touch the global RNG
                z_movs = self.mm_gan.compose(s, self.mm_gan.norm_music(music), generator=g).reshape(n, -1)
                self.du_vae.G_uni(torch.zeros(1, self.cfg.du_vae.z_ini), z_movs[:1])
        except (RuntimeError, ValueError, IndexError) as e:
            raise input_error(folder, f"the stages do not fit together ({str(e).splitlines()[0]})") from None

    # ------------------------------------------------------------------------------------------ inference
    @torch.no_grad()
    def generate(
        self,
        y: np.ndarray,
        sr: int,
        *,
        seed: int = 0,
        seconds: float | None = None,
        out_fps: float = OUTPUT_FPS,
        quiet: bool = True,
        source: str = "song",
    ) -> Motion:
        """A dance for the song `y` ((n,) mono float at `sr` = cfg.sample_rate Hz), `seconds` long (default:
        the whole song), at `out_fps`, on the canonical skeleton (eq. 7: plan, decode, finish).

        meta: music_beats (s), unit_starts (output frames where units begin), style (probabilities by
        name), beats_per_unit, seed, model, redraws. The same model, song and seed give the same dance.
        """
        plan = self.plan(y, sr, seconds=seconds, source=source)
        keys, redraws = self.decode(plan, seed=seed, quiet=quiet)
        plan = dataclasses.replace(plan, times=self.align(plan, keys))
        joints = self.finish(plan, keys, out_fps)
        T = len(joints)
        starts = np.unique(np.clip(np.round(plan.bounds[:-1] * out_fps).astype(int), 0, None))
        beats = plan.music_beats
        meta = {
            "music_beats": beats[beats < plan.duration].astype(np.float32),
            "unit_starts": starts[starts < T],
            "style": {n: float(p) for n, p in zip(self.cfg.styles, plan.style.mean(0).numpy())},
            "beats_per_unit": plan.beats_per_unit,
            "seed": int(seed),
            "model": self.name,
            "redraws": redraws,
        }
        return Motion(
            joints=joints, fps=out_fps, joint_names=CANONICAL_JOINTS, parents=CANONICAL_PARENTS, meta=meta
        )

    @torch.no_grad()
    def plan(
        self, y: np.ndarray, sr: int, *, seconds: float | None = None, source: str = "song"
    ) -> DancePlan:
        """Song -> beats -> unit grid -> each unit's music -> style of each group of n units."""
        from ..audio.beats import track_beats
        from ..audio.features import music_features

        if sr != self.cfg.sample_rate:
            raise input_error(source, f"sample rate {sr} Hz, the model expects {self.cfg.sample_rate} Hz")
        fps, L = self.cfg.fps, self.unit_frames
        natural = (L - 1) / fps
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
        _, beats = track_beats(y, sr)
        feats = music_features(y, sr, fps, beats=beats)[:, self.feature_idx]
        bounds, k = beat_grid(beats, duration, natural)
        # Frame times of every unit: L frames from its first boundary to its last (units share end frames).
        frac = np.linspace(0.0, 1.0, L)
        times = bounds[:-1, None] + frac[None, :] * np.diff(bounds)[:, None]  # (U, L) seconds
        idx = np.clip(np.round(times * fps).astype(int), 0, len(feats) - 1)
        unit_music = torch.from_numpy(feats[idx])  # (U, L, D)
        n = self.cfg.mm_gan.units
        U = len(bounds) - 1
        pad = -(-U // n) * n - U
        music = torch.cat([unit_music, unit_music[-1:].expand(pad, -1, -1)]).reshape(
            -1, n, L, unit_music.shape[-1]
        )
        style = self.style.probs(music.flatten(1, 2))
        if self.cfg.inference.style_pooling == "song":
            style = style.mean(0, keepdim=True).expand_as(style).contiguous()
        return DancePlan(duration, beats, bounds, k, times, music, style)

    @torch.no_grad()
    def decode(self, plan: DancePlan, *, seed: int = 0, quiet: bool = True) -> tuple[np.ndarray, int]:
        """Latents -> key frames (U, L, J, 3) float32 m in world coordinates, and the number of re-drawn units.

        z~_mov of every unit from the MM-GAN (eq. 4-5); unit i decoded by G_uni from z_ini of the previous
        unit's last pose (eq. 7; z_ini^0 ~ N(0, I)), placed where and as that pose faces, and joined to it
        (`join_unit`). A unit moving less than `min_energy_fraction` of the training units' energy is
        re-drawn with fresh noise, at most `max_redraws` times.
        """
        from tqdm import tqdm

        from ..motion.geometry import canonicalize_units, place_units, unit_speed

        inf, fps, L = self.cfg.inference, self.cfg.fps, self.unit_frames
        g = torch.Generator().manual_seed(int(seed))
        U, n = plan.n_units, self.cfg.mm_gan.units
        music_n = self.mm_gan.norm_music(plan.music)
        z_movs = self.mm_gan.compose(plan.style, music_n, generator=g).reshape(-1, self.cfg.mm_gan.z_mov)[:U]
        vae = self.du_vae
        min_energy = inf.min_energy_fraction * self.cfg.unit_energy
        keys = np.zeros((U, L, len(CANONICAL_JOINTS), 3), np.float32)
        prev_dt, redraws = 0.0, 0
        for i in tqdm(range(U), desc="dance units", unit="unit", disable=quiet):
            if i == 0:
                z_ini = torch.randn(1, vae.cfg.z_ini, generator=g)
                yaw, offset = np.zeros(1, np.float32), np.zeros((1, 3), np.float32)
            else:
                canon_last, yaw, offset = canonicalize_units(keys[i - 1][-1][None, None])
                z_ini = vae.E_ini(vae.norm(torch.from_numpy(canon_last.reshape(1, -1))))[0]
            for attempt in range(inf.max_redraws + 1):
                unit = vae.norm.inverse(vae.G_uni(z_ini, z_movs[i : i + 1])).reshape(1, L, -1, 3).numpy()
                if attempt == inf.max_redraws or unit_speed(unit, fps)[0] >= min_energy:
                    break
                redraws += 1
                gi = i // n  # re-compose only this unit's group, with fresh noise
                z_movs[i] = self.mm_gan.compose(plan.style[gi : gi + 1], music_n[gi : gi + 1], generator=g)[
                    0, i % n
                ]
            world = place_units(unit, yaw, offset)[0]
            dt = (plan.bounds[i + 1] - plan.bounds[i]) / (
                L - 1
            )  # seconds per key frame of this (warped) unit
            if i > 0:
                world = join_unit(world, keys[i - 1], dt, prev_dt, inf.blend_frames)
            keys[i] = world
            prev_dt = dt
        if redraws:
            log.info("re-drew %d of %d units whose motion was too small", redraws, U)
        return keys, redraws

    def align(self, plan: DancePlan, keys: np.ndarray) -> np.ndarray:
        """The key frames' times (U, L) s, warped inside each unit so that the kinematic beats of the
        finished dance fall on the nearest music beats; unit boundaries (on music beats) stay.

        The paper cuts training units at kinematic beats so that a unit placed on a music beat carries its
        dance beats there; our units are windows at every frame (docs/ARCHITECTURE.md), so the beats inside
        a unit are moved instead. A beat is moved only to a music beat inside its own unit, at most half a
        beat away, and only while the unit's local time runs at 1/max_warp to max_warp of its pace.
        """
        from ..motion.kinematic_beats import kinematic_beats

        inf, beats = self.cfg.inference, np.asarray(plan.music_beats, np.float64)
        if not inf.align_beats or len(beats) < 2:
            return plan.times
        U, L = plan.times.shape
        period = float(np.median(np.diff(beats)))
        rate = 2 * self.cfg.fps  # detection rate: a finer grid than the key frames
        anchors: list[dict[float, float]] = [{} for _ in range(U)]
        times = plan.times
        for _ in range(inf.align_passes):
            joints = self.finish(dataclasses.replace(plan, times=times), keys, rate)
            for t in kinematic_beats(joints, rate) / rate:
                i = int(np.searchsorted(times[:, 0], t, side="right")) - 1
                if not 0 <= i < U:
                    continue
                k = float(np.interp(t, times[i], np.arange(L)))  # where in the unit's key frames it is
                b = beats[np.argmin(np.abs(beats - t))]
                if 1 <= k <= L - 2 and plan.bounds[i] < b < plan.bounds[i + 1] and abs(b - t) <= period / 2:
                    anchors[i][round(2 * k) / 2] = float(b)
            times = np.stack([warp_times(plan.times[i], anchors[i], inf.max_warp) for i in range(U)])
        return times

    def finish(self, plan: DancePlan, keys: np.ndarray, out_fps: float) -> np.ndarray:
        """Key frames (U, L, J, 3) at the plan's times -> (T, J, 3) float32 m at `out_fps`, T = floor(duration
        * out_fps): a cubic spline through the key frames, the standard bone lengths, the feet on (not through) the floor."""
        from scipy.interpolate import make_interp_spline

        from ..motion.clean import (
            LIMBS,
            STANDARD_BONE_LENGTHS,
            lift_feet_to_floor,
            normalize_bone_lengths,
            normalize_bone_lengths_keep_limb_ends,
            put_on_floor,
        )

        times = plan.times
        # Units share their boundary frame: keep it once.
        key_t = np.concatenate([times[0, :1], times[:, 1:].reshape(-1)])
        key_p = np.concatenate([keys[0, :1], keys[:, 1:].reshape(-1, *keys.shape[2:])])
        T = int(np.floor(plan.duration * out_fps))
        t_out = np.arange(T) / out_fps
        # A cubic spline through the key frames: continuous velocity at every key frame, not only at joins.
        joints = make_interp_spline(key_t, key_p.reshape(len(key_p), -1), k=3)(t_out)
        # G_uni outputs positions, not rotations, so bone lengths wobble (2.3 cm std measured): rebuild the
        # skeleton with the standard lengths the training data was normalised to, keeping every bone's
        # direction. Decoded heights drift a little from unit to unit: the cleaning's moving floor estimate
        # keeps the feet on the floor.
        joints = joints.reshape(T, -1, 3)
        limbs = {"none": (), "legs": LIMBS[:2], "all": LIMBS}[self.cfg.inference.limb_ik]
        if limbs:
            joints = normalize_bone_lengths_keep_limb_ends(
                joints, CANONICAL_PARENTS, STANDARD_BONE_LENGTHS, limbs
            )
        else:
            joints = normalize_bone_lengths(joints, CANONICAL_PARENTS, STANDARD_BONE_LENGTHS)
        joints = put_on_floor(joints, out_fps, window_s=self.cfg.inference.floor_window_s)
        if self.cfg.inference.lift_feet:
            joints = lift_feet_to_floor(joints, out_fps, CANONICAL_PARENTS, STANDARD_BONE_LENGTHS)
        return joints.astype(np.float32)


def _check_features(cfg: DanceModelConfig, source: Path) -> None:
    from ..audio.features import FEATURE_NAMES

    unknown = [n for n in cfg.music_features if n not in FEATURE_NAMES]
    if unknown:
        raise input_error(
            source, f"the model hears music feature {unknown[0]!r}, which this version does not compute"
        )


def _stage_record(run: Path) -> dict:
    """What a stage's run folder says about its training: its train options, data, step and metrics."""
    cfg = read_json_object(run / "config.json", "run config")
    rec = {"step": cfg.get("step"), "train": cfg.get("train", {}), "data": cfg.get("meta", {})}
    if (run / "metrics.json").exists():
        rec["metrics"] = read_json_object(run / "metrics.json", "metrics")
    return rec


def _json_default(value):
    if dataclasses.is_dataclass(value):
        return dataclasses.asdict(value)
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    if isinstance(value, (tuple, set)):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON")
