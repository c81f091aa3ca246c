"""The paper's networks on small inputs: shapes, the unit's first pose, learning on a fixed batch."""

import numpy as np
import torch

from music2dance.models.du_vae import DUVAE, DUVAEConfig
from music2dance.models.mm_gan import MMGAN, MMGANConfig
from music2dance.models.style import StyleClassifier, StyleConfig, autocorrelation


def test_du_vae_shapes_first_pose_and_kl_annealing():
    cfg = DUVAEConfig.tiny()
    m = DUVAE(cfg)
    x = torch.randn(5, cfg.unit_frames, cfg.pose_dim)
    mi, li, mm, lm = m.encode(x)
    assert mi.shape == (5, cfg.z_ini) and mm.shape == (5, cfg.z_mov)
    out = m.G_uni(mi, mm)
    assert out.shape == x.shape
    # The unit starts exactly at the pose decoded from z_ini (what chaining units relies on).
    assert torch.allclose(out[:, 0], m.G_uni.first_pose(mi))
    assert cfg.kl_weight(0) < 0.01 * cfg.kl_max < cfg.kl_weight(10 * cfg.kl_mid_step) <= cfg.kl_max


def test_du_vae_learns_a_fixed_batch():
    torch.manual_seed(0)
    cfg = DUVAEConfig.tiny()
    m = DUVAE(cfg)
    t = torch.linspace(0, 6.28, cfg.unit_frames)
    base = torch.randn(8, 1, cfg.pose_dim)
    x = base + torch.sin(t)[None, :, None] * torch.randn(8, 1, cfg.pose_dim)
    opt = torch.optim.Adam(m.parameters(), lr=3e-3)
    first = None
    for step in range(150):
        loss = m.losses(x, x, step)
        opt.zero_grad()
        loss["total"].backward()
        opt.step()
        first = first if first is not None else loss["recon"].item()
    assert loss["recon"].item() < 0.5 * first


def test_mm_gan_losses_and_seeded_composition():
    cfg = MMGANConfig.tiny(z_mov=16, music_dim=7)
    m = MMGAN(cfg)
    B, n, L = 4, cfg.units, cfg.unit_frames
    z = torch.randn(B, n, cfg.z_mov)
    music = torch.randn(B, n, L, cfg.music_dim)
    s = torch.softmax(torch.randn(B, cfg.style_dim), -1)
    g_loss, cache = m.generator_losses(z, music, s)
    d_loss = m.discriminator_losses(z, music, cache)
    for k in ("recon_m", "recon_s", "adv_m", "adv_d", "kl_d", "total"):
        assert torch.isfinite(g_loss[k])
    assert cache["fake"].shape == z.shape and torch.isfinite(d_loss["total"])
    a = m.compose(s, music, generator=torch.Generator().manual_seed(3))
    b = m.compose(s, music, generator=torch.Generator().manual_seed(3))
    c = m.compose(s, music, generator=torch.Generator().manual_seed(4))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_movement_style_classifier_learns_styles_and_sits_with_the_discriminators():
    """C_sty (l_style_m > 0) learns to tell two styles whose movement latents differ in their mean, as a
    discriminator-side network (not in the generator's optimizer); the generator pays style_m for its
    movements. With l_style_m 0 there is no C_sty."""
    assert MMGAN(MMGANConfig.tiny(z_mov=8, music_dim=5)).C_sty is None
    torch.manual_seed(0)
    cfg = MMGANConfig.tiny(z_mov=8, music_dim=5, style_dim=2, l_style_m=1.0)
    m = MMGAN(cfg)
    gen, disc = set(map(id, m.generator_parameters())), set(map(id, m.discriminator_parameters()))
    assert all(id(p) in disc and id(p) not in gen for p in m.C_sty.parameters())
    B, n, L = 32, cfg.units, cfg.unit_frames
    label = torch.arange(B) % 2
    z = torch.randn(B, n, cfg.z_mov) + 1.5 * (2 * label - 1).float()[:, None, None]
    s = torch.nn.functional.one_hot(label, 2).float()
    music = torch.randn(B, n, L, cfg.music_dim)
    opt = torch.optim.Adam(m.discriminator_parameters(), lr=1e-2)
    for _ in range(60):
        g_loss, cache = m.generator_losses(z, music, s)
        d_loss = m.discriminator_losses(z, music, cache)
        opt.zero_grad()
        d_loss["total"].backward()
        opt.step()
    assert torch.isfinite(g_loss["style_m"]) and d_loss["C_sty"].item() < 0.1
    assert (m.C_sty(z).argmax(-1) == label).float().mean() > 0.95


def test_style_classifier_any_length():
    for cfg in (
        StyleConfig(music_dim=6),
        StyleConfig.cpu(music_dim=6, acf_columns=[0, 2]),
        StyleConfig.cpu(music_dim=6, acf_columns=[0], timbre=True),
    ):
        m = StyleClassifier(cfg).eval()
        for T in (20, 40, 96, 500):  # 20 and 40: shorter than the 48 lags
            p = m.probs(torch.randn(2, T, 6))
            assert p.shape == (2, 4) and torch.allclose(p.sum(-1), torch.ones(2))
    assert StyleClassifier(StyleConfig.cpu(music_dim=6, acf_columns=[0])).conv is None  # no unused weights


def test_autocorrelation_finds_the_bar():
    """Onsets every 10 frames with every third one loud (a waltz bar of 30 frames): the autocorrelation
    peaks at lag 30 above lag 10 and lag 20; with every fourth loud, at lag 40."""
    t = np.arange(200)
    for every, bar in ((3, 30), (4, 40)):
        x = np.where(t % 10 == 0, 1.0, 0.0) + np.where(t % (10 * every) == 0, 1.0, 0.0)
        a = autocorrelation(torch.tensor(x[None], dtype=torch.float32), 48)[0].numpy()
        assert a.shape == (48,)
        assert a[bar - 1] > max(a[9], a[19], a[29] if bar == 40 else a[39]) + 0.1
        assert abs(a[4]) < a[bar - 1]  # off the beat grid: no correlation


def test_paper_preset_has_the_papers_sizes():
    cfg = DUVAEConfig.paper()
    assert (cfg.mov_hidden, cfg.z_mov, cfg.z_ini) == (1024, 512, 10)
    m = DUVAE(cfg)
    assert m.E_mov.gru.hidden_size == 1024 and m.E_mov.gru.bidirectional
    gan = MMGANConfig.paper(z_mov=cfg.z_mov)
    assert (gan.hidden, gan.z_dan, gan.noise) == (1024, 512, 30)
