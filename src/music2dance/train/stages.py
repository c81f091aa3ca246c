"""The three training stages as tasks for the one training loop: style, decomposition, composition.

`music2dance train all` runs them in order into one folder that `generate --model` can use directly.
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import Music2DanceError, input_error
from ..io.atomic import write_text_atomic
from ..models.checkpoint import CHECKPOINT_FILE
from ..models.du_vae import DUVAE, DUVAEConfig
from ..models.mm_gan import MMGAN, MMGANConfig
from ..models.pretrained import STAGE_MODELS, STAGES, from_pretrained
from ..models.style import StyleClassifier, StyleConfig
from ..motion.units import canonicalize_units, extract_units, place_units, unit_chains
from ..validate import check_fields, read_json_object
from .loop import TrainConfig, train
from .prepare import load_manifest, load_sequences

log = logging.getLogger(__name__)

# The beat-phase channels are left out of every model's music input: the Tang data's music-motion sync is
# only tempo-level (docs/BEATS.md), so phase learned from it would be noise. Beats are placed at inference.
PHASE_FEATURES = ("beat_pulse", "beat_phase_sin", "beat_phase_cos")

# Default schedules per preset: steps and batch sizes chosen so that `train all` fits in the 60-minute
# budget on a 2-core CPU (measured in MODEL.md).
PRESET_TRAIN = {
    "cpu": {
        "style": dict(steps=600, batch_size=64, lr=1e-3, val_every=200, ckpt_every=200),
        "decomposition": dict(steps=3000, batch_size=64, lr=1e-3, val_every=500, ckpt_every=500),
        "composition": dict(steps=6000, batch_size=64, lr=2e-4, val_every=500, ckpt_every=500),
    },
    "paper": {
        "style": dict(steps=3000, batch_size=128, lr=1e-3),
        "decomposition": dict(steps=60000, batch_size=256, lr=2e-4, val_every=2000, ckpt_every=2000),
        "composition": dict(steps=30000, batch_size=256, lr=2e-4, val_every=2000, ckpt_every=2000),
    },
    "tiny": {
        s: dict(steps=30, batch_size=8, lr=1e-3, val_every=15, ckpt_every=15, log_every=5) for s in STAGES
    },
}
# The style classifier's L2 weight decay (Adam's `weight_decay`; the other stages use none). It was once
# hard-coded in StyleTask.optimizers while config.json recorded the unused TrainConfig default 0.0; now
# the optimizer reads the recorded option, and every preset's style schedule sets it.
for _p in PRESET_TRAIN.values():
    _p["style"].setdefault("weight_decay", 1e-4)
# The CPU preset trains on one thread: CPU kernels split their sums by thread, so the weights depend on the
# thread count (measured: 1 vs 2 threads moves the style stage by up to 0.03 in 600 steps), and torch's
# default is the machine's core count. One thread gives the same weights on any core count (for the same
# CPU capability and torch version, MODEL.md), and on a shared 2-core machine it was ~10x faster than two
# threads waiting for each other. Other presets record the count they ran with (run_stage).
for _s in PRESET_TRAIN["cpu"].values():
    _s.setdefault("num_threads", 1)


def music_feature_idx(feature_names: list[str]) -> list[int]:
    return [i for i, n in enumerate(feature_names) if n not in PHASE_FEATURES]


def _torch(x: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))


class _SequenceData:
    """Prepared sequences of one split, kept as arrays, with length-weighted random windows."""

    def __init__(self, data: str | Path, split: str, feat_idx: list[int]):
        self.seqs = load_sequences(data, split)
        if not self.seqs:
            raise input_error(data, f"no '{split}' sequences in the prepared data")
        for s in self.seqs:
            s["music"] = s["music"][:, feat_idx]
        self.lengths = np.array([len(s["joints"]) for s in self.seqs])

    def windows(self, n: int, length: int, g: torch.Generator) -> tuple[np.ndarray, np.ndarray]:
        """n random (sequence, start) windows of `length` frames, sequences weighted by their length."""
        avail = np.maximum(self.lengths - length + 1, 0).astype(np.float64)
        seq = torch.multinomial(torch.from_numpy(avail), n, replacement=True, generator=g).numpy()
        start = (torch.rand(n, generator=g).numpy() * avail[seq]).astype(np.int64)
        return seq, start


def _random_pose_change(n: int, g: torch.Generator, max_yaw: float, max_shift: float):
    yaw = (torch.rand(n, generator=g).numpy() * 2 - 1) * max_yaw
    shift = np.zeros((n, 3), np.float32)
    shift[:, [0, 2]] = (torch.rand(n, 2, generator=g).numpy() * 2 - 1) * max_shift
    return yaw.astype(np.float32), shift


# ------------------------------------------------------------------------------------------------ style
class StyleTask:
    """Music style classifier: cross-entropy on windows of training songs, styles sampled evenly."""

    name = "style"

    def __init__(self, data, cfg: StyleConfig):
        man = load_manifest(data)
        self.cfg = cfg
        self.cfg.styles = tuple(man["styles"])  # the classes are the data set's styles
        self.cfg.feature_idx = music_feature_idx(man["feature_names"])
        self.cfg.music_dim = len(self.cfg.feature_idx)
        self.train_data = _SequenceData(data, "train", self.cfg.feature_idx)
        self.test_data = _SequenceData(data, "test", self.cfg.feature_idx)
        self.style_of = {s: i for i, s in enumerate(self.cfg.styles)}
        self.labels = np.array([self.style_of[s["style"]] for s in self.train_data.seqs])

    def build(self):
        model = StyleClassifier(self.cfg)
        music = np.concatenate([s["music"] for s in self.train_data.seqs])
        model.music_mean.copy_(_torch(music.mean(0)))
        model.music_std.copy_(_torch(music.std(0).clip(1e-3)))
        return {"style": model}

    def optimizers(self, modules):
        return {
            "style": torch.optim.Adam(
                modules["style"].parameters(), lr=self.lr, weight_decay=self.weight_decay
            )
        }

    def train_batch(self, step, g):
        W = self.cfg.window_frames
        # Even styles: the data is 2/3 waltz; without this the classifier says "waltz" and is 2/3 right.
        styles = torch.randint(len(self.cfg.styles), (self.batch_size,), generator=g).numpy()
        xs, ys = [], []
        for st in styles:
            cand = np.flatnonzero(self.labels == st)
            if len(cand) == 0:
                cand = np.arange(len(self.labels))
            i = cand[int(torch.randint(len(cand), (1,), generator=g))]
            m = self.train_data.seqs[i]["music"]
            s0 = int(torch.randint(max(1, len(m) - W), (1,), generator=g))
            xs.append(m[s0 : s0 + W])
            ys.append(self.labels[i])
        return _torch(np.stack(xs)), torch.tensor(ys)

    def train_step(self, step, batch, modules, ctx):
        x, y = batch
        model = modules["style"]
        loss = F.cross_entropy(model(model.norm_music(x)), y)
        ctx.backward_step(loss, "style")
        return {"ce": loss}

    def validate(self, modules):
        return style_accuracy(modules["style"], self.test_data.seqs, self.cfg)

    def config_dict(self):
        return {"stage": "style", "style": self.cfg.to_dict()}


def style_accuracy(model: StyleClassifier, seqs: list[dict], cfg: StyleConfig) -> dict[str, float]:
    """Window accuracy (windows of cfg.window_frames, half overlapping) and song accuracy (mean probs)."""
    win_ok, song_ok, n_win = 0, 0, 0
    W = cfg.window_frames
    for s in seqs:
        label = cfg.styles.index(s["style"]) if s["style"] in cfg.styles else -1
        m = s["music"]
        starts = range(0, max(1, len(m) - W + 1), W // 2)
        x = _torch(np.stack([m[i : i + W] for i in starts])).to(model.music_mean.device)
        p = model.probs(x)
        win_ok += int((p.argmax(-1) == label).sum())
        n_win += len(p)
        song_ok += int(int(p.mean(0).argmax()) == label)
    return {"window_acc": win_ok / max(n_win, 1), "song_acc": song_ok / max(len(seqs), 1)}


# ------------------------------------------------------------------------------------------- decomposition
class DecompositionTask:
    """DU-VAE (eq. 1) on random windows of the training dances, two copies per unit (see DUVAE.losses).

    Departure from the original: units are drawn at every frame, not only at kinematic beats, because at
    inference a unit starts wherever the previous one ended; this gives the encoders ~8x more units.
    The copies differ by a yaw of up to +-30 degrees and a shift of up to +-0.5 m (the original shifted
    2-D copies by +-50 px): z_mov must not depend on where and which way the dancer starts.
    """

    name = "decomposition"
    max_yaw = np.pi / 6
    max_shift = 0.5

    def __init__(self, data, cfg: DUVAEConfig):
        man = load_manifest(data)
        self.cfg = cfg
        cfg.unit_frames = int(man["unit_frames"])
        self.train_data = _SequenceData(data, "train", [])
        self.test_data = _SequenceData(data, "test", [])
        cfg.pose_dim = int(np.prod(self.train_data.seqs[0]["joints"].shape[1:]))
        rng = np.random.default_rng(0)
        self.val_units = _fixed_windows(self.test_data, cfg.unit_frames, 512, rng)

    def _units(self, data: _SequenceData, seq, start) -> np.ndarray:
        L = self.cfg.unit_frames
        return np.stack([data.seqs[q]["joints"][s : s + L] for q, s in zip(seq, start)])

    def build(self):
        model = DUVAE(self.cfg)
        g = torch.Generator().manual_seed(1234)
        seq, start = self.train_data.windows(4096, self.cfg.unit_frames, g)
        canon, _, _ = canonicalize_units(self._units(self.train_data, seq, start))
        yaw, shift = _random_pose_change(len(canon), g, self.max_yaw, self.max_shift)
        model.norm.fit(_torch(place_units(canon, yaw, shift)).flatten(2))
        return {"du_vae": model}

    def optimizers(self, modules):
        return {
            "du_vae": torch.optim.Adam(
                modules["du_vae"].parameters(), lr=self.lr, weight_decay=self.weight_decay
            )
        }

    def train_batch(self, step, g):
        seq, start = self.train_data.windows(self.batch_size, self.cfg.unit_frames, g)
        canon, _, _ = canonicalize_units(self._units(self.train_data, seq, start))
        copies = []
        for _ in range(2):
            yaw, shift = _random_pose_change(len(canon), g, self.max_yaw, self.max_shift)
            copies.append(_torch(place_units(canon, yaw, shift)).flatten(2))
        return copies[0], copies[1]

    def train_step(self, step, batch, modules, ctx):
        model = modules["du_vae"]
        a, b = batch
        losses = model.losses(model.norm(a), model.norm(b), step)
        ctx.backward_step(losses["total"], "du_vae")
        losses["kl_w"] = self.cfg.kl_weight(step)
        return losses

    def validate(self, modules):
        model = modules["du_vae"]
        dev = model.norm.mean.device
        x = _torch(self.val_units).flatten(2).to(dev)
        rec = model.norm.inverse(model.reconstruct(model.norm(x)))
        err_cm = 100 * (rec - x).reshape(*x.shape[:2], -1, 3).norm(dim=-1)
        return {"recon_cm": float(err_cm.mean()), "recon_cm_p95": float(err_cm.quantile(0.95))}

    def config_dict(self):
        return {"stage": "decomposition", "du_vae": self.cfg.to_dict()}


def _fixed_windows(data: _SequenceData, L: int, n: int, rng: np.random.Generator) -> np.ndarray:
    """n canonical units at fixed random places (validation and figures must not change between runs)."""
    out = []
    for _ in range(n):
        q = rng.integers(len(data.seqs))
        s = rng.integers(0, len(data.seqs[q]["joints"]) - L + 1)
        out.append(data.seqs[q]["joints"][s : s + L])
    canon, _, _ = canonicalize_units(np.stack(out))
    return canon


# ------------------------------------------------------------------------------------------- composition
class CompositionTask:
    """MM-GAN (eq. 2-6) on chains of consecutive units of the training dances, DU-VAE and style frozen.

    The movement latents of every chain are computed once with the frozen E_mov (posterior means) and
    the style feature s with the frozen style classifier on the chain's music.
    """

    name = "composition"

    def __init__(
        self, data, cfg: MMGANConfig, decomposition: str | Path, style: str | Path, chain_stride: int = 3
    ):
        man = load_manifest(data)
        self.cfg = cfg
        self.du_vae, self.du_cfg = load_du_vae(decomposition)
        self.style, self.style_cfg = load_style(style)
        cfg.z_mov = self.du_cfg.z_mov
        cfg.unit_frames = int(man["unit_frames"])
        cfg.style_dim = len(self.style_cfg.styles)
        feat_idx = self.style_cfg.feature_idx
        cfg.music_dim = len(feat_idx)
        self.train = self._chains(_SequenceData(data, "train", feat_idx), chain_stride)
        self.test = self._chains(_SequenceData(data, "test", feat_idx), 2 * chain_stride)

    @torch.no_grad()
    def _chains(self, data: _SequenceData, stride: int) -> dict[str, torch.Tensor]:
        L, n = self.cfg.unit_frames, self.cfg.units
        z, music, s = [], [], []
        for seq in data.seqs:
            T = len(seq["joints"])
            rows = unit_chains(np.arange(0, T, stride), T, L, n)
            if len(rows) == 0:
                continue
            units = extract_units(seq["joints"], rows.reshape(-1), L)
            canon, _, _ = canonicalize_units(units)
            x = self.du_vae.norm(_torch(canon).flatten(2))
            mu = torch.cat([self.du_vae.E_mov(x[i : i + 1024])[0] for i in range(0, len(x), 1024)])
            z.append(mu.reshape(len(rows), n, -1))
            m = _torch(extract_units(seq["music"], rows.reshape(-1), L)).reshape(len(rows), n, L, -1)
            music.append(m)
            s.append(self.style.probs(m.flatten(1, 2)))
        return {"z": torch.cat(z), "music": torch.cat(music), "s": torch.cat(s)}

    def build(self):
        model = MMGAN(self.cfg)
        m = self.train["music"].flatten(0, 2)
        model.music_mean.copy_(m.mean(0))
        model.music_std.copy_(m.std(0).clamp_min(1e-3))
        z = self.train["z"].flatten(0, 1)
        model.zmov_mean.copy_(z.mean(0))
        # One scale for all dimensions, not one per dimension: most of the DU-VAE's z_mov dimensions are
        # inactive (posterior means with std ~0.03 against ~1 for the active ones); scaling each to unit
        # variance would turn them into loud, unpredictable noise that the reconstruction cannot fit.
        model.zmov_std.fill_(float(z.var(0).mean().sqrt().clamp_min(1e-4)))
        return {"mm_gan": model}

    def optimizers(self, modules):
        m = modules["mm_gan"]
        return {
            "gen": torch.optim.Adam(
                m.generator_parameters(), lr=self.lr, betas=(0.5, 0.999), weight_decay=self.weight_decay
            ),
            "disc": torch.optim.Adam(
                m.discriminator_parameters(), lr=self.lr, betas=(0.5, 0.999), weight_decay=self.weight_decay
            ),
        }

    def train_batch(self, step, g):
        idx = torch.randint(len(self.train["z"]), (self.batch_size,), generator=g)
        return {k: v[idx] for k, v in self.train.items()}

    def train_step(self, step, batch, modules, ctx):
        model = modules["mm_gan"]
        music_n, z_n = model.norm_music(batch["music"]), model.norm_z(batch["z"])
        g_losses, cache = model.generator_losses(z_n, music_n, batch["s"])
        ctx.backward_step(g_losses["total"], "gen")
        d_losses = model.discriminator_losses(z_n, music_n, cache)
        ctx.backward_step(d_losses["total"], "disc")
        return {**{k: v for k, v in g_losses.items() if k != "total"}, **d_losses, "total": g_losses["total"]}

    def validate(self, modules):
        model = modules["mm_gan"]
        dev = model.music_mean.device
        z, music, s = (self.test[k].to(dev) for k in ("z", "music", "s"))
        music_n, z_n = model.norm_music(music), model.norm_z(z)
        mu, _ = model.E_mtd(z_n)
        recon = model.G_dan(mu, model.A_enc(music_n))
        fake = model.norm_z(model.compose(s, music_n))
        # How far generated movement latents are from real ones, in units of the real latents' spread
        # (1.0 for std_ratio and 0.0 for mean_gap would be a perfect match of the first two moments).
        spread = z_n.std(0).mean()
        return {
            "recon_m": float(F.l1_loss(recon, z_n)),
            "recon_std_ratio": float(recon.std(0).mean() / spread),
            "fake_mean_gap": float((fake.mean(0) - z_n.mean(0)).abs().mean() / spread),
            "fake_std_ratio": float(fake.std(0).mean() / spread),
        }

    def config_dict(self):
        return {"stage": "composition", "mm_gan": self.cfg.to_dict()}


# ----------------------------------------------------------------------------------------------- loading
def training_unit_energy(data) -> float:
    """Median mean-joint-speed (m/s) of the training units: generation's yardstick for a frozen unit."""
    man = load_manifest(data)
    with np.load(Path(data) / "units.npz", allow_pickle=False) as z:
        units = z["units"][z["split"] == "train"]
    speed = np.linalg.norm(np.diff(units, axis=1), axis=-1).mean(axis=(1, 2)) * float(man["fps"])
    return float(np.median(speed))


