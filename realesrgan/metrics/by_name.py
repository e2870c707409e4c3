"""Metrics by name, as ``scripts/evaluate.py --metrics`` and reports name them: ours first, then pyiqa's.

``psnr``, ``ssim`` and ``niqe`` are BasicSR's reference implementations, ``lpips`` the ``lpips`` package's network
(see :mod:`realesrgan.metrics.lpips`); any other name is one of pyiqa's when pyiqa is installed, and
``pyiqa:<name>`` picks pyiqa's metric of a name we also have (``pyiqa:psnr``).
"""

import functools
from dataclasses import dataclass
from typing import Callable, List, Optional

import numpy as np

from realesrgan.metrics.image_range import cropped
from realesrgan.metrics.lpips import load_lpips, lpips_distance
from realesrgan.metrics.niqe import niqe
from realesrgan.metrics.psnr_ssim import psnr, ssim
from realesrgan.metrics.pyiqa_metrics import load_pyiqa_metric, pyiqa_names

__all__ = ['OWN_METRICS', 'PYIQA_PREFIX', 'Metric', 'get_metric', 'metric_names']

OWN_METRICS = ('psnr', 'ssim', 'niqe', 'lpips')
PYIQA_PREFIX = 'pyiqa:'


@dataclass(frozen=True)
class Metric:
    """A metric ready to measure images of the 0-255 range (float or uint8), in OpenCV's BGR order.

    Attributes:
        name: The name it was asked for.
        full_reference: Whether it needs the GT (PSNR, SSIM, LPIPS) or scores an image alone (NIQE).
        lower_better: Whether lower values are better (NIQE, LPIPS).
        measure: ``measure(img, reference)`` -> value; ``reference`` is None for no-reference metrics.
    """

    name: str
    full_reference: bool
    lower_better: bool
    measure: Callable[[np.ndarray, Optional[np.ndarray]], float]

    def __call__(self, img: np.ndarray, reference: Optional[np.ndarray] = None) -> float:
        """The metric's value for ``img`` (against ``reference`` when it is a full-reference metric)."""
        if self.full_reference and reference is None:
            raise ValueError(f'{self.name} compares with a GT image, and there is none')
        return self.measure(img, reference)


def metric_names() -> List[str]:
    """Every name :func:`get_metric` takes: ours, then pyiqa's (when installed) that are not ours."""
    return list(OWN_METRICS) + [name for name in pyiqa_names() if name not in OWN_METRICS]


def get_metric(
    name: str,
    crop_border: int = 0,
    y_channel: bool = False,
    *,
    lpips_net: str = 'alex',
    weights_dir: Optional[str] = None,
    device: str = 'cpu',
) -> Metric:
    """The metric of a name, with its settings; networks (LPIPS, pyiqa) are built now, so that a missing package
    or weight file is reported before any image is measured.

    Args:
        name: ``psnr``, ``ssim``, ``niqe``, ``lpips``, a pyiqa name, or ``pyiqa:<name>``.
        crop_border: Pixels cut from each border before measuring (all metrics).
        y_channel: PSNR and SSIM on the Y channel of YCbCr (BasicSR's ``test_y_channel``); NIQE always measures Y.
        lpips_net: LPIPS backbone (``alex``, ``vgg``, ``squeeze``).
        weights_dir: Also searched for the LPIPS backbone file.
        device: Where LPIPS and pyiqa networks run.

    Raises:
        ValueError: Unknown name (the message lists the valid ones).
        realesrgan.metrics.lpips.LPIPSUnavailableError: ``lpips`` without the package or its backbone weights.
        realesrgan.metrics.pyiqa_metrics.PyiqaUnavailableError: A pyiqa metric without pyiqa or its weights.
    """
    if name == 'psnr':
        return Metric(name, True, False, lambda img, ref: psnr(ref, img, 255.0, crop_border, y_channel))
    if name == 'ssim':
        return Metric(name, True, False, lambda img, ref: ssim(ref, img, 255.0, crop_border, y_channel))
    if name == 'niqe':
        return Metric(name, False, True, lambda img, ref: niqe(img, 255.0, crop_border))
    if name == 'lpips':
        load_lpips(lpips_net, weights_dir, True, device)
        measure = functools.partial(
            _lpips, net=lpips_net, crop_border=crop_border, weights_dir=weights_dir, device=device
        )
        return Metric(name, True, True, measure)
    pyiqa_name = name[len(PYIQA_PREFIX) :] if name.startswith(PYIQA_PREFIX) else name
    known = pyiqa_names()
    if pyiqa_name not in known:
        pyiqa_part = (
            f"or one of pyiqa's: {', '.join(n for n in known if n not in OWN_METRICS)}"
            if known
            else '(other names come from pyiqa, which is not installed: pip install pyiqa)'
        )
        raise ValueError(f'Unknown metric {name!r}: the metrics are {", ".join(OWN_METRICS)} {pyiqa_part}')
    metric = load_pyiqa_metric(pyiqa_name, device)

    def measure(img: np.ndarray, ref: Optional[np.ndarray]) -> float:
        return metric(cropped(img, crop_border), None if ref is None else cropped(ref, crop_border), 255.0)

    return Metric(name, metric.full_reference, metric.lower_better, measure)


def _lpips(
    img: np.ndarray, ref: Optional[np.ndarray], net: str, crop_border: int, weights_dir: str, device: str
) -> float:
    return lpips_distance(ref, img, net, 255.0, crop_border, weights_dir, device)
