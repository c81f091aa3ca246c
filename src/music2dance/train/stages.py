"""The three training stages as tasks for the one training loop: style, decomposition, composition.

Each task takes the prepared data, its model config (the user's settings: preset and --config, see
`train.config`) and its TrainConfig. What it derives from the data or the frozen stages it builds on
(`config.DATA_FIELDS`) goes into its own network config `task.cfg`, never back into the one it was given.
`music2dance train all` runs the stages in order into one folder that `generate --model` can use directly.
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import Music2DanceError, input_error
from ..io.atomic import write_text_atomic
from ..io.prepared import load_prepared, read_manifest
from ..models.checkpoint import CHECKPOINT_FILE
from ..models.dance_model import DanceModel
from ..models.du_vae import DUVAE, DUVAEConfig
from ..models.mm_gan import MMGAN, MMGANConfig
from ..models.pretrained import STAGES, from_pretrained
from ..models.style import StyleClassifier, StyleConfig
from ..motion.geometry import canonicalize_units, place_units, unit_speed
from ..motion.units import extract_units, unit_chains
from .config import DATA_FIELDS, TrainConfig, stage_configs
from .loop import train

log = logging.getLogger(__name__)

# The beat-phase channels are left out of every model's music input: the Tang data's music-motion sync is
# only tempo-level (docs/BEATS.md), so phase learned from it would be noise. Beats are placed at inference.
PHASE_FEATURES = ("beat_pulse", "beat_phase_sin", "beat_phase_cos")


# The style classifier's tempo and meter cues: periodicities of the onset strength and the loudness.
ACF_FEATURES = ("onset", "log_energy")


def music_feature_idx(feature_names: list[str]) -> list[int]:
    return [i for i, n in enumerate(feature_names) if n not in PHASE_FEATURES]


def _torch(x: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))


class _SequenceData:
    """The prepared sequences of one split: joints (T, J, 3) m, the music columns `feat_idx` (T, D) and
    styles, with length-weighted random windows."""

    def __init__(self, data: str | Path, split: str, feat_idx: list[int] | None = None):
        seqs = load_prepared(data, split)[1]
        if not seqs:
            raise input_error(data, f"no '{split}' sequences in the prepared data")
        self.joints = [s.joints for s in seqs]
        self.music = [s.music[:, feat_idx] for s in seqs] if feat_idx is not None else []
        self.styles = [s.style for s in seqs]
        self.lengths = np.array([len(j) for j in self.joints])

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

    def __init__(self, data, cfg: StyleConfig, train_cfg: TrainConfig):
        man = read_manifest(data)
        idx = music_feature_idx(man["feature_names"])
        # The classes are the data set's styles; the music columns are its features less the beat phase.
        names = list(man["feature_names"])
        acf = [idx.index(names.index(n)) for n in ACF_FEATURES if n in names]
        self.cfg = replace(
            cfg, styles=tuple(man["styles"]), feature_idx=idx, music_dim=len(idx), acf_columns=acf
        )
        self.train_cfg = train_cfg
        self.train_data = _SequenceData(data, "train", idx)
        self.test_data = _SequenceData(data, "test", idx)
        self.labels = np.array([self.cfg.styles.index(s) for s in self.train_data.styles])

    def build(self):
        model = StyleClassifier(self.cfg)
        music = np.concatenate(self.train_data.music)
        model.music_mean.copy_(_torch(music.mean(0)))
        model.music_std.copy_(_torch(music.std(0).clip(1e-3)))
        return {"style": model}

    def optimizers(self, modules):
        tc = self.train_cfg
        return {
            "style": torch.optim.Adam(modules["style"].parameters(), lr=tc.lr, weight_decay=tc.weight_decay)
        }

    def train_batch(self, step, g):
        W = self.cfg.window_frames
        # Even styles: the data is 2/3 waltz; without this the classifier says "waltz" and is 2/3 right.
        styles = torch.randint(len(self.cfg.styles), (self.train_cfg.batch_size,), generator=g).numpy()
        xs, ys = [], []
        for st in styles:
            cand = np.flatnonzero(self.labels == st)
            if len(cand) == 0:
                cand = np.arange(len(self.labels))
            i = cand[int(torch.randint(len(cand), (1,), generator=g))]
            m = self.train_data.music[i]
            s0 = int(torch.randint(max(1, len(m) - W), (1,), generator=g))
            xs.append(m[s0 : s0 + W])
            ys.append(self.labels[i])
        return _torch(np.stack(xs)), torch.tensor(ys)

    def train_step(self, step, batch, modules, ctx):
        x, y = batch
        model = modules["style"]
        loss = F.cross_entropy(ctx.forward(model, model.norm_music(x)), y)
        ctx.backward_step(loss, "style")
        return {"ce": loss}

    def validate(self, modules):
        return style_accuracy(modules["style"], self.test_data.music, self.test_data.styles, self.cfg)

    def config_dict(self):
        return {"stage": "style", "style": self.cfg.to_dict()}


def style_accuracy(
    model: StyleClassifier, music: list[np.ndarray], styles: list[str], cfg: StyleConfig
) -> dict[str, float]:
    """Window accuracy (windows of cfg.window_frames, half overlapping) and song accuracy (mean probs) of
    songs `music` ((T, D) each) whose styles are `styles`."""
    win_ok, song_ok, n_win = 0, 0, 0
    W = cfg.window_frames
    for m, style in zip(music, styles):
        label = cfg.styles.index(style) if style in cfg.styles else -1
        starts = range(0, max(1, len(m) - W + 1), W // 2)
        x = _torch(np.stack([m[i : i + W] for i in starts])).to(model.music_mean.device)
        p = model.probs(x)
        win_ok += int((p.argmax(-1) == label).sum())
        n_win += len(p)
        song_ok += int(int(p.mean(0).argmax()) == label)
    return {"window_acc": win_ok / max(n_win, 1), "song_acc": song_ok / max(len(music), 1)}


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

    def __init__(self, data, cfg: DUVAEConfig, train_cfg: TrainConfig):
        man = read_manifest(data)
        self.train_data = _SequenceData(data, "train")
        self.test_data = _SequenceData(data, "test")
        pose_dim = int(np.prod(self.train_data.joints[0].shape[1:]))
        self.cfg = replace(cfg, unit_frames=int(man["unit_frames"]), pose_dim=pose_dim)
        self.train_cfg = train_cfg
        rng = np.random.default_rng(0)
        self.val_units = _fixed_windows(self.test_data, self.cfg.unit_frames, 512, rng)

    def _units(self, data: _SequenceData, seq, start) -> np.ndarray:
        L = self.cfg.unit_frames
        return np.stack([data.joints[q][s : s + L] for q, s in zip(seq, start)])

    def build(self):
        model = DUVAE(self.cfg)
        g = torch.Generator().manual_seed(1234)
        seq, start = self.train_data.windows(4096, self.cfg.unit_frames, g)
        canon, _, _ = canonicalize_units(self._units(self.train_data, seq, start))
        yaw, shift = _random_pose_change(len(canon), g, self.max_yaw, self.max_shift)
        model.norm.fit(_torch(place_units(canon, yaw, shift)).flatten(2))
        return {"du_vae": model}

    def optimizers(self, modules):
        tc = self.train_cfg
        return {
            "du_vae": torch.optim.Adam(modules["du_vae"].parameters(), lr=tc.lr, weight_decay=tc.weight_decay)
        }

    def train_batch(self, step, g):
        seq, start = self.train_data.windows(self.train_cfg.batch_size, self.cfg.unit_frames, g)
        canon, _, _ = canonicalize_units(self._units(self.train_data, seq, start))
        copies = []
        for _ in range(2):
            yaw, shift = _random_pose_change(len(canon), g, self.max_yaw, self.max_shift)
            copies.append(_torch(place_units(canon, yaw, shift)).flatten(2))
        return copies[0], copies[1]

    def train_step(self, step, batch, modules, ctx):
        model = modules["du_vae"]
        a, b = batch
        losses = ctx.forward(model.losses, model.norm(a), model.norm(b), step)
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
        q = rng.integers(len(data.joints))
        s = rng.integers(0, len(data.joints[q]) - L + 1)
        out.append(data.joints[q][s : s + L])
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
        self,
        data,
        cfg: MMGANConfig,
        train_cfg: TrainConfig,
        decomposition: str | Path,
        style: str | Path,
        chain_stride: int = 3,
    ):
        man = read_manifest(data)
        self.du_vae, du_cfg = load_du_vae(decomposition)
        self.style, style_cfg = load_style(style)
        idx = style_cfg.feature_idx
        self.cfg = replace(
            cfg,
            z_mov=du_cfg.z_mov,
            unit_frames=int(man["unit_frames"]),
            style_dim=len(style_cfg.styles),
            music_dim=len(idx),
        )
        self.train_cfg = train_cfg
        self.train = self._chains(_SequenceData(data, "train", idx), chain_stride)
        self.test = self._chains(_SequenceData(data, "test", idx), 2 * chain_stride)

    @torch.no_grad()
    def _chains(self, data: _SequenceData, stride: int) -> dict[str, torch.Tensor]:
        L, n = self.cfg.unit_frames, self.cfg.units
        z, music, s = [], [], []
        for joints, seq_music in zip(data.joints, data.music):
            T = len(joints)
            rows = unit_chains(np.arange(0, T, stride), T, L, n)
            if len(rows) == 0:
                continue
            units = extract_units(joints, rows.reshape(-1), L)
            canon, _, _ = canonicalize_units(units)
            x = self.du_vae.norm(_torch(canon).flatten(2))
            mu = torch.cat([self.du_vae.E_mov(x[i : i + 1024])[0] for i in range(0, len(x), 1024)])
            z.append(mu.reshape(len(rows), n, -1))
            m = _torch(extract_units(seq_music, rows.reshape(-1), L)).reshape(len(rows), n, L, -1)
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
        m, tc = modules["mm_gan"], self.train_cfg
        adam = dict(lr=tc.lr, betas=(0.5, 0.999), weight_decay=tc.weight_decay)
        return {
            "gen": torch.optim.Adam(m.generator_parameters(), **adam),
            "disc": torch.optim.Adam(m.discriminator_parameters(), **adam),
        }

    def train_batch(self, step, g):
        idx = torch.randint(len(self.train["z"]), (self.train_cfg.batch_size,), generator=g)
        return {k: v[idx] for k, v in self.train.items()}

    def train_step(self, step, batch, modules, ctx):
        model = modules["mm_gan"]
        music_n, z_n = model.norm_music(batch["music"]), model.norm_z(batch["z"])
        g_losses, cache = ctx.forward(model.generator_losses, z_n, music_n, batch["s"])
        ctx.backward_step(g_losses["total"], "gen")
        d_losses = ctx.forward(model.discriminator_losses, z_n, music_n, cache)
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
    man = read_manifest(data)
    with np.load(Path(data) / "units.npz", allow_pickle=False) as z:
        units = z["units"][z["split"] == "train"]
    return float(np.median(unit_speed(units, float(man["fps"]))))


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
    """Train one stage into `out` with the shared loop; returns its final metrics.

    config.json records, besides the options used, a "data" section (the data folder's name and the
    model fields taken from the data, `config.DATA_FIELDS`) and a "meta" one (data hash and recipe,
    preset, machine): never where the data lay.
    """
    if steps is not None and steps < 1:
        raise input_error("--steps", f"must be at least 1, got {steps}")
    options = {"device": device} if steps is None else {"device": device, "steps": steps}
    train_cfg, model_cfg = stage_configs(stage, preset=preset, config=config, **options)
    if train_cfg.num_threads > 0:
        # Before the task is built: the composition task runs the frozen DU-VAE and style classifier on
        # its data there, and their outputs depend on the thread count too.
        torch.set_num_threads(train_cfg.num_threads)
    man = read_manifest(data)
    if stage == "style":
        task = StyleTask(data, model_cfg, train_cfg)
    elif stage == "decomposition":
        task = DecompositionTask(data, model_cfg, train_cfg)
    else:
        if not decomposition or not style:
            raise Music2DanceError("composition needs --decomposition RUN and --style RUN (trained first)")
        task = CompositionTask(data, model_cfg, train_cfg, decomposition, style)
    record = {
        "data": {
            "name": Path(data).resolve().name,
            "fields": {k: getattr(task.cfg, k) for k in DATA_FIELDS[stage]},
        },
        "meta": {**data_meta(man), "preset": preset, "machine": machine_meta()},
    }
    log.info("training %s (%s preset, %d steps) into %s", stage, preset, train_cfg.steps, out)
    return train(task, train_cfg, out, resume=resume, quiet=quiet, overwrite=overwrite, record=record)


def run_training(stage: str, *, out, config=None, decomposition=None, style=None, **kw) -> dict:
    """`music2dance train STAGE`; `all` trains style, decomposition and composition into out/<stage>.

    Other keyword arguments (data, resume, device, steps, preset, quiet) go to every `run_stage`.
    """
    if stage != "all":
        return run_stage(stage, out=out, config=config, decomposition=decomposition, style=style, **kw)
    for st in STAGES:  # every stage's settings, before the first one trains
        stage_configs(st, preset=kw.get("preset", "cpu"), config=config, device=kw.get("device", "cpu"))
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
        **data_meta(read_manifest(kw["data"])),
        "metrics": metrics,
    }
    write_text_atomic(out / "model.json", json.dumps(summary, indent=1, default=float))
    # The model itself, one folder that `generate --model OUT` reads: config.json + model.safetensors.
    DanceModel.from_stage_runs(out, training=summary).save_pretrained(out)
    log.info("trained all stages in %.0f s (%s); the model is %s", summary["total_seconds"], timings, out)
    return summary
