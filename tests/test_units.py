"""Dance units: beat-anchored windows and chains for composition (their frames: test_geometry.py)."""

import numpy as np
import pytest

from music2dance.motion.units import extract_units, unit_chains, unit_starts


def test_unit_starts_fit_and_skip_close_beats():
    starts = unit_starts(np.array([0, 2, 10, 30, 90, 95]), n_frames=100, unit_frames=32, min_gap=4)
    assert starts.tolist() == [0, 10, 30]  # 2 is too close to 0; 90 and 95 do not fit


def test_extract_units_and_chains():
    arr = np.arange(100)[:, None].repeat(3, 1)
    u = extract_units(arr, np.array([0, 5]), 32)
    assert u.shape == (2, 32, 3) and u[1, 0, 0] == 5 and u[1, -1, 0] == 36
    rows = unit_chains(np.arange(0, 100, 10), 100, 32, 3)
    # Unit i+1 starts on unit i's last frame; the chain must fit: start + 2*31 + 32 <= 100.
    assert rows[0].tolist() == [0, 31, 62] and len(rows) == 1
    assert all(r[-1] + 32 <= 100 for r in rows)
    with pytest.raises(ValueError):
        extract_units(arr, np.array([90]), 32)
