"""RealESRGANer and its parts (tiling, banded forward, heap reuse): every test here runs with one torch thread."""

import pytest


@pytest.fixture(autouse=True)
def _one_torch_thread(one_torch_thread: None) -> None:
    """Applies ``one_torch_thread`` of tests/conftest.py to each test of this folder."""
