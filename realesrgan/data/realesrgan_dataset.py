"""RealESRGANDataset: ground-truth patches plus the random blur kernels of the high-order degradation.

Real-ESRGAN synthesises its low-quality inputs on the fly. The expensive, batched part (blur, resize, noise,
JPEG) runs on the training device in the model's ``feed_data``; this dataset does the per-image part on the
data-loader workers: it reads a ground-truth image, flips/rotates it, pads/crops it to a fixed 400x400 patch and
draws the three kernels (first-order blur, second-order blur, final sinc) the model will apply to it.
"""

import logging
import math
import os
import random
from typing import Any, Dict, List, Sequence, Set

import cv2
import numpy as np
import torch
from basicsr.data.degradations import circular_lowpass_kernel, random_mixed_kernels
from basicsr.data.transforms import augment
from basicsr.utils.registry import DATASET_REGISTRY

from realesrgan.data.data_io import (
    FileClientDataset,
    image_to_tensor,
    read_meta_info,
    require_folder,
    require_listed_files,
    require_lmdb_folder,
)
from realesrgan.fileio.images import list_images

__all__ = ['RealESRGANDataset', 'pad_and_random_crop']

logger = logging.getLogger(__name__)

KERNEL_PAD_SIZE = 21  # every kernel is zero-padded to this size, so that a batch stacks into one tensor
KERNEL_LIST = ['iso', 'aniso', 'generalized_iso', 'generalized_aniso', 'plateau_iso', 'plateau_aniso']
KERNEL_PROB = [0.45, 0.25, 0.12, 0.03, 0.12, 0.03]
# defaults of the original training configs, used for keys an options file leaves out
DEFAULT_OPTIONS: Dict[str, Any] = {
    'use_hflip': True,
    'use_rot': False,
    'crop_pad_size': 400,
    'blur_kernel_size': 21,
    'kernel_list': KERNEL_LIST,
    'kernel_prob': KERNEL_PROB,
    'sinc_prob': 0.1,
    'blur_sigma': [0.2, 3],
    'betag_range': [0.5, 4],
    'betap_range': [1, 2],
    'blur_kernel_size2': 21,
    'kernel_list2': KERNEL_LIST,
    'kernel_prob2': KERNEL_PROB,
    'sinc_prob2': 0.1,
    'blur_sigma2': [0.2, 1.5],
    'betag_range2': [0.5, 4],
    'betap_range2': [1, 2],
    'final_sinc_prob': 0.8,
}


def pad_and_random_crop(img: np.ndarray, crop_pad_size: int) -> np.ndarray:
    """Reflect-pad an image (bottom/right) to at least ``crop_pad_size`` a side, then crop a random square.

    Args:
        img: HxWxC image.
        crop_pad_size: Side of the returned patch.

    Returns:
        ``crop_pad_size`` x ``crop_pad_size`` x C patch.
    """
    h, w = img.shape[:2]
    if h < crop_pad_size or w < crop_pad_size:
        pad_h, pad_w = max(0, crop_pad_size - h), max(0, crop_pad_size - w)
        img = cv2.copyMakeBorder(img, 0, pad_h, 0, pad_w, cv2.BORDER_REFLECT_101)
    h, w = img.shape[:2]
    if h > crop_pad_size or w > crop_pad_size:
        top = random.randint(0, h - crop_pad_size)
        left = random.randint(0, w - crop_pad_size)
        img = img[top : top + crop_pad_size, left : left + crop_pad_size, ...]
    return img


