"""Real-ESRGAN's second-order degradation pipeline.

Real-world low-quality images went through several unknown degradations, often more than once (a photo that
was resized, shared, compressed and shared again). Real-ESRGAN imitates this by running the classic
blur -> resize -> noise -> JPEG chain twice; in the second round, the JPEG and a final resize to the LQ size with
a sinc filter (ringing) come in random order. The data loaders only draw the blur kernels; the chain itself
runs here, batched on the training device, so that both training models
(:class:`~realesrgan.models.realesrnet_model.RealESRNetModel` and
:class:`~realesrgan.models.realesrgan_model.RealESRGANModel`) use this one implementation.

Within a batch, every image shares the random choices of the resize and noise type (Python/NumPy draws, as in
the original), while noise levels and JPEG qualities are drawn per image; the training-pair queue
(:mod:`realesrgan.models.training_pair_queue`) therefore mixes pairs across batches.
"""

import math
import random
from dataclasses import dataclass
from typing import Any, Mapping, NamedTuple, Optional, Sequence, Tuple

import numpy as np
import torch
from basicsr.data.degradations import random_add_gaussian_noise_pt, random_add_poisson_noise_pt
from basicsr.data.transforms import paired_random_crop
from basicsr.utils import DiffJPEG, USMSharp
from basicsr.utils.img_process_util import filter2D
from torch.nn import functional as F

__all__ = ['DegradationOrder', 'DegradationSettings', 'DegradedBatch', 'SecondOrderDegradation']

RESIZE_MODES = ('area', 'bilinear', 'bicubic')
RESIZE_TYPES = ('up', 'down', 'keep')
# probability that the final stage is [resize + sinc filter, then JPEG] rather than [JPEG, then resize + sinc]
FINAL_RESIZE_FIRST_PROB = 0.5

# values of the original training configs, used for keys an options file leaves out
FIRST_ORDER_DEFAULTS = {
    'resize_prob': [0.2, 0.7, 0.1],
    'resize_range': [0.15, 1.5],
    'gaussian_noise_prob': 0.5,
    'noise_range': [1, 30],
    'poisson_scale_range': [0.05, 3],
    'gray_noise_prob': 0.4,
    'jpeg_range': [30, 95],
}
SECOND_ORDER_DEFAULTS = {
    'resize_prob': [0.3, 0.4, 0.3],
    'resize_range': [0.3, 1.2],
    'gaussian_noise_prob': 0.5,
    'noise_range': [1, 25],
    'poisson_scale_range': [0.05, 2.5],
    'gray_noise_prob': 0.4,
    'jpeg_range': [30, 95],
}
DEFAULT_SECOND_BLUR_PROB = 0.8
DEFAULT_GT_SIZE = 256


def _range(opt: Mapping[str, Any], key: str, default: Sequence[float], low: float, high: float) -> Tuple[float, float]:
    """Read a ``[min, max]`` option and check that ``low <= min <= max <= high``."""
    value = opt.get(key, default)
    if len(value) != 2 or not low <= value[0] <= value[1] <= high:
        raise ValueError(f'Option {key} must be [min, max] with {low} <= min <= max <= {high}, got {value}.')
    return float(value[0]), float(value[1])


def _probability(opt: Mapping[str, Any], key: str, default: float) -> float:
    """Read a probability option and check that it lies in [0, 1]."""
    value = float(opt.get(key, default))
    if not 0 <= value <= 1:
        raise ValueError(f'Option {key} is a probability and must lie in [0, 1], got {value}.')
    return value


