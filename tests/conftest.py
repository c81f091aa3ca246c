"""Shared pytest fixtures.

`shared_data` points at ../shared/data (beside the repo) and skips real-data tests without it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture
def shared_data() -> Path:
    """Path to ../shared/data (resolved from the repo root); skips the test when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data not found: real-data tests need the shared data set")
    return SHARED_DATA
