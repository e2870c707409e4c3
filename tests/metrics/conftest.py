"""Images for the metric tests: the samples of inputs/ and images the tests make from them."""

from typing import Dict, Iterator

import cv2
import numpy as np
import pytest
from helpers import read_sample


def distorted(img: np.ndarray, kind: str, seed: int = 0) -> np.ndarray:
    """``img`` blurred, made noisy or JPEG-compressed (uint8), the distortions super-resolution outputs show."""
    if kind == 'blur':
        return cv2.GaussianBlur(img, (5, 5), 1.2)
    if kind == 'noise':
        noise = np.random.default_rng(seed).normal(0, 8, img.shape)
        return np.clip(img + noise, 0, 255).astype(np.uint8)
    if kind == 'jpeg':
        return cv2.imdecode(cv2.imencode('.jpg', img, [cv2.IMWRITE_JPEG_QUALITY, 30])[1], cv2.IMREAD_UNCHANGED)
    raise ValueError(kind)


KINDS = ('blur', 'noise', 'jpeg')


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
