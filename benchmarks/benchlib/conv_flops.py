"""The models' convolution FLOPs, which the inference benchmark divides by its times (achieved GFLOP/s).

PSNR between outputs is the package's own, :func:`realesrgan.metrics.psnr`.
"""

from typing import Tuple

import torch
from torch import nn

__all__ = ['conv_flops_per_input_pixel', 'model_gflops']

# side of the probe input used to count the FLOPs of each convolution (any size works for 'same' convolutions)
PROBE_SIZE = 16


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
