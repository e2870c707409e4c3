"""Any metric of pyiqa (PyPI ``pyiqa``: LPIPS, DISTS, MUSIQ, CLIPIQA, ...) by its pyiqa name, when it is installed.

pyiqa downloads most of its network weights on first use into ``<torch hub>/pyiqa/``; offline, a metric that needs
one fails with a message naming that folder. Metrics without weights (``psnr``, ``ssim``, ``ms_ssim``, ``fsim``,
``vif``, ``gmsd``, ...) work anywhere.
"""

import functools
import os
from dataclasses import dataclass
from typing import Any, List, Optional

import numpy as np
import torch

from realesrgan.metrics.image_range import rgb_batch, to_255

__all__ = ['PyiqaUnavailableError', 'PyiqaMetric', 'load_pyiqa_metric', 'pyiqa_names']

INSTALL_HINT = 'pip install pyiqa (or pip install -e ".[iqa]")'


class PyiqaUnavailableError(RuntimeError):
    """A pyiqa metric cannot be used here (no pyiqa, unknown name, weights missing); the message says what to do."""


def _pyiqa() -> Any:
    try:
        import pyiqa
    except ImportError:
        raise PyiqaUnavailableError(f'this metric comes from pyiqa, which is not installed: {INSTALL_HINT}') from None
    return pyiqa


def pyiqa_names() -> List[str]:
    """The metric names pyiqa knows (empty when pyiqa is not installed)."""
    try:
        return list(_pyiqa().list_models())
    except PyiqaUnavailableError:
        return []


@dataclass(frozen=True)
class PyiqaMetric:
    """A pyiqa metric, measuring OpenCV images.

    Attributes:
        name: The pyiqa name.
        full_reference: Whether it compares with a reference image (pyiqa's ``FR`` mode).
        lower_better: Whether lower scores are better.
        model: pyiqa's inference model.
        device: Where it runs.
    """

    name: str
    full_reference: bool
    lower_better: bool
    model: Any
    device: str = 'cpu'

    def __call__(
        self, img: np.ndarray, reference: Optional[np.ndarray] = None, data_range: Optional[float] = None
    ) -> float:
        """Score ``img`` (against ``reference`` for full-reference metrics).

        Args:
            img: (H, W) gray or (H, W, 3) BGR image; uint8, uint16 or float.
            reference: The reference image, same shape (full-reference metrics only).
            data_range: The peak value of both images; by default that of the dtype of ``img``.
        """
        if self.full_reference and reference is None:
            raise ValueError(f'pyiqa metric {self.name} compares with a reference image: give the GT')
        with torch.no_grad():
            args = [_to_tensor(img, data_range, self.device)]
            if self.full_reference:
                args.append(_to_tensor(reference, data_range, self.device))
            return float(self.model(*args).mean().item())


def _to_tensor(img: np.ndarray, data_range: Optional[float], device: str) -> torch.Tensor:
    """A (H, W) or (H, W, 3) BGR image as the (1, 3, H, W) RGB float tensor in [0, 1] pyiqa takes."""
    rgb = rgb_batch(to_255(img, data_range) / 255.0, 'pyiqa metrics take').clip(0, 1)
    return torch.from_numpy(rgb).float().to(device)


@functools.lru_cache(maxsize=8)
def load_pyiqa_metric(name: str, device: str = 'cpu') -> PyiqaMetric:
    """Build a pyiqa metric by name (once per name and device).

    Args:
        name: A name of ``pyiqa.list_models()``.
        device: Where its network runs.

    Raises:
        PyiqaUnavailableError: pyiqa is not installed, does not know ``name`` (the message lists the names), or
            cannot get the metric's weights.
    """
    pyiqa = _pyiqa()
    names = pyiqa.list_models()
    if name not in names:
        raise PyiqaUnavailableError(f'pyiqa has no metric {name!r}; its metrics are {", ".join(names)}')
    try:
        model = pyiqa.create_metric(name, device=torch.device(device), as_loss=False)
    except OSError as error:  # the weight download failed (offline, proxy, disk)
        folder = os.path.join(torch.hub.get_dir(), 'pyiqa')
        raise PyiqaUnavailableError(
            f'pyiqa metric {name} needs network weights that could not be downloaded ({error}); run it once with '
            f'network access, or copy the file pyiqa names above into {folder}'
        ) from error
    return PyiqaMetric(name, model.metric_mode == 'FR', bool(model.lower_better), model, device)
