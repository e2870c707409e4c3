"""Validation pairs degraded like the training data, but the same on every run: held-out GT, fixed seeds.

Bicubic-downscaled validation pairs say little about a model trained on Real-ESRGAN's second-order degradation
(blur, resize, noise and JPEG, twice). :func:`degrade_held_out` runs the training pipeline itself, the kernels of
:class:`~realesrgan.data.realesrgan_dataset.RealESRGANDataset` and
:class:`~realesrgan.models.degradation_pipeline.SecondOrderDegradation`, on held-out ground-truth images with the
random generators seeded per image, so that every run (and every validation of a run) sees the same LQ images,
and scores can be compared across iterations and runs.
"""

import copy
import os
import random
from typing import Any, Dict, List, Mapping, NamedTuple

import numpy as np
import torch
from basicsr.utils import set_random_seed

from realesrgan.data.realesrgan_dataset import RealESRGANDataset
from realesrgan.fileio.images import read_image
from realesrgan.inference.image_conversion import color_output
from realesrgan.models.degradation_pipeline import DegradationSettings, SecondOrderDegradation

__all__ = ['HeldOutPair', 'degrade_held_out']


class HeldOutPair(NamedTuple):
    """One validation pair.

    Attributes:
        name: File name of the GT image, with ``_<draw>`` before the extension when an image has several draws.
        gt: The GT crop the LQ was made from, HxWx3 BGR uint8 (a square, sides multiples of the scale).
        lq: The degraded image, (H/scale)x(W/scale)x3 BGR uint8.
    """

    name: str
    gt: np.ndarray
    lq: np.ndarray


def degrade_held_out(
    gt_folder: str, opt: Mapping[str, Any], seed: int = 0, draws: int = 1, sharpen: bool = False
) -> List[HeldOutPair]:
    """Degrade every image of ``gt_folder`` with the training degradation of ``opt``, reproducibly.

    Each image is cropped to the largest square whose side is a multiple of the scale (a random crop, seeded),
    then degraded as a training batch of one. The Python, NumPy and torch generators are seeded with
    ``seed + index`` for the ``index``-th (image, draw), and restored afterwards.

    Args:
        gt_folder: Folder of held-out ground-truth images (not used for training).
        opt: A training options dict (``scale``, the degradation keys, ``datasets.train`` for the kernels).
        seed: Base seed.
        draws: Degradations per image (different seeds), for more pairs from few images.
        sharpen: Degrade the USM-sharpened GT, as training does with ``gt_usm``; the returned GT stays plain.

    Returns:
        The pairs, image by image (sorted file names), draw by draw.

    Raises:
        ValueError: An image too small for the degradation, or no images in the folder.
    """
    scale = int(opt['scale'])
    dataset_opt: Dict[str, Any] = copy.deepcopy(dict(opt['datasets']['train']))
    dataset_opt.update(dataroot_gt=gt_folder, meta_info=None, use_hflip=False, use_rot=False)
    dataset_opt['io_backend'] = {'type': 'disk'}
    state = (torch.get_rng_state(), np.random.get_state(), random.getstate())
    pairs = []
    try:
        for index, path in enumerate(RealESRGANDataset(dataset_opt).paths):
            height, width = read_image(path).shape[:2]
            side = min(height, width) // scale * scale
            # crops of that side: no padding, a random (seeded) square crop
            dataset = RealESRGANDataset(dict(dataset_opt, crop_pad_size=side))
            degradation = SecondOrderDegradation(
                DegradationSettings.from_options(dict(opt, gt_size=side)), torch.device('cpu')
            )
            for draw in range(draws):
                set_random_seed(seed + index * draws + draw)
                item = dataset[index]
                kernels = (item['kernel1'][None], item['kernel2'][None], item['sinc_kernel'][None])
                degraded = degradation(item['gt'][None], *kernels, sharpen=sharpen)
                name = _pair_name(path, draw, draws)
                pairs.append(HeldOutPair(name, color_output(degraded.gt, 255), color_output(degraded.lq, 255)))
    finally:
        torch.set_rng_state(state[0])
        np.random.set_state(state[1])
        random.setstate(state[2])
    return pairs


def _pair_name(gt_path: str, draw: int, draws: int) -> str:
    """``val_00.png`` for a single draw, ``val_00_1.png`` for the second of several."""
    base = os.path.basename(gt_path)
    if draws == 1:
        return base
    stem, extension = os.path.splitext(base)
    return f'{stem}_{draw}{extension}'
