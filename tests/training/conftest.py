"""The training command (options, validation checks and pairs, held-out pairs): every test with one torch thread."""

import pytest


@pytest.fixture(autouse=True)
def _one_torch_thread(one_torch_thread: None) -> None:
    """Applies ``one_torch_thread`` of tests/conftest.py to each test of this folder."""