def load_du_vae(folder) -> tuple[DUVAE, DUVAEConfig]:
    return from_pretrained(folder, "decomposition")


def load_style(folder) -> tuple[StyleClassifier, StyleConfig]:
    return from_pretrained(folder, "style")


# ------------------------------------------------------------------------------------------------ command
def data_meta(man: dict) -> dict:
    """What identifies the prepared data in a run's config: its hash and recipe, not where it lay."""
    return {
        "data_hash": man["data_hash"],
        "recipe_version": man.get("recipe", {}).get("version"),
        "recipe_hash": man.get("recipe_hash"),
    }


def machine_meta() -> dict:
    """The software and CPU a run was trained with: bit-exact weights need the same (MODEL.md)."""
    import platform

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), cpu)
    except OSError:
        pass
    return {
        "torch": torch.__version__,
        "numpy": np.__version__,
        "cpu": cpu,
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "cpus": os.cpu_count(),
    }


@dataclass
class _Overrides:
    train: dict
    model: dict


def _read_overrides(config: str | None, stage: str) -> _Overrides:
    """Config overrides from a JSON file: {"train": {...}, "model": {...}}, or one such section per stage
    ({"decomposition": {"train": ...}, ...}) so that one file can drive `train all`."""
    if not config:
        return _Overrides({}, {})
    d = read_json_object(config, "config JSON")
    prefix = ""
    if any(k in d for k in STAGES):
        unknown = [k for k in d if k not in STAGES]
        if unknown:
            raise input_error(config, f"unknown section {unknown[0]!r} (use {', '.join(STAGES)})")
        d, prefix = d.get(stage, {}), f"{stage}."
        if not isinstance(d, dict):
            raise input_error(config, f"{stage}: must be a JSON object with 'train' and/or 'model'")
    unknown = [k for k in d if k not in ("train", "model")]
    if unknown:
        raise input_error(
            config,
            f"{prefix or 'top level'}: unknown section {unknown[0]!r} (use train, model or a stage name)",
        )
    train_ov = check_fields(config, f"{prefix}train", TrainConfig, d.get("train", {}))
    cfg_cls, model_cls = STAGE_MODELS[stage][:2]
    model_ov = check_fields(config, f"{prefix}model", cfg_cls, d.get("model", {}))
    if model_ov:
        try:
            model_cls(_model_config(cfg_cls, "cpu", model_ov))
        except Exception as e:  # e.g. a zero or negative size
            raise input_error(config, f"{prefix}model: these settings build no network ({e})") from None
    return _Overrides(train_ov, model_ov)


