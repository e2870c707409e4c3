"""Numerical parity between a PyTorch network and another runtime (ncnn, ONNX Runtime) on the same input."""

from typing import Optional

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from realesrgan.metrics import psnr

__all__ = ['output_psnr', 'torch_forward']


def output_psnr(reference: np.ndarray, other: np.ndarray) -> float:
    """PSNR in dB between two float network outputs, both clipped to [0, 1] first (as saved images are).

    Args:
        reference: Reference output, (H, W, C).
        other: Output to compare, same shape.

    Returns:
        The PSNR; ``inf`` when the clipped images are identical.
    """
    return psnr(np.clip(reference, 0, 1), np.clip(other, 0, 1), data_range=1.0)


def torch_forward(model: nn.Module, image: np.ndarray, final_resize: Optional[float] = None) -> np.ndarray:
    """Run one (H, W, C) float32 image through a network on the device of its parameters.

    Args:
        model: The network, in eval mode.
        image: Input, (H, W, C) float32.
        final_resize: Optional bicubic resize factor applied to the output (as the animevideov3 x2/x3 ncnn graphs
            do).

    Returns:
        The output, (H_out, W_out, C_out) float32 on the CPU.
    """
    device = next(model.parameters()).device
    with torch.no_grad():
        output = model(torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))[None].to(device))
        if final_resize:
            output = F.interpolate(output, scale_factor=final_resize, mode='bicubic', align_corners=False)
    return output[0].permute(1, 2, 0).float().cpu().numpy()
