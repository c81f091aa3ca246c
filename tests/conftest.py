"""Shared pytest fixtures and a synthetic rest pose of the canonical skeleton.

`shared_data` points at ../shared/data (beside the repo) and skips real-data tests without it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

# A rest pose (metres, y up, facing +z, left on +x) of the canonical skeleton.
REST = np.array(
    [
        [0.0, 0.95, 0.0],
        [0.0, 1.15, 0.0],
        [0.0, 1.45, 0.0],
        [0.0, 1.65, 0.0],
        [0.18, 1.45, 0.0],
        [0.20, 1.17, 0.0],
        [0.21, 0.92, 0.0],
        [-0.18, 1.45, 0.0],
        [-0.20, 1.17, 0.0],
        [-0.21, 0.92, 0.0],
        [0.09, 0.95, 0.0],
        [0.10, 0.52, 0.0],
        [0.10, 0.08, 0.0],
        [0.10, 0.0, 0.15],
        [-0.09, 0.95, 0.0],
        [-0.10, 0.52, 0.0],
        [-0.10, 0.08, 0.0],
        [-0.10, 0.0, 0.15],
    ]
)

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture
def shared_data() -> Path:
    """Path to ../shared/data (resolved from the repo root); skips the test when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data not found: real-data tests need the shared data set")
    return SHARED_DATA