def _model_config(cls, preset: str, overrides: dict):
    """The preset's model config (cls.paper() / cls.tiny() where the model has one) with overrides applied."""
    base = getattr(cls, preset)() if preset in ("paper", "tiny") and hasattr(cls, preset) else cls()
    for k, v in overrides.items():
        if not hasattr(base, k):
            raise Music2DanceError(f"unknown model config field {k!r} (value {v!r}) for {cls.__name__}")
        setattr(base, k, tuple(v) if isinstance(v, list) and isinstance(getattr(base, k), tuple) else v)
    return base


def run_stage(
    stage: str,
    *,
    data,
    out,
    config=None,
    resume=False,
    device="cpu",
    steps=None,
    preset="cpu",
    decomposition=None,
    style=None,
    quiet=False,
    overwrite=False,
) -> dict:
    """Train one stage into `out` with the shared loop; returns its final metrics."""
    ov = _read_overrides(config, stage)
    tc = {**PRESET_TRAIN[preset][stage], **ov.train, "device": device}
    if steps is not None:
        if steps < 1:
            raise input_error("--steps", f"must be at least 1, got {steps}")
        tc["steps"] = steps
    if device == "cpu" and not tc.get("num_threads"):
        # Record the thread count actually used: CPU kernels split sums by thread, so the weights depend
        # on it (measured: 1 vs 2 threads changes the style stage by up to 0.03 in 600 steps).
        tc["num_threads"] = torch.get_num_threads()
    try:
        train_cfg = TrainConfig.from_dict(tc)
    except ValueError as e:  # a value out of range (ranges live in TrainConfig)
        raise input_error(config or "training options", str(e)) from None
    if train_cfg.num_threads > 0:
        # Before the task is built: the composition task runs the frozen DU-VAE and style classifier on
        # its data there, and their outputs depend on the thread count too.
        torch.set_num_threads(train_cfg.num_threads)
    man = load_manifest(data)
    if stage == "style":
        task = StyleTask(data, _model_config(StyleConfig, preset, ov.model))
    elif stage == "decomposition":
        task = DecompositionTask(data, _model_config(DUVAEConfig, preset, ov.model))
    else:
        if not decomposition or not style:
            raise Music2DanceError("composition needs --decomposition RUN and --style RUN (trained first)")
        task = CompositionTask(data, _model_config(MMGANConfig, preset, ov.model), decomposition, style)
    task.lr, task.batch_size, task.weight_decay = train_cfg.lr, train_cfg.batch_size, train_cfg.weight_decay
    meta = {**data_meta(man), "preset": preset, "machine": machine_meta()}
    log.info("training %s (%s preset, %d steps) into %s", stage, preset, train_cfg.steps, out)
    return train(task, train_cfg, out, resume=resume, quiet=quiet, extra_meta=meta, overwrite=overwrite)