@dataclass(frozen=True)
class DegradationOrder:
    """Settings of one blur -> resize -> noise -> JPEG round (the blur kernels come from the dataset).

    The second order's JPEG is applied in the final stage, before or after the final resize and sinc filter.

    Attributes:
        resize_prob: Probabilities of resizing up, down, or keeping the size.
        resize_range: Factor range; up factors are drawn from [1, max], down factors from [min, 1].
        gaussian_noise_prob: Probability of Gaussian noise; Poisson noise otherwise.
        noise_range: Gaussian sigma range, in 8-bit levels.
        poisson_scale_range: Poisson noise scale range.
        gray_noise_prob: Probability (per image) that the noise is the same on all channels.
        jpeg_range: JPEG quality range.
    """

    resize_prob: Tuple[float, float, float]
    resize_range: Tuple[float, float]
    gaussian_noise_prob: float
    noise_range: Tuple[float, float]
    poisson_scale_range: Tuple[float, float]
    gray_noise_prob: float
    jpeg_range: Tuple[float, float]

    @classmethod
    def from_options(cls, opt: Mapping[str, Any], suffix: str = '') -> 'DegradationOrder':
        """Read the settings of one order from a training config.

        Args:
            opt: The top level of a training config.
            suffix: ``''`` for the first order, ``'2'`` for the second (``resize_prob2``, ...).

        Returns:
            The checked settings, with the original configs' values for missing keys.
        """
        defaults = SECOND_ORDER_DEFAULTS if suffix else FIRST_ORDER_DEFAULTS
        resize_prob = opt.get(f'resize_prob{suffix}', defaults['resize_prob'])
        if len(resize_prob) != 3 or min(resize_prob) < 0 or sum(resize_prob) <= 0:
            raise ValueError(
                f'Option resize_prob{suffix} must be three non-negative weights [up, down, keep] '
                f'with a positive sum, got {resize_prob}.'
            )
        return cls(
            resize_prob=tuple(float(p) for p in resize_prob),
            resize_range=_range(opt, f'resize_range{suffix}', defaults['resize_range'], 0.01, 100),
            gaussian_noise_prob=_probability(opt, f'gaussian_noise_prob{suffix}', defaults['gaussian_noise_prob']),
            noise_range=_range(opt, f'noise_range{suffix}', defaults['noise_range'], 0, 255),
            poisson_scale_range=_range(opt, f'poisson_scale_range{suffix}', defaults['poisson_scale_range'], 0, 100),
            gray_noise_prob=_probability(opt, f'gray_noise_prob{suffix}', defaults['gray_noise_prob']),
            # DiffJPEG divides by zero at quality 100
            jpeg_range=_range(opt, f'jpeg_range{suffix}', defaults['jpeg_range'], 1, 99),
        )


@dataclass(frozen=True)
class DegradationSettings:
    """All settings of the second-order degradation, read from the top level of a training config.

    Attributes:
        scale: Super-resolution scale; the LQ is 1/scale of the GT.
        gt_size: Side of the GT patches cropped after the degradation (LQ patches: gt_size / scale).
        first: First-order settings (``resize_prob``, ``noise_range``, ...).
        second: Second-order settings (``resize_prob2``, ``noise_range2``, ...).
        second_blur_prob: Probability of the second-order blur.
    """

    scale: int
    gt_size: int
    first: DegradationOrder
    second: DegradationOrder
    second_blur_prob: float

    @classmethod
    def from_options(cls, opt: Mapping[str, Any]) -> 'DegradationSettings':
        """Read and check the degradation settings of a training config.

        Args:
            opt: The top level of a training config (``scale`` is required).

        Returns:
            The settings, with the original configs' values for missing degradation keys.
        """
        if 'scale' not in opt:
            raise ValueError('The training config needs a top-level "scale" (e.g. scale: 4).')
        scale, gt_size = int(opt['scale']), int(opt.get('gt_size', DEFAULT_GT_SIZE))
        if scale < 1 or gt_size % scale != 0:
            raise ValueError(f'gt_size ({gt_size}) must be a multiple of scale ({scale}).')
        return cls(
            scale=scale,
            gt_size=gt_size,
            first=DegradationOrder.from_options(opt),
            second=DegradationOrder.from_options(opt, '2'),
            second_blur_prob=_probability(opt, 'second_blur_prob', DEFAULT_SECOND_BLUR_PROB),
        )


class DegradedBatch(NamedTuple):
    """Output of :class:`SecondOrderDegradation`: paired patches.

    Attributes:
        lq: Low-quality patches, (b, 3, gt_size/scale, gt_size/scale), on 8-bit levels in [0, 1].
        gt: Ground-truth patches, (b, 3, gt_size, gt_size).
        gt_usm: USM-sharpened ground-truth patches (same crop), or None when the GT was not sharpened.
    """

    lq: torch.Tensor
    gt: torch.Tensor
    gt_usm: Optional[torch.Tensor]


