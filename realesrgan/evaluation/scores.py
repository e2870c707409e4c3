"""Measure matched images with several metrics: per image, and the mean of each metric.

A pair that cannot be measured (unreadable file, sizes that differ, an image too small for NIQE) gets a one-line
reason and the rest goes on; a metric that fails on one image leaves that value out of its mean.
"""

import math
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from tqdm import tqdm

from realesrgan.evaluation.pairs import ImagePair, read_for_metrics
from realesrgan.metrics.by_name import Metric

__all__ = ['Evaluation', 'evaluate_pairs', 'mean_of']


@dataclass
class Evaluation:
    """The values of one set of images.

    Attributes:
        metrics: The metric names, in column order.
        images: Image key -> metric name -> value (a metric that failed on an image is absent).
        failures: ``(image, reason)`` of every pair or value that could not be measured.
    """

    metrics: List[str]
    images: Dict[str, Dict[str, float]] = field(default_factory=dict)
    failures: List[Tuple[str, str]] = field(default_factory=list)

    @property
    def mean(self) -> Dict[str, float]:
        """Metric name -> mean over the images that have a value (metrics without any value are absent)."""
        means = {}
        for name in self.metrics:
            value = mean_of([values[name] for values in self.images.values() if name in values])
            if value is not None:
                means[name] = value
        return means


def mean_of(values: Sequence[float]) -> Optional[float]:
    """The mean of ``values`` (``inf`` when one is infinite, e.g. the PSNR of an identical image); None if empty."""
    if not values:
        return None
    return math.inf if any(math.isinf(value) for value in values) else float(np.mean(values))


def _check_pair(img: np.ndarray, gt: np.ndarray) -> Optional[str]:
    """Why an image cannot be compared with its GT, or None."""
    if img.shape[:2] != gt.shape[:2]:
        return f"size {img.shape[1]}x{img.shape[0]} differs from the GT's {gt.shape[1]}x{gt.shape[0]}"
    if img.ndim != gt.ndim:
        kinds = ('gray' if img.ndim == 2 else 'colour', 'gray' if gt.ndim == 2 else 'colour')
        return f'the image is {kinds[0]} but the GT is {kinds[1]}'
    return None


def _reason(error: Exception) -> str:
    return ' '.join(str(error).split()) or type(error).__name__


def evaluate_pairs(
    pairs: Sequence[ImagePair], metrics: Sequence[Metric], progress: bool = True, description: str = 'measuring'
) -> Evaluation:
    """Measure every pair with every metric (full-reference metrics only where a GT is given).

    Args:
        pairs: The images and their GT images.
        metrics: The metrics, built with :func:`realesrgan.metrics.get_metric`.
        progress: Show a progress bar.
        description: The progress bar's label.

    Returns:
        The values and the reasons of what could not be measured.
    """
    evaluation = Evaluation([metric.name for metric in metrics])
    for pair in tqdm(pairs, unit='image', desc=description, disable=not progress, leave=False):
        try:
            img = read_for_metrics(pair.image)
            gt = read_for_metrics(pair.gt) if pair.gt else None
        except (OSError, ValueError) as error:
            evaluation.failures.append((pair.key, _reason(error)))
            continue
        problem = _check_pair(img, gt) if gt is not None else None
        if problem:
            evaluation.failures.append((pair.key, f'{pair.image}: {problem}'))
            continue
        values = {}
        for metric in metrics:
            if metric.full_reference and gt is None:
                continue
            try:
                value = metric(img, gt)
            except (ValueError, RuntimeError) as error:
                evaluation.failures.append((pair.key, f'{metric.name}: {_reason(error)}'))
                continue
            if math.isnan(value):  # (an infinite PSNR is right for identical images; NaN never is)
                evaluation.failures.append((pair.key, f'{metric.name} is NaN: {pair.image} holds NaN pixel values'))
                continue
            values[metric.name] = value
        evaluation.images[pair.key] = values
    return evaluation