def run_training(stage: str, *, out, config=None, decomposition=None, style=None, **kw) -> dict:
    """`music2dance train STAGE`; `all` trains style, decomposition and composition into out/<stage>.

    Other keyword arguments (data, resume, device, steps, preset, quiet) go to every `run_stage`.
    """
    if stage != "all":
        return run_stage(stage, out=out, config=config, decomposition=decomposition, style=style, **kw)
    out = Path(out)
    t0 = time.perf_counter()
    timings, metrics = {}, {}
    for st in STAGES:
        t = time.perf_counter()
        # --resume continues the stage that was running; a stage not started yet starts afresh
        resume = kw.get("resume", False) and (out / st / CHECKPOINT_FILE).exists()
        metrics[st] = run_stage(
            st,
            out=out / st,
            config=config,
            decomposition=out / "decomposition",
            style=out / "style",
            **{**kw, "resume": resume},
        )
        timings[st] = round(time.perf_counter() - t, 1)
    summary = {
        "format": "music2dance-model-1",
        "stages": list(STAGES),
        "train_seconds": timings,
        "unit_energy": training_unit_energy(kw["data"]),
        "total_seconds": round(time.perf_counter() - t0, 1),
        "preset": kw.get("preset", "cpu"),
        **data_meta(load_manifest(kw["data"])),
        "metrics": metrics,
    }
    write_text_atomic(out / "model.json", json.dumps(summary, indent=1, default=float))
    log.info("trained all stages in %.0f s: %s", summary["total_seconds"], timings)
    return summary
