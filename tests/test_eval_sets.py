"""Set statistics and the two-sample test on synthetic data with known answers (fast, no data folder)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import REST

from music2dance.evaluate import c2st as C
from music2dance.evaluate import features as F
from music2dance.evaluate import sets as S


def _grouped(rng, n_groups, per, dim=8, shift=0.0, group_sd=0.3, start=0):
    """Clips from dances: each dance has its own offset (clips of a dance are alike)."""
    x = np.concatenate(
        [rng.normal(size=(per, dim)) + rng.normal(0, group_sd, dim) + shift for _ in range(n_groups)]
    )
    g = np.repeat(np.arange(start, start + n_groups), per)
    return x, g


def test_frechet_matches_sqrtm_route():
    from scipy import linalg

    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(300, 10)), rng.normal(0.2, 1.5, size=(40, 10))
    sa, sb = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    d = a.mean(0) - b.mean(0)
    ref = d @ d + np.trace(sa) + np.trace(sb) - 2 * np.trace(np.real(linalg.sqrtm(sa @ sb)))
    assert S.frechet_distance(a, b) == pytest.approx(ref, rel=1e-9)
    # fewer rows than dimensions: singular covariances stay finite
    assert np.isfinite(S.frechet_distance(a[:5], b[:4]))


def test_zero_variance_reference_dims_keep_fid_finite():
    rng = np.random.default_rng(1)
    ref = rng.normal(size=(100, 4))
    ref[:, 3] = 0.0  # a geometric relation that never fires in the reference
    gen = rng.normal(size=(20, 4))
    gen[:, 3] = 0.0
    gen[0, 3] = 1 / 75  # one firing frame in one clip
    assert S.fid(ref, gen, min_std=0.05) < 10
    assert S.fid(ref, gen, min_std=1e-10) > 1e10  # the published eps explodes


def test_kid_unbiased_and_fid_biased_at_small_n():
    rng = np.random.default_rng(2)
    ref = rng.normal(size=(400, 6))
    kids = [S.kid(ref, rng.normal(size=(20, 6))) for _ in range(40)]
    fids = [S.fid(ref, rng.normal(size=(20, 6))) for _ in range(40)]
    assert abs(np.mean(kids)) < 3 * np.std(kids) / np.sqrt(len(kids))  # ~0 for one distribution
    assert np.mean(fids) > 0.5  # FID of 20 same-distribution clips is far from 0
    far = S.kid(ref, rng.normal(1.0, 1.0, size=(20, 6)))
    assert far > np.max(kids)


def test_fid_infinity_removes_small_n_bias():
    rng = np.random.default_rng(3)
    ref = rng.normal(size=(3000, 6))
    gen = rng.normal(size=(60, 6))
    f, finf = S.fid(ref, gen), S.fid_infinity(ref, gen, rng=rng)
    assert finf < f  # the 1/n bias is removed
    shifted = rng.normal(size=(60, 6)) + np.array([1.0, 1.0, 0, 0, 0, 0])
    assert S.fid_infinity(ref, shifted, rng=rng) == pytest.approx(2.0, abs=0.8)


def _interval(stat, ref, rg, row, g, rng, positive=False):
    sets = S.StandardizedSets(ref, row, min_std=1e-6)
    f = getattr(sets, stat)
    point = f()
    return point, S.half_sample_interval(f, rg, g, point, n_draws=60, positive=positive, rng=rng)


def test_noise_floor_and_half_sample_interval():
    rng = np.random.default_rng(4)
    ref, rg = _grouped(rng, 30, 20)
    row, g = _grouped(rng, 6, 20, start=100)
    sets = S.StandardizedSets(ref, row, min_std=1e-6)
    floor = S.noise_floor(sets.floor_fid, rg, len(row), n_draws=20, rng=rng)
    point, (lo, hi) = _interval("fid", ref, rg, row, g, rng, positive=True)
    assert point == pytest.approx(S.fid(ref, row, min_std=1e-6))
    # a row from the reference distribution sits inside its floor
    assert np.percentile(floor, 2.5) <= point <= np.percentile(floor, 97.5) * 1.5
    assert 0 < lo <= point <= hi
    far, fg = _grouped(rng, 6, 20, shift=1.5, start=200)
    fp, (flo, fhi) = _interval("fid", ref, rg, far, fg, rng, positive=True)
    assert flo > hi  # a shifted row is separated from a real one
    kp, (klo, khi) = _interval("kid", ref, rg, row, g, rng)
    assert kp == pytest.approx(S.kid(ref, row, min_std=1e-6))
    assert klo <= kp <= khi
    kfloor = S.noise_floor(sets.floor_kid, rg, len(row), n_draws=20, rng=rng)
    assert abs(kfloor.mean()) < 0.2 * S.kid(ref, far, min_std=1e-6)


def test_draw_reference_clips_whole_dances():
    g = np.repeat(np.arange(5), 10)
    idx = S.draw_reference_clips(g, 25, np.random.default_rng(0))
    assert len(idx) == 25 == len(set(idx.tolist()))
    assert len(np.unique(g[idx])) == 3  # two whole dances and part of a third
    styles = np.where(g < 2, "rumba", "waltz")
    idx = S.draw_reference_clips(
        g, 25, np.random.default_rng(1), ref_strata=styles, want={"rumba": 5, "waltz": 20}
    )
    assert (styles[idx] == "rumba").sum() == 5 and (styles[idx] == "waltz").sum() == 20
    # a stratum that runs out is topped up from other dances
    idx = S.draw_reference_clips(g, 30, np.random.default_rng(2), ref_strata=styles, want={"rumba": 30})
    assert len(idx) == 30 == len(set(idx.tolist()))


def test_at_size_subsamples_larger_rows():
    rng = np.random.default_rng(5)
    ref, row = rng.normal(size=(500, 3)), rng.normal(size=(80, 3))
    sets = S.StandardizedSets(ref, row, min_std=1e-6)

    def stat(idx):
        return sets.fid(row_idx=idx)

    assert S.at_size(stat, 80, 80, rng=rng) == pytest.approx(S.fid(ref, row))
    assert S.at_size(stat, 80, 20, rng=rng) > S.fid(ref, row)  # smaller sets score higher


def test_c2st_same_distribution_near_half_frozen_near_one():
    rng = np.random.default_rng(6)
    real, rg = _grouped(rng, 30, 15, dim=12)
    same, sg = _grouped(rng, 6, 15, dim=12, start=100)
    r = C.c2st(real, rg, same, sg, rng=rng, n_boot=100, repeats=1)
    assert 0.35 < r["value"] < 0.65 and r["ci_lo"] <= r["value"] <= r["ci_hi"]
    frozen = np.tile(real.mean(0) * 0 - 3.0, (90, 1)) + rng.normal(0, 1e-3, (90, 12))
    f = C.c2st(real, rg, frozen, sg, rng=rng, n_boot=100, repeats=1)
    assert f["value"] > 0.97
    floor = C.c2st_floor(real, rg, 6, draws=3, rng=rng)
    assert 0.3 < floor.mean() < 0.7


def test_c2st_folds_are_grouped_by_dance():
    rng = np.random.default_rng(7)
    groups = np.repeat(np.arange(8), 5)
    f = C._folds(groups, 4, rng)
    for d in range(8):
        assert len(set(f[groups == d])) == 1  # a dance never straddles folds


def test_separating_features_names_the_difference():
    rng = np.random.default_rng(8)
    real = rng.normal(size=(200, 3))
    fake = rng.normal(size=(50, 3))
    fake[:, 1] += 4.0
    top = C.separating_features(real, fake, ["a", "b", "c"], top=1)
    assert top[0][0] == "b" and top[0][1] > 3


def test_motion_statistics():
    T, fps = 40, 15.0
    x = np.repeat(REST[None], T, axis=0).copy()
    s = F.motion_statistics(x, fps)
    assert s.shape == (len(F.MOTION_STAT_NAMES),)
    names = F.MOTION_STAT_NAMES
    assert s[names.index("head speed mean")] == 0.0
    assert s[names.index("head height above pelvis mean")] == pytest.approx(REST[3, 1] - REST[0, 1])
    x[:, :, 0] += 0.5 * np.arange(T)[:, None] / fps  # walk at 0.5 m/s
    s2 = F.motion_statistics(x, fps)
    assert s2[names.index("root horizontal speed mean")] == pytest.approx(0.5)
    assert s2[names.index("left_wrist acceleration mean")] == pytest.approx(0.0, abs=1e-9)


def test_reference_scale_floors_the_std():
    ref = np.array([[0.0, 5.0, 1.0], [2.0, 5.0, 1.001]])
    mu, sd = S.reference_scale(ref, min_std=0.01)
    np.testing.assert_allclose(mu, [1.0, 5.0, 1.0005])
    np.testing.assert_allclose(sd, [1.0, 0.01, 0.01])  # constant and nearly constant dimensions: the floor
    z = S.standardize(ref, ref + 1.0, min_std=0.01)
    np.testing.assert_allclose(z[1], (ref + 1.0 - mu) / sd)
