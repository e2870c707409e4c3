"""Image quality metrics: BasicSR's reference PSNR, SSIM and NIQE, LPIPS, and pyiqa's metrics by name.

Importing this package also registers ``calculate_lpips`` and ``calculate_pyiqa`` in BasicSR's metric registry, for
``val.metrics`` of training configs (:mod:`realesrgan.metrics.basicsr_metrics`).
"""

from realesrgan.metrics import basicsr_metrics
from realesrgan.metrics.by_name import OWN_METRICS, Metric, get_metric, metric_names
from realesrgan.metrics.lpips import LPIPSUnavailableError, lpips_distance
from realesrgan.metrics.niqe import niqe
from realesrgan.metrics.psnr_ssim import psnr, ssim
from realesrgan.metrics.pyiqa_metrics import PyiqaUnavailableError

__all__ = [
    'OWN_METRICS',
    'LPIPSUnavailableError',
    'Metric',
    'PyiqaUnavailableError',
    'basicsr_metrics',
    'get_metric',
    'lpips_distance',
    'metric_names',
    'niqe',
    'psnr',
    'ssim',
]
