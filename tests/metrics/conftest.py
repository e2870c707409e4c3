"""Images for the metric tests: the samples of inputs/ and images the tests make from them."""

from typing import Dict, Iterator

import cv2
import numpy as np
import pytest
from helpers import read_sample


@pytest.fixture(scope='session')
def samples() -> Dict[str, np.ndarray]:
    """The colour samples of inputs/ (BGR; the alpha of coffee_rgba left out) and the gray one."""
    return {
        'astronaut': read_sample('astronaut.png', cv2.IMREAD_COLOR),
        'chelsea': read_sample('chelsea.jpg', cv2.IMREAD_COLOR),
        'coffee': read_sample('coffee_rgba.png')[..., :3].copy(),
        'camera': read_sample('camera_gray.png'),
    }


@pytest.fixture(scope='session')
def large_photo() -> np.ndarray:
    """scikit-image's 512x512 astronaut photo (BGR): large enough for NIQE's 96x96 blocks."""
    from skimage import data

    return np.ascontiguousarray(data.astronaut()[:, :, ::-1])


@pytest.fixture(autouse=True)
def _one_torch_thread(one_torch_thread: None) -> Iterator[None]:
    """Applies ``one_torch_thread`` of tests/conftest.py to each test of this folder."""
    yield
