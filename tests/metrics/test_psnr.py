"""realesrgan.metrics.psnr, the one PSNR of the package, tests and benchmarks: its values and the peak per dtype."""

import math

import numpy as np
import pytest

from realesrgan.metrics import psnr


def test_psnr_values():
    reference = np.zeros((4, 4, 3), np.uint8)
    assert psnr(reference, reference) == math.inf
    shifted = reference + 1  # MSE 1 -> 20 * log10(255)
    assert psnr(reference, shifted) == pytest.approx(48.1308, abs=1e-4)
    half = reference.copy()
    half[:2] = 10  # MSE 50
    assert psnr(reference, half) == pytest.approx(10 * math.log10(255**2 / 50))
    with pytest.raises(ValueError, match='shapes'):
        psnr(reference, reference[:2])
    # the peak follows the dtype (65535 for uint16, 1 for floats), or data_range when given
    assert psnr(reference.astype(np.uint16), shifted.astype(np.uint16) * 257) == pytest.approx(48.1308, abs=1e-4)
    assert psnr(reference / 255.0, shifted / 255.0) == pytest.approx(48.1308, abs=1e-4)
    assert psnr(reference, shifted, data_range=1.0) == pytest.approx(0.0)
