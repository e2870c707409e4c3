"""What the benchmark computes from its measurements: PSNR between outputs and the models' convolution FLOPs."""
import math
from typing import Tuple

import numpy as np
import torch
from torch import nn

__all__ = ['psnr', 'conv_flops_per_input_pixel', 'model_gflops', 'megapixels_per_second']

# side of the probe input used to count the FLOPs of each convolution (any size works for 'same' convolutions)
PROBE_SIZE = 16


def psnr(img: np.ndarray, reference: np.ndarray) -> float:
    """PSNR in dB of an 8-bit image against a reference of the same shape (``inf`` when identical).

    Args:
        img: uint8 image.
        reference: uint8 image of the same shape.

    Returns:
        ``10 * log10(255**2 / MSE)`` over all pixels and channels.

    Raises:
        ValueError: When the shapes differ.
    """
    if img.shape != reference.shape:
        raise ValueError(f'cannot compare images of shapes {img.shape} and {reference.shape}')
    mse = np.mean((img.astype(np.float64) - reference.astype(np.float64))**2)
    return math.inf if mse == 0 else 10 * math.log10(255.0**2 / mse)


def conv_flops_per_input_pixel(model: nn.Module, in_channels: int = 3) -> float:
    """Floating-point operations of a model's convolutions per input pixel (a multiply-add counts as two).

    Each ``nn.Conv2d`` costs ``2 * out_channels * in_channels / groups * kh * kw`` operations per output pixel.
    The output sizes are taken from one forward pass on a small probe input; for the fully convolutional
    super-resolution networks every feature map scales with the input area, so the per-pixel figure holds for
    any input size. Activations, additions and resizes are left out (a few percent at most).

    Args:
        model: The network (left unchanged).
        in_channels: Channels of its input.

    Returns:
        Operations per input pixel.
    """
    total = 0

    def count(module: nn.Conv2d, _inputs: Tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        nonlocal total
        kh, kw = module.kernel_size
        total += 2 * output.numel() * (module.in_channels // module.groups) * kh * kw

    hooks = [module.register_forward_hook(count) for module in model.modules() if isinstance(module, nn.Conv2d)]
    try:
        with torch.no_grad():
            model(torch.zeros(1, in_channels, PROBE_SIZE, PROBE_SIZE))
    finally:
        for hook in hooks:
            hook.remove()
    return total / PROBE_SIZE**2


def model_gflops(flops_per_pixel: float, height: int, width: int) -> float:
    """GFLOPs needed to upscale one ``height`` x ``width`` image (the useful work; tile overlaps not counted)."""
    return flops_per_pixel * height * width / 1e9


def megapixels_per_second(out_height: int, out_width: int, seconds: float) -> float:
    """Output megapixels produced per second."""
    return out_height * out_width / 1e6 / seconds
