"""Shared fixtures: sample images from inputs/, a temporary working folder and the repository root."""
from pathlib import Path

import cv2
import numpy as np
import pytest

import realesrgan  # noqa: F401  (applies the BasicSR compatibility layer before any test imports basicsr)

REPO_ROOT = Path(__file__).resolve().parent.parent
INPUTS = REPO_ROOT / 'inputs'


@pytest.fixture(scope='session')
def repo_root() -> Path:
    """The repository root (where inference_realesrgan.py lives)."""
    return REPO_ROOT


def read_sample(name: str, flags: int = cv2.IMREAD_UNCHANGED) -> np.ndarray:
    """Read one of the bundled sample images of inputs/ as OpenCV does (BGR or BGRA, uint8)."""
    img = cv2.imread(str(INPUTS / name), flags)
    assert img is not None, f'sample image inputs/{name} is missing'
    return img


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
