"""LPIPS and pyiqa's metrics in BasicSR's metric registry, for the ``val.metrics`` of training configs.

BasicSR's validation calls each metric as ``calculate_<x>(img=SR, img2=GT, **options)`` with 8-bit BGR images in
(H, W, C) order. BasicSR registers ``calculate_psnr``, ``calculate_ssim`` and ``calculate_niqe`` (and ``_pt``
variants); these two complete them::

    val:
      metrics:
        lpips: {type: calculate_lpips, crop_border: 4, net: alex, better: lower}
        musiq: {type: calculate_pyiqa, metric: musiq}
"""

from typing import Any, Optional

import numpy as np
import torch
from basicsr.metrics.metric_util import reorder_image
from basicsr.utils.registry import METRIC_REGISTRY

from realesrgan.metrics.by_name import get_metric
from realesrgan.metrics.lpips import lpips_distance

__all__ = ['calculate_lpips', 'calculate_pyiqa', 'default_device']


def default_device() -> str:
    """Where the metric networks of a validation run: the first GPU when there is one, else the CPU."""
    return 'cuda' if torch.cuda.is_available() else 'cpu'


def _hwc(img: np.ndarray, input_order: str) -> np.ndarray:
    """An image in (H, W) or (H, W, C) order, as the metric modules take it."""
    img = reorder_image(np.asarray(img), input_order=input_order)
    return img[..., 0] if img.shape[2] == 1 else img


@METRIC_REGISTRY.register()
def calculate_lpips(
    img: np.ndarray,
    img2: np.ndarray,
    crop_border: int = 0,
    net: str = 'alex',
    input_order: str = 'HWC',
    device: Optional[str] = None,
    **kwargs: Any,
) -> float:
    """LPIPS (lower is better) of ``img`` against ``img2``, images in [0, 255].

    Args:
        img: The output image, BGR.
        img2: The GT image, same shape.
        crop_border: Pixels cut from each border before measuring.
        net: Backbone: ``alex``, ``vgg`` or ``squeeze``.
        input_order: ``'HWC'`` or ``'CHW'``.
        device: Where the network runs; by default the GPU when there is one.
        **kwargs: Ignored (BasicSR passes ``better`` and the like).
    """
    return lpips_distance(
        _hwc(img2, input_order),
        _hwc(img, input_order),
        net=net,
        data_range=255.0,
        crop_border=crop_border,
        device=device or default_device(),
    )


@METRIC_REGISTRY.register()
def calculate_pyiqa(
    img: np.ndarray,
    img2: Optional[np.ndarray] = None,
    crop_border: int = 0,
    metric: str = '',
    input_order: str = 'HWC',
    device: Optional[str] = None,
    **kwargs: Any,
) -> float:
    """The pyiqa metric named ``metric`` (``musiq``, ``dists``, ...) of ``img`` (against ``img2`` when it needs a
    reference), images in [0, 255].

    Args:
        img: The output image, BGR.
        img2: The GT image, same shape (used by full-reference metrics only).
        crop_border: Pixels cut from each border before measuring.
        metric: The pyiqa name.
        input_order: ``'HWC'`` or ``'CHW'``.
        device: Where the network runs; by default the GPU when there is one.
        **kwargs: Ignored (BasicSR passes ``better`` and the like).
    """
    if not metric:
        raise ValueError('calculate_pyiqa needs the pyiqa name of the metric: metric: <name>')
    measure = get_metric(metric, crop_border, device=device or default_device())
    reference = None if img2 is None else _hwc(img2, input_order)
    return measure(_hwc(img, input_order), reference)