class SecondOrderDegradation:
    """Turns ground-truth batches and their kernels into (LQ, GT, sharpened GT) training patches.

    Args:
        settings: Degradation settings (see :meth:`DegradationSettings.from_options`).
        device: Device the batches are degraded on.
    """

    def __init__(self, settings: DegradationSettings, device: torch.device) -> None:
        self.settings = settings
        self.device = torch.device(device)
        self.jpeger = DiffJPEG(differentiable=False).to(self.device)
        self.usm_sharpener = USMSharp().to(self.device)

    @torch.no_grad()
    def sharpen(self, img: torch.Tensor) -> torch.Tensor:
        """Unsharp-mask (USM) sharpening, which Real-ESRGAN applies to its targets for crisper results.

        Args:
            img: (b, 3, h, w) images in [0, 1] on the pipeline's device.

        Returns:
            The sharpened images.
        """
        return self.usm_sharpener(img)

    @torch.no_grad()
    def __call__(
        self,
        gt: torch.Tensor,
        kernel1: torch.Tensor,
        kernel2: torch.Tensor,
        sinc_kernel: torch.Tensor,
        sharpen: bool = True,
    ) -> DegradedBatch:
        """Degrade a batch and crop paired patches.

        Args:
            gt: (b, 3, H, W) ground truth in [0, 1]; H and W multiples of ``scale`` and at least ``gt_size``.
            kernel1: (b, k, k) first-order blur kernels.
            kernel2: (b, k, k) second-order blur kernels.
            sinc_kernel: (b, k, k) final sinc kernels (pulses where no sinc filter was drawn).
            sharpen: Degrade the USM-sharpened GT (and return it as ``gt_usm``) instead of the plain GT.

        Returns:
            The paired patches, on the pipeline's device.
        """
        scale, gt_size = self.settings.scale, self.settings.gt_size
        self._check_size(*gt.shape[-2:], kernel2.size(-1), patch_size=gt_size)
        whole = self.degrade(gt, kernel1, kernel2, sinc_kernel, sharpen)
        gts = [whole.gt, whole.gt_usm] if sharpen else [whole.gt]
        gts, lq = paired_random_crop(gts, whole.lq, gt_size, scale)
        if sharpen:
            return DegradedBatch(lq=lq, gt=gts[0], gt_usm=gts[1])
        return DegradedBatch(lq=lq, gt=gts, gt_usm=None)

    @torch.no_grad()
    def degrade(
        self,
        gt: torch.Tensor,
        kernel1: torch.Tensor,
        kernel2: torch.Tensor,
        sinc_kernel: torch.Tensor,
        sharpen: bool = True,
    ) -> DegradedBatch:
        """Degrade whole images, without cropping patches (e.g. to make a validation set once).

        Args:
            gt: (b, 3, H, W) ground truth in [0, 1]; H and W multiples of ``scale``.
            kernel1: (b, k, k) first-order blur kernels.
            kernel2: (b, k, k) second-order blur kernels.
            sinc_kernel: (b, k, k) final sinc kernels (pulses where no sinc filter was drawn).
            sharpen: Degrade the USM-sharpened GT (and return it as ``gt_usm``) instead of the plain GT.

        Returns:
            The LQ images (H/scale x W/scale) and the GT (and sharpened GT), on the pipeline's device.
        """
        scale = self.settings.scale
        height, width = gt.shape[-2:]
        self._check_size(height, width, kernel2.size(-1))
        gt = gt.to(self.device)
        gt_usm = self.sharpen(gt) if sharpen else None
        source = gt_usm if sharpen else gt

        lq_size = (height // scale, width // scale)
        # first order: blur, resize, noise, JPEG
        out = filter2D(source, kernel1.to(self.device))
        out = self._resize_and_add_noise(out, self.settings.first, reference_size=None)
        out = self._compress(out, self.settings.first.jpeg_range)
        # second order: blur (sometimes), resize, noise; its JPEG is part of the final stage
        if np.random.uniform() < self.settings.second_blur_prob:
            out = filter2D(out, kernel2.to(self.device))
        out = self._resize_and_add_noise(out, self.settings.second, reference_size=lq_size)
        out = self._final_stage(out, sinc_kernel.to(self.device), lq_size)
        lq = torch.clamp((out * 255.0).round(), 0, 255) / 255.0
        return DegradedBatch(lq=lq, gt=gt, gt_usm=gt_usm)

    def _check_size(self, height: int, width: int, kernel_size: int, patch_size: Optional[int] = None) -> None:
        """Fail clearly (instead of deep inside a padding call) when a GT batch is too small to degrade.

        Args:
            height: GT height.
            width: GT width.
            kernel_size: Side of the second-order blur kernel.
            patch_size: Side of the patches to crop afterwards (gt_size), or None for whole images.
        """
        scale = self.settings.scale
        if patch_size is not None and (height % scale or width % scale or min(height, width) < patch_size):
            raise ValueError(
                f'Ground-truth batch of {height}x{width} cannot give {patch_size}x{patch_size} patches at '
                f'scale {scale}: its sides must be multiples of the scale and at least gt_size. Lower '
                'gt_size or use larger crops (crop_pad_size of the dataset).'
            )
        if height % scale or width % scale:
            raise ValueError(
                f'Ground-truth images of {height}x{width}: their sides must be multiples of scale {scale}.'
            )
        # the strongest first-order downscale must leave more pixels than the second blur's reflect padding
        min_factor = self.settings.first.resize_range[0]
        min_side = math.ceil((kernel_size // 2 + 1) / min_factor)
        if min(height, width) < min_side:
            raise ValueError(
                f'Ground-truth batch of {height}x{width} is too small for the degradation: the '
                f'first-order downscale (resize_range minimum {min_factor}) must leave more than '
                f'{kernel_size // 2} pixels for the {kernel_size}x{kernel_size} second-order blur. Use '
                f'crops of at least {min_side} pixels a side (crop_pad_size of the dataset) or raise '
                'resize_range.'
            )

    def _resize_and_add_noise(
        self, img: torch.Tensor, order: DegradationOrder, reference_size: Optional[Tuple[int, int]]
    ) -> torch.Tensor:
        """The random resize and the noise of one order.

        Args:
            img: Input batch.
            order: Settings of this order.
            reference_size: Size the resize factor applies to (the LQ size, for the second order); None to scale
                the current size (first order).

        Returns:
            The resized, noisy batch, clipped to [0, 1].
        """
        resize_type = random.choices(RESIZE_TYPES, order.resize_prob)[0]
        if resize_type == 'up':
            factor = np.random.uniform(1, order.resize_range[1])
        elif resize_type == 'down':
            factor = np.random.uniform(order.resize_range[0], 1)
        else:
            factor = 1
        mode = random.choice(RESIZE_MODES)
        if reference_size is None:
            out = F.interpolate(img, scale_factor=factor, mode=mode)
        else:
            out = F.interpolate(img, size=(int(reference_size[0] * factor), int(reference_size[1] * factor)), mode=mode)
        if np.random.uniform() < order.gaussian_noise_prob:
            out = random_add_gaussian_noise_pt(
                out, sigma_range=order.noise_range, clip=True, rounds=False, gray_prob=order.gray_noise_prob
            )
        else:
            out = random_add_poisson_noise_pt(
                out, scale_range=order.poisson_scale_range, gray_prob=order.gray_noise_prob, clip=True, rounds=False
            )
        return out

    def _final_stage(self, img: torch.Tensor, sinc_kernel: torch.Tensor, size: Tuple[int, int]) -> torch.Tensor:
        """Resize to the LQ size with the sinc filter, and JPEG, in random order (ringing before or after)."""
        if np.random.uniform() < FINAL_RESIZE_FIRST_PROB:
            out = F.interpolate(img, size=size, mode=random.choice(RESIZE_MODES))
            out = filter2D(out, sinc_kernel)
            return self._compress(out, self.settings.second.jpeg_range)
        out = self._compress(img, self.settings.second.jpeg_range)
        out = F.interpolate(out, size=size, mode=random.choice(RESIZE_MODES))
        return filter2D(out, sinc_kernel)

    def _compress(self, img: torch.Tensor, jpeg_range: Tuple[float, float]) -> torch.Tensor:
        """JPEG-compress each image with a quality drawn uniformly from ``jpeg_range``."""
        quality = img.new_zeros(img.size(0)).uniform_(*jpeg_range)
        return self.jpeger(torch.clamp(img, 0, 1), quality=quality)