@DATASET_REGISTRY.register()
class RealESRGANDataset(FileClientDataset):
    """Ground-truth images with the random kernels of Real-ESRGAN's degradation model.

    GT images come from (``io_backend.type`` / options):

    * ``lmdb``: ``dataroot_gt`` is an LMDB folder (must end in ``.lmdb``) with its ``meta_info.txt``;
    * ``disk`` with ``meta_info``: a text file listing image paths relative to ``dataroot_gt`` (first
      space-separated field of each line);
    * ``disk`` without ``meta_info``: every image in ``dataroot_gt``.

    Options (defaults are those of the original configs): ``use_hflip``, ``use_rot``, ``crop_pad_size`` (400);
    first-order kernel ``blur_kernel_size``, ``kernel_list``, ``kernel_prob``, ``blur_sigma``, ``betag_range``,
    ``betap_range``, ``sinc_prob``; the same with a ``2`` suffix for the second order; ``final_sinc_prob``.
    Kernel sizes are drawn from the odd sizes 7..21 and zero-padded to 21x21.

    Each item is a dict: ``gt`` (3 x crop x crop float RGB in [0, 1]), ``kernel1``, ``kernel2``, ``sinc_kernel``
    (21x21 float tensors summing to 1) and ``gt_path`` (the file path, or the LMDB key).

    Args:
        opt: Dataset options, as in the ``datasets.train`` section of a training config.
    """

    def __init__(self, opt: Dict[str, Any]) -> None:
        super().__init__(opt)
        self.gt_folder = opt['dataroot_gt']
        self.crop_pad_size = int(opt.get('crop_pad_size', DEFAULT_OPTIONS['crop_pad_size']))
        self.paths = self._collect_paths()

        def option(key: str) -> Any:
            return opt.get(key, DEFAULT_OPTIONS[key])

        # first-order blur
        self.blur_kernel_size = option('blur_kernel_size')
        self.kernel_list = option('kernel_list')
        self.kernel_prob = option('kernel_prob')
        self.blur_sigma = option('blur_sigma')
        self.betag_range = option('betag_range')
        self.betap_range = option('betap_range')
        self.sinc_prob = option('sinc_prob')
        # second-order blur
        self.blur_kernel_size2 = option('blur_kernel_size2')
        self.kernel_list2 = option('kernel_list2')
        self.kernel_prob2 = option('kernel_prob2')
        self.blur_sigma2 = option('blur_sigma2')
        self.betag_range2 = option('betag_range2')
        self.betap_range2 = option('betap_range2')
        self.sinc_prob2 = option('sinc_prob2')
        # final sinc filter
        self.final_sinc_prob = option('final_sinc_prob')

        for key in ('blur_kernel_size', 'blur_kernel_size2'):
            if getattr(self, key) != KERNEL_PAD_SIZE:
                logger.warning(
                    '%s=%s is ignored: kernel sizes are drawn from 7..%d as in the original Real-ESRGAN',
                    key,
                    getattr(self, key),
                    KERNEL_PAD_SIZE,
                )
        self.kernel_range = [2 * v + 1 for v in range(3, 11)]  # odd kernel sizes 7, 9, ..., 21
        self._warned_small: Set[str] = set()
        self.pulse_tensor = torch.zeros(KERNEL_PAD_SIZE, KERNEL_PAD_SIZE).float()  # identity kernel
        self.pulse_tensor[KERNEL_PAD_SIZE // 2, KERNEL_PAD_SIZE // 2] = 1

    def _collect_paths(self) -> List[str]:
        """List the GT images (file paths, or LMDB keys) and set up the LMDB options if needed."""
        backend = self.io_backend_opt.get('type', 'disk')
        if backend == 'lmdb':
            advice = 'Create one with scripts/create_lmdb.py or use io_backend type disk.'
            require_lmdb_folder(self.gt_folder, 'dataroot_gt', advice)
            self.io_backend_opt['db_paths'] = [self.gt_folder]
            self.io_backend_opt['client_keys'] = ['gt']
            lines = read_meta_info(os.path.join(self.gt_folder, 'meta_info.txt'))
            return [os.path.splitext(line.split(' ')[0])[0] for line in lines]
        require_folder(self.gt_folder, 'dataroot_gt')
        if self.opt.get('meta_info'):
            lines = read_meta_info(self.opt['meta_info'])
            paths = [os.path.join(self.gt_folder, line.split(' ')[0]) for line in lines]
            require_listed_files(paths, self.opt['meta_info'], 'dataroot_gt')
            return paths
        names = list_images(self.gt_folder)
        if not names:
            raise ValueError(
                f'dataroot_gt folder "{self.gt_folder}" holds no images; give a folder of images or a meta_info file.'
            )
        return [os.path.join(self.gt_folder, name) for name in names]

    def _random_kernel(
        self,
        kernel_list: Sequence[str],
        kernel_prob: Sequence[float],
        blur_sigma: Sequence[float],
        betag_range: Sequence[float],
        betap_range: Sequence[float],
        sinc_prob: float,
    ) -> torch.Tensor:
        """Draw one blur kernel: a sinc kernel with probability ``sinc_prob``, else a random mixed kernel.

        Args:
            kernel_list: Kernel types for ``random_mixed_kernels``.
            kernel_prob: Their probabilities.
            blur_sigma: Range of the Gaussian sigmas (both axes).
            betag_range: Shape range of the generalized Gaussian kernels.
            betap_range: Shape range of the plateau kernels.
            sinc_prob: Probability of a sinc kernel.

        Returns:
            21x21 float kernel.
        """
        kernel_size = random.choice(self.kernel_range)
        if np.random.uniform() < sinc_prob:
            # small kernels get a higher minimum cutoff, so that they still low-pass something meaningful
            low = np.pi / 3 if kernel_size < 13 else np.pi / 5
            omega_c = np.random.uniform(low, np.pi)
            kernel = circular_lowpass_kernel(omega_c, kernel_size, pad_to=0)
        else:
            kernel = random_mixed_kernels(
                kernel_list,
                kernel_prob,
                kernel_size,
                blur_sigma,
                blur_sigma,
                [-math.pi, math.pi],
                betag_range,
                betap_range,
                noise_range=None,
            )
        pad_size = (KERNEL_PAD_SIZE - kernel_size) // 2
        kernel = np.pad(kernel, ((pad_size, pad_size), (pad_size, pad_size)))
        return torch.as_tensor(kernel, dtype=torch.float32)

    def _random_final_sinc(self) -> torch.Tensor:
        """Draw the final sinc kernel with probability ``final_sinc_prob``, else return the pulse (identity)."""
        if np.random.uniform() < self.final_sinc_prob:
            kernel_size = random.choice(self.kernel_range)
            omega_c = np.random.uniform(np.pi / 3, np.pi)
            kernel = circular_lowpass_kernel(omega_c, kernel_size, pad_to=KERNEL_PAD_SIZE)
            return torch.as_tensor(kernel, dtype=torch.float32)
        return self.pulse_tensor.clone()

    def __getitem__(self, index: int) -> Dict[str, Any]:
        gt_path = self.paths[index]
        img_gt = self.read_image(gt_path, 'gt')
        self._check_size(img_gt, gt_path)
        img_gt = augment(
            img_gt,
            self.opt.get('use_hflip', DEFAULT_OPTIONS['use_hflip']),
            self.opt.get('use_rot', DEFAULT_OPTIONS['use_rot']),
        )
        img_gt = pad_and_random_crop(img_gt, self.crop_pad_size)
        kernels = self.draw_kernels()
        gt = image_to_tensor(img_gt)  # only the patch is converted to float
        return {'gt': gt, **kernels, 'gt_path': gt_path}

    def _check_size(self, img_gt: np.ndarray, gt_path: str) -> None:
        """Refuse a GT with a side of one pixel (padding makes a flat patch); warn once about one under gt_size."""
        height, width = img_gt.shape[:2]
        if min(height, width) < 2:
            raise ValueError(
                f'GT smaller than patch size: GT "{gt_path}" is {height}x{width} (HxW); reflection padding to '
                f'crop_pad_size {self.crop_pad_size} would make a flat patch. Remove this image.'
            )
        gt_size = self.opt.get('gt_size')
        if gt_size and min(height, width) < gt_size and gt_path not in self._warned_small:
            self._warned_small.add(gt_path)
            logger.warning(
                'GT "%s" is %dx%d (HxW), smaller than gt_size %d: its patch is mostly reflection padding; '
                'remove it or lower gt_size',
                gt_path,
                height,
                width,
                gt_size,
            )

    def draw_kernels(self) -> Dict[str, torch.Tensor]:
        """Draw the three kernels of one image's degradation (from Python's and NumPy's global random state).

        Returns:
            ``kernel1`` (first-order blur), ``kernel2`` (second-order blur) and ``sinc_kernel`` (final sinc filter,
            or the pulse), 21x21 each.
        """
        kernel1 = self._random_kernel(
            self.kernel_list, self.kernel_prob, self.blur_sigma, self.betag_range, self.betap_range, self.sinc_prob
        )
        kernel2 = self._random_kernel(
            self.kernel_list2,
            self.kernel_prob2,
            self.blur_sigma2,
            self.betag_range2,
            self.betap_range2,
            self.sinc_prob2,
        )
        return {'kernel1': kernel1, 'kernel2': kernel2, 'sinc_kernel': self._random_final_sinc()}
