"""Real images and training batches for the benchmarks (scikit-image's bundled photographs).

Real photographs, never random noise: noise drives RRDBNet's activations into denormal floats, which made a 64 px
RealESRGAN_x4plus run 4x slower on an AMD Zen 3 (5.2 s against 1.35 s with denormals flushed); photographs gave
1.1-1.3 s either way.
"""

import os
import random
from typing import Any, Dict, Mapping

import cv2
import numpy as np
import torch
from skimage import data as skimage_data

__all__ = ['BENCHMARK_PHOTO', 'benchmark_image', 'degradation_batch', 'DEGRADATION_PHOTOS']

# what benchmark_image shows, for the reports
BENCHMARK_PHOTO = "scikit-image's astronaut photograph (512x512), resized with OpenCV (area, cubic upwards)"

# photographs bundled with scikit-image (no download), used as ground truth for the degradation batch
DEGRADATION_PHOTOS = ('astronaut', 'chelsea', 'coffee', 'rocket')


def _photo_bgr(name: str) -> np.ndarray:
    """A bundled scikit-image photograph as BGR uint8."""
    return cv2.cvtColor(getattr(skimage_data, name)(), cv2.COLOR_RGB2BGR)


def benchmark_image(size: int) -> np.ndarray:
    """The astronaut photograph (512x512) resized to a ``size`` x ``size`` BGR uint8 image.

    Args:
        size: Side length in pixels.

    Returns:
        BGR uint8 array of shape (size, size, 3).
    """
    if size < 1:
        raise ValueError(f'image size must be at least 1 pixel, got {size}')
    img = _photo_bgr('astronaut')
    if img.shape[:2] == (size, size):
        return img
    interpolation = cv2.INTER_AREA if size < img.shape[0] else cv2.INTER_CUBIC
    return cv2.resize(img, (size, size), interpolation=interpolation)


def degradation_batch(batch_size: int, folder: str, dataset_opt: Mapping[str, Any], seed: int = 0) -> Dict[str, Any]:
    """One training batch from the project's ``RealESRGANDataset`` over the bundled photographs.

    Args:
        batch_size: Number of items.
        folder: Empty folder to write the ground-truth images into.
        dataset_opt: Dataset options (kernel settings); ``dataroot_gt`` and ``io_backend`` are set here.
        seed: Seed of the crops and kernel draws.

    Returns:
        Arrays ``gt`` (B x 3 x 400 x 400 float32 RGB), ``kernel1``, ``kernel2``, ``sinc_kernel`` (B x 21 x 21).
    """
    from realesrgan.data.realesrgan_dataset import RealESRGANDataset

    for name in DEGRADATION_PHOTOS:
        cv2.imwrite(os.path.join(folder, f'{name}.png'), _photo_bgr(name))
    dataset = RealESRGANDataset({**dataset_opt, 'dataroot_gt': folder, 'io_backend': {'type': 'disk'}})
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    items = [dataset[index % len(dataset)] for index in range(batch_size)]
    keys = ('gt', 'kernel1', 'kernel2', 'sinc_kernel')
    return {key: torch.stack([item[key] for item in items]).numpy() for key in keys}
