"""Fixtures of every test folder: the repository root, the sample images of inputs/, one torch thread.

Plain helpers (paths, the official weights, training inputs) are in ``tests/helpers.py``.
"""

from pathlib import Path
from typing import Iterator

import cv2
import numpy as np
import pytest
import torch
from helpers import REPO_ROOT, read_sample

import realesrgan  # noqa: F401  (applies the BasicSR compatibility layer before any test imports basicsr)


@pytest.fixture(scope='session')
def repo_root() -> Path:
    """The repository root (where inference_realesrgan.py lives)."""
    return REPO_ROOT


@pytest.fixture(scope='session')
def sample_bgr() -> np.ndarray:
    """The 128x128 astronaut crop, BGR uint8."""
    return read_sample('astronaut.png', cv2.IMREAD_COLOR)


@pytest.fixture(scope='session')
def sample_gray() -> np.ndarray:
    """The 96x96 gray camera image, uint8, 2-D."""
    return read_sample('camera_gray.png')


@pytest.fixture(scope='session')
def sample_bgra() -> np.ndarray:
    """The 120x80 coffee image with an alpha channel, BGRA uint8."""
    return read_sample('coffee_rgba.png')


@pytest.fixture
def one_torch_thread() -> Iterator[None]:
    """Run a test with one torch intra-op thread (the folders that want it use it from their ``conftest.py``).

    On a shared 2-core machine, two spinning intra-op threads can be ten times slower than one.
    """
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
